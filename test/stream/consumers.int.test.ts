/**
 * One stream, many consumers. Each consumer (realtime, deliveries) keeps a durable
 * cursor; the outbox keeps a position until every consumer has passed it; planning
 * deliveries is exactly once even when two planners believe they lead (a lease handover
 * caught mid-batch): the cursor moves in the transaction that records the plan, and only
 * from where the planner read.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DeliveryPlanner } from '../../src/delivery/delivery-planner.js';
import { createLogger } from '../../src/logger.js';
import { LocalLease } from '../../src/stream/local-lease.js';
import { api, putChannel } from '../support/admin-api.js';
import { createTestBed, postNotify, uniqueUser, type RunningGateway, type TestBed } from '../support/harness.js';
import { until } from '../support/until.js';

let bed: TestBed;
let gw: RunningGateway;

beforeAll(async () => {
  bed = await createTestBed();
  // No worker: the queue rows stay `pending`, this file is about planning.
  gw = await bed.start({ DELIVERY_WORKER: 'false', ALLOW_PRIVATE_WEBHOOKS: 'true' });
  await putChannel(gw.url, 'hook', { type: 'webhook', url: 'http://127.0.0.1:9/unused' });
});
afterAll(async () => {
  await bed?.stopAll();
});

const db = () => gw.gateway.store.db;
const lastPosition = async () => Number((await db()('notify_sequence').first('last_seq')).last_seq);
const cursor = (name: string) => gw.gateway.store.stream.cursor(name as 'realtime' | 'deliveries');
const outboxCount = async () => Number((await db()('notify_outbox').count({ n: '*' }).first())!.n);

describe('stream consumers', () => {
  it('both cursors reach the last position and the outbox empties', async () => {
    for (let i = 0; i < 5; i++) await postNotify(gw.url, 'test:event', { userId: uniqueUser(), title: `n${i}`, channels: ['hook'] });
    const last = await lastPosition();
    await until(async () => (await cursor('realtime')) === last && (await cursor('deliveries')) === last, 'both cursors at the end');
    await until(async () => (await outboxCount()) === 0, 'outbox pruned');
  });

  it('keeps outbox rows that one consumer has not passed, and prunes them once it has', async () => {
    await until(async () => (await outboxCount()) === 0, 'outbox pruned');
    const stream = gw.gateway.store.stream;
    const realtimeAt = await cursor('realtime');
    // Hold the deliveries cursor back, as a planner that is down would.
    await db()('notify_consumers').where({ name: 'deliveries' }).update({ position: realtimeAt - 1 });
    await db()('notify_outbox').insert({ message_id: 'probe-held', seq: realtimeAt, created_at: Date.now() });
    await stream.prune();
    expect(await db()('notify_outbox').where({ message_id: 'probe-held' }).first()).toBeDefined();
    await stream.advance('deliveries', realtimeAt);
    await stream.prune();
    expect(await db()('notify_outbox').where({ message_id: 'probe-held' }).first()).toBeUndefined();
    // A cursor never moves back.
    await stream.advance('deliveries', realtimeAt - 10);
    expect(await cursor('deliveries')).toBe(realtimeAt);
  });

  it('plans each delivery exactly once when two planners race over the same positions', async () => {
    // Stop the gateway's own planner, queue notifications, then let two planners that
    // both think they lead read the same positions at once.
    await gw.gateway.planner.stop();
    const ids: string[] = [];
    for (let i = 0; i < 30; i++) {
      const res = await postNotify(gw.url, 'test:event', { userId: uniqueUser(), title: `race ${i}`, channels: ['hook', 'missing'] });
      ids.push(res.body.id!);
    }
    const options = { batchSize: 7, pollMs: 20, leaseRetryMs: 20, maxAttempts: 3 };
    const logger = createLogger('silent');
    const planners = [1, 2].map(() => new DeliveryPlanner(gw.gateway.store, gw.gateway.policies, new LocalLease(), options, logger, () => {}));
    planners.forEach((p) => p.start());
    const last = await lastPosition();
    await until(async () => (await cursor('deliveries')) === last, 'the deliveries cursor at the end', 10_000);
    await Promise.all(planners.map((p) => p.stop()));

    const rows: { message_id: string; channel: string; status: string; reason: string | null }[] = await db()('notify_deliveries')
      .whereIn('message_id', ids)
      .select('message_id', 'channel', 'status', 'reason');
    expect(rows).toHaveLength(ids.length * 2);
    const perMessage = new Map<string, string[]>();
    for (const r of rows) perMessage.set(r.message_id, [...(perMessage.get(r.message_id) ?? []), `${r.channel}:${r.status}:${r.reason}`]);
    for (const id of ids) expect(perMessage.get(id)?.sort()).toEqual(['hook:pending:null', 'missing:suppressed:unknown_channel']);
  });

  it('lists queued deliveries for operators, filtered and paged', async () => {
    const page1 = await api<{ deliveries: { id: string; status: string }[]; nextCursor: string | null }>(
      gw.url, 'GET', '/api/deliveries?channel=hook&status=pending&limit=10',
    );
    expect(page1.status).toBe(200);
    expect(page1.body.deliveries).toHaveLength(10);
    expect(page1.body.deliveries.every((d) => d.status === 'pending')).toBe(true);
    const page2 = await api<{ deliveries: { id: string }[] }>(gw.url, 'GET', `/api/deliveries?channel=hook&status=pending&limit=10&cursor=${page1.body.nextCursor}`);
    const seen = new Set(page1.body.deliveries.map((d) => d.id));
    expect(page2.body.deliveries.length).toBeGreaterThan(0);
    expect(page2.body.deliveries.some((d) => seen.has(d.id))).toBe(false);
    const bad = await api(gw.url, 'GET', '/api/deliveries?status=lost');
    expect(bad.status).toBe(400);
  });
});
