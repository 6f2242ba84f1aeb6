import { afterAll, describe, expect, it } from 'vitest';
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
    for (const table of ['notify_messages', 'notify_inbox', 'notify_outbox']) {
      expect(await stores[0]!.db.schema.hasTable(table)).toBe(true);
    }
    const applied = await stores[0]!.db('knex_migrations').select('name');
    expect(applied.map((r: { name: string }) => r.name)).toEqual(['20261122_001_core']);
  });
});
