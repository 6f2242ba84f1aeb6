/** POST /api/notify/:kind — service API key → validate → rate limits → stored (committed) → 201/200. */
import { Router, type Request, type Response } from 'express';
import { HttpError } from './errors.js';
import { answer, checkKind, parseNotifyBody, requireGrant, toNotificationInput, type NotifyDeps } from './notify-input.js';
import { rateLimited } from './notify-limits.js';
import { withPolicies } from './notify-policies.js';
import { sendTransient } from '../topics/transient-emitter.js';

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
    const input = await withPolicies(deps.policies, toNotificationInput(deps, kind, body, grant));
    const admission = await deps.limits?.admit(res, grant, [input]);
    if (admission?.refusedBy) throw rateLimited(res, admission.refusedBy);
    if (body.transient) {
      if (req.get('idempotency-key') !== undefined) throw new HttpError('VALIDATION_FAILED', 'a transient notification is never stored: no Idempotency-Key');
      const transient = sendTransient(deps.emitTransient, input);
      return void res.status(transient.status).json(transient.body);
    }
    const result = await deps.submit(input);
    if (!result.deduped) await deps.audit?.afterCommit(grant, [{ id: result.id, input }]);
    const { status, body: payload } = answer(deps, kind, result);
    replyJson(res, status, payload);
  });
  return router;
}

/**
 * res.json without its ETag: express hashes every body for one, and nothing revalidates
 * the answer to a POST. Same body and Content-Type as res.json.
 */
function replyJson(res: Response, status: number, body: unknown): void {
  res.status(status).setHeader('Content-Type', 'application/json; charset=utf-8');
  res.end(JSON.stringify(body));
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
