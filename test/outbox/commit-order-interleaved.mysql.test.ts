/**
 * The commit-order race with real concurrent MariaDB transactions (SQLite serialises
 * writers, so the race cannot be built there). A write with the HIGHER id is held open
 * before COMMIT while a write with a LOWER id starts. The lower one must wait for the
 * open one (it cannot take a position until then), commit after it with a higher
 * position, arrive after it live, and still be replayed to a client that acked the
 * higher id. Replay by `id > lastAckId` would lose it; positions taken at insert time
 * without the wait would let it commit first and be skipped by a reader in between.
 *
 * Twice: parked by the writer's test seam (the ordinary transaction path), and on the
 * production path, where a write is one multi-statement query that cannot be paused
 * from inside — there the open write is stalled by a row lock the test holds.
 */
import { describe, expect, it } from 'vitest';
import { v7 as uuidv7 } from 'uuid';
import type { WriterHooks } from '../../src/outbox/notification-writer.js';
import { createStore } from '../../src/store/store.js';
import { deferred, type Deferred } from '../support/deferred.js';
import { useGateway } from '../support/gateway-suite.js';
import { notifyUser, uniqueUser, userToken } from '../support/harness.js';
import { until } from '../support/until.js';

/** When set, the next write parks before COMMIT until `release` resolves. */
let park: { entered: Deferred<string>; release: Deferred } | null = null;
/** Ids handed to the next writes, in order (then fresh UUIDv7s). */
const nextIds: string[] = [];

const newId = () => nextIds.shift() ?? uuidv7();
const hooks: WriterHooks = {
  newId,
  async beforeCommit(id) {
    const parked = park;
    if (!parked) return;
    park = null;
    parked.entered.resolve(id);
    await parked.release.promise;
  },
};

const suite = useGateway({}, { hooks: { writer: hooks } });

describe('replay walks commit order, not id order', () => {
  it('interleaved transactions: the lower id waits for the open one, commits last and is still replayed', async () => {
    const { url, gateway } = suite.gw;
    const user = uniqueUser();
    const client = await suite.connect(url, { token: userToken(user) });
    const [lowerId, higherId] = [uuidv7(), uuidv7()];
    expect(lowerId < higherId).toBe(true);

    park = { entered: deferred<string>(), release: deferred() };
    const parked = park;
    nextIds.push(higherId, lowerId);
    const higherWrite = notifyUser(url, user, 'higher id, open first');
    expect(await parked.entered.promise).toBe(higherId); // rows inserted, not committed

    const lowerWrite = notifyUser(url, user, 'lower id, starts second');
    await until(async () => (await lockWaits(gateway.store.db)) > 0, 'the second write to wait for the open one', 10_000, 150);
    expect(client.ids).toEqual([]); // nothing committed, nothing delivered

    parked.release.resolve();
    expect(await higherWrite).toBe(higherId);
    expect(await lowerWrite).toBe(lowerId);
    await client.waitForIds([higherId, lowerId]);
    expect(client.ids).toEqual([higherId, lowerId]); // commit order, not id order
    client.close();

    const back = await suite.connect(url, { token: userToken(user), lastAckId: higherId });
    await back.waitForIds([lowerId]);
    expect(back.synced[0]?.recovered).toBe(true);
    expect(back.ids).toEqual([lowerId]);
  });

});

describe('replay walks commit order on the production write path', () => {
  // No beforeCommit seam here: the writer sends each write as one query.
  const suite = useGateway({}, { hooks: { writer: { newId } } });

  it('a write stalled after taking its positions makes the next one wait; replay still finds it', async () => {
    const { url, gateway } = suite.gw;
    const user = uniqueUser();
    const client = await suite.connect(url, { token: userToken(user) });
    const [lowerId, higherId] = [uuidv7(), uuidv7()];
    const dedupeKey = `stall-${higherId}`;

    // An uncommitted row with the same dedupe key: the higher write reserves its
    // positions, then its INSERT waits on this row's unique-index lock.
    const staller = createStore(suite.bed.db.url, { poolMax: 1, acquireTimeoutMs: 5000 });
    const stall = await staller.db.transaction();
    try {
      await stall('notify_messages').insert({
        id: uuidv7(), tenant_id: 'default', kind: 'test:stall', scope: 'user', title: 'stall',
        priority: 'medium', dedupe_key: dedupeKey, seq: null, created_at: Date.now(),
      });
      nextIds.push(higherId);
      const higherWrite = notifyUser(url, user, 'higher id, stalled inside its transaction', { dedupeKey });
      await until(async () => (await lockWaits(gateway.store.db)) === 1, 'the higher write to stall on the row lock', 10_000, 150);

      nextIds.push(lowerId);
      const lowerWrite = notifyUser(url, user, 'lower id, starts second');
      await until(async () => (await lockWaits(gateway.store.db)) === 2, 'the lower write to wait for the positions', 10_000, 150);
      expect(client.ids).toEqual([]);

      await stall.rollback();
      expect(await higherWrite).toBe(higherId);
      expect(await lowerWrite).toBe(lowerId);
    } finally {
      if (!stall.isCompleted()) await stall.rollback();
      await staller.close();
    }
    await client.waitForIds([higherId, lowerId]);
    expect(client.ids).toEqual([higherId, lowerId]);
    client.close();

    const back = await suite.connect(url, { token: userToken(user), lastAckId: higherId });
    await back.waitForIds([lowerId]);
    expect(back.ids).toEqual([lowerId]);
  });
});

/**
 * Transactions of this server blocked on a row lock right now. InnoDB refreshes this
 * table at most every 100 ms and not at all while it is read more often: poll slower.
 */
async function lockWaits(db: import('knex').Knex): Promise<number> {
  const [rows] = (await db.raw("SELECT COUNT(*) AS n FROM information_schema.INNODB_TRX WHERE trx_state = 'LOCK WAIT'")) as [{ n: number }[]];
  return Number(rows[0]?.n ?? 0);
}
