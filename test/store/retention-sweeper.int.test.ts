import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sweepRetention } from '../../src/store/retention-sweeper.js';
import { createTestBed, notifyUser, postNotify, uniqueUser, type RunningGateway, type TestBed } from '../support/harness.js';
import { until } from '../support/until.js';

let bed: TestBed;
let gw: RunningGateway;
const DAY = 86_400_000;

beforeAll(async () => {
  bed = await createTestBed();
  gw = await bed.start();
});
afterAll(() => bed.stopAll());

const db = () => gw.gateway.store.db;
const exists = async (id: string) => (await db()('notify_messages').where({ id }).first()) !== undefined;
const inboxRows = async (id: string) => (await db()('notify_inbox').where({ message_id: id })).length;

describe('retention sweep', () => {
  it('deletes messages past both horizons with their inbox rows, keeps the rest', async () => {
    const user = uniqueUser();
    const old = await notifyUser(gw.url, user, 'old');
    const recent = await notifyUser(gw.url, user, 'recent');
    await until(async () => (await db()('notify_outbox').count({ n: '*' }).first())?.n == 0, 'outbox drained');
    await db()('notify_messages').where({ id: old }).update({ created_at: Date.now() - 31 * DAY });

    const deleted = await sweepRetention(db(), { inboxRetentionMs: 30 * DAY, replayRetentionMs: DAY });
    expect(deleted).toBe(1);
    expect(await exists(old)).toBe(false);
    expect(await inboxRows(old)).toBe(0);
    expect(await exists(recent)).toBe(true);
    expect(await inboxRows(recent)).toBe(1);
  });

  it('deletes expired (ttl) notifications but never unpublished outbox rows', async () => {
    const user = uniqueUser();
    const res = await postNotify(gw.url, 'test:event', { userId: user, title: 'short-lived', ttlSeconds: 1 });
    const expiredId = res.body.id!;
    await until(async () => (await db()('notify_outbox').where({ message_id: expiredId }).first()) === undefined, 'published');
    const inFlight = await notifyUser(gw.url, user, 'in flight');
    await until(async () => (await db()('notify_outbox').where({ message_id: inFlight }).first()) === undefined, 'published');
    // Simulate a row the relay has not published yet: put it back into the outbox.
    await db()('notify_outbox').insert({ message_id: inFlight, seq: null, created_at: Date.now() - 40 * DAY });
    await db()('notify_messages').where({ id: inFlight }).update({ created_at: Date.now() - 40 * DAY });

    await sweepRetention(db(), { inboxRetentionMs: 30 * DAY, replayRetentionMs: DAY }, Date.now() + 2000);
    expect(await exists(expiredId)).toBe(false);
    expect(await exists(inFlight)).toBe(true);
  });

  it('works in bounded batches', async () => {
    const user = uniqueUser();
    const ids: string[] = [];
    for (let i = 0; i < 7; i++) ids.push(await notifyUser(gw.url, user, `b${i}`));
    await until(async () => (await db()('notify_outbox').whereIn('message_id', ids)).length === 0, 'published');
    await db()('notify_messages').whereIn('id', ids).update({ created_at: Date.now() - 60 * DAY });
    const first = await sweepRetention(db(), { inboxRetentionMs: DAY, replayRetentionMs: DAY, batchSize: 3, maxBatches: 2 });
    expect(first).toBe(6);
    const second = await sweepRetention(db(), { inboxRetentionMs: DAY, replayRetentionMs: DAY, batchSize: 3, maxBatches: 2 });
    expect(second).toBeGreaterThanOrEqual(1);
    for (const id of ids) expect(await exists(id)).toBe(false);
  });
});
