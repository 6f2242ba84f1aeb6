/**
 * Fan-out bounds (README "Limits"): per request (FANOUT_PER_REQUEST, 413 whole) and per
 * second from all keys together (FANOUT_PER_SECOND, 429 RATE_LIMITED), each counted in
 * notify_rate_limited_total; and the deliveries planner expanding large recipient lists
 * in bounded steps (PLAN_ROWS_PER_STEP), every delivery planned exactly once.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PLAN_ROWS_PER_STEP } from '../../src/delivery/delivery-planner.js';
import type { PlannedDelivery } from '../../src/store/delivery-repository.js';
import { putChannel } from '../support/admin-api.js';
import { ACME_KEY, API_KEY, createTestBed, type RunningGateway, type TestBed } from '../support/harness.js';

let bed: TestBed;
let gw: RunningGateway;

beforeAll(async () => {
  bed = await createTestBed();
  gw = await bed.start({
    FANOUT_PER_REQUEST: '2500',
    FANOUT_PER_SECOND: '400', // 4,000 recipients per 10 s window, all keys together
    NOTIFY_RECIPIENTS_PER_KEY: '0',
  });
});
afterAll(() => bed.stopAll());

const users = (prefix: string, count: number) => Array.from({ length: count }, (_, i) => `${prefix}-${i}`);

async function postBatch(notifications: unknown[], key = API_KEY) {
  const res = await fetch(`${gw.url}/api/notify`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-api-key': key },
    body: JSON.stringify({ notifications }),
  });
  return { status: res.status, headers: res.headers, body: (await res.json()) as Record<string, any> };
}

async function metric(name: string, labels: string): Promise<number> {
  const text = await (await fetch(`${gw.url}/metrics`)).text();
  const line = text.split('\n').find((l) => l.startsWith(`${name}{${labels}}`));
  return line ? Number(line.split(' ').pop()) : 0;
}

const messageCount = async () => Number(((await gw.gateway.store.db('notify_messages').count({ n: '*' })) as [{ n: number }])[0].n);

describe('FANOUT_PER_REQUEST', () => {
  it('refuses a request whose notifications reach more recipients together, whole, with 413 naming the bound', async () => {
    const before = await messageCount();
    const res = await postBatch([
      { kind: 'fan:out', userIds: users('a', 1000), title: 'one' },
      { kind: 'fan:out', userIds: users('b', 1000), title: 'two' },
      { kind: 'fan:out', userIds: users('c', 1000), title: 'three' },
    ]);
    expect(res.status).toBe(413);
    expect(res.body.error).toMatchObject({
      code: 'PAYLOAD_TOO_LARGE',
      details: { limit: 'fanout_per_request', max: 2500, recipients: 3000 },
    });
    expect(res.body.error.message).toContain('2500');
    expect(await messageCount()).toBe(before);
    expect(await metric('notify_rate_limited_total', 'limit="fanout_per_request"')).toBe(3);
  });

  it('passes a request within it; a tenant broadcast counts 1', async () => {
    const res = await postBatch([
      { kind: 'fan:out', userIds: users('d', 1000), title: 'one' },
      { kind: 'fan:out', userIds: users('e', 1000), title: 'two' },
      { kind: 'fan:out', scope: 'tenant', title: 'everyone' },
    ]);
    expect(res.status).toBe(200);
    expect(res.body.results.map((r: { status: number }) => r.status)).toEqual([201, 201, 201]);
  });
});

describe('FANOUT_PER_SECOND', () => {
  it('is one budget for all keys: another key is refused with 429 once it is spent', async () => {
    // 2,001 of this window's 4,000 were spent above; 1,000 more fit, the next 1,000 do not.
    const fits = await postBatch([{ kind: 'fan:out', userIds: users('f', 1000), title: 'fits' }], ACME_KEY);
    expect(fits.status).toBe(200);
    expect(fits.body.results[0].status).toBe(201);
    // The shared budget is not shown to one key while it passes.
    expect(fits.headers.get('ratelimit-policy') ?? '').not.toContain('fanout');
    const refused = await postBatch([{ kind: 'fan:out', userIds: users('g', 1000), title: 'over', tenantId: 'acme' }], ACME_KEY);
    expect(refused.status).toBe(429);
    expect(refused.body.error).toMatchObject({ code: 'RATE_LIMITED', details: { limit: 'fanout' } });
    expect(refused.body.error.message).toContain('from all API keys together');
    expect(Number(refused.headers.get('retry-after'))).toBeGreaterThan(0);
    expect(await metric('notify_rate_limited_total', 'limit="fanout"')).toBe(1);
  });
});

describe('deliveries planner', () => {
  let plannerBed: TestBed;
  beforeAll(async () => {
    plannerBed = await createTestBed();
    gw = await plannerBed.start({
      // An email channel needs a mail server; no recipient here has an address, so nothing is sent.
      SMTP_URL: 'smtp://127.0.0.1:9',
      EMAIL_FROM: 'Notify <notify@example.com>',
      WEBHOOK_TIMEOUT_MS: '1000',
      SMTP_TIMEOUT_MS: '1000',
    });
  });
  afterAll(() => plannerBed.stopAll());

  it(`plans 5 × 1,000 email recipients in steps of about ${PLAN_ROWS_PER_STEP} rows, each exactly once`, async () => {
    await putChannel(gw.url, 'mail', { type: 'email' });
    const steps: number[] = [];
    const { deliveries } = gw.gateway.store;
    const commitPlan = deliveries.commitPlan.bind(deliveries);
    deliveries.commitPlan = (consumer, from, to, rows: readonly PlannedDelivery[], now?: number) => {
      if (rows.length > 0) steps.push(rows.length);
      return commitPlan(consumer, from, to, rows, now);
    };
    const res = await postBatch(['h', 'i', 'j', 'k', 'l'].map((p) => ({ kind: 'fan:mail', userIds: users(p, 1000), title: p, channels: ['mail'] })));
    expect(res.status).toBe(200);
    const ids: string[] = res.body.results.map((r: { id: string }) => r.id);
    const { db } = gw.gateway.store;
    const count = async () => Number(((await db('notify_deliveries').whereIn('message_id', ids).count({ n: '*' })) as [{ n: number }])[0].n);
    const deadline = Date.now() + 30_000;
    while ((await count()) < 5000 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 100));
    expect(await count()).toBe(5000);
    const reasons: { reason: string; n: number | string }[] = await db('notify_deliveries')
      .whereIn('message_id', ids)
      .groupBy('reason')
      .select('reason')
      .count({ n: '*' });
    expect(reasons.map((r) => [r.reason, Number(r.n)])).toEqual([['no_address', 5000]]);
    expect(steps.length).toBeGreaterThanOrEqual(3);
    expect(Math.max(...steps)).toBeLessThanOrEqual(PLAN_ROWS_PER_STEP + 1000);
  });
});
