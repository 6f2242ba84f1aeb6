/** User-token authentication for the REST and SSE routes (the socket has its own in the handshake). */
import type { Request, Response } from 'express';
import { AuthError, bearerToken, type TokenVerifier, type VerifiedToken } from '../auth/user-token.js';
import type { Metrics } from '../metrics/metrics.js';
import { HttpError } from './errors.js';

export interface UserAuthDeps {
  verifyToken: TokenVerifier;
  metrics: Metrics;
}

/**
 * `Authorization: Bearer <jwt>` → the principal, else 401. `allowQueryToken` is for SSE
 * only: a browser EventSource cannot set headers, so `?token=` is accepted there.
 */
export function authenticate(
  deps: UserAuthDeps,
  req: Request,
  res: Response,
  channel: 'rest' | 'sse',
  allowQueryToken = false,
): VerifiedToken {
  const fromQuery = allowQueryToken && typeof req.query.token === 'string' ? req.query.token : undefined;
  const token = bearerToken(req.get('authorization')) ?? fromQuery;
  try {
    return deps.verifyToken(token);
  } catch (error) {
    const reason = error instanceof AuthError ? error.reason : 'invalid';
    deps.metrics.authFailures.inc({ reason: `${channel}_${reason}` });
    // https://datatracker.ietf.org/doc/html/rfc6750#section-3
    res.set('WWW-Authenticate', reason === 'missing' ? 'Bearer' : 'Bearer error="invalid_token"');
    throw new HttpError('UNAUTHORIZED', 'missing, invalid or expired user token');
  }
}
