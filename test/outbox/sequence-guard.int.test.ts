/**
 * A write takes its positions from the one sequence row. Without that row (a damaged
 * database) a write must fail whole — never commit rows without positions, which the
 * relay would never publish.
 */
import { afterAll, expect, it } from 'vitest';
import { NotificationWriter, type NotificationInput } from '../../src/outbox/notification-writer.js';
import { createStore } from '../../src/store/store.js';
import { createTestDatabase } from '../support/drivers.js';

const db = await createTestDatabase();
const store = createStore(db.url, { poolMax: 2, acquireTimeoutMs: 5000 });
afterAll(async () => {
  await store.close();
  await db.drop();
});

const input = (title: string): NotificationInput => ({
  tenantId: 'default', kind: 'test:guard', scope: 'user', userIds: ['u1', 'u2'], title, priority: 'medium',
});

it('fails the write and stores nothing when the sequence row is missing', async () => {
  await store.migrate();
  const writer = new NotificationWriter(store, () => undefined);
  await writer.write(input('before'));
  await store.db('notify_sequence').delete();

  await expect(writer.write(input('single'))).rejects.toThrow();
  const outcomes = await writer.writeBatch([input('batch a'), input('batch b')]);
  expect(outcomes.every((o) => 'error' in o)).toBe(true);

  const count = async (table: string) => Number((await store.db(table).count({ n: '*' }))[0]!.n);
  expect({ messages: await count('notify_messages'), inbox: await count('notify_inbox') }).toEqual({ messages: 1, inbox: 2 });
});
