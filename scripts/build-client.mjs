#!/usr/bin/env node
/**
 * Builds the browser side with esbuild into dist/client/:
 *   notify-client.js (+ .map)  the SDK as one ESM file, socket.io-client included,
 *                              served at /sdk/notify-client.js
 *   react.js                   the React hook and <NotificationCenter /> as ESM, react left
 *                              external; esbuild keeps the entry's "use client" (Next.js App Router)
 *   demo.js, demo.html         the /demo page (React bundled)
 *   notify-sw.js               the web push service worker, copied as it is
 *   types/                     .d.ts for the SDK and the hook (unless --no-types)
 * and prints the SDK's minified and gzip size.
 *
 * Files are written to a temporary name and renamed, so a test file building while a
 * gateway serves the previous build never sees half a file.
 */
import { execFile } from 'node:child_process';
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import { gzipSync } from 'node:zlib';
import { build } from 'esbuild';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const common = {
  bundle: true,
  format: 'esm',
  platform: 'browser',
  target: ['es2020', 'chrome100', 'firefox100', 'safari15'],
  minify: true,
  write: false,
  legalComments: 'none',
  jsx: 'automatic',
  // 'use client' only matters to React Server Components bundlers, not inside our bundles.
  logOverride: { 'module-level-directive': 'silent' },
  define: { 'process.env.NODE_ENV': '"production"' },
};

async function writeAtomic(path, contents) {
  await mkdir(dirname(path), { recursive: true });
  const temp = `${path}.${process.pid}.${Date.now()}.tmp`;
  await writeFile(temp, contents);
  await rename(temp, path);
}

async function bundle(entry, outfile, extra = {}) {
  const result = await build({ ...common, entryPoints: [join(root, entry)], outfile, sourcemap: 'external', ...extra });
  for (const file of result.outputFiles) await writeAtomic(file.path, file.contents);
  return result.outputFiles.find((f) => f.path === outfile).contents;
}

/** @returns {Promise<{ minified: number, gzip: number }>} the SDK's size in bytes */
export async function buildClient({ outDir = join(root, 'dist', 'client'), types = true } = {}) {
  const sdk = await bundle('src/client/index.ts', join(outDir, 'notify-client.js'));
  await bundle('src/client/react.ts', join(outDir, 'react.js'), { external: ['react', 'react/jsx-runtime', 'react-dom'] });
  await bundle('src/client/demo/demo.tsx', join(outDir, 'demo.js'));
  await writeAtomic(join(outDir, 'demo.html'), await readFile(join(root, 'src/client/demo/demo.html')));
  await writeAtomic(join(outDir, 'notify-sw.js'), await readFile(join(root, 'src/client/push/service-worker.js')));
  if (types) {
    const tsc = join(root, 'node_modules', '.bin', 'tsc');
    await promisify(execFile)(tsc, ['-p', join(root, 'src/client/tsconfig.json'), '--outDir', join(outDir, 'types')]);
  }
  return { minified: sdk.byteLength, gzip: gzipSync(sdk, { level: 9 }).byteLength };
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const size = await buildClient({ types: !process.argv.includes('--no-types') });
  const kb = (n) => `${(n / 1024).toFixed(1)} KiB`;
  console.log(`client → ${relative(process.cwd(), join(root, 'dist', 'client')) || '.'}: notify-client.js ${kb(size.minified)} minified, ${kb(size.gzip)} gzip`);
}
