/** POST /api/notify/:kind — service API key → validate → one transaction → 201/200 after commit. */
import { Router, type Request } from 'express';
import type { ApiKeyGrant } from '../auth/api-keys.js';
import type { Metrics } from '../metrics/metrics.js';
import type { NotificationWriter } from '../outbox/notification-writer.js';
import { HttpError } from './errors.js';
import { KIND, MAX_DATA_BYTES, notifyBodySchema } from './notify-schema.js';

export interface NotifyRouteDeps {
  writer: NotificationWriter;
  checkApiKey: (presented: string | undefined) => ApiKeyGrant | null;
  metrics: Metrics;
}

export function notifyRoute(deps: NotifyRouteDeps): Router {
  const router = Router();
  router.post('/api/notify/:kind', async (req, res) => {
    const grant = deps.checkApiKey(req.get('x-api-key'));
    if (!grant) {
      deps.metrics.authFailures.inc({ reason: 'api_key' });
      throw new HttpError('UNAUTHORIZED', 'missing or unknown X-API-Key');
    }
    const kind = String(req.params.kind);
    if (!KIND.test(kind)) {
      throw new HttpError('VALIDATION_FAILED', `kind must match ${KIND}`, [{ path: 'kind', message: 'invalid kind' }]);
    }
    const body = parseBody(req);
    const tenantId = body.tenantId ?? grant.tenantId ?? 'default';
    if (grant.tenantId !== null && tenantId !== grant.tenantId) {
      deps.metrics.authFailures.inc({ reason: 'tenant_mismatch' });
      throw new HttpError('FORBIDDEN_TENANT', `this API key may only notify tenant "${grant.tenantId}"`);
    }
    const userIds = body.scope === 'tenant' ? [] : [...new Set(body.userIds ?? [body.userId!])];
    const result = await deps.writer.write({
      tenantId,
      kind,
      scope: body.scope,
      userIds,
      title: body.title,
      priority: body.priority,
      ...(body.body !== undefined && { body: body.body }),
      ...(body.data !== undefined && { data: body.data }),
      ...(body.dedupeKey !== undefined && { dedupeKey: body.dedupeKey }),
      ...(body.ttlSeconds !== undefined && { ttlSeconds: body.ttlSeconds }),
    });
    if (result.deduped) {
      deps.metrics.dedupeHits.inc();
      res.status(200).json({ id: result.id, deduped: true });
    } else {
      deps.metrics.ingested.inc({ kind });
      res.status(201).json({ id: result.id, deduped: false, recipients: result.recipients });
    }
  });
  return router;
}

function parseBody(req: Request) {
  if (!req.is('application/json')) {
    throw new HttpError('UNSUPPORTED_MEDIA_TYPE', 'send the notification as Content-Type: application/json');
  }
  const parsed = notifyBodySchema.safeParse(req.body);
  if (!parsed.success) {
    const details = parsed.error.issues.map((i) => ({ path: i.path.join('.'), message: i.message }));
    throw new HttpError('VALIDATION_FAILED', 'the notification is invalid', details);
  }
  const body = parsed.data;
  const idempotencyKey = req.get('idempotency-key');
  if (idempotencyKey !== undefined) {
    if (body.dedupeKey !== undefined && body.dedupeKey !== idempotencyKey) {
      throw new HttpError('VALIDATION_FAILED', 'Idempotency-Key and dedupeKey differ', [
        { path: 'dedupeKey', message: 'must equal the Idempotency-Key header' },
      ]);
    }
    if (idempotencyKey.length === 0 || idempotencyKey.length > 191) {
      throw new HttpError('VALIDATION_FAILED', 'Idempotency-Key must be 1..191 characters');
    }
    body.dedupeKey = idempotencyKey;
  }
  if (body.data !== undefined && Buffer.byteLength(JSON.stringify(body.data)) > MAX_DATA_BYTES) {
    throw new HttpError('PAYLOAD_TOO_LARGE', `data must serialise to at most ${MAX_DATA_BYTES} bytes`);
  }
  return body;
}
