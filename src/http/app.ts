/**
 * The gateway's HTTP side: body limits, request metrics/logging, routes, the error
 * catalogue. `createApp` is the standalone app; `gatewayRoutes` is the same chain as one
 * Router, for mounting on a host's app (embed-routes.ts).
 */
import express, { Router } from 'express';
import type { Logger } from '../logger.js';
import type { Metrics } from '../metrics/metrics.js';
import { cors } from './cors.js';
import { HttpError, errorHandler } from './errors.js';
import { jsonBody } from './json-guard.js';
import { BATCH_PATH } from './notify-batch-route.js';
import { isSegmentBodyPath } from './segment-routes.js';
import { rejectBadPathEncoding } from './path-encoding.js';
import { securityHeaders } from './security-headers.js';

/** Whole-request body limit; larger → 413 PAYLOAD_TOO_LARGE. */
export const MAX_BODY_BYTES = 64 * 1024;

export interface AppDeps {
  routers: Router[];
  metrics: Metrics;
  logger: Logger;
  isStoreUnavailable: (error: unknown) => boolean;
  trustProxy?: string | undefined;
  /** While draining, responses ask clients to close their keep-alive connection. */
  isDraining?: () => boolean;
  /** CORS_ORIGINS: exact origins allowed cross-origin (cors.ts); empty: same-origin only. */
  corsOrigins?: readonly string[];
}

export function createApp(deps: AppDeps): express.Express {
  const app = express();
  app.disable('x-powered-by');
  if (deps.trustProxy) app.set('trust proxy', deps.trustProxy);
  app.use(gatewayRoutes(deps));
  return app;
}

/** Every route with its middleware, a 404 for anything else and the error handler. */
export function gatewayRoutes(deps: AppDeps): Router {
  const router = Router();
  router.use(securityHeaders());
  router.use((req, res, next) => {
    if (deps.isDraining?.()) res.set('Connection', 'close');
    const started = process.hrtime.bigint();
    res.on('finish', () => {
      const seconds = Number(process.hrtime.bigint() - started) / 1e9;
      const route = req.route?.path ? String(req.route.path) : 'unmatched';
      deps.metrics.httpDuration.observe({ method: req.method, route, status: String(res.statusCode) }, seconds);
      deps.logger.debug({ method: req.method, route, status: res.statusCode, ms: Math.round(seconds * 1000) }, 'http');
    });
    next();
  });
  router.use(cors(deps.corsOrigins ?? []));
  router.use(rejectBadPathEncoding);
  // JSON bodies obey the input rules (json-guard.ts). The batch endpoint and segment member lists parse their own, larger bodies.
  const json = jsonBody(MAX_BODY_BYTES);
  router.use((req, res, next) => (req.path === BATCH_PATH || isSegmentBodyPath(req.path) ? next() : json(req, res, next)));
  for (const routes of deps.routers) router.use(routes);
  router.use((req) => {
    throw new HttpError('NOT_FOUND', `no route for ${req.method} ${req.path}`);
  });
  router.use(errorHandler(deps.logger, deps.isStoreUnavailable));
  return router;
}
