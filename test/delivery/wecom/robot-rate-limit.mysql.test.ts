/**
 * The Redis robot limiter on the real Redis: two instances (two clients) sharing one robot
 * never admit more than N in a window, however their calls interleave.
 */
import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createRedisRobotRateLimit, type RobotRateLimit } from '../../../src/delivery/wecom/robot-rate-limit.js';

const REDIS_URL = process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';
const keyPrefix = `t${randomBytes(5).toString('hex')}`;
const LIMIT = 5;
const WINDOW_MS = 800;

let clientA: Redis;
let clientB: Redis;
let a: RobotRateLimit;
let b: RobotRateLimit;

beforeAll(() => {
  clientA = new Redis(REDIS_URL, { maxRetriesPerRequest: 1 });
  clientB = new Redis(REDIS_URL, { maxRetriesPerRequest: 1 });
  a = createRedisRobotRateLimit(clientA, { limit: LIMIT, windowMs: WINDOW_MS, keyPrefix });
  b = createRedisRobotRateLimit(clientB, { limit: LIMIT, windowMs: WINDOW_MS, keyPrefix });
});
afterAll(async () => {
  const keys = await clientA.keys(`${keyPrefix}:*`);
  if (keys.length > 0) await clientA.del(...keys);
  await Promise.all([clientA.quit(), clientB.quit()]);
});

const robot = () => randomBytes(32).toString('hex'); // what the channel passes: a SHA-256, hex

describe('redis robot rate limit', () => {
  it('a concurrent burst from two instances admits exactly N; the rest learn how long to wait', async () => {
    const r = robot();
    const waits = await Promise.all(Array.from({ length: 40 }, (_, i) => (i % 2 === 0 ? a : b).reserve(r)));
    expect(waits.filter((w) => w === 0)).toHaveLength(LIMIT);
    for (const w of waits.filter((w) => w !== 0)) {
      expect(w).toBeGreaterThan(0);
      expect(w).toBeLessThanOrEqual(WINDOW_MS);
    }
  });

  it('robots do not share a window', async () => {
    const [r1, r2] = [robot(), robot()];
    for (let i = 0; i < LIMIT; i++) expect(await a.reserve(r1)).toBe(0);
    expect(await b.reserve(r1)).toBeGreaterThan(0);
    expect(await b.reserve(r2)).toBe(0);
  });

  it('under sustained concurrent demand, no window ever holds more than N (sliding, not fixed)', async () => {
    const r = robot();
    const admitted: number[] = [];
    const until = Date.now() + 3 * WINDOW_MS;
    // Four callers per instance, each taking a slot whenever the limiter says one is free.
    const caller = async (limiter: RobotRateLimit) => {
      while (Date.now() < until) {
        const wait = await limiter.reserve(r);
        if (wait === 0) admitted.push(Date.now());
        else await new Promise((resolve) => setTimeout(resolve, Math.min(wait, 50)));
      }
    };
    await Promise.all([a, a, a, a, b, b, b, b].map(caller));

    admitted.sort((x, y) => x - y);
    expect(admitted.length).toBeGreaterThanOrEqual(2 * LIMIT); // the window did slide
    expect(admitted.length).toBeLessThanOrEqual(4 * LIMIT);
    // Times are taken here on reply, not by Redis; the tolerance absorbs reply latency.
    // A fixed window would show N+1 admissions within milliseconds at a boundary.
    const toleranceMs = 100;
    for (let i = LIMIT; i < admitted.length; i++) expect(admitted[i]! - admitted[i - LIMIT]!).toBeGreaterThanOrEqual(WINDOW_MS - toleranceMs);
  });

  it('the key expires with the window, so an idle robot leaves nothing in Redis', async () => {
    const r = robot();
    expect(await a.reserve(r)).toBe(0);
    const ttl = await clientA.pttl(`${keyPrefix}:wecom-rate:${r}`);
    expect(ttl).toBeGreaterThan(0);
    expect(ttl).toBeLessThanOrEqual(WINDOW_MS);
  });

  it('sends the whole script when Redis does not know it (restart, SCRIPT FLUSH)', async () => {
    // Not SCRIPT FLUSH itself: the Redis is shared with other test files.
    const client = new Redis(REDIS_URL, { maxRetriesPerRequest: 1 });
    let refused = 0;
    const noScript = async () => {
      refused++;
      throw new Error('NOSCRIPT No matching script. Please use EVAL.');
    };
    client.evalsha = noScript as unknown as Redis['evalsha'];
    try {
      const limiter = createRedisRobotRateLimit(client, { limit: 1, windowMs: WINDOW_MS, keyPrefix });
      const r = robot();
      expect(await limiter.reserve(r)).toBe(0);
      expect(await limiter.reserve(r)).toBeGreaterThan(0);
      expect(refused).toBe(2);
    } finally {
      await client.quit();
    }
  });
});
