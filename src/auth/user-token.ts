/**
 * User tokens (JWT). The accepted algorithms are pinned by configuration, never taken
 * from the token header: HS256 with JWT_SECRET, RS256/ES256 with JWT_PUBLIC_KEY. This
 * rules out `alg: none` and HS/RS confusion (a token HMAC-signed with the public key).
 */
import { createPublicKey, createSecretKey, type KeyObject } from 'node:crypto';
import jwt from 'jsonwebtoken';
import { TENANT_ID, type Config } from '../config/config.js';
import { claimPatterns } from '../topics/topic-names.js';
import { DEFAULT_APP, storageTenant } from '../apps/app-scope.js';

export interface Principal {
  /** The storage tenant key: the `tid` claim, within the token's app (apps/app-scope.ts). */
  tenantId: string;
  userId: string;
}

export type AuthFailure = 'missing' | 'expired' | 'invalid' | 'bad_claims';

export class AuthError extends Error {
  override name = 'AuthError';
  constructor(readonly reason: AuthFailure) {
    super('unauthorized');
  }
}

const USER_ID = /^[^\s\u0000-\u001f]{1,128}$/u;

/** A verified token: who it names, and until when (open connections are closed then). */
export interface VerifiedToken extends Principal {
  /** `exp` in epoch milliseconds; null for a token without `exp`. */
  expiresAt: number | null;
  /** The `topics` claim: topic patterns the token may subscribe to (topics/topic-names.ts). */
  topicPatterns?: readonly string[];
}

export type TokenVerifier = (token: unknown) => VerifiedToken;

/**
 * `apps`: the apps this gateway serves; a token's `app` claim (absent: the default app)
 * must name one of them. Its `tid` is then that app's tenant: the principal carries the
 * storage key, so nothing of one app is ever found with another app's token.
 */
export function createTokenVerifier(
  config: Pick<Config, 'JWT_SECRET' | 'JWT_PUBLIC_KEY' | 'JWT_ISSUER' | 'JWT_AUDIENCE'>,
  apps: readonly string[] = [DEFAULT_APP],
): TokenVerifier {
  const served = new Set(apps);
  if (!config.JWT_PUBLIC_KEY && !config.JWT_SECRET) throw new Error('no JWT_SECRET or JWT_PUBLIC_KEY configured');
  // A key object made once: given a string, jsonwebtoken parses it on every verify (first
  // as a PEM public key, failing, for an HMAC secret) — about 1 ms per token, which a
  // reconnect storm of thousands of sockets pays in full.
  const key: KeyObject = config.JWT_PUBLIC_KEY
    ? createPublicKey(config.JWT_PUBLIC_KEY)
    : createSecretKey(Buffer.from(config.JWT_SECRET!, 'utf8'));
  const options: jwt.VerifyOptions = {
    algorithms: config.JWT_PUBLIC_KEY ? ['RS256', 'ES256'] : ['HS256'],
    ...(config.JWT_ISSUER ? { issuer: config.JWT_ISSUER } : {}),
    ...(config.JWT_AUDIENCE ? { audience: config.JWT_AUDIENCE } : {}),
  };
  return (token) => {
    if (typeof token !== 'string' || token.length === 0 || token.length > 8192) throw new AuthError('missing');
    let claims: string | jwt.JwtPayload;
    try {
      claims = jwt.verify(token, key, options);
    } catch (error) {
      throw new AuthError(error instanceof jwt.TokenExpiredError ? 'expired' : 'invalid');
    }
    if (typeof claims !== 'object') throw new AuthError('bad_claims');
    const tenantId = claims.tid ?? 'default';
    if (typeof claims.sub !== 'string' || !USER_ID.test(claims.sub)) throw new AuthError('bad_claims');
    if (typeof tenantId !== 'string' || !TENANT_ID.test(tenantId)) throw new AuthError('bad_claims');
    const app = claims.app ?? DEFAULT_APP;
    if (typeof app !== 'string' || !served.has(app)) throw new AuthError('bad_claims');
    const expiresAt = typeof claims.exp === 'number' ? claims.exp * 1000 : null;
    const topicPatterns = claimPatterns(claims.topics);
    return { tenantId: storageTenant(app, tenantId), userId: claims.sub, expiresAt, ...(topicPatterns.length > 0 && { topicPatterns }) };
  };
}

/** `Authorization: Bearer <jwt>` → token, or undefined. */
export function bearerToken(header: string | undefined): string | undefined {
  const match = header?.match(/^Bearer\s+(\S+)$/i);
  return match?.[1];
}
