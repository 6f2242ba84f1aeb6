/**
 * With Redis, connection limits hold across instances: a user's sockets and SSE streams
 * are counted together on every instance, and one client address draws on one budget of
 * new connections wherever it lands.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestBed, uniqueUser, userToken, type RunningGateway, type TestBed } from '../support/harness.js';
import { TestClient } from '../support/test-client.js';
import { SseSession } from '../http/sse-session.js';

const LIMITS = {
  TRUST_PROXY: 'loopback',
  CONNECT_RATE_PER_IP: '1',
  CONNECT_RATE_WINDOW_SECONDS: '10',
  MAX_SOCKETS_PER_USER: '2',
  MAX_STREAMS_PER_USER: '1',
};

let bed: TestBed;
let a: RunningGateway;
let b: RunningGateway;
const clients: TestClient[] = [];
const sessions: SseSession[] = [];

beforeAll(async () => {
  bed = await createTestBed();
  [a, b] = [await bed.start(LIMITS), await bed.start(LIMITS)];
});
afterAll(async () => {
  for (const c of clients) c.close();
  for (const s of sessions) s.close();
  await bed.stopAll();
});

let addresses = 0;
const newAddress = () => `192.0.2.${++addresses}`;
const from = (address: string) => ({ extraHeaders: { 'x-forwarded-for': address } });

async function connect(gw: RunningGateway, token: string, address: string): Promise<TestClient> {
  const client = await TestClient.connect(gw.url, { token }, ['websocket'], from(address));
  clients.push(client);
  return client;
}

describe('connection limits across instances', () => {
  it('counts a user’s sockets on every instance together', async () => {
    const user = uniqueUser();
    const address = newAddress();
    await connect(a, userToken(user), address);
    await connect(b, userToken(user), address);
    for (const gw of [a, b]) {
      expect(await TestClient.refused(gw.url, { token: userToken(user) }, from(address))).toEqual({
        message: 'too_many_connections',
        data: { max: 2 },
      });
    }
  });

  it('counts a user’s SSE streams on every instance together', async () => {
    const user = uniqueUser();
    const address = newAddress();
    const open = (gw: RunningGateway) =>
      SseSession.open(`${gw.url}/api/stream`, { authorization: `Bearer ${userToken(user)}`, 'x-forwarded-for': address }).then((s) => {
        sessions.push(s);
        return s;
      });
    expect((await open(a)).response.status).toBe(200);
    const refused = await open(b);
    expect(refused.response.status).toBe(429);
    expect(await refused.response.json()).toMatchObject({ error: { code: 'TOO_MANY_CONNECTIONS' } });
  });

  it('charges one client address one budget of new connections, whichever instance it reaches', async () => {
    const address = newAddress();
    const outcomes = await Promise.all(
      Array.from({ length: 12 }, (_, i) => TestClient.refused((i % 2 === 0 ? a : b).url, { token: 'not-a-token' }, from(address))),
    );
    expect(outcomes.filter((o) => o.message === 'unauthorized')).toHaveLength(10);
    expect(outcomes.filter((o) => o.message === 'rate_limited')).toHaveLength(2);
  });
});
