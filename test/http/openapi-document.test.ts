/** The API reference as built in process: stable across builds, and only what this instance serves. */
import { describe, expect, it } from 'vitest';
import { buildOpenApiDocument } from '../../src/http/openapi/openapi-document.js';

describe('buildOpenApiDocument', () => {
  it('builds the same document every time (several gateways share one process)', () => {
    const first = buildOpenApiDocument({ version: '1.2.3', demoPage: true });
    const second = buildOpenApiDocument({ version: '1.2.3', demoPage: true });
    expect(JSON.stringify(second)).toBe(JSON.stringify(first));
    expect(first).toMatchObject({ openapi: '3.1.0', info: { version: '1.2.3' } });
  });

  it('documents the demo page only when DEMO_PAGE serves it', () => {
    const paths = (demoPage: boolean) => Object.keys((buildOpenApiDocument({ version: '1.2.3', demoPage }) as { paths: object }).paths);
    expect(paths(true)).toEqual(expect.arrayContaining(['/demo', '/sdk/demo.js']));
    expect(paths(false)).not.toContain('/demo');
    expect(paths(false)).not.toContain('/sdk/demo.js');
    expect(paths(false)).toContain('/sdk/notify-client.js');
  });
});
