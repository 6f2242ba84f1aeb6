/**
 * Urgent notifications do not wait behind a backlog. The relay is parked on its first
 * batch of hundreds of low-priority notifications (its beforeEmit seam); an urgent one
 * posted then reaches the user's sockets at once, as `notification:out-of-band`. The SDK
 * hands it to the app (meta.outOfBand) without moving its resume position; the position
 * passes it only when the in-order copy arrives, and that copy is not delivered again.
 * After a reconnect, and after a reload, replay resumes exactly: nothing lost, nothing
 * twice to the app, commit order kept.
 */
import { describe, expect, it } from 'vitest';
import { createNotificationClient, type NotificationClient } from '../../src/client/index.js';
import type { CursorStorage, DeliveryMeta, Notification, TransportName } from '../../src/client/types.js';
import type { NotificationInput } from '../../src/outbox/notification-writer.js';
import { userRoom } from '../../src/realtime/rooms.js';
import type { WireNotification } from '../../src/store/message-codec.js';
import { Conditions } from '../support/conditions.js';
import { RelayParking } from '../support/relay-parking.js';
import { API_KEY, notifyUser, postNotify, uniqueUser, userToken } from '../support/harness.js';
import { useGateway } from '../support/gateway-suite.js';
import type { TestClient } from '../support/test-client.js';

/** The relay parks on the batch it has just read while a test asks it to. */
const parking = new RelayParking();

const suite = useGateway(
  { RELAY_BATCH_SIZE: '100', NOTIFY_RATE_PER_KEY: '0', NOTIFY_RECIPIENTS_PER_KEY: '0' },
  {
    hooks: {
      relay: {
        beforeEmit: parking.beforeEmit,
      },
    },
  },
);


/** Low-priority notifications for `userId` through the batch endpoint, 500 per request, in order. */
async function postLows(userId: string, count: number, label: string): Promise<string[]> {
  const ids: string[] = [];
  for (let start = 0; start < count; start += 500) {
    const notifications = Array.from({ length: Math.min(500, count - start) }, (_, i) => ({
      kind: 'test:backlog',
      userId,
      title: `${label} ${start + i}`,
      priority: 'low',
    }));
    const res = await fetch(`${suite.gw.url}/api/notify`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-api-key': API_KEY },
      body: JSON.stringify({ notifications }),
    });
    const { results } = (await res.json()) as { results: { status: number; id: string }[] };
    expect(results.map((r) => r.status)).toEqual(notifications.map(() => 201));
    ids.push(...results.map((r) => r.id));
  }
  return ids;
}

const urgent = (userId: string, title: string) => notifyUser(suite.gw.url, userId, title, { priority: 'urgent' });

/** Storage that remembers every value the resume position took, in order. */
function recordingStorage() {
  const values = new Map<string, string>();
  const positions: string[] = [];
  const storage: CursorStorage = {
    get: (key) => values.get(key) ?? null,
    set: (key, value) => {
      values.set(key, value);
      if (key.startsWith('notify:lastAckId:')) positions.push(value);
    },
  };
  return { storage, positions };
}

function sdkSession(userId: string, storage: CursorStorage, transport: TransportName) {
  const client: NotificationClient = createNotificationClient({
    url: suite.gw.url,
    token: userToken(userId),
    storage,
    transports: [transport],
    // Smaller than the backlogs below: the urgent id leaves this window before its in-order copy comes.
    dedupeWindow: 100,
    reconnect: { initialDelayMs: 50, maxDelayMs: 200 },
    pollIntervalMs: 100,
  });
  const delivered: { notification: Notification; meta: DeliveryMeta }[] = [];
  let synced = 0;
  const conditions = new Conditions(() => `${delivered.length} delivered, ${synced} synced`);
  client.on('notification', (notification, meta) => (delivered.push({ notification, meta }), conditions.changed()));
  client.on('synced', () => (synced++, conditions.changed()));
  const ids = () => delivered.map((d) => d.notification.id);
  return {
    client,
    delivered,
    ids,
    synced: () => synced,
    metaOf: (id: string) => delivered.find((d) => d.notification.id === id)?.meta,
    waitFor: (predicate: () => boolean, what: string) => conditions.waitFor(predicate, what, 30_000),
    waitForIds: (wanted: readonly string[]) => conditions.waitFor(() => wanted.every((id) => ids().includes(id)), `${wanted.length} ids`, 30_000),
  };
}

/** A raw socket that also records `notification:out-of-band`. */
async function rawSession(userId: string, tenantId = 'default') {
  const client: TestClient = await suite.connect(suite.gw.url, { token: userToken(userId, tenantId) });
  const early: WireNotification[] = [];
  const conditions = new Conditions(() => JSON.stringify(early.map((n) => n.id)));
  client.socket.on('notification:out-of-band', (n: WireNotification) => (early.push(n), conditions.changed()));
  return { client, early, waitForEarly: (count: number) => conditions.waitFor(() => early.length >= count, `${count} out-of-band`) };
}

describe.each<TransportName>(['websocket', 'long-polling'])('urgent out of band, SDK over %s', (transport) => {
  it('overtakes a parked backlog, moves the position only in order, and replays exactly after a reconnect and a reload', async () => {
    const user = uniqueUser();
    const { storage, positions } = recordingStorage();
    const sdk = sdkSession(user, storage, transport);
    const raw = await rawSession(user);
    try {
      await sdk.waitFor(() => sdk.synced() > 0, 'synced');
      const anchor = await notifyUser(suite.gw.url, user, 'anchor');
      await sdk.waitForIds([anchor]);
      await raw.client.waitForIds([anchor]);

      // 1. Live: 600 lows, the relay parked on the first of them; then an urgent one. (Fewer
      //    than the 1,000 packets a socket may have queued before the slow-consumer guard
      //    drops it: released at once, the backlog must not cost a reconnect here.)
      let park = parking.park();
      const lows = await postLows(user, 600, 'backlog');
      await park.reached;
      const first = await urgent(user, 'urgent 1');
      await sdk.waitForIds([first]);
      await raw.waitForEarly(1);
      expect(sdk.ids()).toEqual([anchor, first]); // none of the backlog yet
      expect(raw.client.ids).toEqual([anchor]);
      expect(sdk.metaOf(first)).toEqual({ transport, replayed: false, outOfBand: true, toast: true });
      expect(sdk.client.lastAckId).toBe(anchor);
      expect(positions).toEqual([anchor]);
      const tail = [await notifyUser(suite.gw.url, user, 'after urgent 1')];
      park.release();
      await sdk.waitForIds(tail);
      expect(sdk.ids()).toEqual([anchor, first, ...lows, ...tail]);
      // The position passed the urgent one exactly at its commit position, never before.
      expect(positions).toEqual([anchor, ...lows, first, ...tail]);
      await raw.client.waitForIds([first]);
      expect(raw.client.received.find((n) => n.id === first)).toEqual(raw.early[0]); // same payload in order
      expect(raw.client.ids).toEqual([anchor, ...lows, first, ...tail]);
      expect(sdk.synced()).toBe(1); // all live on one connection (acks of hundreds of ids fit the 16 KB packet limit)

      // 2. Reconnect while the relay is parked again: replay (from the store) covers it all.
      park = parking.park();
      const lows2 = await postLows(user, 300, 'before reconnect');
      await park.reached;
      const second = await urgent(user, 'urgent 2');
      const tail2 = [await notifyUser(suite.gw.url, user, 'after urgent 2')];
      await sdk.waitForIds([second]);
      expect(sdk.metaOf(second)).toMatchObject({ outOfBand: true, replayed: false });
      const syncedBefore = sdk.synced();
      const mark = { delivered: sdk.delivered.length, positions: positions.length };
      suite.gw.gateway.io.in(userRoom('default', user)).disconnectSockets(true);
      await sdk.waitFor(() => sdk.synced() > syncedBefore, 'synced after the reconnect');
      await sdk.waitForIds(tail2);
      park.release();
      const marker = await notifyUser(suite.gw.url, user, 'marker');
      await sdk.waitForIds([marker]);
      expect(sdk.ids().slice(mark.delivered - 1)).toEqual([second, ...lows2, ...tail2, marker]);
      expect(lows2.every((id) => sdk.metaOf(id)!.replayed)).toBe(true);
      expect(positions.slice(mark.positions)).toEqual([...lows2, second, ...tail2, marker]);

      // 3. Reload between the two copies: a new client on the same storage replays the gap
      //    and still does not hand the urgent one to the app a second time.
      park = parking.park();
      const lows3 = await postLows(user, 50, 'before reload');
      await park.reached;
      const third = await urgent(user, 'urgent 3');
      await sdk.waitForIds([third]);
      sdk.client.close();
      park.release();
      const tail3 = [await notifyUser(suite.gw.url, user, 'after urgent 3')];
      const reloaded = sdkSession(user, storage, transport);
      try {
        await reloaded.waitForIds(tail3);
        expect(reloaded.ids()).toEqual([...lows3, ...tail3]);
        expect(reloaded.client.lastAckId).toBe(tail3[0]);
        expect(positions.slice(-(lows3.length + 2))).toEqual([...lows3, third, ...tail3]);
      } finally {
        reloaded.client.close();
      }
    } finally {
      parking.releaseAll();
      sdk.client.close();
    }
  });
});

describe('urgent out of band, other shapes', () => {
  it('a tenant broadcast goes to every socket of the tenant at once', async () => {
    const tenant = `oob-${uniqueUser('t')}`;
    const sessions = [await rawSession('a', tenant), await rawSession('b', tenant)];
    const park = parking.park();
    try {
      const low = await postNotify(suite.gw.url, 'test:backlog', { tenantId: tenant, scope: 'tenant', title: 'low', priority: 'low' });
      await park.reached;
      const res = await postNotify(suite.gw.url, 'alarm:fired', { tenantId: tenant, scope: 'tenant', title: 'evacuate', priority: 'urgent' });
      for (const s of sessions) await s.waitForEarly(1);
      for (const s of sessions) expect(s.early[0]).toMatchObject({ id: res.body.id, scope: 'tenant', priority: 'urgent', tenantId: tenant });
      expect(sessions.map((s) => s.client.received.length)).toEqual([0, 0]);
      park.release();
      for (const s of sessions) await s.client.waitForIds([low.body.id!, res.body.id!]);
      for (const s of sessions) expect(s.client.ids).toEqual([low.body.id, res.body.id]);
    } finally {
      park.release();
    }
  });

  it('skips recipients whose row is muted', async () => {
    const [heard, muted] = [uniqueUser(), uniqueUser()];
    const sessions = [await rawSession(heard), await rawSession(muted)];
    const input: NotificationInput = {
      tenantId: 'default', kind: 'alarm:fired', scope: 'user', userIds: [heard, muted], title: 'muted one', priority: 'urgent', mutedUserIds: [muted],
    };
    const { id } = await suite.gw.gateway.writer.write(input);
    await sessions[0]!.client.waitForIds([id]);
    // Out-of-band copies leave at commit: one for the muted user would be ahead of this marker.
    const marker = await notifyUser(suite.gw.url, muted, 'marker');
    await sessions[1]!.client.waitForIds([marker]);
    expect(sessions.map((s) => s.early.map((n) => n.id))).toEqual([[id], []]);
    expect(sessions[1]!.client.ids).toEqual([marker]); // the muted row is stored, not pushed
  });
});

describe.each<TransportName>(['sse', 'rest-polling'])('urgent over %s', (transport) => {
  it('arrives in order only, once, with toast', async () => {
    const user = uniqueUser();
    const { storage, positions } = recordingStorage();
    const sdk = sdkSession(user, storage, transport);
    try {
      await sdk.waitFor(() => sdk.synced() > 0, 'synced');
      const ids = [await notifyUser(suite.gw.url, user, 'low', { priority: 'low' }), await urgent(user, 'urgent'), await notifyUser(suite.gw.url, user, 'high', { priority: 'high' })];
      await sdk.waitForIds(ids);
      expect(sdk.ids()).toEqual(ids);
      expect(sdk.delivered.map((d) => [d.meta.outOfBand, d.meta.toast])).toEqual([[false, false], [false, true], [false, true]]);
      expect(positions).toEqual(ids);
    } finally {
      sdk.client.close();
    }
  });
});
