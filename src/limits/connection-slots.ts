/**
 * Concurrent connections per subject (sockets per user, SSE streams per user), counted
 * across instances in Redis when the gateway has one, in process memory otherwise.
 *
 * Redis layout (prefix = the LimitStore's key prefix):
 * - `{<prefix>}:instances`, a sorted set: every live instance with the Redis time of its
 *   last heartbeat (every HEARTBEAT_MS).
 * - `{<prefix>}:<limit>:<subject>`, a hash: one field per instance holding how many of
 *   the subject's connections that instance has open.
 * The admission script reads a subject's hash and the instance set together, so on a
 * Redis Cluster all of them share one slot (the `{prefix}` hash tag): this state lives
 * on one shard, at one small script per connection.
 *
 * Admission is one Lua call: fields of instances that are gone from the set, or whose
 * heartbeat is older than STALE_MS, are deleted (an instance that died cannot decrement
 * its own count); the rest are summed; under the limit, this instance's field is
 * incremented. Closing a connection decrements it. A gracefully stopped instance leaves
 * the set at once; a crashed one stops counting after STALE_MS, so after a crash a user
 * near the limit may be refused (and retries) for up to that long.
 *
 * Self-healing: this instance knows its own counts exactly, so whenever a Redis write
 * may have been lost (an error, a timeout, Redis restarted empty), the subject is marked
 * and its field is later set to the local truth; every open subject is rewritten at least
 * every RESYNC_MS, which also renews the key's expiry (KEY_TTL_SECONDS).
 *
 * Redis down: each instance admits against the same limit on its own counts (never fail
 * open, never fail closed), as the window limits do; the switch is logged.
 */
import type { RedisClient } from '../redis/redis-client.js';
import type { LimitStore } from './window-limits.js';

export const HEARTBEAT_MS = 10_000;
export const STALE_MS = 30_000;
const RESYNC_MS = 15 * 60_000;
const KEY_TTL_SECONDS = 3600;
/** Subjects rewritten per heartbeat at most (a reconnect storm syncs over a few beats). */
const RESYNC_PER_BEAT = 5000;

export interface SlotLimit {
  /** Stable: the `limit` label of notify_rate_limited_total and part of the Redis key. */
  name: string;
  /** Connections per subject; 0 turns the limit off. */
  max: number;
}

export type SlotGrant = { granted: true; release: () => void } | { granted: false; count: number; max: number };

// now (Redis time, ms) from TIME, so that instances with skewed clocks agree on staleness.
const NOW = `local t = redis.call('TIME') local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)`;

/** KEYS: subject hash, instances set. ARGV: instance, max, staleMs, ttlSeconds. → {admitted 0|1, count} */
const ACQUIRE = `${NOW}
local fields = redis.call('HGETALL', KEYS[1])
local total = 0
for i = 1, #fields, 2 do
  local instance = fields[i]
  local alive = instance == ARGV[1]
  if not alive then
    local beat = redis.call('ZSCORE', KEYS[2], instance)
    alive = beat ~= false and tonumber(beat) >= now - tonumber(ARGV[3])
  end
  if alive then
    total = total + tonumber(fields[i + 1])
  else
    redis.call('HDEL', KEYS[1], instance)
  end
end
if total >= tonumber(ARGV[2]) then return {0, total} end
redis.call('HINCRBY', KEYS[1], ARGV[1], 1)
redis.call('EXPIRE', KEYS[1], ARGV[4])
return {1, total + 1}`;

/** KEYS: subject hash. ARGV: instance, 'add' | 'set', value, ttlSeconds. */
const ADJUST = `
local value = tonumber(ARGV[3])
if ARGV[2] == 'add' then value = redis.call('HINCRBY', KEYS[1], ARGV[1], value) end
if value <= 0 then
  redis.call('HDEL', KEYS[1], ARGV[1])
else
  redis.call('HSET', KEYS[1], ARGV[1], value)
  redis.call('EXPIRE', KEYS[1], ARGV[4])
end
return value`;

/** KEYS: instances set. ARGV: instance, forgetMs. → 1 when the instance was not in the set. */
const BEAT = `${NOW}
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - tonumber(ARGV[2]))
return redis.call('ZADD', KEYS[1], now, ARGV[1])`;

interface SlotCommands {
  notifySlotAcquire(hash: string, instances: string, instance: string, max: number, staleMs: number, ttl: number): Promise<[number, number]>;
  notifySlotAdjust(hash: string, instance: string, mode: 'add' | 'set', value: number, ttl: number): Promise<number>;
  notifySlotBeat(instances: string, instance: string, forgetMs: number): Promise<number>;
}

interface LocalCount {
  name: string;
  subject: string;
  count: number;
  /** Admissions waiting for Redis (the field is not rewritten meanwhile). */
  pending: number;
  /** Redis may disagree with `count`: rewrite the field at the next heartbeat. */
  dirty: boolean;
  syncedAt: number;
}

export interface SlotOptions {
  instanceId: string;
  heartbeatMs?: number;
  staleMs?: number;
}

export class ConnectionSlots {
  private readonly limits: Map<string, number>;
  private readonly local = new Map<string, LocalCount>();
  private readonly redis: (RedisClient & SlotCommands) | null;
  private readonly instancesKey: string;
  private readonly instanceId: string;
  private readonly heartbeatMs: number;
  private readonly staleMs: number;
  private registered = false;
  private beating: Promise<void> | null = null;
  private timer: NodeJS.Timeout | undefined;

  private constructor(
    limits: readonly SlotLimit[],
    private readonly store: LimitStore,
    options: SlotOptions,
  ) {
    this.limits = new Map(limits.filter((l) => l.max > 0).map((l) => [l.name, l.max]));
    this.instanceId = options.instanceId;
    this.heartbeatMs = options.heartbeatMs ?? HEARTBEAT_MS;
    this.staleMs = options.staleMs ?? STALE_MS;
    this.instancesKey = `{${store.keyPrefix}}:instances`;
    const redis = this.limits.size > 0 ? store.redis : null;
    if (redis && !('notifySlotAcquire' in redis)) {
      redis.defineCommand('notifySlotAcquire', { numberOfKeys: 2, lua: ACQUIRE });
      redis.defineCommand('notifySlotAdjust', { numberOfKeys: 1, lua: ADJUST });
      redis.defineCommand('notifySlotBeat', { numberOfKeys: 1, lua: BEAT });
    }
    this.redis = redis as (RedisClient & SlotCommands) | null;
  }

  /** Registers this instance (first heartbeat) before any admission, then beats on a timer. */
  static async open(limits: readonly SlotLimit[], store: LimitStore, options: SlotOptions): Promise<ConnectionSlots> {
    const slots = new ConnectionSlots(limits, store, options);
    if (slots.redis) {
      await slots.beat();
      slots.timer = setInterval(() => void slots.beat(), slots.heartbeatMs).unref();
    }
    return slots;
  }

  /** Takes a slot for `subject` under the limit `name`; the grant's `release` gives it back (once). */
  async acquire(name: string, subject: string): Promise<SlotGrant> {
    const max = this.limits.get(name);
    if (max === undefined) return { granted: true, release: () => undefined };
    const key = `${name}:${subject}`;
    let entry = this.local.get(key);
    if (!entry) this.local.set(key, (entry = { name, subject, count: 0, pending: 0, dirty: false, syncedAt: Date.now() }));
    const local = entry;
    if (this.redis) {
      local.pending += 1;
      try {
        const [admitted, count] = await this.redis.notifySlotAcquire(
          this.hashKey(name, subject),
          this.instancesKey,
          this.instanceId,
          max,
          this.staleMs,
          KEY_TTL_SECONDS,
        );
        local.pending -= 1;
        if (admitted !== 1) {
          this.forgetIfIdle(key, local);
          return { granted: false, count, max };
        }
        local.count += 1;
        return { granted: true, release: this.releaser(key, local) };
      } catch {
        // Unknown whether Redis counted it (a timeout may have run it): rewrite later.
        local.pending -= 1;
        local.dirty = true;
        this.store.onFallback();
      }
    }
    if (local.count >= max) {
      this.forgetIfIdle(key, local);
      return { granted: false, count: local.count, max };
    }
    local.count += 1;
    return { granted: true, release: this.releaser(key, local) };
  }

  /** Connections this instance holds for `subject` under `name`. */
  localCount(name: string, subject: string): number {
    return this.local.get(`${name}:${subject}`)?.count ?? 0;
  }

  /** Stops the heartbeat and leaves the instance set: other instances stop counting ours at once. */
  async close(): Promise<void> {
    clearInterval(this.timer);
    this.timer = undefined;
    await this.beating;
    await this.redis?.zrem(this.instancesKey, this.instanceId).catch(() => undefined);
  }

  private releaser(key: string, local: LocalCount): () => void {
    let released = false;
    return () => {
      if (released) return;
      released = true;
      local.count -= 1;
      if (!this.redis) return this.forgetIfIdle(key, local);
      this.redis
        .notifySlotAdjust(this.hashKey(local.name, local.subject), this.instanceId, 'add', -1, KEY_TTL_SECONDS)
        .then(() => this.forgetIfIdle(key, local))
        .catch(() => {
          local.dirty = true;
          this.store.onFallback();
        });
    };
  }

  private forgetIfIdle(key: string, local: LocalCount): void {
    if (local.count === 0 && local.pending === 0 && !local.dirty && this.local.get(key) === local) this.local.delete(key);
  }

  private hashKey(name: string, subject: string): string {
    return `{${this.store.keyPrefix}}:${name}:${subject}`;
  }

  /** Heartbeat, then rewrite the fields that may be wrong or are due for renewal. */
  private beat(): Promise<void> {
    this.beating ??= (async () => {
      const redis = this.redis!;
      try {
        const added = await redis.notifySlotBeat(this.instancesKey, this.instanceId, 10 * this.staleMs);
        // Missing from the set after having joined it: Redis lost our fields too (restart,
        // failover) or wrote us off as stale. Rewrite them all.
        if (added === 1 && this.registered) for (const entry of this.local.values()) entry.dirty = true;
        this.registered = true;
      } catch {
        this.store.onFallback();
        return;
      }
      const now = Date.now();
      const due = [...this.local.entries()]
        .filter(([, e]) => e.pending === 0 && (e.dirty || now - e.syncedAt >= RESYNC_MS))
        .sort(([, a], [, b]) => Number(b.dirty) - Number(a.dirty))
        .slice(0, RESYNC_PER_BEAT);
      await Promise.all(
        due.map(async ([key, entry]) => {
          entry.dirty = false;
          try {
            await redis.notifySlotAdjust(this.hashKey(entry.name, entry.subject), this.instanceId, 'set', entry.count, KEY_TTL_SECONDS);
            entry.syncedAt = now;
            this.forgetIfIdle(key, entry);
          } catch {
            entry.dirty = true;
          }
        }),
      );
    })().finally(() => {
      this.beating = null;
    });
    return this.beating;
  }
}
