/** POST /api/notify/:kind — service API key → validate → rate limits → stored (committed) → 201/200. */
import { Router, type Request } from 'express';
import { HttpError } from './errors.js';
import { checkKind, parseNotifyBody, requireGrant, type NotifyDeps } from './notify-input.js';
import { submitNotify } from './notify-submit.js';

export function notifyRoute(deps: NotifyDeps): Router {
  const router = Router();
  router.post('/api/notify/:kind', async (req, res) => {
    const grant = requireGrant(deps, req.get('x-api-key'));
    const kind = String(req.params.kind);
    checkKind(kind);
    if (!req.is('application/json')) {
      throw new HttpError('UNSUPPORTED_MEDIA_TYPE', 'send the notification as Content-Type: application/json');
    }
    const body = parseNotifyBody(req.body);
    applyIdempotencyKey(req, body);
    if (body.transient && req.get('idempotency-key') !== undefined) {
      throw new HttpError('VALIDATION_FAILED', 'a transient notification is never stored: no Idempotency-Key');
    }
    await submitNotify(deps, res, grant, kind, body);
  });
  return router;
}

/** The `Idempotency-Key` header is the dedupe key; both given → they must agree. */
function applyIdempotencyKey(req: Request, body: { dedupeKey?: string | undefined }): void {
  const header = req.get('idempotency-key');
  if (header === undefined) return;
  if (body.dedupeKey !== undefined && body.dedupeKey !== header) {
    throw new HttpError('VALIDATION_FAILED', 'Idempotency-Key and dedupeKey differ', [
      { path: 'dedupeKey', message: 'must equal the Idempotency-Key header' },
    ]);
  }
  if (header.length === 0 || header.length > 191) {
    throw new HttpError('VALIDATION_FAILED', 'Idempotency-Key must be 1..191 characters');
  }
  body.dedupeKey = header;
}
