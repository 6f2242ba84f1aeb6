/** Group commit: concurrent requests share transactions; every caller still gets its own answer. */
import { v7 as uuidv7 } from 'uuid';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { NotificationInput } from '../../src/outbox/notification-writer.js';
import { API_KEY, createTestBed, postNotify, uniqueUser, userToken, type RunningGateway, type TestBed } from '../support/harness.js';
import { TestClient } from '../support/test-client.js';

let bed: TestBed;
let gw: RunningGateway;
let forcedIds: string[] = [];

beforeAll(async () => {
  bed = await createTestBed();
  gw = await bed.start({}, { hooks: { writer: { newId: () => forcedIds.shift() ?? uuidv7() } } });
});
afterAll(() => bed.stopAll());

const batchSizes = async () => {
  const text = await (await fetch(`${gw.url}/metrics`)).text();
  const sum = Number(text.match(/^notify_write_batch_size_sum (\d+)/m)?.[1] ?? 0);
  const count = Number(text.match(/^notify_write_batch_size_count (\d+)/m)?.[1] ?? 0);
  return { sum, count };
};

async function postBatch(notifications: unknown[], key = API_KEY) {
  const res = await fetch(`${gw.url}/api/notify`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-api-key': key },
    body: JSON.stringify({ notifications }),
  });
  return { status: res.status, body: (await res.json()) as { results: Record<string, unknown>[] } };
}

describe('group commit', () => {
  it('answers and delivers every one of many concurrent POSTs', async () => {
    const user = uniqueUser();
    const client = await TestClient.connect(gw.url, { token: userToken(user) });
    const responses = await Promise.all(
      Array.from({ length: 60 }, (_, i) => postNotify(gw.url, 'load:test', { userId: user, title: `n${i}` })),
    );
    expect(responses.map((r) => r.status)).toEqual(responses.map(() => 201));
    const ids = responses.map((r) => r.body.id!);
    expect(new Set(ids).size).toBe(60);
    await client.waitForIds(ids);
    client.close();
  });

  it('writes a burst in a few shared transactions', async () => {
    const user = uniqueUser();
    const before = await batchSizes();
    const { body } = await postBatch(Array.from({ length: 120 }, (_, i) => ({ kind: 'load:burst', userId: user, title: `b${i}` })));
    expect(body.results.every((r) => r.status === 201)).toBe(true);
    const after = await batchSizes();
    expect(after.sum - before.sum).toBe(120);
    // The first items go at once; the rest queue behind them and share one transaction.
    expect(after.count - before.count).toBeLessThanOrEqual(3);
  });

  it('POST /api/notify answers per item; bad items fail alone', async () => {
    const user = uniqueUser();
    const client = await TestClient.connect(gw.url, { token: userToken(user) });
    const { status, body } = await postBatch([
      { kind: 'a:one', userId: user, title: 'one' },
      { kind: 'Bad Kind', userId: user, title: 'bad kind' },
      { kind: 'a:two', userId: user },
      { kind: 'a:three', userId: user, title: 'three', dedupeKey: 'same' },
      { kind: 'a:three', userId: user, title: 'three again', dedupeKey: 'same' },
      { kind: 'a:four', userId: user, title: 'other tenant', tenantId: 'other' },
    ]);
    expect(status).toBe(200);
    expect(body.results.map((r) => r.status)).toEqual([201, 400, 400, 201, 200, 201]);
    expect(body.results[1]).toMatchObject({ error: { code: 'VALIDATION_FAILED' } });
    expect(body.results[4]).toEqual({ status: 200, id: body.results[3]!.id, deduped: true });
    await client.waitForIds([body.results[0]!.id as string, body.results[3]!.id as string]);
    client.close();
  });

  it('rejects an empty or oversized batch as a whole', async () => {
    expect((await postBatch([])).status).toBe(400);
    const tooMany = Array.from({ length: 501 }, () => ({ kind: 'a:b', userId: 'u', title: 't' }));
    expect((await postBatch(tooMany)).status).toBe(400);
  });

  it('a row that breaks the shared transaction fails alone; its neighbours commit', async () => {
    const taken = await postNotify(gw.url, 'a:taken', { userId: uniqueUser(), title: 'owns the id' });
    // The first row reuses an existing primary key, in the batch and again when retried alone.
    forcedIds = [taken.body.id!, uuidv7(), uuidv7(), taken.body.id!];
    const inputs: NotificationInput[] = ['x', 'y', 'z'].map((title) => ({
      tenantId: 'default', kind: 'a:b', scope: 'user', userIds: [uniqueUser()], title, priority: 'low',
    }));
    const outcomes = await gw.gateway.writer.writeBatch(inputs);
    expect('error' in outcomes[0]!).toBe(true);
    expect(outcomes.slice(1).map((o) => 'ok' in o && !o.ok.deduped)).toEqual([true, true]);
  });

  it('stores text that looks like SQL literally, with consecutive positions in request order', async () => {
    // On MySQL a batch is one multi-statement query: values must stay bound values.
    const user = uniqueUser();
    const titles = [
      "'); DROP TABLE notify_messages; --",
      'why? because; @notify_last_seq + 1',
      'back\\slash \\\' quote " double',
      'emoji 🚀 and ? and ?? and :named',
    ];
    const { body } = await postBatch(titles.map((title) => ({ kind: 'load:literal', userId: user, title, body: title })));
    const ids = body.results.map((r) => r.id as string);
    expect(body.results.map((r) => r.status)).toEqual(titles.map(() => 201));
    const rows: { id: string; title: string; body: string; seq: number | string }[] = await gw.gateway.store
      .db('notify_messages')
      .whereIn('id', ids)
      .select('id', 'title', 'body', 'seq');
    const byId = new Map(rows.map((r) => [r.id, r]));
    expect(ids.map((id) => byId.get(id)?.title)).toEqual(titles);
    expect(ids.map((id) => byId.get(id)?.body)).toEqual(titles);
    const seqs = ids.map((id) => Number(byId.get(id)?.seq));
    expect(seqs).toEqual(seqs.map((_, i) => seqs[0]! + i));
  });
});
