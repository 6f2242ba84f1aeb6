import { afterAll, describe, expect, it } from 'vitest';
import { migrationSource } from '../../src/store/migration-source.js';
import { createStore, type Store } from '../../src/store/store.js';
import { createTestDatabase, type TestDatabase } from '../support/drivers.js';

const cleanup: (() => Promise<void>)[] = [];
afterAll(async () => {
  for (const fn of cleanup.reverse()) await fn();
});

describe('migrations', () => {
  it('run safely when several instances start at once, and again as a no-op', async () => {
    const db: TestDatabase = await createTestDatabase();
    cleanup.push(() => db.drop());
    const stores: Store[] = [1, 2, 3, 4].map(() => createStore(db.url, { poolMax: 2, acquireTimeoutMs: 5000 }));
    cleanup.push(() => Promise.all(stores.map((s) => s.close())).then(() => undefined));

    await Promise.all(stores.map((s) => s.migrate()));
    await stores[0]!.migrate();
    for (const table of ['notify_messages', 'notify_inbox', 'notify_outbox', 'notify_sequence', 'notify_consumers', 'notify_deliveries', 'notify_preferences', 'notify_kinds']) {
      expect(await stores[0]!.db.schema.hasTable(table)).toBe(true);
    }
    const applied = await stores[0]!.db('knex_migrations').select('name');
    expect(applied.map((r: { name: string }) => r.name)).toEqual([
      '20261122_001_core',
      '20261122_002_write_time_seq',
      '20261130_003_consumers_and_deliveries',
      '20261130_004_audit',
      '20261201_005_policies',
      '20261201_006_topics',
      '20261201_007_devices',
      '20261201_008_apps',
      '20261201_009_segments',
      '20261201_010_stream_partitions',
    ]);
  });

  it('write-time positions: rows the old relay had not sequenced get positions in outbox order', async () => {
    const db: TestDatabase = await createTestDatabase();
    cleanup.push(() => db.drop());
    const store = createStore(db.url, { poolMax: 2, acquireTimeoutMs: 5000 });
    cleanup.push(() => store.close());
    await store.db.migrate.up({ migrationSource }); // 001 only: the relay sequenced later
    const message = (id: string, seq: number | null) => ({
      id, tenant_id: 't', kind: 'k', scope: 'user', title: id, priority: 'normal', seq, created_at: 1,
    });
    // m1 was sequenced (5) and is still being emitted; m3 and m2 wait, m3 first in the outbox.
    await store.db('notify_messages').insert([message('m1', 5), message('m2', null), message('m3', null)]);
    await store.db('notify_inbox').insert(['m1', 'm2', 'm3'].map((id) => ({ tenant_id: 't', user_id: 'u', message_id: id, seq: id === 'm1' ? 5 : null, created_at: 1 })));
    await store.db('notify_outbox').insert([{ message_id: 'm1', seq: 5, created_at: 1 }, { message_id: 'm3', seq: null, created_at: 1 }, { message_id: 'm2', seq: null, created_at: 1 }]);

    await store.migrate();
    const seqs = async (table: string, key: string) =>
      Object.fromEntries((await store.db(table).select(key, 'seq')).map((r: Record<string, unknown>) => [r[key], Number(r.seq)]));
    const expected = { m1: 5, m3: 6, m2: 7 };
    expect(await seqs('notify_messages', 'id')).toEqual(expected);
    expect(await seqs('notify_inbox', 'message_id')).toEqual(expected);
    expect(await seqs('notify_outbox', 'message_id')).toEqual(expected);
    const [sequence] = await store.db('notify_sequence').select('name', 'last_seq');
    expect({ name: sequence.name, last: Number(sequence.last_seq) }).toEqual({ name: 'notify', last: 7 });
    // Consumers start before the oldest row still in the outbox: m1 (5) is emitted again.
    const cursors = await store.db('notify_consumers').orderBy('name').select('name', 'position');
    expect(cursors.map((c: { name: string; position: number | string }) => [c.name, Number(c.position)])).toEqual([
      ['deliveries', 4],
      ['realtime', 4],
    ]);
  });
});
