/**
 * API-key authentication for the management routes (channels, recipients, deliveries):
 * the key decides the tenant. A key bound to a tenant manages only that tenant; a key
 * for any tenant names it with `?tenantId=` (default `default`), or, where a route lists
 * across tenants, may leave it out. Tenants are always the key's app's (apps/app-scope.ts);
 * responses show tenant ids as the app knows them (`publicTenant`).
 */
import type { Request } from 'express';
import type { ApiKeyGrant } from '../auth/api-keys.js';
import { TENANT_ID } from '../config/config.js';
import type { Metrics } from '../metrics/metrics.js';
import { HttpError } from './errors.js';
import { storageTenant } from '../apps/app-scope.js';
import type { TenantScope } from '../store/tenant-scope.js';

export interface AdminAuthDeps {
  checkApiKey: (presented: string | undefined) => ApiKeyGrant | null;
  metrics: Metrics;
}

export function requireApiKey(deps: AdminAuthDeps, req: Request): ApiKeyGrant {
  const grant = deps.checkApiKey(req.get('x-api-key'));
  if (!grant) {
    deps.metrics.authFailures.inc({ reason: 'api_key' });
    throw new HttpError('UNAUTHORIZED', 'missing or unknown X-API-Key');
  }
  return grant;
}

/** The one tenant this request acts on: its storage key, within the key's app. */
export function tenantOf(deps: AdminAuthDeps, req: Request): string {
  const scope = tenantScopeOf(deps, req);
  return 'tenantId' in scope ? scope.tenantId : storageTenant(scope.app, 'default');
}

/**
 * The tenant named or bound, or, when a key for any tenant names none, every tenant of
 * the key's app (routes that list across tenants). Never another app's tenants.
 */
export function tenantScopeOf(deps: AdminAuthDeps, req: Request): TenantScope {
  const grant = requireApiKey(deps, req);
  const asked = req.query.tenantId;
  if (asked !== undefined && (typeof asked !== 'string' || !TENANT_ID.test(asked))) {
    throw new HttpError('VALIDATION_FAILED', 'tenantId: letters, digits, "_", "." or "-", up to 64');
  }
  if (grant.tenantId !== null) {
    if (asked !== undefined && asked !== grant.tenantId) {
      deps.metrics.authFailures.inc({ reason: 'tenant_mismatch' });
      throw new HttpError('FORBIDDEN_TENANT', `this API key may only manage tenant "${grant.tenantId}"`);
    }
    return { tenantId: storageTenant(grant.app, grant.tenantId) };
  }
  return asked !== undefined ? { tenantId: storageTenant(grant.app, asked) } : { app: grant.app };
}

/** zod issues → the catalogue's VALIDATION_FAILED. */
export function validationError(message: string, issues: { path: PropertyKey[]; message: string }[]): HttpError {
  return new HttpError(
    'VALIDATION_FAILED',
    message,
    issues.map((i) => ({ path: i.path.map(String).join('.'), message: i.message })),
  );
}
