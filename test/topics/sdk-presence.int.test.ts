/**
 * The SDK (run in Node) with presence and late subscriptions: `watchPresence` hands the
 * topic's counts to its handler, watches again after a reconnect, and `stop()` lets the
 * topic go at the gateway; `subscribe` called while the first connection is being made
 * is answered and holds the topic (in the handshake's `auth.topics`, or asked for at the
 * sync when the handshake had left already: the React test, test/client/use-topic.test.ts,
 * subscribes from an effect, after the socket was created).
 */
import { describe, expect, it } from 'vitest';
import { createNotificationClient, memoryStorage } from '../../src/client/index.js';
import type { Notification, PresenceUpdate } from '../../src/client/types.js';
import { Conditions } from '../support/conditions.js';
import { useGateway } from '../support/gateway-suite.js';
import { postNotify, signToken, uniqueUser } from '../support/harness.js';
import { subscribe } from '../support/topic-client.js';
import { until } from '../support/until.js';

const suite = useGateway({ CONNECT_RATE_PER_IP: '0', PRESENCE_INTERVAL_MS: '300' });

const token = () => signToken({ sub: uniqueUser(), topics: ['room:*'] });

/** `notify_presence_watchers` of the suite's gateway (no event announces it: polled). */
async function watchersGauge(): Promise<number> {
  const text = await (await fetch(`${suite.gw.url}/metrics`)).text();
  const line = text.split('\n').find((l) => l.startsWith('notify_presence_watchers '));
  return Number(line?.split(' ')[1] ?? NaN);
}

describe('SDK presence', () => {
  it('counts reach the handler, survive a reconnect, and stop() lets the topic go', async () => {
    const topic = `room:${uniqueUser('r')}`;
    const client = createNotificationClient({ url: suite.gw.url, token: token(), storage: memoryStorage(), transports: ['websocket'] });
    const updates: PresenceUpdate[] = [];
    let synced = 0;
    const conditions = new Conditions(() => JSON.stringify({ updates, synced }));
    client.on('synced', () => (synced++, conditions.changed()));
    const waitFor = (p: () => boolean, what: string) => conditions.waitFor(p, what, 10_000);
    const last = () => updates.at(-1)?.connections;
    try {
      const watch = client.watchPresence([topic, 'secret:1'], (u) => (updates.push(u), conditions.changed()));
      expect(await watch.ready).toEqual({ granted: [topic], denied: [{ topic: 'secret:1', reason: 'forbidden' }] });
      await waitFor(() => last() === 0, 'the first count');

      const other = await suite.connect(suite.gw.url, { token: token() });
      await subscribe(other, [topic]);
      await waitFor(() => last() === 1, 'one subscriber');
      expect(updates.at(-1)).toEqual({ topic, connections: 1, users: 1 });

      // The gateway forgets a socket's watches with the socket: the SDK asks again.
      client.close();
      client.connect();
      await waitFor(() => synced === 2, 'the reconnect');
      const before = updates.length;
      other.close();
      await waitFor(() => updates.length > before && last() === 0, 'the count after the reconnect');

      const watching = await watchersGauge();
      watch.stop();
      await until(async () => (await watchersGauge()) === watching - 1, 'the watch let go at the gateway', 5000);
    } finally {
      client.close();
    }
  });

  it('a subscribe made while connecting is answered, and its messages arrive', async () => {
    const topic = `room:${uniqueUser('r')}`;
    const client = createNotificationClient({ url: suite.gw.url, token: token(), storage: memoryStorage(), transports: ['websocket'] });
    const got: Notification[] = [];
    const conditions = new Conditions(() => JSON.stringify(got.map((n) => n.title)));
    client.onTopic(topic, (n) => (got.push(n), conditions.changed()));
    try {
      const asked = client.subscribe([topic]);
      expect(await asked).toEqual({ granted: [topic], denied: [] });
      const res = await postNotify(suite.gw.url, 'room:message', { topics: [topic], title: 'hello' });
      expect(res.status).toBe(201);
      await conditions.waitFor(() => got.length === 1, 'the topic message', 10_000);
      expect(got[0]).toMatchObject({ id: res.body.id, title: 'hello' });
    } finally {
      client.close();
    }
  });
});
