/**
 * The commit-order race with real concurrent transactions (MySQL/MariaDB: SQLite
 * serialises writers, so the race cannot be built there). The lower id's transaction is
 * held open before COMMIT while a higher id commits, is delivered and acked; replay
 * after the higher one must still return the lower one. Replay by `id > lastAckId`
 * would lose it.
 */
import { describe, expect, it } from 'vitest';
import type { WriterHooks } from '../../src/outbox/notification-writer.js';
import { deferred, type Deferred } from '../support/deferred.js';
import { useGateway } from '../support/gateway-suite.js';
import { notifyUser, uniqueUser, userToken } from '../support/harness.js';

/** When set, the next write parks before COMMIT until `release` resolves. */
let park: { entered: Deferred<string>; release: Deferred } | null = null;

const hooks: WriterHooks = {
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
  it('interleaved transactions: the lower id commits last and is still replayed', async () => {
    const { url } = suite.gw;
    const user = uniqueUser();
    const client = await suite.connect(url, { token: userToken(user) });

    park = { entered: deferred<string>(), release: deferred() };
    const parked = park;
    const lowerWrite = notifyUser(url, user, 'lower id, commits last');
    const lowerId = await parked.entered.promise; // transaction open, rows inserted, not committed

    const higherId = await notifyUser(url, user, 'higher id, commits first');
    expect(lowerId < higherId).toBe(true);
    await client.waitForIds([higherId]);
    client.ack([higherId]);
    client.close();

    parked.release.resolve();
    expect(await lowerWrite).toBe(lowerId);

    const back = await suite.connect(url, { token: userToken(user), lastAckId: higherId });
    await back.waitForIds([lowerId]);
    expect(back.synced[0]?.recovered).toBe(true);
    expect(back.ids).toEqual([lowerId]);
  });
});
