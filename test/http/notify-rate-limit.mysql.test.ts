/**
 * With Redis the notify budgets are shared: two instances together admit one budget.
 * When Redis goes away each instance counts on its own (the in-memory insurance
 * limiter): requests within the budget still pass at once, past it they get 429.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestBed, postNotify, uniqueUser, type RunningGateway, type TestBed } from '../support/harness.js';
import { RedisServer } from '../support/redis-server.js';

const KEY = 'rate-shared-key-00000001';
const OUTAGE_KEY = 'rate-outage-key-00000001';
const LIMITS = { NOTIFY_API_KEYS: `${KEY},${OUTAGE_KEY}`, NOTIFY_RATE_PER_KEY: '1', NOTIFY_RATE_WINDOW_SECONDS: '6' };

let bed: TestBed;
let redis: RedisServer;

beforeAll(async () => {
  bed = await createTestBed();
  redis = await RedisServer.start();
});
afterAll(async () => {
  await bed.stopAll();
  await redis.destroy();
});

const notify = (gw: RunningGateway, key: string) => postNotify(gw.url, 'rate:shared', { userId: uniqueUser(), title: 'shared' }, { key });

describe('notify rate limits across instances', () => {
  it('two instances draw on one budget', async () => {
    const [a, b] = [await bed.start(LIMITS), await bed.start(LIMITS)];
    const results = await Promise.all(Array.from({ length: 10 }, (_, i) => notify(i % 2 ? a! : b!, KEY)));
    expect(results.filter((r) => r.status === 201)).toHaveLength(6);
    // Per instance, each would have admitted all of its 5.
    expect(results.filter((r) => r.status === 429)).toHaveLength(4);
    expect((await notify(a!, KEY)).status).toBe(429);
    expect((await notify(b!, KEY)).status).toBe(429);
  });

  it('counts per instance while Redis is down: within the budget passes, past it is refused', async () => {
    const [a, b] = [await bed.start({ ...LIMITS, REDIS_URL: redis.url }), await bed.start({ ...LIMITS, REDIS_URL: redis.url })];
    await redis.stop('SIGKILL');
    const started = Date.now();
    const onA = [];
    for (let i = 0; i < 7; i++) onA.push((await notify(a!, OUTAGE_KEY)).status);
    expect(onA).toEqual([201, 201, 201, 201, 201, 201, 429]);
    expect(Date.now() - started).toBeLessThan(5000); // no request waits on the dead Redis
    const onB = await notify(b!, OUTAGE_KEY);
    expect(onB.status).toBe(201); // b's own count
    expect(onB.headers.get('ratelimit-remaining')).toBe('5');
    await redis.restart();
  });
});
