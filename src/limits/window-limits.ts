/**
 * Budgets per subject (an API key id, a tenant, …) over fixed windows, with
 * rate-limiter-flexible: in Redis when the gateway has one, so every instance draws on
 * the same budget (INCRBY and the window's expiry in one Lua call, atomic), in process
 * memory otherwise.
 *
 * Redis outage: every Redis limiter has a RateLimiterMemory of the same budget as its
 * `insuranceLimiter`. While Redis cannot answer, each instance counts on its own, so a
 * subject gets at most the budget per instance: limits stay enforced (never fail open)
 * and traffic within them still passes (never fail closed). The limiter's client queues
 * nothing while disconnected and times out slow commands, so a request waits at most
 * LIMIT_COMMAND_TIMEOUT_MS before the fallback counts it. The switch is logged.
 *
 * Windows are fixed, starting at a subject's first charge: a subject may spend a whole
 * window's budget at once (the burst), and waits for the window's end (`resetSeconds`)
 * once it is spent.
 */
import { once } from 'node:events';
import { RateLimiterMemory, RateLimiterRedis, RateLimiterRes, type RateLimiterAbstract } from 'rate-limiter-flexible';
import type { Logger } from '../logger.js';
import { createRedisClient, type RedisClient, type RedisTarget } from '../redis/redis-client.js';

export interface WindowLimit {
  /** Stable and from a small fixed set: it is the `limit` label of notify_rate_limited_total. */
  name: string;
  /** Units per window; 0 turns the limit off. */
  points: number;
  windowSeconds: number;
  /** Counted for this subject whoever is charged (a limit shared by every key); unset: per subject. */
  subject?: string;
}

export interface LimitState {
  name: string;
  /** The window's budget. */
  limit: number;
  /** Left in the current window after this charge. */
  remaining: number;
  /** Seconds until the current window ends (at least 1). */
  resetSeconds: number;
  windowSeconds: number;
}

export interface Admission {
  /** How many items, from the first, fit every budget: exactly these are charged. */
  admitted: number;
  /** Every enabled limit after the charge (empty when all limits are off). */
  states: LimitState[];
  /** The limit that stopped the first item not admitted; null when all were admitted. */
  refusedBy: LimitState | null;
}

/** A Redis command that takes longer counts as a Redis failure (the fallback answers). */
export const LIMIT_COMMAND_TIMEOUT_MS = 500;
/** How long start-up waits for the limits' Redis connection before counting locally. */
const CONNECT_WAIT_MS = 2000;
const FALLBACK_LOG_EVERY_MS = 60_000;

export interface LimitStore {
  /** null: memory only (one instance). A cluster client on REDIS_CLUSTER_NODES (every limiter key is one key). */
  readonly redis: RedisClient | null;
  /** Prefix of every Redis key of these limits. */
  readonly keyPrefix: string;
  /** Called whenever the in-memory fallback had to answer. */
  onFallback(): void;
  close(): Promise<void>;
}

/** A limits store on its own Redis connection (nothing queued while down), or memory only. */
export async function openLimitStore(target: RedisTarget | null, keyPrefix: string, logger: Logger): Promise<LimitStore> {
  let lastLog = 0;
  const throttled = (message: string, fields: Record<string, unknown> = {}) => {
    const now = Date.now();
    if (now - lastLog < FALLBACK_LOG_EVERY_MS) return;
    lastLog = now;
    logger.warn({ role: 'rate-limits', ...fields }, message);
  };
  const onFallback = () => throttled('rate limits: Redis unavailable, each instance counts its own budget');
  if (!target) return { redis: null, keyPrefix, onFallback, close: async () => {} };
  const redis = createRedisClient(target, { enableOfflineQueue: false, maxRetriesPerRequest: 0, commandTimeout: LIMIT_COMMAND_TIMEOUT_MS });
  redis.on('error', (err: Error) => throttled('rate limits: redis connection error', { err: err.message }));
  const ready = once(redis, 'ready').then(() => undefined, () => undefined);
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([ready, new Promise<void>((resolve) => (timer = setTimeout(resolve, CONNECT_WAIT_MS)))]);
  clearTimeout(timer);
  return {
    redis,
    keyPrefix,
    onFallback,
    async close() {
      await redis.quit().catch(() => redis.disconnect());
    },
  };
}

/** The in-memory fallback of a Redis limiter; reports each use. */
class InsuranceLimiter extends RateLimiterMemory {
  constructor(
    options: ConstructorParameters<typeof RateLimiterMemory>[0],
    private readonly onUse: () => void,
  ) {
    super(options);
  }

  override consume(key: string | number, points?: number, options?: Record<string, unknown>): Promise<RateLimiterRes> {
    this.onUse();
    return super.consume(key, points, options);
  }

  override reward(key: string | number, points?: number, options?: Record<string, unknown>): Promise<RateLimiterRes> {
    this.onUse();
    return super.reward(key, points, options);
  }
}

export class WindowLimits {
  private readonly enabled: { limit: WindowLimit; limiter: RateLimiterAbstract; charges: CoalescedCharges }[];

  constructor(limits: readonly WindowLimit[], store: LimitStore) {
    this.enabled = limits
      .filter((limit) => limit.points > 0)
      .map((limit) => {
        const options = { keyPrefix: `${store.keyPrefix}:${limit.name}`, points: limit.points, duration: limit.windowSeconds };
        const limiter = store.redis
          ? new RateLimiterRedis({
              ...options,
              storeClient: store.redis,
              rejectIfRedisNotReady: true,
              insuranceLimiter: new InsuranceLimiter(options, () => store.onFallback()),
            })
          : new RateLimiterMemory(options);
        return { limit, limiter, charges: new CoalescedCharges(limiter) };
      });
  }

  /**
   * Charges the longest prefix of `items` that fits every budget. Each item says what it
   * costs per limit name (missing: 0). An item costing more than a whole window is
   * charged the whole window: it passes alone, in a fresh window, instead of never.
   *
   * All items are counted in one atomic step per limit; what was not admitted is given
   * back at once. Meanwhile a concurrent request may see the budget as spent: the error
   * is on the strict side.
   */
  async admit(subject: string, items: readonly Readonly<Record<string, number>>[]): Promise<Admission> {
    if (this.enabled.length === 0 || items.length === 0) return { admitted: items.length, states: [], refusedBy: null };
    const costs = this.enabled.map(({ limit }) => items.map((item) => Math.min(Math.max(0, item[limit.name] ?? 0), limit.points)));
    const totals = costs.map(sum);
    const subjectOf = (limit: WindowLimit) => limit.subject ?? subject;
    const results = await Promise.all(this.enabled.map(({ limit, charges }, i) => charges.charge(subjectOf(limit), totals[i]!)));

    let admitted = items.length;
    let stoppedBy = -1;
    this.enabled.forEach(({ limit }, i) => {
      const available = Math.max(0, limit.points - (results[i]!.consumedPoints - totals[i]!));
      let used = 0;
      let fit = 0;
      while (fit < admitted && used + costs[i]![fit]! <= available) used += costs[i]![fit++]!;
      if (fit < admitted) {
        admitted = fit;
        stoppedBy = i;
      }
    });

    const refunds = costs.map((c, i) => totals[i]! - sum(c.slice(0, admitted)));
    await Promise.all(this.enabled.map(({ limit, limiter }, i) => (refunds[i]! > 0 ? limiter.reward(subjectOf(limit), refunds[i]!) : null)));
    const states = this.enabled.map(({ limit }, i): LimitState => {
      const { consumedPoints, msBeforeNext } = results[i]!;
      return {
        name: limit.name,
        limit: limit.points,
        remaining: Math.max(0, limit.points - (consumedPoints - refunds[i]!)),
        resetSeconds: msBeforeNext > 0 ? Math.ceil(msBeforeNext / 1000) : 1,
        windowSeconds: limit.windowSeconds,
      };
    });
    return { admitted, states, refusedBy: stoppedBy === -1 ? null : states[stoppedBy]! };
  }
}

/** What a charge saw: the subject's points consumed in the window through it, and the window's rest. */
interface Charged {
  consumedPoints: number;
  msBeforeNext: number;
}

interface PendingCharge {
  points: number;
  resolve: (charged: Charged) => void;
  reject: (error: unknown) => void;
}

/**
 * Charges to one subject within one turn of the event loop go to the store as one
 * consume: with Redis one round trip per turn, not one per request (the limit every key
 * shares is charged by every notify request). Each caller sees what it would have seen
 * had the charges gone one after the other, in call order.
 */
class CoalescedCharges {
  private readonly pending = new Map<string, PendingCharge[]>();

  constructor(private readonly limiter: RateLimiterAbstract) {}

  charge(subject: string, points: number): Promise<Charged> {
    return new Promise((resolve, reject) => {
      const queued = this.pending.get(subject);
      if (queued) return void queued.push({ points, resolve, reject });
      this.pending.set(subject, [{ points, resolve, reject }]);
      // After the poll phase: the requests read in this turn are all queued by then.
      setImmediate(() => void this.flush(subject));
    });
  }

  private async flush(subject: string): Promise<void> {
    const charges = this.pending.get(subject) ?? [];
    this.pending.delete(subject);
    const total = sum(charges.map((c) => c.points));
    try {
      const { consumedPoints, msBeforeNext } = await charge(this.limiter, subject, total);
      let through = consumedPoints - total;
      for (const c of charges) {
        through += c.points;
        c.resolve({ consumedPoints: through, msBeforeNext });
      }
    } catch (error) {
      for (const c of charges) c.reject(error);
    }
  }
}

/** Consumes `points`; a refusal is a result like any other here (its counts are what matter). */
async function charge(limiter: RateLimiterAbstract, subject: string, points: number): Promise<RateLimiterRes> {
  try {
    return await limiter.consume(subject, points);
  } catch (outcome) {
    if (outcome instanceof RateLimiterRes) return outcome;
    throw outcome;
  }
}

const sum = (values: readonly number[]) => values.reduce((a, b) => a + b, 0);
