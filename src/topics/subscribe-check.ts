/**
 * The back end's say on a subscription (SUBSCRIBE_CHECK_URL): a POST of
 * `{ app, tenantId, userId, topic }`, answered 2xx `{ allow: boolean, reason? }`.
 *
 * Rules:
 * - An answer is cached per (app, tenant, user, topic) for SUBSCRIBE_CHECK_CACHE_SECONDS,
 *   at most SUBSCRIBE_CHECK_CACHE_ENTRIES entries (least recently used go first), so a
 *   reconnect storm re-subscribing thousands of sockets asks once per subscription.
 *   Concurrent asks for the same key share one request.
 * - The back end down, slow (SUBSCRIBE_CHECK_TIMEOUT_MS), answering non-2xx or something
 *   that is not `{ allow: boolean }`: denied with reason `check_unavailable`, not cached
 *   (the next subscribe asks again). Failing closed: a topic is never granted unchecked.
 */
import { splitTenant } from '../apps/app-scope.js';
import type { Principal } from '../auth/user-token.js';
import { ExpiringLru } from '../policy/expiring-lru.js';

export type Verdict = { allow: true } | { allow: false; reason: string };

export type CheckOutcome = 'allow' | 'deny' | 'unavailable' | 'cached';

export interface SubscribeCheckOptions {
  url: string;
  timeoutMs: number;
  cacheTtlMs: number;
  cacheEntries: number;
  /** Counts each answer by how it was reached. */
  onOutcome?: (outcome: CheckOutcome) => void;
}

export const CHECK_UNAVAILABLE = 'check_unavailable';
const REASON = /^[A-Za-z0-9_.:-]{1,64}$/;

export class SubscribeCheck {
  private readonly cache: ExpiringLru<Verdict>;
  private readonly inFlight = new Map<string, Promise<Verdict>>();

  constructor(private readonly options: SubscribeCheckOptions) {
    this.cache = new ExpiringLru(options.cacheEntries, options.cacheTtlMs);
  }

  /** The back end is asked about its own ids: the app, and the tenant as the app knows it. */
  async check(who: Principal, topic: string): Promise<Verdict> {
    const { app, tenantId } = splitTenant(who.tenantId);
    const key = JSON.stringify([app, tenantId, who.userId, topic]);
    const cached = this.cache.get(key);
    if (cached) {
      this.options.onOutcome?.('cached');
      return cached.value;
    }
    let asking = this.inFlight.get(key);
    if (!asking) {
      asking = this.ask({ app, tenantId, userId: who.userId, topic }).finally(() => this.inFlight.delete(key));
      this.inFlight.set(key, asking);
      const verdict = await asking;
      if (verdict.allow || verdict.reason !== CHECK_UNAVAILABLE) this.cache.set(key, verdict);
      this.options.onOutcome?.(verdict.allow ? 'allow' : verdict.reason === CHECK_UNAVAILABLE ? 'unavailable' : 'deny');
      return verdict;
    }
    return asking;
  }

  private async ask(question: { app: string; tenantId: string; userId: string; topic: string }): Promise<Verdict> {
    try {
      const response = await fetch(this.options.url, {
        method: 'POST',
        headers: { 'content-type': 'application/json', accept: 'application/json' },
        body: JSON.stringify(question),
        signal: AbortSignal.timeout(this.options.timeoutMs),
      });
      if (!response.ok) {
        await response.body?.cancel();
        return { allow: false, reason: CHECK_UNAVAILABLE };
      }
      const answer = (await response.json()) as { allow?: unknown; reason?: unknown } | null;
      if (typeof answer?.allow !== 'boolean') return { allow: false, reason: CHECK_UNAVAILABLE };
      if (answer.allow) return { allow: true };
      // The back end's reason is passed on to the client only when it is a short token.
      return { allow: false, reason: typeof answer.reason === 'string' && REASON.test(answer.reason) ? answer.reason : 'denied' };
    } catch {
      return { allow: false, reason: CHECK_UNAVAILABLE };
    }
  }
}
