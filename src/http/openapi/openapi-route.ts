/**
 * GET /openapi.json — the API reference, for Swagger UI, Redoc or a client generator.
 * Public (it describes the API, it grants nothing). Built on the first request, then
 * served from memory: it changes only with a new version of the gateway, so caches may
 * keep it a while and revalidate with the ETag Express derives from the body.
 */
import { Router } from 'express';
import { buildOpenApiDocument } from './openapi-document.js';
import { packageVersion } from './package-version.js';
import { OPENAPI_PATH } from './service-operations.js';

const CACHE_CONTROL = 'public, max-age=300';

export function openApiRoute(options: { demoPage: boolean }): Router {
  let serialised: string | undefined;
  const router = Router();
  router.get(OPENAPI_PATH, (_req, res) => {
    serialised ??= JSON.stringify(buildOpenApiDocument({ version: packageVersion(), demoPage: options.demoPage }));
    res.set('Cache-Control', CACHE_CONTROL).type('application/json').send(serialised);
  });
  return router;
}
