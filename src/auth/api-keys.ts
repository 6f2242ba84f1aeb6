/**
 * Service API keys. Compared in constant time (by SHA-256 digest, so lengths do not
 * leak). A key bound to a tenant may notify only that tenant.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import type { ApiKeySpec } from '../config/config.js';

export interface ApiKeyGrant {
  /** null: any tenant. */
  tenantId: string | null;
}

const digest = (value: string) => createHash('sha256').update(value).digest();

export function createApiKeyChecker(keys: readonly ApiKeySpec[]): (presented: string | undefined) => ApiKeyGrant | null {
  const known = keys.map((k) => ({ digest: digest(k.key), tenantId: k.tenantId }));
  return (presented) => {
    if (!presented) return null;
    const candidate = digest(presented);
    let grant: ApiKeyGrant | null = null;
    for (const k of known) {
      // Visit every key so the time taken does not say which one matched.
      if (timingSafeEqual(candidate, k.digest)) grant = { tenantId: k.tenantId };
    }
    return grant;
  };
}
