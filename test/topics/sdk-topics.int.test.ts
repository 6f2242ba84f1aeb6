/**
 * The SDK (run in Node) with topics: `subscribe` answers the gateway's verdict, `onTopic`
 * listeners get the topic's messages (not `notification`), a transient notification is
 * delivered but never becomes the resume position, and after a reconnect the held topics
 * are asked for again in `auth.topics`, so what was missed meanwhile is replayed.
 */
import { describe, expect, it } from 'vitest';
import { createNotificationClient, memoryStorage, type NotificationClient } from '../../src/client/index.js';
import type { DeliveryMeta, Notification, TopicDeliveryMeta } from '../../src/client/types.js';
import { Conditions } from '../support/conditions.js';
import { useGateway } from '../support/gateway-suite.js';
import { notifyUser, postNotify, signToken, uniqueUser } from '../support/harness.js';

const suite = useGateway();

function observe(client: NotificationClient) {
  const notifications: [Notification, DeliveryMeta][] = [];
  const onTopic: [Notification, TopicDeliveryMeta][] = [];
  let synced = 0;
  const conditions = new Conditions(() => JSON.stringify({ n: notifications.map(([n]) => n.title), t: onTopic.map(([n]) => n.title), synced }));
  client.on('notification', (n, meta) => (notifications.push([n, meta]), conditions.changed()));
  client.on('synced', () => (synced++, conditions.changed()));
  const off = client.onTopic('feed:1', (n, meta) => (onTopic.push([n, meta]), conditions.changed()));
  return { notifications, onTopic, off, synced: () => synced, waitFor: (p: () => boolean, what: string) => conditions.waitFor(p, what, 10_000) };
}

async function postTopic(title: string, extra: Record<string, unknown> = {}) {
  const res = await postNotify(suite.gw.url, 'feed:item', { topics: ['feed:1'], title, ...extra });
  if (res.status !== 201 && res.status !== 202) throw new Error(`${res.status} ${JSON.stringify(res.body)}`);
  return res.body.id as string | undefined;
}

describe('SDK topics', () => {
  it('subscribe, onTopic, transient flags, and replay of held topics after a reconnect', async () => {
    const user = uniqueUser();
    const client = createNotificationClient({
      url: suite.gw.url,
      token: signToken({ sub: user, topics: ['feed:*'] }),
      storage: memoryStorage(),
      transports: ['websocket'],
    });
    const seen = observe(client);
    try {
      await seen.waitFor(() => seen.synced() === 1, 'first sync');
      expect(await client.subscribe(['feed:1', 'other:1'])).toEqual({ granted: ['feed:1'], denied: [{ topic: 'other:1', reason: 'forbidden' }] });

      const t1 = await postTopic('t1');
      await seen.waitFor(() => seen.onTopic.length === 1, 't1 on the topic');
      expect(seen.onTopic[0]![1]).toMatchObject({ replayed: false, transient: false });
      expect(client.lastAckId).toBe(t1);

      await postTopic('progress', { transient: true });
      const typing = await postNotify(suite.gw.url, 'chat:typing', { userId: user, title: 'typing', transient: true });
      expect(typing.status).toBe(202);
      await seen.waitFor(() => seen.onTopic.length === 2 && seen.notifications.length === 1, 'both transient ones');
      expect(seen.onTopic[1]![1]).toMatchObject({ transient: true });
      expect(seen.notifications[0]![1]).toMatchObject({ transient: true, toast: false });
      expect(client.lastAckId).toBe(t1); // neither moved the resume position

      client.close();
      const missed = [await postTopic('t2'), await notifyUser(suite.gw.url, user, 'own')];
      client.connect();
      await seen.waitFor(() => seen.synced() === 2 && seen.onTopic.length === 3 && seen.notifications.length === 2, 'the replay after reconnect');
      expect(seen.onTopic[2]![0].id).toBe(missed[0]);
      expect(seen.onTopic[2]![1]).toMatchObject({ replayed: true, transient: false });
      expect(client.lastAckId).toBe(missed[1]);

      seen.off();
      await client.unsubscribe(['feed:1']);
      await postTopic('t3');
      const after = await notifyUser(suite.gw.url, user, 'marker');
      await seen.waitFor(() => seen.notifications.some(([n]) => n.id === after), 'marker');
      expect(seen.onTopic).toHaveLength(3);
    } finally {
      client.close();
    }
  });
});
