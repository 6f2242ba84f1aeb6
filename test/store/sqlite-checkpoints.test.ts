/**
 * SQLite WAL checkpoints run in a worker thread (src/store/sqlite-checkpointer.ts): the
 * gateway's connection never checkpoints by itself, the WAL still starts over instead
 * of growing without end under a stream of large writes, and closing the store stops the
 * worker (the last connection out removes the WAL).
 */
import { existsSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Database } from 'better-sqlite3';
import { afterAll, expect, it } from 'vitest';
import { NotificationWriter, type NotificationInput } from '../../src/outbox/notification-writer.js';
import { WAL_FRAMES_LIMIT } from '../../src/store/sqlite-checkpointer.js';
import { createStore } from '../../src/store/store.js';

const dir = mkdtempSync(join(tmpdir(), 'notify-wal-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const users = Array.from({ length: 1000 }, (_, i) => `user-${String(i).padStart(4, '0')}`);
const input = (i: number): NotificationInput => ({ tenantId: 't', kind: 'k', scope: 'user', userIds: users, title: `n${i}`, priority: 'medium' });

it('keeps the WAL near its limit under a stream of 1,000-recipient writes, and removes it on close', async () => {
  const file = join(dir, 'notify.db');
  const store = createStore(`sqlite:${file}`, { poolMax: 1, acquireTimeoutMs: 5000 });
  await store.migrate();
  const conn = (await store.db.client.acquireConnection()) as Database;
  expect(conn.pragma('wal_autocheckpoint', { simple: true })).toBe(0);
  store.db.client.releaseConnection(conn);

  const writer = new NotificationWriter(store, () => undefined);
  const limitBytes = WAL_FRAMES_LIMIT * (4096 + 24);
  let largest = 0;
  for (let i = 0; i < 60; i++) {
    await writer.write(input(i));
    largest = Math.max(largest, statSync(`${file}-wal`).size);
  }
  const inbox = (await store.db('notify_inbox').count({ n: '*' })) as [{ n: number }];
  expect(Number(inbox[0].n)).toBe(60 * 1000);
  // Each write adds 1-3 MB; without the restarts the WAL grew past 150 MB here.
  expect(largest).toBeLessThan(limitBytes + 32 * 1024 * 1024);

  await store.close();
  expect(existsSync(`${file}-wal`)).toBe(false);
}, 120_000);
