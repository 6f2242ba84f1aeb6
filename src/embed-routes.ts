/**
 * The gateway's routes on a host's Express app, next to the host's own.
 *
 * gatewayRoutes (http/app.ts) answers every request it is given: its security headers,
 * its JSON parser, its 404 and error shape. Mounted as is, it would swallow the host's
 * routes. So a request goes in only when one of the gateway's routes matches its path
 * and method (any method for a CORS preflight); anything else goes on to the host before
 * any of our middleware touched it. After close(), nothing goes in.
 *
 * Matching reads the routers' layers (`stack`, `layer.match`, `route._handlesMethod`),
 * internals of the `router` package under Express 5. They are checked when mounting, so
 * an upgrade that changes them fails at start instead of silently passing every request
 * to the host; test/deploy/embedding.int.test.ts covers the behaviour.
 */
import type { Express, RequestHandler, Router } from 'express';
import { ConfigError } from './config/config.js';
import { gatewayRoutes, type AppDeps } from './http/app.js';
import { errorHandler } from './http/errors.js';
import { BATCH_PATH } from './http/notify-batch-route.js';

interface Layer {
  name: string;
  match(path: string): false | { path: string };
  route?: { _handlesMethod(method: string): boolean };
  handle: unknown;
}

export interface MountedRoutes {
  /** From now on every request goes to the host. */
  unmount(): void;
}

export function mountGatewayRoutes(app: Express, deps: AppDeps): MountedRoutes {
  const layers = deps.routers.map((router) => stackOf(router, 'a gateway router'));
  const routes = gatewayRoutes(deps);
  const refuse = errorHandler(deps.logger, deps.isStoreUnavailable);
  let mounted = true;
  const claim: RequestHandler = (req, res, next) => {
    if (!mounted || !layers.some((stack) => claims(stack, req.method, req.path))) return next();
    // Our routes parse their own bodies, with their limits and input rules.
    if (req.body !== undefined) return refuse(new Error(BODY_READ_EARLY), req, res, next);
    routes(req, res, next);
  };
  app.use(claim);
  return {
    unmount() {
      mounted = false;
    },
  };
}

const BODY_READ_EARLY =
  "the request body was parsed before the gateway's routes: attach the gateway before app-wide body parsers, or mount those on the host's own paths";

function claims(stack: readonly Layer[], method: string, path: string): boolean {
  for (const layer of stack) {
    let matched: false | { path: string };
    try {
      matched = layer.match(path);
    } catch {
      return true; // the shape of one of our paths with a bad percent-escape: ours to refuse (400)
    }
    if (!matched) continue;
    if (layer.route) {
      if (method === 'OPTIONS' || layer.route._handlesMethod(method)) return true;
      continue;
    }
    const nested = isRouter(layer.handle) ? stackOf(layer.handle, 'a nested router') : null;
    if (nested && claims(nested, method, path.slice(matched.path.length) || '/')) return true;
  }
  return false;
}

function isRouter(handle: unknown): handle is Router {
  return typeof handle === 'function' && Array.isArray((handle as { stack?: unknown }).stack);
}

function stackOf(router: unknown, what: string): Layer[] {
  const stack = (router as { stack?: unknown }).stack;
  const usable =
    Array.isArray(stack) &&
    stack.every(
      (layer: Partial<Layer>) =>
        typeof layer.match === 'function' && (layer.route === undefined || typeof layer.route._handlesMethod === 'function'),
    );
  if (!usable) throw new Error(`express router internals changed: cannot read the routes of ${what}`);
  return stack as Layer[];
}

/** body-parser's middleware (express.json(), …) by name, as the app's router lists it. */
const BODY_PARSERS = new Set(['jsonParser', 'urlencodedParser', 'rawParser', 'textParser']);

/**
 * An app-wide body parser mounted before us reads our bodies first, with its own limit and
 * without our input rules: refused at attach time, naming it.
 */
export function refuseEarlyBodyParsers(app: Express): void {
  for (const layer of stackOf(app.router, 'the host app')) {
    if (BODY_PARSERS.has(layer.name) && layer.match(BATCH_PATH)) {
      throw new ConfigError(
        `app: express.${layer.name.replace('Parser', '')}() is mounted for every path before the gateway; ` +
          "attach the gateway first, or mount the parser on the host's own paths (the gateway's routes parse their own bodies)",
      );
    }
  }
}
