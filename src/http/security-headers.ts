/**
 * Security headers on every Express response, errors and 404s included (helmet's
 * defaults: `X-Content-Type-Options: nosniff`, a same-origin CSP, `X-Frame-Options`,
 * `Cross-Origin-Resource-Policy: same-origin`, `Referrer-Policy: no-referrer`, …).
 *
 * - A route may set its own header after these: /demo sends its own CSP (sdk-routes.ts),
 *   which replaces helmet's for that page.
 * - No `Strict-Transport-Security`: TLS ends at the proxy in front, which owns HSTS (an
 *   HSTS with includeSubDomains sent from here would also bind sibling hosts).
 * - `X-Powered-By` is removed (the app disables it too).
 * - Socket.IO's own responses (/socket.io/) do not pass through Express: the gateway
 *   adds `X-Content-Type-Options` to them (engineHeaders below).
 */
import helmet from 'helmet';
import type { Request, RequestHandler, Response } from 'express';

/**
 * helmet's headers are the same on every response (no per-request directives here), so
 * they are asked of it once, at start, and then set as a list: helmet runs a chain of a
 * dozen middleware per request otherwise.
 */
export function securityHeaders(): RequestHandler {
  const { set, removed } = helmetHeaders();
  return (_req, res, next) => {
    for (const [name, value] of set) res.setHeader(name, value);
    for (const name of removed) res.removeHeader(name);
    next();
  };
}

function helmetHeaders(): { set: [string, string][]; removed: string[] } {
  const set: [string, string][] = [];
  const removed: string[] = [];
  const recorder = {
    setHeader: (name: string, value: unknown) => void set.push([name, String(value)]),
    removeHeader: (name: string) => void removed.push(name),
  };
  let done = false;
  helmet({ strictTransportSecurity: false })({} as Request, recorder as unknown as Response, (error?: unknown) => {
    if (error) throw error;
    done = true;
  });
  if (!done) throw new Error('helmet did not set its headers synchronously: they cannot be computed once');
  return { set, removed };
}

/** For engine.io's `headers` event: the headers of its polling and handshake responses. */
export function engineHeaders(headers: Record<string, string>): void {
  headers['X-Content-Type-Options'] = 'nosniff';
}
