/**
 * Presence across instances in Redis: instance-scoped entries that expire, never a
 * join/leave stream between instances.
 *
 * Layout (prefix = REDIS_KEY_PREFIX; each key built by one function below):
 * - `<p>:presence:{<tenant>:<topic>}:<instance>`, a hash: userId → that user's sockets
 *   holding the topic on this instance. The braces keep a topic's hashes of all instances
 *   in one Redis Cluster slot, so one Lua call sums them.
 * - `<p>:presence:users:{<tenant>}:<instance>`, a hash: userId → sockets on this instance.
 * - `<p>:presence:seen:{<tenant>}`, a hash: userId → when they were last seen (epoch ms).
 * - `<p>:presence:instances`, a sorted set of instance ids (score: last heartbeat), the
 *   list a reader sums over.
 *
 * Writing: each instance counts its own sockets in memory (presence-counter.ts) and
 * writes what changed every FLUSH_MS, one pipeline (HSET / HDEL per changed user, then
 * PEXPIRE). Every TTL/3 it renews the expiry of all its hashes (a renewal that finds a
 * hash gone, e.g. Redis restarted, rewrites it whole) and its heartbeat. A killed
 * instance renews nothing: its hashes expire after PRESENCE_TTL_SECONDS and its sockets
 * drop out of every count; Redis' own clock decides, so skewed instance clocks do not
 * matter. A stopped instance deletes its hashes at once.
 *
 * Reading a topic: the instance list (ZRANGE), then one Lua call summing the topic's hash
 * of every instance: connections, and distinct users (a user on two instances counts
 * once). Cost: O(instances + the topic's (instance, user) entries) in Redis per read.
 *
 * On a Redis Cluster a pipeline must stay on one node: what is written together is sent
 * in groups of one slot each (slot-groups.ts), a user's hashes (`{<tenant>}`) together.
 */
import type { Logger } from '../logger.js';
import type { RedisClient } from '../redis/redis-client.js';
import { execInSlotGroups, type SlotGroup } from '../redis/slot-groups.js';
import { PresenceCounter, topicKey, usersKey, type CountKey } from './presence-counter.js';
import type { PresenceCounts, PresenceStore, UserPresence } from './presence-store.js';

const FLUSH_MS = 200;
/** How often `lastSeen` of users still online is written (a crashed instance's users keep this age). */
const SEEN_EVERY_REFRESHES = 10;
const SEEN_TTL_SECONDS = 30 * 86_400;
/** Instances silent this long leave the list (their hashes expired long before). */
const FORGET_INSTANCE_MS = 3_600_000;

/** KEYS: a topic's hash on every instance. → {connections, distinct users} */
const SUM = `
local seen = {}
local connections, users = 0, 0
for i = 1, #KEYS do
  local fields = redis.call('HGETALL', KEYS[i])
  for j = 1, #fields, 2 do
    connections = connections + tonumber(fields[j + 1])
    if not seen[fields[j]] then
      seen[fields[j]] = true
      users = users + 1
    end
  end
end
return {connections, users}`;

interface PresenceCommands {
  notifyPresenceSum(numKeys: number, ...keys: string[]): Promise<[number, number]>;
}

export interface RedisPresenceOptions {
  redis: RedisClient;
  keyPrefix: string;
  instanceId: string;
  ttlMs: number;
  logger: Logger;
}

export async function createRedisPresence(options: RedisPresenceOptions): Promise<PresenceStore> {
  const presence = new RedisPresence(options);
  await presence.start();
  return presence;
}

class RedisPresence implements PresenceStore {
  readonly name = 'redis' as const;
  private readonly counter = new PresenceCounter();
  private readonly redis: RedisClient & PresenceCommands;
  private readonly timers: NodeJS.Timeout[] = [];
  private flushing: Promise<void> | null = null;
  private refreshes = 0;
  private failing = false;

  constructor(private readonly options: RedisPresenceOptions) {
    const redis = options.redis as RedisClient & Partial<PresenceCommands>;
    if (!redis.notifyPresenceSum) redis.defineCommand('notifyPresenceSum', { lua: SUM });
    this.redis = redis as RedisClient & PresenceCommands;
  }

  // The one place each key is built.
  private get instancesKey() {
    return `${this.options.keyPrefix}:presence:instances`;
  }
  private topicHash(instance: string, tenantId: string, topic: string) {
    return `${this.options.keyPrefix}:presence:{${tenantId}:${topic}}:${instance}`;
  }
  private usersHash(instance: string, tenantId: string) {
    return `${this.options.keyPrefix}:presence:users:{${tenantId}}:${instance}`;
  }
  private seenHash(tenantId: string) {
    return `${this.options.keyPrefix}:presence:seen:{${tenantId}}`;
  }

  /** The Redis key of one of this instance's count keys. */
  private ownHash(key: CountKey): string {
    const [kind, tenantId, topic] = key.split('\u0000') as [string, string, string | undefined];
    return kind === 't' ? this.topicHash(this.options.instanceId, tenantId, topic!) : this.usersHash(this.options.instanceId, tenantId);
  }

  async start(): Promise<void> {
    await this.refresh();
    this.timers.push(setInterval(() => void this.flush(), FLUSH_MS).unref());
    this.timers.push(setInterval(() => void this.refresh(), Math.max(100, Math.floor(this.options.ttlMs / 3))).unref());
  }

  connected(tenantId: string, userId: string): void {
    this.counter.add(usersKey(tenantId), userId, 1);
  }

  disconnected(tenantId: string, userId: string): void {
    this.counter.add(usersKey(tenantId), userId, -1);
  }

  joined(tenantId: string, topic: string, userId: string): void {
    this.counter.add(topicKey(tenantId, topic), userId, 1);
  }

  left(tenantId: string, topic: string, userId: string): void {
    this.counter.add(topicKey(tenantId, topic), userId, -1);
  }

  localTopics(): number {
    return this.counter.topicKeyCount();
  }

  async topicCounts(tenantId: string, topics: readonly string[]): Promise<Map<string, PresenceCounts>> {
    const instances = await this.instances();
    const results = await execInSlotGroups(
      this.redis,
      topics.map((topic): SlotGroup => (pipeline) => {
        const keys = instances.map((instance) => this.topicHash(instance, tenantId, topic));
        (pipeline as unknown as PresenceCommands).notifyPresenceSum(keys.length, ...keys);
      }),
    );
    const counts = new Map<string, PresenceCounts>();
    topics.forEach((topic, i) => {
      const [error, value] = results[i] ?? [new Error('no reply'), null];
      if (error) throw error;
      const [connections, users] = value as [number, number];
      counts.set(topic, { connections: Number(connections), users: Number(users) });
    });
    return counts;
  }

  async user(tenantId: string, userId: string): Promise<UserPresence> {
    const instances = await this.instances();
    const pipeline = this.redis.pipeline(); // every key here is in the `{<tenant>}` slot
    for (const instance of instances) pipeline.hget(this.usersHash(instance, tenantId), userId);
    pipeline.hget(this.seenHash(tenantId), userId);
    const results = (await pipeline.exec()) ?? [];
    let connections = 0;
    for (const [error, value] of results.slice(0, instances.length)) {
      if (error) throw error;
      connections += Number(value ?? 0);
    }
    const [seenError, seen] = results[instances.length] ?? [null, null];
    if (seenError) throw seenError;
    if (connections > 0) return { online: true, connections, lastSeen: Date.now() };
    return { online: false, connections: 0, lastSeen: seen === null || seen === undefined ? null : Number(seen) };
  }

  async close(): Promise<void> {
    for (const timer of this.timers) clearInterval(timer);
    await this.flushing;
    const own = [...this.counter.keys()].map((key) => this.ownHash(key));
    try {
      await execInSlotGroups(this.redis, [
        ...own.map((key): SlotGroup => (pipeline) => pipeline.del(key)),
        (pipeline) => pipeline.zrem(this.instancesKey, this.options.instanceId),
      ]);
    } catch (error) {
      this.options.logger.warn({ err: error }, 'presence: leaving Redis failed; entries expire on their own');
    }
  }

  private async instances(): Promise<string[]> {
    return this.redis.zrange(this.instancesKey, 0, -1);
  }

  /** Writes what changed since the last flush; one at a time. */
  private async flush(): Promise<void> {
    if (this.flushing) return;
    const changes = this.counter.takeDirty();
    if (changes.size === 0) return;
    this.flushing = this.write(changes).finally(() => (this.flushing = null));
    await this.flushing;
  }

  private async write(changes: Map<CountKey, Map<string, number>>): Promise<void> {
    const now = Date.now();
    const groups: SlotGroup[] = [];
    for (const [key, users] of changes) {
      const hash = this.ownHash(key);
      const present: Record<string, number> = {};
      const gone: string[] = [];
      for (const [user, count] of users) {
        if (count > 0) present[user] = count;
        else gone.push(user);
      }
      // The user hash and the tenant's `seen` hash share the `{<tenant>}` slot.
      groups.push((pipeline) => {
        if (gone.length > 0) pipeline.hdel(hash, ...gone);
        if (Object.keys(present).length > 0) pipeline.hset(hash, present);
        pipeline.pexpire(hash, this.options.ttlMs);
        if (key.startsWith('u\u0000') && gone.length > 0) {
          const seen = this.seenHash(key.split('\u0000')[1]!);
          pipeline.hset(seen, Object.fromEntries(gone.map((user) => [user, now])));
          pipeline.expire(seen, SEEN_TTL_SECONDS);
        }
      });
    }
    try {
      const results = await execInSlotGroups(this.redis, groups);
      const failed = results.find(([error]) => error);
      if (failed) throw failed[0];
      this.recovered();
    } catch (error) {
      this.counter.restoreDirty(changes);
      this.failed(error);
    }
  }

  /** Heartbeat; renews every own hash (rewriting those Redis lost) and now and then `lastSeen`. */
  private async refresh(): Promise<void> {
    const now = Date.now();
    const keys = [...this.counter.keys()];
    const writeSeen = this.refreshes++ % SEEN_EVERY_REFRESHES === 0;
    // Replies in this order: the heartbeat's two, one renewal per key, then `seen`.
    const groups: SlotGroup[] = [
      (pipeline) => {
        pipeline.zadd(this.instancesKey, now, this.options.instanceId);
        pipeline.zremrangebyscore(this.instancesKey, '-inf', now - FORGET_INSTANCE_MS);
      },
      ...keys.map((key): SlotGroup => (pipeline) => pipeline.pexpire(this.ownHash(key), this.options.ttlMs)),
    ];
    if (writeSeen) {
      for (const key of keys) {
        if (!key.startsWith('u\u0000')) continue;
        const users = this.counter.users(key);
        if (users.size === 0) continue;
        const seen = this.seenHash(key.split('\u0000')[1]!);
        groups.push((pipeline) => {
          pipeline.hset(seen, Object.fromEntries([...users.keys()].map((user) => [user, now])));
          pipeline.expire(seen, SEEN_TTL_SECONDS);
        });
      }
    }
    try {
      const results = await execInSlotGroups(this.redis, groups);
      keys.forEach((key, i) => {
        const [error, renewed] = results[i + 2] ?? [null, 1];
        if (error || renewed === 0) this.counter.markAllDirty(key);
      });
      this.recovered();
    } catch (error) {
      for (const key of keys) this.counter.markAllDirty(key);
      this.failed(error);
    }
  }

  private failed(error: unknown): void {
    if (!this.failing) this.options.logger.warn({ err: error }, 'presence: Redis write failed; retrying with this instance\'s counts');
    this.failing = true;
  }

  private recovered(): void {
    if (this.failing) this.options.logger.info('presence: Redis writes recovered');
    this.failing = false;
  }
}

