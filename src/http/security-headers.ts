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
import type { RequestHandler } from 'express';

export function securityHeaders(): RequestHandler {
  return helmet({ strictTransportSecurity: false });
}

/** For engine.io's `headers` event: the headers of its polling and handshake responses. */
export function engineHeaders(headers: Record<string, string>): void {
  headers['X-Content-Type-Options'] = 'nosniff';
}
