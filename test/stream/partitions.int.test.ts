/**
 * The partitioned stream (STREAM_PARTITIONS), on both drivers:
 * - every partition hands out its own positions (p mod P), unique across partitions;
 * - each tenant's notifications reach its sockets in position order, and a resume replays
 *   exactly what was missed;
 * - moving a database 1 → 4 → 2 partitions with notifications still pending keeps every
 *   later position above every earlier one, moves each pending row to its tenant's new
 *   partition and loses nothing: every one is emitted, planned once, and replayed in order;
 * - a writer of the old layout is fenced: its writes fail whole and it is told to restart;
 * - `scope: "app"` is refused while there is more than one partition.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { NotificationWriter, type NotificationInput } from '../../src/outbox/notification-writer.js';
import { createStore, type Store } from '../../src/store/store.js';
import { partitionOf, StreamLayoutChanged } from '../../src/stream/stream-partitions.js';
import { putChannel } from '../support/admin-api.js';
import { createTestBed, postNotify, uniqueUser, userToken, type RunningGateway, type TestBed } from '../support/harness.js';
import { TestClient } from '../support/test-client.js';
import { until } from '../support/until.js';

let bed: TestBed;
const stores: Store[] = [];

beforeAll(async () => {
  bed = await createTestBed();
});
afterAll(async () => {
  for (const store of stores) await store.close();
  await bed?.stopAll();
});

/** `perPartition` tenant ids for each of `count` partitions. */
function tenantsByPartition(count: number, perPartition: number, label: string): string[][] {
  const by: string[][] = Array.from({ length: count }, () => []);
  for (let i = 0; by.some((list) => list.length < perPartition); i++) {
    const tenant = `${label}${i}`;
    const list = by[partitionOf(tenant, count)]!;
    if (list.length < perPartition) list.push(tenant);
  }
  return by;
}

async function openStore(): Promise<Store> {
  const store = createStore(bed.db.url, { poolMax: 4, acquireTimeoutMs: 10_000 });
  stores.push(store);
  return store;
}

const positionsOf = async (store: Store, ids: readonly string[]): Promise<Map<string, number>> => {
  const rows: { id: string; seq: number | string }[] = await store.db('notify_messages').whereIn('id', ids).select('id', 'seq');
  return new Map(rows.map((r) => [r.id, Number(r.seq)]));
};

const input = (tenantId: string, userId: string, title: string): NotificationInput => ({
  tenantId,
  kind: 'test:event',
  scope: 'user',
  userIds: [userId],
  title,
  priority: 'medium',
  delivery: { channels: ['hook'] },
});

async function post(gw: RunningGateway, tenantId: string, userId: string, title: string, extra: Record<string, unknown> = {}): Promise<string> {
  const res = await postNotify(gw.url, 'test:event', { tenantId, userId, title, ...extra });
  if (res.status !== 201) throw new Error(`notify failed: ${res.status} ${JSON.stringify(res.body)}`);
  return res.body.id as string;
}

describe('partitioned stream', () => {
  it('each partition hands out its own positions, and every tenant gets its notifications in position order', async () => {
    const gw = await bed.start({ STREAM_PARTITIONS: '4' });
    expect(gw.gateway.relays).toHaveLength(4);
    const tenants = tenantsByPartition(4, 2, 'ord-').flat();
    const users = new Map(tenants.map((t) => [t, uniqueUser()]));
    const clients = new Map<string, TestClient>();
    for (const t of tenants) clients.set(t, await TestClient.connect(gw.url, { token: userToken(users.get(t)!, t) }));

    // 20 per tenant, all tenants at once: the partitions' writes interleave.
    const sent = new Map<string, string[]>(tenants.map((t) => [t, []]));
    await Promise.all(
      tenants.map(async (t) => {
        for (let i = 0; i < 20; i++) sent.get(t)!.push(await post(gw, t, users.get(t)!, `${t} #${i}`));
      }),
    );
    const store = gw.gateway.store;
    const all = [...sent.values()].flat();
    const positions = await positionsOf(store, all);
    expect(new Set(positions.values()).size).toBe(all.length);
    for (const t of tenants) {
      const p = partitionOf(t, 4);
      for (const id of sent.get(t)!) expect(positions.get(id)! % 4).toBe(p);
      const client = clients.get(t)!;
      await client.waitForIds(sent.get(t)!);
      // Received once each, in the order of their positions (which is also the order sent).
      expect(client.ids).toEqual(sent.get(t));
      const seqs = client.ids.map((id) => positions.get(id)!);
      expect([...seqs].sort((a, b) => a - b)).toEqual(seqs);
    }
    // Outbox rows are read by their partition's consumers: all of them pruned in the end.
    await until(async () => Number((await store.db('notify_outbox').count({ n: '*' }).first())!.n) === 0, 'every partition pruned');

    // A resume in one partition replays exactly what was missed, in order.
    const [t] = tenants;
    const client = clients.get(t!)!;
    const lastAckId = client.ids[9]!;
    client.close();
    const more = [await post(gw, t!, users.get(t!)!, 'after 1'), await post(gw, t!, users.get(t!)!, 'after 2')];
    const resumed = await TestClient.connect(gw.url, { token: userToken(users.get(t!)!, t!), lastAckId });
    await resumed.waitForIds(more);
    expect(resumed.ids).toEqual([...sent.get(t!)!.slice(10), ...more]);
    for (const c of clients.values()) c.close();
    resumed.close();
    await gw.close();
  });

  it('scope "app" is refused while the stream has more than one partition', async () => {
    const gw = await bed.start({ STREAM_PARTITIONS: '4' });
    const res = await postNotify(gw.url, 'test:event', { scope: 'app', title: 'to every tenant' });
    expect(res.status).toBe(400);
    expect(res.body.error?.message).toMatch(/STREAM_PARTITIONS/);
    await gw.close();
  });

  it('moving 4 → 1 → 4 → 2 partitions with notifications pending loses none, plans each once and keeps positions rising', async () => {
    // A fresh database of its own: this test owns its layout from the start.
    const own = await createTestBed();
    try {
      const first = await own.start({ STREAM_PARTITIONS: '4', DELIVERY_WORKER: 'false', ALLOW_PRIVATE_WEBHOOKS: 'true' });
      const tenants = tenantsByPartition(4, 1, 'move-').flat();
      for (const t of tenants) await putChannel(first.url, 'hook', { type: 'webhook', url: 'http://127.0.0.1:9/unused' }, t);
      await first.close();
      const store = createStore(own.db.url, { poolMax: 4, acquireTimeoutMs: 10_000 });
      stores.push(store);
      const users = new Map(tenants.map((t) => [t, uniqueUser()]));
      const written: string[] = [];

      // No gateway runs: what a writer of a layout commits stays pending in the outbox.
      const writeAll = async (partitions: number, label: string) => {
        const writer = new NotificationWriter(store, () => undefined, {}, { partitions });
        for (const t of tenants) {
          for (let i = 0; i < 3; i++) {
            const result = await writer.write(input(t, users.get(t)!, `${label} ${t} #${i}`));
            written.push(result.id);
          }
        }
      };
      const head = async () => {
        const rows: { last_seq: number | string }[] = await store.db('notify_sequence').select('last_seq');
        return Math.max(...rows.map((r) => Number(r.last_seq)));
      };

      for (const [from, to] of [[4, 1], [1, 4], [4, 2]] as const) {
        await writeAll(from, `in ${from}`);
        const before = await head();
        const gw = await own.start({ STREAM_PARTITIONS: String(to), DELIVERY_WORKER: 'false', ALLOW_PRIVATE_WEBHOOKS: 'true' });
        expect(await store.streamLayout.partitions()).toBe(to);
        // Every pending row now belongs to its tenant's partition of the new layout.
        const pending: { message_id: string; part: number; tenant_id: string }[] = await store
          .db('notify_outbox as o')
          .join('notify_messages as m', 'm.id', 'o.message_id')
          .select('o.message_id', 'o.part', 'm.tenant_id');
        for (const row of pending) expect(Number(row.part)).toBe(partitionOf(row.tenant_id, to));
        // New positions: above the old head, in their partition's residue class.
        const [t] = tenants;
        const fresh = await post(gw, t!, users.get(t!)!, `after the move to ${to}`, { channels: ['hook'] });
        written.push(fresh);
        const seq = (await positionsOf(store, [fresh])).get(fresh)!;
        expect(seq).toBeGreaterThan(before);
        expect(seq % to).toBe(partitionOf(t!, to));
        // Everything drained by the new layout's consumers, and planned exactly once.
        await until(async () => Number((await store.db('notify_outbox').count({ n: '*' }).first())!.n) === 0, `outbox drained after the move to ${to}`);
        await gw.close();
      }

      const planned: { message_id: string; n: number | string }[] = await store
        .db('notify_deliveries')
        .whereIn('message_id', written)
        .groupBy('message_id')
        .select('message_id')
        .count({ n: '*' });
      expect(planned).toHaveLength(written.length);
      for (const row of planned) expect(Number(row.n)).toBe(1);

      // Each user's history, in write order, has rising positions across all three moves,
      // and replays whole from its first notification.
      const gw = await own.start({ STREAM_PARTITIONS: '2' });
      const positions = await positionsOf(store, written);
      for (const t of tenants) {
        const rows: { message_id: string }[] = await store.db('notify_inbox').where({ tenant_id: t, user_id: users.get(t)! }).select('message_id');
        const inbox = new Set(rows.map((r) => r.message_id));
        const theirs = written.filter((id) => inbox.has(id));
        expect(theirs).toHaveLength(3 * 3 + (t === tenants[0] ? 3 : 0));
        const seqs = theirs.map((id) => positions.get(id)!);
        expect([...seqs].sort((a, b) => a - b)).toEqual(seqs);
        const client = await TestClient.connect(gw.url, { token: userToken(users.get(t)!, t), lastAckId: theirs[0]! });
        await client.waitForIds(theirs.slice(1));
        expect(client.ids).toEqual(theirs.slice(1));
        client.close();
      }
      await gw.close();
    } finally {
      await own.stopAll();
    }
  });

  it('a writer still on the old layout is fenced: its write fails whole and says so', async () => {
    const own = await createTestBed();
    try {
      const gw = await own.start({ STREAM_PARTITIONS: '1' });
      await gw.close();
      const store = createStore(own.db.url, { poolMax: 4, acquireTimeoutMs: 10_000 });
      stores.push(store);
      const changes: StreamLayoutChanged[] = [];
      const stale = new NotificationWriter(store, () => undefined, {}, { partitions: 1, onLayoutChanged: (c) => changes.push(c) });
      await stale.write(input('fence', 'u1', 'before the move'));
      const moved = await own.start({ STREAM_PARTITIONS: '3' });
      const count = async () => Number((await store.db('notify_messages').count({ n: '*' }).first())!.n);
      const before = await count();
      await expect(stale.write(input('fence', 'u1', 'after the move'))).rejects.toBeInstanceOf(StreamLayoutChanged);
      const batch = await stale.writeBatch([input('fence', 'u1', 'batch a'), input('fence', 'u2', 'batch b')]);
      for (const outcome of batch) expect('error' in outcome && outcome.error).toBeInstanceOf(StreamLayoutChanged);
      expect(await count()).toBe(before);
      expect(changes.length).toBeGreaterThan(0);
      expect(changes[0]).toMatchObject({ had: 1, now: 3 });
      // The gateway on the new layout writes on.
      expect((await postNotify(moved.url, 'test:event', { tenantId: 'fence', userId: 'u1', title: 'ok' })).status).toBe(201);
      await moved.close();
    } finally {
      await own.stopAll();
    }
  });
});
