/**
 * Operators' view of the delivery queue (API key): `GET /api/deliveries` (newest first,
 * filters `status`, `channel`, `messageId`, opaque `cursor`) and
 * `POST /api/deliveries/:id/retry` (a `dead` or `failed` row → due now, attempts reset).
 * A tenant-bound key sees and retries only its tenant's rows. A retry leaves a row in the
 * audit log.
 */
import { withPublicTenant } from './public-tenant.js';
import { Router } from 'express';
import { z } from 'zod';
import { DELIVERY_STATUSES, type DeliveryRepository, type DeliveryStatus } from '../store/delivery-repository.js';
import { requireApiKey, tenantScopeOf, validationError, type AdminAuthDeps } from './admin-auth.js';
import { keyActor, type AuditLog } from './audit-routes.js';
import { inScope } from '../store/tenant-scope.js';
import { HttpError } from './errors.js';
import { CHANNEL_NAME } from './notify-schema.js';

export interface DeliveryRouteDeps extends AdminAuthDeps {
  deliveries: DeliveryRepository;
  /** After a retry: wake this instance's worker. */
  onRetry: () => void;
  audit: AuditLog;
}

const ID = /^[0-9a-f-]{36}$/;
export const listQuery = z.object({
  status: z.enum(DELIVERY_STATUSES as [DeliveryStatus, ...DeliveryStatus[]]).optional(),
  channel: z.string().regex(CHANNEL_NAME).optional(),
  messageId: z.string().regex(ID, 'a notification id').optional(),
  limit: z.coerce.number().int().min(1).max(500).default(50),
  cursor: z.string().regex(ID, 'a cursor from a previous page').optional(),
  tenantId: z.string().optional(),
});

export function deliveryRoutes(deps: DeliveryRouteDeps): Router {
  const router = Router();

  router.get('/api/deliveries', async (req, res) => {
    const scope = tenantScopeOf(deps, req);
    const parsed = listQuery.safeParse(req.query);
    if (!parsed.success) throw validationError('the query is invalid', parsed.error.issues);
    const q = parsed.data;
    const deliveries = await deps.deliveries.list({
      scope,
      ...(q.status && { status: q.status }),
      ...(q.channel && { channel: q.channel }),
      ...(q.messageId && { messageId: q.messageId }),
      ...(q.cursor && { before: q.cursor }),
      limit: q.limit,
    });
    const last = deliveries[deliveries.length - 1];
    res.json({ deliveries: deliveries.map(withPublicTenant), nextCursor: deliveries.length === q.limit && last ? last.id : null });
  });

  router.post('/api/deliveries/:id/retry', async (req, res) => {
    const scope = tenantScopeOf(deps, req);
    const id = String(req.params.id);
    const found = ID.test(id) ? await deps.deliveries.get(id) : null;
    if (!found || !inScope(scope, found.tenantId)) throw new HttpError('NOT_FOUND', 'no such delivery');
    if (!(await deps.deliveries.retryNow(id))) {
      throw new HttpError('CONFLICT', `only dead or failed deliveries can be retried; this one is ${found.status}`);
    }
    deps.onRetry();
    await deps.audit.record({
      tenantId: found.tenantId,
      actor: keyActor(requireApiKey(deps, req)),
      action: 'delivery.retry',
      target: id,
      details: { messageId: found.messageId, channel: found.channel, channelType: found.channelType, from: found.status },
    });
    const retried = await deps.deliveries.get(id);
    res.status(202).json({ delivery: retried && withPublicTenant(retried) });
  });

  return router;
}
