/**
 * CORS for the listed origins only (CORS_ORIGINS; none: same-origin, no CORS headers).
 *
 * A request from a listed origin gets `Access-Control-Allow-Origin: <that origin>` and
 * `Access-Control-Allow-Credentials: true`; its preflight (OPTIONS with
 * Access-Control-Request-Method) is answered here with 204 and the allowed methods and
 * headers. Any other origin gets no CORS header at all, and the request goes on as it
 * would without CORS (the browser withholds the answer). With a list, every response
 * carries `Vary: Origin`, so caches keep the variants apart.
 *
 * Covers every Express route, SSE (/api/stream) included. Socket.IO gets the same list
 * through its own `cors` option (gateway.ts).
 */
import type { RequestHandler } from 'express';

export const CORS_ALLOWED_METHODS = ['GET', 'HEAD', 'POST', 'PUT', 'DELETE'];
export const CORS_ALLOWED_HEADERS = ['Authorization', 'Content-Type', 'X-API-Key', 'Idempotency-Key', 'Last-Event-ID'];
/** Response headers a page may read besides the CORS-safelisted ones. */
export const CORS_EXPOSED_HEADERS = [
  'Retry-After',
  'RateLimit-Limit',
  'RateLimit-Remaining',
  'RateLimit-Reset',
  'RateLimit-Policy',
  'WWW-Authenticate',
];
/** How long a browser may cache a preflight answer. */
export const CORS_MAX_AGE_SECONDS = 600;

export function cors(origins: readonly string[]): RequestHandler {
  const allowed = new Set(origins);
  return (req, res, next) => {
    if (allowed.size === 0) return next();
    res.vary('Origin');
    const origin = req.get('origin');
    if (origin === undefined || !allowed.has(origin)) return next();
    res.set('Access-Control-Allow-Origin', origin);
    res.set('Access-Control-Allow-Credentials', 'true');
    if (req.method === 'OPTIONS' && req.get('access-control-request-method') !== undefined) {
      res.set({
        'Access-Control-Allow-Methods': CORS_ALLOWED_METHODS.join(', '),
        'Access-Control-Allow-Headers': CORS_ALLOWED_HEADERS.join(', '),
        'Access-Control-Max-Age': String(CORS_MAX_AGE_SECONDS),
      });
      res.status(204).end();
      return;
    }
    res.set('Access-Control-Expose-Headers', CORS_EXPOSED_HEADERS.join(', '));
    next();
  };
}
