/**
 * What the gateway serves besides the API: health (health-routes.ts), metrics, the
 * browser SDK and demo (sdk-routes.ts), and this reference.
 */
import { z } from 'zod';
import type { ApiOperation } from './api-operation.js';
import { named } from './schema-registry.js';

export const OPENAPI_PATH = '/openapi.json';

const health = named('Health', z.object({ status: z.literal('ok') }));
const readiness = named(
  'Readiness',
  z.object({
    status: z.enum(['ready', 'draining', 'unavailable']),
    checks: z.record(z.string(), z.enum(['up', 'down'])).describe('`store`, and `redis` when REDIS_URL is set'),
  }),
);

/** A file of the client build; 404 until it is built. */
const clientFile = (id: string, path: string, summary: string, mediaType = 'text/javascript'): ApiOperation => ({
  id,
  method: 'get',
  path,
  tag: 'service',
  summary,
  description: 'From the client build (`npm run build:client`); revalidated on every load (ETag).',
  auth: 'none',
  responses: { 200: { description: 'The file.', mediaType } },
  errors: ['NOT_FOUND'],
});

export function serviceOperations(options: { demoPage: boolean }): ApiOperation[] {
  return [
    {
      id: 'health',
      method: 'get',
      path: '/healthz',
      tag: 'service',
      summary: 'The process answers',
      auth: 'none',
      responses: { 200: { description: 'Up.', schema: health } },
    },
    {
      id: 'readiness',
      method: 'get',
      path: '/readyz',
      tag: 'service',
      summary: 'The store (and Redis, when used) answer',
      description: 'Load balancers send traffic only while this is 200.',
      auth: 'none',
      responses: {
        200: { description: 'Ready.', schema: readiness },
        503: { description: 'A dependency is down, or the instance is draining.', schema: readiness },
      },
    },
    {
      id: 'metrics',
      method: 'get',
      path: '/metrics',
      tag: 'service',
      summary: 'Prometheus metrics',
      auth: 'none',
      responses: { 200: { description: 'The exposition format.', mediaType: 'text/plain' } },
    },
    {
      id: 'openApiDocument',
      method: 'get',
      path: OPENAPI_PATH,
      tag: 'service',
      summary: 'This API reference (OpenAPI 3.1)',
      auth: 'none',
      responses: { 200: { description: 'The document; cacheable, revalidate with ETag.', mediaType: 'application/json' } },
    },
    clientFile('sdkScript', '/sdk/notify-client.js', 'The browser SDK as one ES module'),
    clientFile('sdkSourceMap', '/sdk/notify-client.js.map', 'The SDK\'s source map', 'application/json'),
    clientFile('pushServiceWorker', '/notify-sw.js', 'The web push service worker (at the root: scope "/")'),
    ...(options.demoPage
      ? [
          clientFile('demoScript', '/sdk/demo.js', 'The demo page\'s script (DEMO_PAGE)'),
          {
            id: 'demoPage',
            method: 'get',
            path: '/demo',
            tag: 'service',
            summary: 'The notification-center demo (DEMO_PAGE)',
            description: 'Signed in as the user of `?token=`; never cached.',
            auth: 'none',
            query: z.object({ token: z.string().optional() }),
            paramDocs: { token: 'A user token.' },
            responses: { 200: { description: 'The page.', mediaType: 'text/html' } },
            errors: ['NOT_FOUND'],
          } satisfies ApiOperation,
        ]
      : []),
  ];
}
