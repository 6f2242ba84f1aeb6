/**
 * Connections per subject counted in Redis by several instances (connection-slots.ts),
 * with a fast heartbeat: instances share one limit; a gracefully closed instance stops
 * counting at once, a crashed one after the stale time; while Redis is down each
 * instance counts its own, and after Redis restarts empty every instance writes its
 * counts back.
 */
import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';
import { ConnectionSlots, type SlotGrant } from '../../src/limits/connection-slots.js';
import { openLimitStore, type LimitStore } from '../../src/limits/window-limits.js';
import { createLogger } from '../../src/logger.js';
import { RedisServer } from '../support/redis-server.js';
import { until } from '../support/until.js';

const REDIS_URL = process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';
const FAST = { heartbeatMs: 50, staleMs: 400 };
const LIMIT = 'per_user';
const logger = createLogger('silent');
const cleanup: (() => Promise<unknown>)[] = [];
afterAll(async () => {
  for (const step of cleanup.reverse()) await step().catch(() => undefined);
});

async function instance(prefix: string, max: number, redisUrl = REDIS_URL): Promise<{ slots: ConnectionSlots; store: LimitStore; id: string }> {
  const store = await openLimitStore({ kind: 'single', url: redisUrl }, prefix, logger);
  const id = `test-${randomBytes(3).toString('hex')}`;
  const slots = await ConnectionSlots.open([{ name: LIMIT, max }], store, { instanceId: id, ...FAST });
  cleanup.push(() => slots.close(), () => store.close());
  return { slots, store, id };
}

const newPrefix = () => `tslots${randomBytes(4).toString('hex')}`;
const granted = (grant: SlotGrant) => grant.granted;
function release(grant: SlotGrant): void {
  if (!grant.granted) throw new Error('expected a granted slot');
  grant.release();
}

describe('connection slots in Redis', () => {
  it('instances draw on one limit per subject', async () => {
    const prefix = newPrefix();
    const [a, b] = [await instance(prefix, 3), await instance(prefix, 3)];
    const fromA = [await a.slots.acquire(LIMIT, 't:alice'), await a.slots.acquire(LIMIT, 't:alice')];
    const fromB = await b.slots.acquire(LIMIT, 't:alice');
    expect([...fromA, fromB].every(granted)).toBe(true);
    expect(await a.slots.acquire(LIMIT, 't:alice')).toEqual({ granted: false, count: 3, max: 3 });
    expect(await b.slots.acquire(LIMIT, 't:alice')).toMatchObject({ granted: false });
    expect(granted(await b.slots.acquire(LIMIT, 't:bob'))).toBe(true);
    release(fromB);
    expect(granted(await a.slots.acquire(LIMIT, 't:alice'))).toBe(true);
  });

  it('a gracefully closed instance stops counting at once; a crashed one after the stale time', async () => {
    const prefix = newPrefix();
    const [closing, crashing, survivor] = [await instance(prefix, 2), await instance(prefix, 2), await instance(prefix, 2)];
    for (let i = 0; i < 2; i++) expect(granted(await closing.slots.acquire(LIMIT, 't:carol'))).toBe(true);
    expect(granted(await survivor.slots.acquire(LIMIT, 't:carol'))).toBe(false);
    await closing.slots.close();
    expect(granted(await survivor.slots.acquire(LIMIT, 't:carol'))).toBe(true);

    for (let i = 0; i < 2; i++) expect(granted(await crashing.slots.acquire(LIMIT, 't:dave'))).toBe(true);
    crashing.store.redis!.disconnect(); // no goodbye: its fields stay until they are stale
    expect(granted(await survivor.slots.acquire(LIMIT, 't:dave'))).toBe(false);
    const waited = await until(async () => granted(await survivor.slots.acquire(LIMIT, 't:dave')), 'the crashed instance to go stale', 5000, 50);
    expect(waited).toBeGreaterThanOrEqual(FAST.staleMs - 100);
  });

  it('counts locally while Redis is down and writes its counts back after Redis restarts empty', async () => {
    const redis = await RedisServer.start();
    cleanup.push(() => redis.destroy());
    const prefix = newPrefix();
    const [a, b] = [await instance(prefix, 2, redis.url), await instance(prefix, 2, redis.url)];
    const held = [await a.slots.acquire(LIMIT, 't:erin'), await a.slots.acquire(LIMIT, 't:erin')];
    expect(held.every(granted)).toBe(true);

    await redis.stop();
    // Down: the same limit on this instance's own count.
    expect(granted(await a.slots.acquire(LIMIT, 't:erin'))).toBe(false);
    release(held[0]!);
    const local = await a.slots.acquire(LIMIT, 't:erin');
    expect(granted(local)).toBe(true);
    expect(a.slots.localCount(LIMIT, 't:erin')).toBe(2);

    await redis.restart();
    const probe = new Redis(redis.url);
    cleanup.push(async () => probe.disconnect());
    await until(async () => (await probe.hget(`{${prefix}}:${LIMIT}:t:erin`, a.id)) === '2', 'the count written back');
    expect(granted(await b.slots.acquire(LIMIT, 't:erin'))).toBe(false);
    release(local);
    await until(async () => (await probe.hget(`{${prefix}}:${LIMIT}:t:erin`, a.id)) === '1', 'the release counted');
    expect(granted(await b.slots.acquire(LIMIT, 't:erin'))).toBe(true);
  });
});
