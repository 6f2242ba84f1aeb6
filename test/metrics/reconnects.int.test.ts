/**
 * `notify_connections_opened_total{reconnect}` counts real reconnects only: the browser
 * SDK (run in Node, over a real socket) says `auth.reconnect` when it restores a connection
 * it lost, never on a page load — even one that resumes from a stored lastAckId — and a
 * client that does not send the flag counts as a new connection.
 */
import { describe, expect, it } from 'vitest';
import { createNotificationClient, type NotificationClient } from '../../src/client/index.js';
import type { CursorStorage } from '../../src/client/types.js';
import { Conditions } from '../support/conditions.js';
import { useGateway } from '../support/gateway-suite.js';
import { notifyUser, uniqueUser, userToken } from '../support/harness.js';

const suite = useGateway();

/** Opened connections by their reconnect and resumed labels, e.g. { 'true/false': 1 }. */
async function opened(): Promise<Record<string, number>> {
  const { values } = await suite.gw.gateway.metrics.connectionsOpened.get();
  return Object.fromEntries(values.map((v) => [`reconnect=${v.labels.reconnect}/resumed=${v.labels.resumed}`, v.value]));
}

/** What survives a page reload: the storage the SDK keeps its resume position in. */
function pageStorage(): CursorStorage & { values: Map<string, string> } {
  const values = new Map<string, string>();
  return { values, get: (key) => values.get(key) ?? null, set: (key, value) => void values.set(key, value) };
}

function pageLoad(storage: CursorStorage, token: string) {
  const client = createNotificationClient({
    url: suite.gw.url,
    token,
    storage,
    transports: ['websocket'],
    reconnect: { initialDelayMs: 20, maxDelayMs: 200 },
  });
  let synced = 0;
  const ids: string[] = [];
  const conditions = new Conditions(() => JSON.stringify({ synced, ids }));
  client.on('synced', () => (synced++, conditions.changed()));
  client.on('notification', (n) => (ids.push(n.id), conditions.changed()));
  return {
    client,
    ids,
    syncedTimes: (n: number) => conditions.waitFor(() => synced >= n, `synced ${n} time(s)`, 15_000),
    received: (id: string) => conditions.waitFor(() => ids.includes(id), `notification ${id}`, 15_000),
  };
}

/** The gateway drops every socket of the user, as a restart or a proxy timeout would. */
async function dropSocketsOf(userId: string): Promise<number> {
  const sockets = await suite.gw.gateway.io.fetchSockets();
  const mine = sockets.filter((s) => s.data.principal?.userId === userId);
  for (const socket of mine) socket.disconnect(true);
  return mine.length;
}

describe('reconnects', () => {
  it('a page load with a stored lastAckId is not a reconnect; a dropped connection restored by the SDK is', async () => {
    const user = uniqueUser();
    const token = userToken(user);
    const storage = pageStorage();
    const clients: NotificationClient[] = [];
    try {
      // First visit: nothing stored yet.
      const first = pageLoad(storage, token);
      clients.push(first.client);
      await first.syncedTimes(1);
      const id = await notifyUser(suite.gw.url, user, 'before the reload');
      await first.received(id);
      first.client.close();
      expect([...storage.values.values()]).toContain(id);
      expect(await opened()).toEqual({ 'reconnect=false/resumed=false': 1 });

      // A reload: the SDK resumes from the stored lastAckId, yet it is a new page, not a reconnect.
      const reload = pageLoad(storage, token);
      clients.push(reload.client);
      await reload.syncedTimes(1);
      expect(await opened()).toEqual({ 'reconnect=false/resumed=false': 1, 'reconnect=false/resumed=true': 1 });

      // The gateway drops the socket; the SDK reconnects on its own and says so.
      expect(await dropSocketsOf(user)).toBe(1);
      await reload.syncedTimes(2);
      expect(await opened()).toEqual({
        'reconnect=false/resumed=false': 1,
        'reconnect=false/resumed=true': 1,
        'reconnect=true/resumed=true': 1,
      });
      // …and the connection it restored delivers.
      const after = await notifyUser(suite.gw.url, user, 'after the reconnect');
      await reload.received(after);

      // Once restored, the next page load is again not a reconnect.
      reload.client.close();
      const again = pageLoad(storage, token);
      clients.push(again.client);
      await again.syncedTimes(1);
      expect((await opened())['reconnect=false/resumed=true']).toBe(2);
      expect((await opened())['reconnect=true/resumed=true']).toBe(1);
    } finally {
      for (const client of clients) client.close();
    }
  });

  it('counts a client that sends no reconnect flag as a new connection, lastAckId or not', async () => {
    const before = await opened();
    const user = uniqueUser();
    const id = await notifyUser(suite.gw.url, user, 'for an old client');
    const old = await suite.connect(suite.gw.url, { token: userToken(user), lastAckId: id });
    old.close();
    const after = await opened();
    expect((after['reconnect=false/resumed=true'] ?? 0) - (before['reconnect=false/resumed=true'] ?? 0)).toBe(1);
    expect(after['reconnect=true/resumed=true'] ?? 0).toBe(before['reconnect=true/resumed=true'] ?? 0);
  });
});
