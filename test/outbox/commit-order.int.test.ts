/**
 * The commit-order invariant: a notification with a LOWER id that commits AFTER a
 * higher one was delivered and acked must still be replayed. Replay by `id > lastAckId`
 * would lose it; replay by the relay's commit-ordered seq must not.
 */
import { v7 as uuidv7 } from 'uuid';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { WriterHooks } from '../../src/outbox/notification-writer.js';
import { deferred, type Deferred } from '../support/deferred.js';
import { isMysql } from '../support/drivers.js';
import { createTestBed, notifyUser, uniqueUser, userToken, type RunningGateway, type TestBed } from '../support/harness.js';
import { TestClient } from '../support/test-client.js';

let bed: TestBed;
let gw: RunningGateway;
/** When set, the next write parks before COMMIT until `release` resolves. */
let park: { entered: Deferred<string>; release: Deferred } | null = null;
let nextId: string | null = null;

const hooks: WriterHooks = {
  async beforeCommit(id) {
    const parked = park;
    if (!parked) return;
    park = null;
    parked.entered.resolve(id);
    await parked.release.promise;
  },
  newId() {
    const id = nextId ?? uuidv7();
    nextId = null;
    return id;
  },
};

beforeAll(async () => {
  bed = await createTestBed();
  gw = await bed.start({}, { hooks: { writer: hooks } });
});
afterAll(() => bed.stopAll());

async function deliverAndAck(client: TestClient, id: string) {
  await client.waitForIds([id]);
  client.ack([id]);
}

describe('replay walks commit order, not id order', () => {
  it.runIf(isMysql)('interleaved transactions: the lower id commits last and is still replayed', async () => {
    const user = uniqueUser();
    const client = await TestClient.connect(gw.url, { token: userToken(user) });

    park = { entered: deferred<string>(), release: deferred() };
    const parked = park;
    const lowerWrite = notifyUser(gw.url, user, 'lower id, commits last');
    const lowerId = await parked.entered.promise; // transaction open, rows inserted, not committed

    const higherId = await notifyUser(gw.url, user, 'higher id, commits first');
    expect(lowerId < higherId).toBe(true);
    await deliverAndAck(client, higherId);
    client.close();

    parked.release.resolve();
    expect(await lowerWrite).toBe(lowerId);

    const back = await TestClient.connect(gw.url, { token: userToken(user), lastAckId: higherId });
    await back.waitForIds([lowerId]);
    expect(back.synced[0]?.recovered).toBe(true);
    expect(back.ids).toEqual([lowerId]);
    back.close();
  });

  it('a row written later with a lower id is replayed after an acked higher one', async () => {
    const user = uniqueUser();
    const client = await TestClient.connect(gw.url, { token: userToken(user) });
    const lowerId = uuidv7();
    const higherId = await notifyUser(gw.url, user, 'higher');
    expect(lowerId < higherId).toBe(true);
    await deliverAndAck(client, higherId);
    client.close();

    nextId = lowerId;
    await notifyUser(gw.url, user, 'lower, later');

    const back = await TestClient.connect(gw.url, { token: userToken(user), lastAckId: higherId });
    await back.waitForIds([lowerId]);
    expect(back.ids).toEqual([lowerId]);
    back.close();
  });

  it('live delivery to one user follows commit order', async () => {
    const user = uniqueUser();
    const client = await TestClient.connect(gw.url, { token: userToken(user) });
    const sent: string[] = [];
    for (let i = 0; i < 20; i++) sent.push(await notifyUser(gw.url, user, `n${i}`));
    await client.waitForCount(20);
    expect(client.ids).toEqual(sent);
    client.close();
  });
});
