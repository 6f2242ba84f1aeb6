/**
 * The out-of-band emit crosses instances through the Redis adapter: an urgent
 * notification POSTed to one instance reaches a socket on the other while the relay
 * (whichever instance holds it) is parked, and the in-order copy follows once it runs.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { WireNotification } from '../../src/store/message-codec.js';
import { RelayParking } from '../support/relay-parking.js';
import { createTestBed, notifyUser, uniqueUser, userToken, type RunningGateway, type TestBed } from '../support/harness.js';
import { TestClient } from '../support/test-client.js';

let bed: TestBed;
let a: RunningGateway;
let b: RunningGateway;
const parking = new RelayParking();

const hooks = { relay: { beforeEmit: parking.beforeEmit } };

beforeAll(async () => {
  bed = await createTestBed();
  a = await bed.start({}, { hooks });
  b = await bed.start({}, { hooks });
});
afterAll(async () => {
  parking.releaseAll();
  await bed.stopAll();
});

it('an urgent notification POSTed to A reaches a socket on B at once, ahead of the parked relay', async () => {
  const user = uniqueUser();
  const onB = await TestClient.connect(b.url, { token: userToken(user) });
  const early = new Promise<WireNotification>((resolve) => onB.socket.once('notification:out-of-band', resolve));
  const park = parking.park();
  try {
    const low = await notifyUser(a.url, user, 'low', { priority: 'low' });
    await park.reached;
    const urgent = await notifyUser(a.url, user, 'urgent', { priority: 'urgent' });
    expect(await early).toMatchObject({ id: urgent, priority: 'urgent' });
    expect(onB.ids).toEqual([]);
    park.release();
    await onB.waitForIds([low, urgent]);
    expect(onB.ids).toEqual([low, urgent]);
  } finally {
    park.release();
    onB.close();
  }
});
