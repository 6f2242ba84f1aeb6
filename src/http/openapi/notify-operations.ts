/** The notify routes: one notification (notify-route.ts) and a batch (notify-batch-route.ts). */
import { z } from 'zod';
import { BATCH_PATH, MAX_BATCH_ITEMS } from '../notify-batch-route.js';
import { COMPAT_DEFAULT_KIND, COMPAT_NOTIFY_PATH, compatNotifyBody } from '../../topics/compat-notify-route.js';
import { KIND, notifyBodySchema } from '../notify-schema.js';
import type { ApiOperation } from './api-operation.js';
import { kindParam, rateLimitHeaders, retryAfter } from './api-parameters.js';
import { named } from './schema-registry.js';
import { errorObject } from './wire-schemas.js';

const notifyBody = named(
  'NotifyBody',
  notifyBodySchema,
  'One notification. Address it with `userId` or `userIds`, or `scope: "tenant"`, or `topics`. ' +
    '`mentions` and `external` need `channels`; `devices` goes with `userId` only.',
);

const created = named(
  'NotifyCreated',
  z.object({ id: z.string(), deduped: z.literal(false), recipients: z.int().min(0).describe('distinct users; 0 for a tenant broadcast or topics') }),
  'Stored (committed) and on its way.',
);
const deduped = named('NotifyDeduped', z.object({ id: z.string().describe('the first one\'s id'), deduped: z.literal(true) }), 'Seen before (same dedupe key in the tenant): nothing written or sent again.');
const transient = named(
  'NotifyTransient',
  z.object({ transient: z.literal(true), recipients: z.int().min(0) }),
  '`transient: true`: emitted live, never stored or replayed.',
);

const batchItem = notifyBodySchema.safeExtend({ kind: z.string().regex(KIND) });
const batchBody = named(
  'NotifyBatchBody',
  z.object({ notifications: z.array(batchItem).min(1).max(MAX_BATCH_ITEMS) }).strict(),
  'Notifications in positions of array order; each item is a NotifyBody with its kind.',
);
const batchResults = named(
  'NotifyBatchResults',
  z.object({
    results: z.array(
      z.union([
        created.extend({ status: z.literal(201) }),
        deduped.extend({ status: z.literal(200) }),
        transient.extend({ status: z.literal(202) }),
        z.object({ status: z.int().min(400).max(599), error: errorObject }),
      ]),
    ),
  }),
  'One result per item, in order: what the single route would have answered for it.',
);

const notifyExample = { userId: 'demo-user', title: 'Build finished', body: 'main is green', priority: 'high', data: { build: 42 } };

export const notifyOperations: ApiOperation[] = [
  {
    id: 'notify',
    method: 'post',
    path: '/api/notify/:kind',
    tag: 'notify',
    summary: 'Send one notification',
    description:
      'Stored durably, then pushed to every open session of its recipients and through the channels named. ' +
      'A 2xx means committed. The same `dedupeKey` (or `Idempotency-Key`) again in the tenant answers 200 with the first id.',
    auth: 'apiKey',
    pathParams: z.object({ kind: kindParam }),
    headers: z.object({ 'Idempotency-Key': z.string().min(1).max(191).optional() }),
    paramDocs: { kind: 'What happened, e.g. `task:completed`.', 'Idempotency-Key': 'The dedupe key; when `dedupeKey` is given too, they must be equal.' },
    paramExamples: { kind: 'task:completed' },
    body: { schema: notifyBody, example: notifyExample },
    responses: {
      201: { description: 'Stored.', schema: created, headers: rateLimitHeaders },
      200: { description: 'A duplicate: the first one\'s id.', schema: deduped, headers: rateLimitHeaders },
      202: { description: 'Transient: emitted, not stored.', schema: transient, headers: rateLimitHeaders },
    },
    errors: ['FORBIDDEN_TENANT', 'RATE_LIMITED', 'STORE_UNAVAILABLE'],
  },
  {
    id: 'notifyBatch',
    method: 'post',
    path: BATCH_PATH,
    tag: 'notify',
    summary: `Send up to ${MAX_BATCH_ITEMS} notifications`,
    description:
      'Valid items are committed together, in array order; a bad item fails alone. Rate limits admit the valid items that fit, ' +
      'from the first; the later ones answer 429 each (when none fits, the whole request is a 429). Body up to 4 MB.',
    auth: 'apiKey',
    body: { schema: batchBody, example: { notifications: [{ kind: 'task:completed', ...notifyExample }] } },
    responses: {
      200: { description: 'One result per item.', schema: batchResults, headers: rateLimitHeaders },
      503: { description: 'No item could be stored: STORE_UNAVAILABLE for each.', schema: batchResults, headers: [retryAfter] },
    },
    errors: ['RATE_LIMITED'],
  },
  {
    id: 'compatNotify',
    method: 'post',
    path: COMPAT_NOTIFY_PATH,
    tag: 'notify',
    summary: 'Send one notification in the common subscribe / dataUpdate shape',
    description:
      'For clients of the common `subscribe` / `subscribeCount` / `dataUpdate` protocol (README "Compatibility"). ' +
      '`users` → userIds, `eventTopics` → topics, `devices` → devices (with one user); `kind` defaults to ' +
      `\`${COMPAT_DEFAULT_KIND}\`. The same validation, limits, policies and answers as \`POST /api/notify/:kind\`. ` +
      '`appId`, when given, must be the API key\'s app (403 `FORBIDDEN_APP`). An `x-client-id` header is never read.',
    auth: 'apiKey',
    body: {
      schema: named('CompatNotifyBody', compatNotifyBody, 'The compatibility body; each value is checked by the NotifyBody rules.'),
      example: { eventTopics: ['order:42'], data: { status: 'shipped' } },
    },
    responses: {
      201: { description: 'Stored.', schema: created, headers: rateLimitHeaders },
      200: { description: 'A duplicate: the first one\'s id.', schema: deduped, headers: rateLimitHeaders },
      202: { description: 'Transient: emitted, not stored.', schema: transient, headers: rateLimitHeaders },
    },
    errors: ['FORBIDDEN_APP', 'FORBIDDEN_TENANT', 'RATE_LIMITED', 'STORE_UNAVAILABLE'],
  },
];
