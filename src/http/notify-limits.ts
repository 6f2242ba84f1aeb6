/**
 * Notify rate limits per API key, shared by every instance through Redis when REDIS_URL
 * is set (src/limits/window-limits.ts):
 * - `notify_requests`: NOTIFY_RATE_PER_KEY notifications per second (a batch counts its
 *   items), over windows of NOTIFY_RATE_WINDOW_SECONDS;
 * - `notify_recipients`: NOTIFY_RECIPIENTS_PER_KEY recipients per second (a tenant
 *   broadcast counts 1: its fan-out is limited elsewhere), over the same windows;
 * - `fanout`: FANOUT_PER_SECOND recipients per second from all keys together (counted
 *   like notify_recipients), over the same windows: what the relay is asked to fan out.
 *
 * And per request, before any of them: `fanout_per_request`, FANOUT_PER_REQUEST
 * recipients for a request's notifications together; a request over it is refused whole
 * with 413 PAYLOAD_TOO_LARGE (it would never fit: split it).
 *
 * The key is known here only by its id (a short hash): Redis keys, logs and metrics
 * never carry the key itself. Refused: 429 RATE_LIMITED with `Retry-After`; a batch
 * admits the items, from the first, that fit, and answers the rest 429 each.
 */
import type { Response } from 'express';
import type { ApiKeyGrant } from '../auth/api-keys.js';
import type { Config } from '../config/config.js';
import type { Logger } from '../logger.js';
import type { Metrics } from '../metrics/metrics.js';
import type { NotificationInput } from '../outbox/notification-writer.js';
import { openLimitStore, WindowLimits, type Admission, type LimitState } from '../limits/window-limits.js';
import { redisTargetOf } from '../redis/redis-client.js';
import { HttpError } from './errors.js';

export const NOTIFY_REQUESTS = 'notify_requests';
export const NOTIFY_RECIPIENTS = 'notify_recipients';
export const FANOUT = 'fanout';
export const FANOUT_PER_REQUEST = 'fanout_per_request';
/** The subject of the limits every key shares (Redis key `<prefix>:ratelimit:fanout:all`). */
const ALL_KEYS = 'all';

export interface NotifyLimiter {
  /**
   * Charges `inputs`, in order, to the key and sets the RateLimit-* headers on `res`.
   * Returns how many, from the first, may be written; the rest are refused and counted.
   */
  admit(res: Response, grant: ApiKeyGrant, inputs: readonly NotificationInput[]): Promise<Admission>;
  close(): Promise<void>;
}

type LimitSettings = Pick<
  Config,
  'REDIS_URL' | 'REDIS_CLUSTER_NODES' | 'REDIS_KEY_PREFIX' | 'NOTIFY_RATE_PER_KEY' | 'NOTIFY_RECIPIENTS_PER_KEY' | 'NOTIFY_RATE_WINDOW_SECONDS' | 'FANOUT_PER_SECOND'
>;

export async function createNotifyLimiter(config: LimitSettings, metrics: Metrics, logger: Logger): Promise<NotifyLimiter> {
  const window = config.NOTIFY_RATE_WINDOW_SECONDS;
  const store = await openLimitStore(redisTargetOf(config), `${config.REDIS_KEY_PREFIX}:ratelimit`, logger);
  const limits = new WindowLimits(
    [
      { name: NOTIFY_REQUESTS, points: config.NOTIFY_RATE_PER_KEY * window, windowSeconds: window },
      { name: NOTIFY_RECIPIENTS, points: config.NOTIFY_RECIPIENTS_PER_KEY * window, windowSeconds: window },
      { name: FANOUT, points: config.FANOUT_PER_SECOND * window, windowSeconds: window, subject: ALL_KEYS },
    ],
    store,
  );
  // One log line per key and limit per window, not one per refused request.
  const lastLogged = new Map<string, number>();
  return {
    async admit(res, grant, inputs) {
      const admission = await limits.admit(
        grant.keyId,
        inputs.map((input) => ({ [NOTIFY_REQUESTS]: 1, [NOTIFY_RECIPIENTS]: recipientCount(input), [FANOUT]: recipientCount(input) })),
      );
      // The budget all keys share is not shown to one key (it would tell it how much the
      // others send), unless it is the limit that refused.
      setRateLimitHeaders(res, { ...admission, states: admission.states.filter((state) => state.name !== FANOUT) });
      const refused = admission.refusedBy;
      if (refused) {
        metrics.rateLimited.inc({ limit: refused.name }, inputs.length - admission.admitted);
        const logKey = `${grant.keyId}:${refused.name}`;
        const now = Date.now();
        if (now - (lastLogged.get(logKey) ?? 0) >= refused.windowSeconds * 1000) {
          lastLogged.set(logKey, now);
          logger.warn({ keyId: grant.keyId, limit: refused.name, budget: refused.limit, retryAfter: refused.resetSeconds }, 'notify rate limit reached');
        }
      }
      return admission;
    },
    close: () => store.close(),
  };
}

/** What a notification counts against the recipient limits: a tenant broadcast counts 1. */
const recipientCount = (input: NotificationInput) => (input.scope === 'tenant' || input.scope === 'app' ? 1 : input.userIds.length);

/**
 * FANOUT_PER_REQUEST: refuses (413, whole) a request whose valid notifications reach more
 * recipients together than `max`; counted per notification refused.
 */
export function checkFanoutPerRequest(max: number | undefined, inputs: readonly NotificationInput[], metrics: Metrics): void {
  if (max === undefined) return;
  let recipients = 0;
  for (const input of inputs) recipients += recipientCount(input);
  if (recipients <= max) return;
  metrics.rateLimited.inc({ limit: FANOUT_PER_REQUEST }, inputs.length);
  throw new HttpError(
    'PAYLOAD_TOO_LARGE',
    `one request may reach at most ${max} recipients together; this one reaches ${recipients}: split it`,
    { limit: FANOUT_PER_REQUEST, max, recipients },
  );
}

/**
 * RateLimit header fields, draft-ietf-httpapi-ratelimit-headers-06 ("RateLimit Fields
 * for HTTP", https://datatracker.ietf.org/doc/html/draft-ietf-httpapi-ratelimit-headers-06):
 * `RateLimit-Limit`, `RateLimit-Remaining` and `RateLimit-Reset` (delta seconds) describe
 * one limit: the one that refused, else the one closest to exhaustion; `RateLimit-Policy`
 * lists every limit as `budget;w=window`.
 */
export function setRateLimitHeaders(res: Response, admission: Admission): void {
  const shown = admission.refusedBy ?? closestToExhaustion(admission.states);
  if (!shown) return;
  res.set('RateLimit-Limit', String(shown.limit));
  res.set('RateLimit-Remaining', String(shown.remaining));
  res.set('RateLimit-Reset', String(shown.resetSeconds));
  res.set('RateLimit-Policy', admission.states.map((s) => `${s.limit};w=${s.windowSeconds};comment="${s.name}"`).join(', '));
}

/** The 429 for a request refused whole; sets `Retry-After` (seconds) on `res`. */
export function rateLimited(res: Response, refusedBy: LimitState): HttpError {
  res.set('Retry-After', String(refusedBy.resetSeconds));
  return new HttpError('RATE_LIMITED', rateLimitMessage(refusedBy), rateLimitDetails(refusedBy));
}

export function rateLimitMessage(state: LimitState): string {
  if (state.name === FANOUT) {
    return `the gateway accepts ${state.limit} recipients per ${state.windowSeconds} s from all API keys together; retry after ${state.resetSeconds} s`;
  }
  const what = state.name === NOTIFY_RECIPIENTS ? 'recipients' : 'notifications';
  return `this API key may send ${state.limit} ${what} per ${state.windowSeconds} s; retry after ${state.resetSeconds} s`;
}

export function rateLimitDetails(state: LimitState) {
  return { limit: state.name, retryAfterSeconds: state.resetSeconds };
}

function closestToExhaustion(states: readonly LimitState[]): LimitState | undefined {
  return states.reduce<LimitState | undefined>(
    (closest, s) => (!closest || s.remaining / s.limit < closest.remaining / closest.limit ? s : closest),
    undefined,
  );
}
