/**
 * Notify rate limits per API key (small budgets here): past a budget a key gets 429
 * RATE_LIMITED with Retry-After and the RateLimit-* headers while another key is not
 * affected; recipients are a budget of their own; batch items are counted, and the items
 * that fit are written; after waiting Retry-After a key passes again. On MySQL the
 * budgets live in Redis (two instances sharing one: notify-rate-limit.mysql.test.ts).
 */
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { apiKeyId } from '../../src/auth/api-keys.js';
import { isMysql } from '../support/drivers.js';
import { createTestBed, postNotify, uniqueUser, type NotifyResponse, type RunningGateway, type TestBed } from '../support/harness.js';

const KEYS = {
  flood: 'rate-flood-key-000000001',
  other: 'rate-other-key-000000001',
  recipients: 'rate-recipients-key-0001',
  batch: 'rate-batch-key-000000001',
  retry: 'rate-retry-key-000000001',
};
const ALL_KEYS = Object.values(KEYS).join(',');

let bed: TestBed;
/** 5 notifications and 20 recipients per key per 5 s window. */
let gw: RunningGateway;

beforeAll(async () => {
  bed = await createTestBed();
  gw = await bed.start({
    NOTIFY_API_KEYS: ALL_KEYS,
    NOTIFY_RATE_PER_KEY: '1',
    NOTIFY_RECIPIENTS_PER_KEY: '4',
    NOTIFY_RATE_WINDOW_SECONDS: '5',
    // The tenant fan-out budget is a limit of its own (test/http/fanout-limits.int.test.ts).
    FANOUT_PER_SECOND: '0',
  });
});
afterAll(() => bed.stopAll());

const notify = (key: string, body: Record<string, unknown> = { userId: uniqueUser(), title: 'rate' }, baseUrl = gw.url) =>
  postNotify(baseUrl, 'rate:test', body, { key });

async function postBatch(key: string, notifications: unknown[]) {
  const res = await fetch(`${gw.url}/api/notify`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-api-key': key },
    body: JSON.stringify({ notifications }),
  });
  return {
    status: res.status,
    headers: res.headers,
    body: (await res.json()) as { results?: { status: number; id?: string; error?: { code: string } }[]; error?: { code: string } },
  };
}

function expectRefusal(res: NotifyResponse, limit: string, budget: number, remaining = 0) {
  expect(res.status).toBe(429);
  expect(res.body.error?.code).toBe('RATE_LIMITED');
  expect(res.body.error?.details).toMatchObject({ limit });
  const retryAfter = Number(res.headers.get('retry-after'));
  expect(Number.isInteger(retryAfter) && retryAfter >= 1 && retryAfter <= 5).toBe(true);
  expect(res.headers.get('ratelimit-limit')).toBe(String(budget));
  expect(res.headers.get('ratelimit-remaining')).toBe(String(remaining));
  expect(Number(res.headers.get('ratelimit-reset'))).toBe(retryAfter);
  expect(res.headers.get('ratelimit-policy')).toBe('5;w=5;comment="notify_requests", 20;w=5;comment="notify_recipients"');
}

const refusedCount = async (limit: string) =>
  (await gw.gateway.metrics.rateLimited.get()).values.find((v) => v.labels.limit === limit)?.value ?? 0;

describe('notify rate limits per API key', () => {
  it('refuses a flood past the budget with 429 and every header; another key still passes', async () => {
    const before = await refusedCount('notify_requests');
    const results = await Promise.all(Array.from({ length: 9 }, () => notify(KEYS.flood)));
    const passed = results.filter((r) => r.status === 201);
    const refused = results.filter((r) => r.status !== 201);
    expect(passed).toHaveLength(5);
    expect(refused).toHaveLength(4);
    for (const res of refused) expectRefusal(res, 'notify_requests', 5);
    for (const res of passed) {
      expect(res.headers.get('ratelimit-limit')).toBe('5');
      expect(Number(res.headers.get('ratelimit-remaining'))).toBeLessThan(5);
      expect(res.headers.get('retry-after')).toBeNull();
    }
    expect((await refusedCount('notify_requests')) - before).toBe(4);

    const other = await notify(KEYS.other);
    expect(other.status).toBe(201);
    expect(other.headers.get('ratelimit-remaining')).toBe('4');

    // The key is known by its id only: not in the metrics, nor (on MySQL) in Redis.
    const metrics = await (await fetch(`${gw.url}/metrics`)).text();
    expect(metrics).toContain('notify_rate_limited_total{limit="notify_requests"}');
    expect(metrics).not.toContain(KEYS.flood);
    if (isMysql) {
      const redis = new Redis(bed.db.redisUrl!);
      try {
        const keys = await redis.keys(`${bed.db.redisPrefix}:ratelimit:*`);
        expect(keys).toContain(`${bed.db.redisPrefix}:ratelimit:notify_requests:${apiKeyId(KEYS.flood)}`);
        expect(keys.join(' ')).not.toContain(KEYS.flood);
      } finally {
        redis.disconnect();
      }
    }
  });

  it('counts recipients (a tenant broadcast as one) and gives back what it refused', async () => {
    const users = (n: number) => Array.from({ length: n }, () => uniqueUser());
    const first = await notify(KEYS.recipients, { userIds: users(15), title: 'fifteen' });
    expect(first.status).toBe(201);
    expect(first.headers.get('ratelimit-limit')).toBe('20'); // closest to exhaustion: 5 of 20 left
    expect(first.headers.get('ratelimit-remaining')).toBe('5');

    // Refused whole; the 5 recipients left stay available.
    const tooMany = await notify(KEYS.recipients, { userIds: users(10), title: 'ten' });
    expectRefusal(tooMany, 'notify_recipients', 20, 5);

    const fits = await notify(KEYS.recipients, { userIds: users(4), title: 'four' });
    expect(fits.status).toBe(201);
    const broadcast = await notify(KEYS.recipients, { scope: 'tenant', title: 'everyone' });
    expect(broadcast.status).toBe(201);
    expect(broadcast.headers.get('ratelimit-remaining')).toBe('0');
    expectRefusal(await notify(KEYS.recipients, { userId: uniqueUser(), title: 'one more' }), 'notify_recipients', 20);
  });

  it('counts batch items: the ones that fit are written, the rest answer 429; then the whole batch is refused', async () => {
    const item = (i: number) => ({ kind: 'rate:batch', userId: uniqueUser(), title: `item ${i}` });
    const res = await postBatch(KEYS.batch, [{ kind: 'Not A Kind', userId: 'u', title: 'invalid' }, ...Array.from({ length: 7 }, (_, i) => item(i))]);
    expect(res.status).toBe(200);
    expect(res.body.results!.map((r) => r.status)).toEqual([400, 201, 201, 201, 201, 201, 429, 429]);
    expect(res.body.results![6]!.error?.code).toBe('RATE_LIMITED');
    expect(res.headers.get('ratelimit-limit')).toBe('5');
    expect(res.headers.get('ratelimit-remaining')).toBe('0');
    const written = await gw.gateway.store.db('notify_messages').where({ kind: 'rate:batch' }).count({ n: '*' }).first();
    expect(Number(written?.n)).toBe(5);

    const again = await postBatch(KEYS.batch, [item(8), item(9)]);
    expect(again.status).toBe(429);
    expect(again.body.error?.code).toBe('RATE_LIMITED');
    expect(Number(again.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
    expect(again.headers.get('ratelimit-remaining')).toBe('0');
  });

  it('lets a key through again once it has waited Retry-After', async () => {
    // A gateway with 1 s windows, so that the wait stays short.
    const quick = await bed.start({ NOTIFY_API_KEYS: ALL_KEYS, NOTIFY_RATE_PER_KEY: '2', NOTIFY_RATE_WINDOW_SECONDS: '1' });
    let refused: NotifyResponse | undefined;
    for (let i = 0; i < 20 && !refused; i++) {
      const res = await notify(KEYS.retry, undefined, quick.url);
      if (res.status === 429) refused = res;
      else expect(res.status).toBe(201);
    }
    expect(refused).toBeDefined();
    const retryAfter = Number(refused!.headers.get('retry-after'));
    expect(retryAfter).toBe(1);
    await new Promise((resolve) => setTimeout(resolve, retryAfter * 1000));
    const after = await notify(KEYS.retry, undefined, quick.url);
    expect(after.status).toBe(201);
    expect(after.headers.get('ratelimit-remaining')).toBe('1');
    await quick.close();
  });
});
