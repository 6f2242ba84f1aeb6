/**
 * The audit log (API key): `GET /api/audit?action=&limit=&cursor=` lists rows newest
 * first, with an opaque cursor. A tenant-bound key sees only its tenant; a key for any
 * tenant sees all of them, or one with `?tenantId=`.
 *
 * Rows are written by the routes that make the changes (channels, recipients, delivery
 * retries), after the change, and by the notify routes for audited kinds (notify-audit.ts).
 */
import { withPublicTenant } from './public-tenant.js';
import { Router } from 'express';
import { z } from 'zod';
import type { ApiKeyGrant } from '../auth/api-keys.js';
import type { AuditRepository } from '../store/audit-repository.js';
import { tenantScopeOf, validationError, type AdminAuthDeps } from './admin-auth.js';

/** What the change routes need: append only. */
export type AuditLog = Pick<AuditRepository, 'record'>;

export interface AuditRouteDeps extends AdminAuthDeps {
  audit: Pick<AuditRepository, 'list'>;
}

/** The actor of an API-key request: the key's id (a short hash), never the key. */
export const keyActor = (grant: ApiKeyGrant): string => `key:${grant.keyId}`;

const ID = /^[0-9a-f-]{36}$/;
export const listQuery = z.object({
  action: z.string().regex(/^[a-z][a-z0-9_.]{0,31}$/, 'an action such as channel.put').optional(),
  limit: z.coerce.number().int().min(1).max(500).default(50),
  cursor: z.string().regex(ID, 'a cursor from a previous page').optional(),
  tenantId: z.string().optional(),
});

export function auditRoutes(deps: AuditRouteDeps): Router {
  const router = Router();
  router.get('/api/audit', async (req, res) => {
    const scope = tenantScopeOf(deps, req);
    const parsed = listQuery.safeParse(req.query);
    if (!parsed.success) throw validationError('the query is invalid', parsed.error.issues);
    const q = parsed.data;
    const entries = await deps.audit.list({
      scope,
      ...(q.action && { action: q.action }),
      ...(q.cursor && { before: q.cursor }),
      limit: q.limit,
    });
    const last = entries[entries.length - 1];
    res.json({ entries: entries.map(withPublicTenant), nextCursor: entries.length === q.limit && last ? last.id : null });
  });
  return router;
}
