/**
 * Every write takes the one sequence row lock, so the pool's connections bound how long
 * a write waits for it and how long an idle holder may keep it (mysql-dialect.ts).
 * A second write really does fail after the wait bound while a holder sits on the lock.
 */
import { afterAll, expect, it } from 'vitest';
import { createStore } from '../../src/store/store.js';
import { createTestDatabase } from '../support/drivers.js';

const db = await createTestDatabase();
const store = createStore(db.url, { poolMax: 3, acquireTimeoutMs: 5000 });
afterAll(async () => {
  await store.close();
  await db.drop();
});

it('pool connections wait at most 10 s for a lock and kill idle write transactions after 30 s', async () => {
  await store.migrate();
  const [rows] = (await store.db.raw(
    'SELECT @@session.innodb_lock_wait_timeout AS wait, @@session.idle_write_transaction_timeout AS idle',
  )) as [{ wait: number; idle: number }[]];
  expect(rows[0]).toEqual({ wait: 10, idle: 30 });
});

it('a write waiting on the sequence lock gives up with a lock-wait timeout, reported as unavailable', async () => {
  const holder = await store.db.transaction();
  try {
    await holder.raw(store.dialect.positions.reserve, [1, 'notify', 1]);
    const waiter = store.db.transaction(async (trx) => {
      await trx.raw('SET SESSION innodb_lock_wait_timeout = 1'); // keep the test short
      await trx.raw(store.dialect.positions.reserve, [1, 'notify', 1]);
    });
    const error = await waiter.then(() => null, (e: unknown) => e);
    expect((error as { code?: string })?.code).toBe('ER_LOCK_WAIT_TIMEOUT');
    expect(store.dialect.isUnavailable(error)).toBe(true);
  } finally {
    await holder.rollback();
  }
});
