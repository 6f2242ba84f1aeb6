/** Two gateway instances on one MySQL and one Redis behave as one gateway. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { until } from '../support/until.js';
import { createTestBed, notifyUser, postNotify, uniqueUser, userToken, type RunningGateway, type TestBed } from '../support/harness.js';
import { TestClient } from '../support/test-client.js';

let bed: TestBed;
let a: RunningGateway;
let b: RunningGateway;

describe('two instances joined by Redis', () => {
  beforeAll(async () => {
    bed = await createTestBed();
    a = await bed.start();
    b = await bed.start();
  });
  afterAll(() => bed.stopAll());

  it('exactly one instance holds the relay lease', async () => {
    const holders = () => [a, b].filter((g) => g.gateway.lease.isHeld()).length;
    await until(() => holders() > 0, 'a lease holder');
    expect(holders()).toBe(1);
  });

  it('a client on A receives what was POSTed to B, and the reverse', async () => {
    const user = uniqueUser();
    const onA = await TestClient.connect(a.url, { token: userToken(user) });
    const onB = await TestClient.connect(b.url, { token: userToken(user) });
    const viaB = await notifyUser(b.url, user, 'posted to B');
    const viaA = await notifyUser(a.url, user, 'posted to A');
    for (const client of [onA, onB]) {
      await client.waitForIds([viaB, viaA]);
      expect(client.ids).toEqual([viaB, viaA]);
    }
    onA.close();
    onB.close();
  });

  it('tenant broadcasts reach sessions on both instances', async () => {
    const tenant = `tb${Date.now()}`;
    const onA = await TestClient.connect(a.url, { token: userToken(uniqueUser(), tenant) });
    const onB = await TestClient.connect(b.url, { token: userToken(uniqueUser(), tenant) });
    const res = await postNotify(a.url, 'system:notice', { scope: 'tenant', tenantId: tenant, title: 'hello all' });
    await onA.waitForIds([res.body.id!]);
    await onB.waitForIds([res.body.id!]);
    onA.close();
    onB.close();
  });

  it('a client that left A replays on B what it missed', async () => {
    const user = uniqueUser();
    const onA = await TestClient.connect(a.url, { token: userToken(user) });
    const seen = await notifyUser(a.url, user, 'seen on A');
    await onA.waitForIds([seen]);
    onA.close();
    const missed = [await notifyUser(a.url, user, 'm1'), await notifyUser(b.url, user, 'm2')];
    const onB = await TestClient.connect(b.url, { token: userToken(user), lastAckId: seen });
    const marker = await notifyUser(a.url, user, 'marker');
    await onB.waitForIds([marker]);
    expect(onB.ids).toEqual([...missed, marker]);
    onB.close();
  });
});
