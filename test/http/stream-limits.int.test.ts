/**
 * GET /api/stream limits with small budgets: new connections per client address (429
 * RATE_LIMITED with Retry-After, one budget shared with socket handshakes), open streams
 * per user (the newest refused with 429 TOO_MANY_CONNECTIONS), and the end of a stream
 * whose token expires (`event: error` TOKEN_EXPIRED).
 *
 * The gateway trusts loopback as a proxy: every test presents its own client address in
 * X-Forwarded-For.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestBed, notifyUser, signToken, uniqueUser, userToken, type RunningGateway, type TestBed } from '../support/harness.js';
import { TestClient } from '../support/test-client.js';
import { until } from '../support/until.js';
import { SseSession } from './sse-session.js';

const CONNECTS_PER_WINDOW = 10;
let bed: TestBed;
let gw: RunningGateway;
const sessions: SseSession[] = [];

beforeAll(async () => {
  bed = await createTestBed();
  gw = await bed.start({
    TRUST_PROXY: 'loopback',
    CONNECT_RATE_PER_IP: '1',
    CONNECT_RATE_WINDOW_SECONDS: String(CONNECTS_PER_WINDOW),
    MAX_STREAMS_PER_USER: '2',
  });
});
afterAll(async () => {
  for (const s of sessions) s.close();
  await bed.stopAll();
});

let addresses = 0;
const newAddress = () => `203.0.113.${++addresses}`;

async function open(token: string, address: string): Promise<SseSession> {
  const session = await SseSession.open(`${gw.url}/api/stream`, { authorization: `Bearer ${token}`, 'x-forwarded-for': address });
  sessions.push(session);
  return session;
}
const synced = (s: SseSession) => s.waitFor(() => s.named('synced').length > 0, 'synced');

async function refusals(limit: string): Promise<number> {
  const { values } = await gw.gateway.metrics.rateLimited.get();
  return values.find((v) => v.labels.limit === limit)?.value ?? 0;
}

describe('SSE streams per user', () => {
  it('refuses the newest stream past the limit with 429 TOO_MANY_CONNECTIONS; open ones keep streaming; a closed one frees its slot', async () => {
    const user = uniqueUser();
    const address = newAddress();
    const baseline = gw.gateway.streamAdvanced.listenerCount('advance');
    const first = await open(userToken(user), address);
    const second = await open(userToken(user), address);
    await Promise.all([synced(first), synced(second)]);
    const before = await refusals('streams_per_user');

    const third = await open(userToken(user), address);
    expect(third.response.status).toBe(429);
    expect(await third.response.json()).toEqual({
      error: { code: 'TOO_MANY_CONNECTIONS', message: expect.any(String), details: { limit: 'streams_per_user', max: 2 } },
    });
    expect(await refusals('streams_per_user')).toBe(before + 1);

    const id = await notifyUser(gw.url, user, 'to both streams');
    await Promise.all([first.waitForIds([id]), second.waitForIds([id])]);
    const other = await open(userToken(uniqueUser()), address);
    expect(other.response.status).toBe(200);

    first.close();
    await until(() => gw.gateway.streamAdvanced.listenerCount('advance') === baseline + 2, 'the server to see the stream closed');
    const again = await open(userToken(user), address);
    expect(again.response.status).toBe(200);
    await synced(again);
  });
});

describe('new connections per client address', () => {
  it('answers 429 RATE_LIMITED with Retry-After past the budget, before the token is checked, shared with socket handshakes', async () => {
    const address = newAddress();
    const before = await refusals('connect_per_ip');
    for (let i = 0; i < CONNECTS_PER_WINDOW; i++) expect((await open('not-a-token', address)).response.status).toBe(401);

    const refused = await open(userToken(uniqueUser()), address);
    expect(refused.response.status).toBe(429);
    const retryAfter = Number(refused.response.headers.get('retry-after'));
    expect(retryAfter >= 1 && retryAfter <= CONNECTS_PER_WINDOW).toBe(true);
    expect(await refused.response.json()).toMatchObject({
      error: { code: 'RATE_LIMITED', details: { limit: 'connect_per_ip', retryAfterSeconds: retryAfter } },
    });
    const socket = await TestClient.refused(gw.url, { token: userToken(uniqueUser()) }, { extraHeaders: { 'x-forwarded-for': address } });
    expect(socket).toMatchObject({ message: 'rate_limited', data: { retryAfterMs: expect.any(Number) } });
    expect(await refusals('connect_per_ip')).toBe(before + 2);

    const elsewhere = await open(userToken(uniqueUser()), newAddress());
    expect(elsewhere.response.status).toBe(200);
  });
});

describe('token expiry on open streams', () => {
  it('ends the stream with `event: error` TOKEN_EXPIRED when the token expires', async () => {
    const user = uniqueUser();
    const s = await open(signToken({ sub: user }, { expiresIn: 2 }), newAddress());
    await synced(s);
    await s.waitForEnd();
    const errors = s.named('error');
    expect(errors).toHaveLength(1);
    expect(JSON.parse(errors[0]!.data)).toMatchObject({ code: 'TOKEN_EXPIRED' });
    expect(errors[0]!.id).toBeUndefined();
    const { values } = await gw.gateway.metrics.sessionTokens.get();
    expect(values.find((v) => v.labels.channel === 'sse' && v.labels.event === 'expired')?.value).toBe(1);
  });
});
