/**
 * The emits that do not wait for the relay pick their rooms in one place
 * (realtime/input-rooms.ts): an urgent topic message reaches the topic's holders out of
 * band while the relay is parked, and the SDK hands it to `onTopic` once (the in-order
 * copy only moves the resume position); a transient notification for some devices of a
 * user reaches those devices only.
 */
import { describe, expect, it } from 'vitest';
import { createNotificationClient, memoryStorage } from '../../src/client/index.js';
import type { Notification, TopicDeliveryMeta } from '../../src/client/types.js';
import type { WireNotification } from '../../src/store/message-codec.js';
import { Conditions } from '../support/conditions.js';
import { RelayParking } from '../support/relay-parking.js';
import { useGateway } from '../support/gateway-suite.js';
import { notifyUser, postNotify, signToken, uniqueUser, userToken } from '../support/harness.js';
import { flushWith } from '../support/test-client.js';
import { subscribe } from '../support/topic-client.js';

/** The relay parks on the batch it has just read while a test asks it to. */
const parking = new RelayParking();

const suite = useGateway(
  { CONNECT_RATE_PER_IP: '0' },
  {
    hooks: {
      relay: {
        beforeEmit: parking.beforeEmit,
      },
    },
  },
);


describe('urgent topic messages go out of band too', () => {
  it('a holder gets it while the relay is parked; the SDK delivers it once and moves its position only in order', async () => {
    const topic = `alarm:${uniqueUser('t')}`;
    const [rawUser, sdkUser] = [uniqueUser('raw'), uniqueUser('sdk')];
    const raw = await suite.connect(suite.gw.url, { token: signToken({ sub: rawUser, topics: ['alarm:*'] }) });
    const early: WireNotification[] = [];
    const rawSeen = new Conditions(() => JSON.stringify(early.map((n) => n.id)));
    raw.socket.on('notification:out-of-band', (n: WireNotification) => (early.push(n), rawSeen.changed()));
    expect((await subscribe(raw, [topic])).granted).toEqual([topic]);

    // Every value the resume position takes, in order.
    const positions: string[] = [];
    const values = memoryStorage();
    const storage = {
      get: (key: string) => values.get(key),
      set: (key: string, value: string) => {
        values.set(key, value);
        if (key.startsWith('notify:lastAckId:')) positions.push(value);
      },
    };
    const client = createNotificationClient({ url: suite.gw.url, token: signToken({ sub: sdkUser, topics: ['alarm:*'] }), storage, transports: ['websocket'] });
    const onTopic: [Notification, TopicDeliveryMeta][] = [];
    let synced = 0;
    const sdkSeen = new Conditions(() => JSON.stringify(onTopic.map(([n, m]) => [n.id, m.outOfBand])));
    client.on('synced', () => (synced++, sdkSeen.changed()));
    client.onTopic(topic, (n, meta) => (onTopic.push([n, meta]), sdkSeen.changed()));
    const park = parking.park();
    try {
      await sdkSeen.waitFor(() => synced > 0, 'the SDK synced');
      expect(await client.subscribe([topic])).toEqual({ granted: [topic], denied: [] });

      // Something for the relay to park on, then the urgent topic message behind it.
      await notifyUser(suite.gw.url, rawUser, 'backlog');
      await park.reached;
      const urgent = await postNotify(suite.gw.url, 'alarm:fired', { topics: [topic], title: 'Disk full', priority: 'urgent' });
      expect(urgent.status).toBe(201);
      const id = urgent.body.id!;

      await rawSeen.waitFor(() => early.length === 1, 'the out-of-band copy');
      expect(early[0]).toMatchObject({ id, scope: 'topic', topics: [topic], priority: 'urgent' });
      expect(raw.ids).not.toContain(id); // the in-order copy is still behind the parked relay
      await sdkSeen.waitFor(() => onTopic.length === 1, 'the SDK’s early delivery');
      expect(onTopic[0]![1]).toMatchObject({ outOfBand: true, replayed: false });
      expect(positions).not.toContain(id);

      park.release();
      await raw.waitForIds([id]);
      const marker = await postNotify(suite.gw.url, 'alarm:fired', { topics: [topic], title: 'marker' });
      await sdkSeen.waitFor(() => onTopic.some(([n]) => n.id === marker.body.id), 'the marker');
      expect(onTopic.map(([n]) => n.id)).toEqual([id, marker.body.id]); // once, not twice
      expect(positions.slice(-2)).toEqual([id, marker.body.id]); // passed in order
    } finally {
      park.release();
      client.close();
    }
  });
});

describe('transient notifications for some devices', () => {
  it('reach those devices of the user only', async () => {
    const user = uniqueUser();
    const phone = await suite.connect(suite.gw.url, { token: userToken(user), deviceId: 'phone-1' });
    const tablet = await suite.connect(suite.gw.url, { token: userToken(user), deviceId: 'tablet-1' });
    const noDevice = await suite.connect(suite.gw.url, { token: userToken(user) });
    const res = await postNotify(suite.gw.url, 'login:code', { userId: user, devices: ['phone-1'], title: '123456', transient: true });
    expect(res.status).toBe(202);
    expect(res.body).toEqual({ transient: true, recipients: 1 });
    await phone.waitFor(() => phone.received.some((n) => n.transient && n.title === '123456'), 'the phone’s copy');
    expect(phone.received.find((n) => n.transient)).toMatchObject({ devices: ['phone-1'], transient: true });
    for (const other of [tablet, noDevice]) {
      await flushWith(other, () => notifyUser(suite.gw.url, user, 'marker'));
      expect(other.received.some((n) => n.transient)).toBe(false);
    }
  });
});
