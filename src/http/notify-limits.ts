/**
 * Notify rate limits per API key, shared by every instance through Redis when REDIS_URL
 * is set (src/limits/window-limits.ts):
 * - `notify_requests`: NOTIFY_RATE_PER_KEY notifications per second (a batch counts its
 *   items), over windows of NOTIFY_RATE_WINDOW_SECONDS;
 * - `notify_recipients`: NOTIFY_RECIPIENTS_PER_KEY recipients per second (a tenant
 *   broadcast counts 1: its fan-out is limited elsewhere), over the same windows.
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
import { HttpError } from './errors.js';

export const NOTIFY_REQUESTS = 'notify_requests';
export const NOTIFY_RECIPIENTS = 'notify_recipients';

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
  'REDIS_URL' | 'REDIS_KEY_PREFIX' | 'NOTIFY_RATE_PER_KEY' | 'NOTIFY_RECIPIENTS_PER_KEY' | 'NOTIFY_RATE_WINDOW_SECONDS'
>;

export async function createNotifyLimiter(config: LimitSettings, metrics: Metrics, logger: Logger): Promise<NotifyLimiter> {
  const window = config.NOTIFY_RATE_WINDOW_SECONDS;
  const store = await openLimitStore(config.REDIS_URL, `${config.REDIS_KEY_PREFIX}:ratelimit`, logger);
  const limits = new WindowLimits(
    [
      { name: NOTIFY_REQUESTS, points: config.NOTIFY_RATE_PER_KEY * window, windowSeconds: window },
      { name: NOTIFY_RECIPIENTS, points: config.NOTIFY_RECIPIENTS_PER_KEY * window, windowSeconds: window },
    ],
    store,
  );
  // One log line per key and limit per window, not one per refused request.
  const lastLogged = new Map<string, number>();
  return {
    async admit(res, grant, inputs) {
      const admission = await limits.admit(
        grant.keyId,
        inputs.map((input) => ({ [NOTIFY_REQUESTS]: 1, [NOTIFY_RECIPIENTS]: input.scope === 'tenant' ? 1 : input.userIds.length })),
      );
      setRateLimitHeaders(res, admission);
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
