/**
 * POST /api/notify — up to 500 notifications in one request, one result per item in
 * order: `{ status: 201|200, id, … }` or `{ status: 4xx|503, error }`. One bad item
 * never fails the others; valid items are group-committed together.
 */
import express, { Router } from 'express';
import { z } from 'zod';
import { HttpError, RETRY_AFTER_SECONDS, errorBody } from './errors.js';
import { answer, checkKind, parseNotifyBody, requireGrant, toNotificationInput, type NotifyDeps } from './notify-input.js';

export const BATCH_PATH = '/api/notify';
export const MAX_BATCH_ITEMS = 500;
/** 500 items at a few KB each; single notifications stay at 64 KB. */
export const MAX_BATCH_BODY_BYTES = 4 * 1024 * 1024;

const batchSchema = z.object({
  notifications: z.array(z.object({ kind: z.string() }).passthrough()).min(1).max(MAX_BATCH_ITEMS),
}).strict();

type ItemResult = { status: number } & Record<string, unknown>;

export function notifyBatchRoute(deps: NotifyDeps, isStoreUnavailable: (error: unknown) => boolean): Router {
  const router = Router();
  router.post(BATCH_PATH, express.json({ limit: MAX_BATCH_BODY_BYTES, strict: true }), async (req, res) => {
    const grant = requireGrant(deps, req.get('x-api-key'));
    const parsed = batchSchema.safeParse(req.body);
    if (!parsed.success) {
      const details = parsed.error.issues.map((i) => ({ path: i.path.join('.'), message: i.message }));
      throw new HttpError('VALIDATION_FAILED', `send { notifications: [1..${MAX_BATCH_ITEMS}] }, each with a kind`, details);
    }
    // One group: the items keep their order (submitted in order, synchronously, here).
    const order = {};
    const results: ItemResult[] = await Promise.all(
      parsed.data.notifications.map(async ({ kind, ...item }): Promise<ItemResult> => {
        try {
          checkKind(kind);
          const input = toNotificationInput(deps, kind, parseNotifyBody(item), grant);
          const { status, body } = answer(deps, kind, await deps.submit(input, order));
          return { status, ...body };
        } catch (error) {
          const known =
            error instanceof HttpError ? error
            : isStoreUnavailable(error) ? new HttpError('STORE_UNAVAILABLE', 'storage is unavailable, retry later')
            : new HttpError('INTERNAL', 'internal error');
          return { status: known.status, ...errorBody(known.code, known.message, known.details) };
        }
      }),
    );
    const allUnavailable = results.every((r) => r.status === 503);
    if (allUnavailable) res.set('Retry-After', String(RETRY_AFTER_SECONDS));
    res.status(allUnavailable ? 503 : 200).json({ results });
  });
  return router;
}
