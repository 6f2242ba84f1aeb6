/**
 * Service API keys. Compared in constant time (by SHA-256 digest, so lengths do not
 * leak). A key bound to a tenant may notify only that tenant. A key is known elsewhere
 * (rate limits, logs, metrics, the audit log) only by its `keyId`, never by itself.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import type { ApiKeySpec } from '../config/config.js';

export interface ApiKeyGrant {
  /** null: any tenant of the app. The tenant id as the app knows it (not the storage key). */
  tenantId: string | null;
  /** The app the key is bound to: every tenant it names is this app's (apps/app-scope.ts). */
  app: string;
  /** A short hash naming the key (see `apiKeyId`). */
  keyId: string;
}

const digest = (value: string) => createHash('sha256').update(value).digest();

/**
 * The first 12 hex digits (48 bits) of the key's SHA-256: enough to tell the configured
 * keys apart; the key cannot be read back from it.
 */
export const apiKeyId = (key: string): string => digest(key).toString('hex').slice(0, 12);

export function createApiKeyChecker(keys: readonly ApiKeySpec[]): (presented: string | undefined) => ApiKeyGrant | null {
  const known = keys.map((k) => ({ digest: digest(k.key), tenantId: k.tenantId, app: k.app, keyId: apiKeyId(k.key) }));
  return (presented) => {
    if (!presented) return null;
    const candidate = digest(presented);
    let grant: ApiKeyGrant | null = null;
    for (const k of known) {
      // Visit every key so the time taken does not say which one matched.
      if (timingSafeEqual(candidate, k.digest)) grant = { tenantId: k.tenantId, app: k.app, keyId: k.keyId };
    }
    return grant;
  };
}
