/**
 * Responses name a tenant by the id its app gave it, never by its storage key
 * (apps/app-scope.ts): a client of app `crm` sees tenant `acme`, not `crm~acme`.
 */
import { publicTenant } from '../apps/app-scope.js';

export function withPublicTenant<T extends { tenantId: string }>(record: T): T {
  return { ...record, tenantId: publicTenant(record.tenantId) };
}
