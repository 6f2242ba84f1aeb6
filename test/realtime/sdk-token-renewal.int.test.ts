/**
 * The browser SDK (run in Node) against a real gateway with a token that expires in a
 * few seconds and a `getToken` that hands out fresh ones: over the socket the token is
 * renewed in place (`auth:refresh`), over SSE the stream is reopened with the new token
 * and resumes; either way the client stays connected past the first `exp` and keeps
 * receiving. A socket holding a token with the same `exp` and no renewal is closed with
 * TOKEN_EXPIRED — the witness that the deadline has passed.
 */
import jwt from 'jsonwebtoken';
import { describe, expect, it } from 'vitest';
import { createNotificationClient, type NotificationClient } from '../../src/client/index.js';
import type { Notification, TransportName } from '../../src/client/types.js';
import { Conditions } from '../support/conditions.js';
import { JWT_SECRET, notifyUser, uniqueUser, userToken } from '../support/harness.js';
import { useGateway } from '../support/gateway-suite.js';

const suite = useGateway();

const tokenUntil = (userId: string, exp: number) =>
  jwt.sign({ sub: userId, iat: Math.floor(Date.now() / 1000), exp }, JWT_SECRET, { algorithm: 'HS256' });

async function sessionTokens(channel: string, event: string): Promise<number> {
  const { values } = await suite.gw.gateway.metrics.sessionTokens.get();
  return values.find((v) => v.labels.channel === channel && v.labels.event === event)?.value ?? 0;
}

function observe(client: NotificationClient) {
  const received: Notification[] = [];
  const states: string[] = [];
  let synced = 0;
  const conditions = new Conditions(() => JSON.stringify({ states, ids: received.map((n) => n.id) }));
  client.on('notification', (n) => (received.push(n), conditions.changed()));
  client.on('state', (s) => (states.push(s), conditions.changed()));
  client.on('synced', () => (synced++, conditions.changed()));
  return {
    received,
    states,
    synced: () => synced,
    waitFor: (p: () => boolean, what: string) => conditions.waitFor(p, what, 15_000),
  };
}

describe.each<[TransportName, string]>([
  ['websocket', 'refreshed'],
  ['sse', 'expired'],
])('SDK over %s', (transport, serverEvent) => {
  it('renews the token before exp and keeps receiving past it', async () => {
    const user = uniqueUser();
    const exp = Math.floor(Date.now() / 1000) + 3;
    const before = await sessionTokens(transport === 'sse' ? 'sse' : 'socket', serverEvent);
    const asked: string[] = [];
    const client = createNotificationClient({
      url: suite.gw.url,
      storage: null,
      transports: [transport],
      getToken: (reason) => {
        asked.push(reason);
        return reason === 'initial' ? tokenUntil(user, exp) : userToken(user);
      },
    });
    try {
      const seen = observe(client);
      await seen.waitFor(() => seen.synced() > 0, 'synced');
      const first = await notifyUser(suite.gw.url, user, 'before');
      await seen.waitFor(() => seen.received.some((n) => n.id === first), 'the first notification');

      const witness = await suite.connect(suite.gw.url, { token: tokenUntil(uniqueUser(), exp) });
      expect(await witness.waitForDisconnect(10_000)).toBe('io server disconnect');
      expect(witness.errors.map((e) => e.code)).toEqual(['TOKEN_EXPIRED']);
      expect(asked).toEqual(['initial', 'expired']);

      const after = await notifyUser(suite.gw.url, user, 'after the first exp');
      await seen.waitFor(() => seen.received.some((n) => n.id === after), 'a notification after exp');
      expect(seen.received.map((n) => n.id)).toEqual([first, after]);
      expect(seen.states).not.toContain('offline');
      // The socket took the token in place; the SSE stream was reopened before its exp (none expired).
      if (transport === 'websocket') expect(await sessionTokens('socket', 'refreshed')).toBe(before + 1);
      else expect(await sessionTokens('sse', 'expired')).toBe(before);
    } finally {
      client.close();
    }
  });
});
