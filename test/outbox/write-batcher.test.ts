/** The batcher's order rule: one group (one batch request) never has two transactions in flight. */
import { expect, it } from 'vitest';
import type { BatchOutcome, NotificationInput, NotificationWriter } from '../../src/outbox/notification-writer.js';
import { WriteBatcher } from '../../src/outbox/write-batcher.js';
import { deferred, type Deferred } from '../support/deferred.js';

/** A writer whose transactions finish when the test says so; records what each one held. */
function fakeWriter() {
  const transactions: { titles: string[]; done: Deferred }[] = [];
  const writer = {
    async writeBatch(inputs: readonly NotificationInput[]): Promise<BatchOutcome[]> {
      const done = deferred();
      transactions.push({ titles: inputs.map((i) => i.title), done });
      await done.promise;
      return inputs.map((i) => ({ ok: { id: i.title, deduped: false as const, recipients: 1 } }));
    },
  };
  return { writer: writer as unknown as NotificationWriter, transactions };
}

const input = (title: string): NotificationInput => ({
  tenantId: 't', kind: 'k', scope: 'user', userIds: ['u'], title, priority: 'medium',
});
const flush = () => new Promise((resolve) => setImmediate(resolve));

it('sends a group whole, or in parts one after the other, while other work overlaps', async () => {
  const { writer, transactions } = fakeWriter();
  const batcher = new WriteBatcher(writer, { maxItems: 2, maxRows: 1000, maxInFlight: 2 });
  const group = {};
  const results = ['a1', 'a2', 'a3', 'a4', 'a5'].map((t) => batcher.submit(input(t), group));
  const loner = batcher.submit(input('solo'));
  await flush();
  // a1+a2 in flight; a3.. wait for them; the ungrouped item must not jump the group's queue.
  expect(transactions.map((t) => t.titles)).toEqual([['a1', 'a2']]);

  transactions[0]!.done.resolve();
  await flush();
  expect(transactions.map((t) => t.titles)).toEqual([['a1', 'a2'], ['a3', 'a4']]);
  transactions[1]!.done.resolve();
  await flush();
  expect(transactions.map((t) => t.titles)).toEqual([['a1', 'a2'], ['a3', 'a4'], ['a5', 'solo']]);
  transactions[2]!.done.resolve();
  expect(await Promise.all([...results, loner])).toHaveLength(6);
});

it('keeps two transactions in flight for ungrouped requests, and queues the rest together', async () => {
  const { writer, transactions } = fakeWriter();
  const batcher = new WriteBatcher(writer, { maxItems: 10, maxRows: 1000, maxInFlight: 2 });
  const first = batcher.submit(input('x1'));
  await flush();
  const second = batcher.submit(input('x2'));
  await flush();
  const rest = ['x3', 'x4', 'x5'].map((t) => batcher.submit(input(t)));
  await flush();
  expect(transactions.map((t) => t.titles)).toEqual([['x1'], ['x2']]);
  transactions[0]!.done.resolve();
  await flush();
  expect(transactions.map((t) => t.titles)).toEqual([['x1'], ['x2'], ['x3', 'x4', 'x5']]);
  for (const t of transactions) t.done.resolve();
  expect(await Promise.all([first, second, ...rest])).toHaveLength(5);
});
