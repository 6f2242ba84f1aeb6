/**
 * A SQLite write lets the event loop turn between its statements (src/store/sqlite-write.ts)
 * while its transaction stays open. What must hold:
 * - the loop does turn during a 1,000-recipient write (it used to be one ~40 ms stretch);
 * - nothing else sees or joins the open transaction: a reader polling meanwhile finds a
 *   notification's inbox rows all there or none;
 * - a statement failing after a turn rolls the whole write back, and the connection is
 *   usable for the next one.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Database } from 'better-sqlite3';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { SLICE_MS } from '../../src/event-loop.js';
import { NotificationWriter, type NotificationInput } from '../../src/outbox/notification-writer.js';
import { sqliteWriteSlice } from '../../src/store/sqlite-write.js';
import { createStore, type Store } from '../../src/store/store.js';

const dir = mkdtempSync(join(tmpdir(), 'notify-sliced-'));
let store: Store;

beforeAll(async () => {
  // A turn at every statement boundary: on a fast disk a whole write fits in one slice.
  sqliteWriteSlice.ms = 0;
  store = createStore(`sqlite:${join(dir, 'notify.db')}`, { poolMax: 1, acquireTimeoutMs: 5000 });
  await store.migrate();
});
afterAll(async () => {
  sqliteWriteSlice.ms = SLICE_MS;
  await store.close();
  rmSync(dir, { recursive: true, force: true });
});

const users = Array.from({ length: 1000 }, (_, i) => `user-${String(i).padStart(4, '0')}`);
const input = (title: string, userIds = users): NotificationInput => ({ tenantId: 't', kind: 'k', scope: 'user', userIds, title, priority: 'medium' });

async function inboxCounts(): Promise<number[]> {
  const rows = (await store.db('notify_inbox').select('message_id').count({ n: '*' }).groupBy('message_id')) as { n: number | string }[];
  return rows.map((r) => Number(r.n));
}

it('turns the loop during a write, and a reader meanwhile sees each notification whole or not at all', async () => {
  const writer = new NotificationWriter(store, () => undefined);
  // The pool's one connection, looked at (not used) on every turn of the loop.
  const conn = (await store.db.client.acquireConnection()) as Database;
  store.db.client.releaseConnection(conn);
  let turnsInsideTransaction = 0;
  let writing = true;
  const ticker = setInterval(() => {
    if (conn.inTransaction) turnsInsideTransaction++;
  }, 0);
  const seen: number[] = [];
  const reader = (async () => {
    while (writing) {
      seen.push(...(await inboxCounts()));
      // A query on SQLite resolves in microtasks alone: without a macrotask between
      // reads, this loop would starve the writer's turns.
      await new Promise((resolve) => setImmediate(resolve));
    }
  })();
  try {
    for (let i = 0; i < 20; i++) await writer.write(input(`n${i}`));
  } finally {
    writing = false;
    clearInterval(ticker);
  }
  await reader;
  // As one synchronous stretch, no turn of the loop ever found the transaction open.
  expect(turnsInsideTransaction).toBeGreaterThan(0);
  expect(seen.length).toBeGreaterThan(0);
  expect(seen.filter((n) => n !== users.length)).toEqual([]);
  expect(await inboxCounts()).toEqual(Array.from({ length: 20 }, () => users.length));
}, 60_000);

it('rolls the whole write back when a statement after a turn fails, and the next write goes through', async () => {
  const writer = new NotificationWriter(store, () => undefined);
  // A real failure inside the transaction: the 900th recipient's row (second INSERT
  // statement, after the first one's slice) is refused by the database.
  await store.db.raw(`CREATE TRIGGER poison BEFORE INSERT ON notify_inbox WHEN NEW.user_id = 'poison'
    BEGIN SELECT RAISE(ABORT, 'poisoned recipient'); END`);
  const before = await store.db('notify_messages').count({ n: '*' });
  const poisoned = users.slice(0, 999).concat('poison');
  try {
    await expect(writer.write(input('poisoned', poisoned))).rejects.toThrow(/poisoned recipient/);
  } finally {
    await store.db.raw('DROP TRIGGER poison');
  }
  expect(await store.db('notify_messages').count({ n: '*' })).toEqual(before);
  expect(await store.db('notify_messages').where({ title: 'poisoned' }).first()).toBeUndefined();
  await writer.write(input('after'));
  const after = await store.db('notify_messages').where({ title: 'after' }).first();
  expect(after).toBeDefined();
  expect(await store.db('notify_inbox').where({ message_id: after.id }).count({ n: '*' })).toEqual([{ n: users.length }]);
}, 60_000);
