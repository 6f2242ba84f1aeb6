/** Types for build-client.mjs (imported by the browser tests). */
export function buildClient(options?: { outDir?: string; types?: boolean }): Promise<{ minified: number; gzip: number }>;
