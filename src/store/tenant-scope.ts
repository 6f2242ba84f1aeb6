/**
 * Which tenants a management query may see: one tenant, or every tenant of one app
 * (apps/app-scope.ts: an app's tenant keys are `<app>~<tenant>`, the default app's have no
 * `~`). A key for any tenant lists across tenants of its own app only.
 */
import type { Knex } from 'knex';
import { DEFAULT_APP, appOfTenant } from '../apps/app-scope.js';

export type TenantScope = { tenantId: string } | { app: string };

export function whereInScope(q: Knex.QueryBuilder, column: string, scope: TenantScope): Knex.QueryBuilder {
  if ('tenantId' in scope) return q.where(column, scope.tenantId);
  if (scope.app === DEFAULT_APP) return q.whereNot(column, 'like', '%~%');
  // Tenant ids are made of [A-Za-z0-9_.-], all below '~' (0x7E): every key of the app
  // sorts between `<app>~` and `<app>\x7f`, a range the tenant index serves.
  return q.where(column, '>=', `${scope.app}~`).andWhere(column, '<', `${scope.app}\u007f`);
}

export function inScope(scope: TenantScope, tenantKey: string): boolean {
  return 'tenantId' in scope ? scope.tenantId === tenantKey : appOfTenant(tenantKey) === scope.app;
}
