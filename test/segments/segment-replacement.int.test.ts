/**
 * A segment replacement is atomic for readers: while `PUT` swaps 5,000 members for 5,000
 * others, the relay's paged member reads (forEachMemberPage, 50 pages each) return the
 * old list or the new one, never part of each. On MySQL that is the reads' snapshot
 * transaction; on SQLite the one connection never interleaves the two.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { createStore, type Store } from '../../src/store/store.js';
import { createTestDatabase, type TestDatabase } from '../support/drivers.js';

const cleanup: (() => Promise<void>)[] = [];
afterAll(async () => {
  for (const fn of cleanup.reverse()) await fn();
});

const list = (prefix: string) => Array.from({ length: 5_000 }, (_, i) => `${prefix}-${String(i).padStart(5, '0')}`);

describe('segment replacement', () => {
  it('paged readers see the old members or the new ones, never a mix', async () => {
    const db: TestDatabase = await createTestDatabase();
    cleanup.push(() => db.drop());
    const store: Store = createStore(db.url, { poolMax: 4, acquireTimeoutMs: 10_000 });
    cleanup.push(() => store.close());
    await store.migrate();
    const [before, after] = [list('old'), list('new')];
    await store.segments.replace('t', 'seg', before);

    const readAll = async () => {
      const seen: string[] = [];
      await store.segments.forEachMemberPage('t', ['seg'], 100, async (page) => {
        seen.push(...page);
      });
      return seen;
    };
    let replaced = false;
    const replacing = store.segments.replace('t', 'seg', after).then(() => (replaced = true));
    const reads: string[][] = [];
    while (!replaced) reads.push(await readAll());
    await replacing;
    reads.push(await readAll());

    const verdicts = reads.map((r) => (r.join() === before.join() ? 'old' : r.join() === after.join() ? 'new' : `mixed (${r.length})`));
    expect(verdicts.filter((v) => v.startsWith('mixed'))).toEqual([]);
    expect(verdicts[verdicts.length - 1]).toBe('new');
    expect(await store.segments.get('t', 'seg')).toMatchObject({ members: 5_000 });
  });
});
