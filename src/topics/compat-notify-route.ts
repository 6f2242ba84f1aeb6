/**
 * `POST /notify` — the common protocol's send, for back ends written against it:
 * `{ appId?, tenantId?, users?, devices?, eventTopics?, data, kind?, title?, priority?, transient? }`
 * with `X-API-Key`. A thin mapping onto `POST /api/notify/:kind`, through the same checks,
 * rate limits, policies, writer and answers (http/notify-submit.ts):
 *
 * - `users` → `userIds` (`userId` when it names one user and `devices` is given: devices
 *   go with one user), `eventTopics` → `topics`, `devices` → `devices`;
 * - `kind` defaults to `data:update`, `title` to the kind (a stored notification has one);
 * - `appId`, when given, must be the key's app (`403 FORBIDDEN_APP`): a key never sends
 *   into another app;
 * - who is sending is the API key, who receives is the body: an `x-client-id` header (some
 *   clients of that protocol send one) is never read.
 * Validation errors name the fields as sent (`users`, `eventTopics`).
 */
import { Router } from 'express';
import { z } from 'zod';
import { HttpError } from '../http/errors.js';
import { checkKind, parseNotifyBody, requireGrant, type NotifyDeps } from '../http/notify-input.js';
import { submitNotify } from '../http/notify-submit.js';

export const COMPAT_NOTIFY_PATH = '/notify';
export const COMPAT_DEFAULT_KIND = 'data:update';

// Only the shape is checked here; every value is checked by the notify body's own schema.
export const compatNotifyBody = z
  .object({
    appId: z.string().optional(),
    tenantId: z.unknown().optional(),
    users: z.array(z.unknown()).optional(),
    devices: z.unknown().optional(),
    eventTopics: z.unknown().optional(),
    data: z.record(z.string(), z.unknown()),
    kind: z.string().optional(),
    title: z.unknown().optional(),
    priority: z.unknown().optional(),
    transient: z.unknown().optional(),
  })
  .strict();

type CompatBody = z.infer<typeof compatNotifyBody>;

/** Field names of the notify body → the names this route's callers sent. */
const SENT_AS: Record<string, string> = { userId: 'users', userIds: 'users', topics: 'eventTopics' };

/** `notifyDeps` is read per request: the notify path is built after the topic features. */
export function compatNotifyRoute(notifyDeps: () => NotifyDeps): Router {
  const router = Router();
  router.post(COMPAT_NOTIFY_PATH, async (req, res) => {
    const deps = notifyDeps();
    const grant = requireGrant(deps, req.get('x-api-key'));
    if (!req.is('application/json')) {
      throw new HttpError('UNSUPPORTED_MEDIA_TYPE', 'send the notification as Content-Type: application/json');
    }
    const sent = parseCompatBody(req.body);
    if (sent.appId !== undefined && sent.appId !== grant.app) {
      deps.metrics.authFailures.inc({ reason: 'app_mismatch' });
      throw new HttpError('FORBIDDEN_APP', `this API key is for app "${grant.app}", not "${sent.appId}"`);
    }
    const kind = sent.kind ?? COMPAT_DEFAULT_KIND;
    checkKind(kind);
    const body = renamingErrors(() => parseNotifyBody(toNotifyBody(sent, kind)));
    await submitNotify(deps, res, grant, kind, body);
  });
  return router;
}

function parseCompatBody(raw: unknown): CompatBody {
  const parsed = compatNotifyBody.safeParse(raw);
  if (parsed.success) return parsed.data;
  const details = parsed.error.issues.map((i) => ({ path: i.path.map(String).join('.'), message: i.message }));
  throw new HttpError('VALIDATION_FAILED', 'send { users?, devices?, eventTopics?, data, … }', details);
}

function toNotifyBody(sent: CompatBody, kind: string): Record<string, unknown> {
  const oneUserWithDevices = sent.devices !== undefined && sent.users?.length === 1;
  return {
    ...(sent.tenantId !== undefined && { tenantId: sent.tenantId }),
    ...(sent.users !== undefined && (oneUserWithDevices ? { userId: sent.users[0] } : { userIds: sent.users })),
    ...(sent.devices !== undefined && { devices: sent.devices }),
    ...(sent.eventTopics !== undefined && { topics: sent.eventTopics }),
    title: sent.title ?? kind,
    data: sent.data,
    ...(sent.priority !== undefined && { priority: sent.priority }),
    ...(sent.transient !== undefined && { transient: sent.transient }),
  };
}

function renamingErrors<T>(parse: () => T): T {
  try {
    return parse();
  } catch (error) {
    if (!(error instanceof HttpError) || !Array.isArray(error.details)) throw error;
    const details = (error.details as { path: string; message: string }[]).map(({ path, message }) => {
      const [head = '', ...rest] = path.split('.');
      return { path: [SENT_AS[head] ?? head, ...rest].join('.'), message };
    });
    throw new HttpError(error.code, error.message, details);
  }
}
