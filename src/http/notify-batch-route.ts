/**
 * POST /api/notify — up to 500 notifications in one request, one result per item in
 * order: `{ status: 201|200, id, … }` or `{ status: 4xx|503, error }`. One bad item
 * never fails the others; valid items are group-committed together.
 *
 * Rate limits count the valid items (and their recipients). The valid items that fit
 * the key's budgets, from the first, are written; the valid items after them answer
 * `{ status: 429, error: RATE_LIMITED }`. When none fits, the whole request is a 429.
 */
import { Router } from 'express';
import { z } from 'zod';
import { TimeSlice } from '../event-loop.js';
import type { NotificationInput } from '../outbox/notification-writer.js';
import { HttpError, RETRY_AFTER_SECONDS, errorBody } from './errors.js';
import { batchJsonBody } from './batch-body.js';
import { withPolicies } from './notify-policies.js';
import { sendTransient } from '../topics/transient-emitter.js';
import { answer, checkKind, parseNotifyBody, requireGrant, toNotificationInput, type NotifyDeps } from './notify-input.js';
import { checkFanoutPerRequest, rateLimitDetails, rateLimitMessage, rateLimited } from './notify-limits.js';

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
  // Up to 4 MB, parsed and checked item by item without holding the event loop (batch-body.ts).
  router.post(BATCH_PATH, batchJsonBody(MAX_BATCH_BODY_BYTES), async (req, res) => {
    const grant = requireGrant(deps, req.get('x-api-key'));
    const parsed = batchSchema.safeParse(req.body);
    if (!parsed.success) {
      const details = parsed.error.issues.map((i) => ({ path: i.path.join('.'), message: i.message }));
      throw new HttpError('VALIDATION_FAILED', `send { notifications: [1..${MAX_BATCH_ITEMS}] }, each with a kind`, details);
    }
    const failed = (error: unknown): ItemResult => {
      const known =
        error instanceof HttpError ? error
        : isStoreUnavailable(error) ? new HttpError('STORE_UNAVAILABLE', 'storage is unavailable, retry later')
        : new HttpError('INTERNAL', 'internal error');
      return { status: known.status, ...errorBody(known.code, known.message, known.details) };
    };
    // Validating 500 items of 1,000 recipients takes hundreds of ms: in slices, the event
    // loop turning between them. The items' preferences load concurrently within a slice,
    // so the policy cache reads what they miss in one query, not one per item in turn.
    type Prepared = { input: NotificationInput; transient: boolean } | { error: unknown };
    const prepare = async (kind: string, item: object): Promise<Prepared> => {
      try {
        checkKind(kind);
        const body = parseNotifyBody(item);
        return { input: await withPolicies(deps.policies, toNotificationInput(deps, kind, body, grant)), transient: body.transient === true };
      } catch (error) {
        return { error };
      }
    };
    const pending: Promise<Prepared>[] = [];
    let settled = 0;
    const slice = new TimeSlice();
    for (const { kind, ...item } of parsed.data.notifications) {
      pending.push(prepare(kind, item));
      if (slice.due) {
        await Promise.all(pending.slice(settled));
        settled = pending.length;
        await slice.pause();
      }
    }
    const prepared = await Promise.all(pending);
    const valid = prepared.flatMap((p) => ('input' in p ? [p.input] : []));
    checkFanoutPerRequest(deps.fanoutPerRequest, valid, deps.metrics);
    const admission = valid.length > 0 ? await deps.limits?.admit(res, grant, valid) : undefined;
    const refusedBy = admission?.refusedBy ?? null;
    if (refusedBy && admission!.admitted === 0) throw rateLimited(res, refusedBy);
    const admitted = admission?.admitted ?? valid.length;
    // One group: the items keep their order (submitted in order, synchronously, here).
    const order = {};
    let position = 0;
    const written: ({ id: string; input: NotificationInput } | undefined)[] = [];
    const results: ItemResult[] = await Promise.all(
      prepared.map(async (p, index): Promise<ItemResult> => {
        if (!('input' in p)) return failed(p.error);
        if (position++ >= admitted && refusedBy) {
          return { status: 429, ...errorBody('RATE_LIMITED', rateLimitMessage(refusedBy), rateLimitDetails(refusedBy)) };
        }
        try {
          if (p.transient) {
            const transient = sendTransient(deps.emitTransient, p.input);
            return { status: transient.status, ...transient.body };
          }
          const result = await deps.submit(p.input, order);
          if (!result.deduped) written[index] = { id: result.id, input: p.input };
          const { status, body } = answer(deps, p.input.kind, result);
          return { status, ...body };
        } catch (error) {
          return failed(error);
        }
      }),
    );
    if (deps.audit) await deps.audit.afterCommit(grant, written.filter((w) => w !== undefined));
    const allUnavailable = results.every((r) => r.status === 503);
    if (allUnavailable) res.set('Retry-After', String(RETRY_AFTER_SECONDS));
    res.status(allUnavailable ? 503 : 200).json({ results });
  });
  return router;
}
