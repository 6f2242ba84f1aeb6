/**
 * Socket limits with small budgets (src/limits/connection-limits.ts): new handshakes per
 * client address (refused with `rate_limited` before the token is checked), sockets per
 * user (the newest refused with `too_many_connections`), events per socket (dropped with
 * RATE_LIMITED, a flood disconnected with EVENT_FLOOD), and token expiry on open sockets
 * (TOKEN_EXPIRED unless `auth:refresh` renewed it in time; another user's token is refused).
 *
 * The gateway trusts loopback as a proxy, so every test presents a client address of its
 * own in X-Forwarded-For and budgets do not leak between tests.
 */
import jwt from 'jsonwebtoken';
import { describe, expect, it } from 'vitest';
import { JWT_SECRET, notifyUser, signToken, uniqueUser, userToken } from '../support/harness.js';
import { useGateway } from '../support/gateway-suite.js';
import { TestClient, flushWith, type ClientOptions } from '../support/test-client.js';
import { until } from '../support/until.js';

const CONNECTS_PER_WINDOW = 10;
const suite = useGateway({
  TRUST_PROXY: 'loopback',
  CONNECT_RATE_PER_IP: '1',
  CONNECT_RATE_WINDOW_SECONDS: String(CONNECTS_PER_WINDOW),
  MAX_SOCKETS_PER_USER: '3',
  SOCKET_EVENTS_PER_SECOND: '5',
  SOCKET_EVENTS_BURST: '10',
});

let addresses = 0;
/** A client address of its own (TEST-NET-2), sent as X-Forwarded-For. */
function newAddress(): ClientOptions {
  addresses += 1;
  return { extraHeaders: { 'x-forwarded-for': `198.51.100.${addresses}` } };
}

function connect(token: string, from: ClientOptions): Promise<TestClient> {
  return suite.connect(suite.gw.url, { token }, ['websocket'], from);
}

/** One handshake: 'connected' (then closed), or the connect_error it got. */
async function attempt(token: string, from: ClientOptions): Promise<'connected' | { message: string; data: unknown }> {
  try {
    (await TestClient.connect(suite.gw.url, { token }, ['websocket'], from)).close();
    return 'connected';
  } catch (error) {
    return { message: (error as Error).message, data: (error as { data?: unknown }).data };
  }
}

async function refusals(limit: string): Promise<number> {
  const { values } = await suite.gw.gateway.metrics.rateLimited.get();
  return values.find((v) => v.labels.limit === limit)?.value ?? 0;
}

async function tokenEvents(event: string): Promise<number> {
  const { values } = await suite.gw.gateway.metrics.sessionTokens.get();
  return values.find((v) => v.labels.channel === 'socket' && v.labels.event === event)?.value ?? 0;
}

/** Sockets of `userId` open on the gateway. */
function openSockets(userId: string): number {
  return [...suite.gw.gateway.io.of('/').sockets.values()].filter((s) => s.data.principal?.userId === userId).length;
}

/** A token of `userId` expiring at `exp` (epoch seconds). */
const tokenUntil = (userId: string, exp: number) => jwt.sign({ sub: userId, exp }, JWT_SECRET, { algorithm: 'HS256' });

describe('new connections per client address', () => {
  it('refuses handshakes past the budget with rate_limited, before the token is checked; a connected client keeps receiving', async () => {
    const keeperUser = uniqueUser();
    const keeper = await connect(userToken(keeperUser), newAddress());
    const before = await refusals('connect_per_ip');

    const from = newAddress();
    const extra = 5;
    const outcomes = await Promise.all(
      Array.from({ length: CONNECTS_PER_WINDOW + extra }, (_, i) => attempt(i % 2 === 0 ? userToken(uniqueUser()) : 'not-a-token', from)),
    );
    const limited = outcomes.filter((o): o is { message: string; data: unknown } => o !== 'connected' && o.message === 'rate_limited');
    expect(limited).toHaveLength(extra);
    for (const refusal of limited) {
      const { retryAfterMs } = refusal.data as { retryAfterMs: number };
      expect(retryAfterMs).toBeGreaterThan(0);
      expect(retryAfterMs).toBeLessThanOrEqual(CONNECTS_PER_WINDOW * 1000);
    }
    // The others were admitted by the limit: good tokens connected, bad ones were checked.
    const admitted = outcomes.filter((o) => o === 'connected' || o.message !== 'rate_limited');
    expect(admitted.every((o) => o === 'connected' || o.message === 'unauthorized')).toBe(true);
    // Spent: even a good token is refused now, from this address only.
    expect(await TestClient.refused(suite.gw.url, { token: userToken(uniqueUser()) }, from)).toMatchObject({ message: 'rate_limited' });
    expect(await refusals('connect_per_ip')).toBe(before + extra + 1);

    await flushWith(keeper, () => notifyUser(suite.gw.url, keeperUser, 'still delivered'));
    expect(keeper.socket.connected).toBe(true);
    await connect(userToken(uniqueUser()), newAddress());
  });

  it('without TRUST_PROXY, X-Forwarded-For is ignored: the peer address is counted', async () => {
    const direct = await suite.bed.start({ CONNECT_RATE_PER_IP: '1', CONNECT_RATE_WINDOW_SECONDS: String(CONNECTS_PER_WINDOW) });
    try {
      const outcomes: string[] = [];
      for (let i = 0; i <= CONNECTS_PER_WINDOW; i++) {
        outcomes.push((await TestClient.refused(direct.url, { token: 'not-a-token' }, newAddress())).message);
      }
      expect(outcomes.slice(0, CONNECTS_PER_WINDOW).every((m) => m === 'unauthorized')).toBe(true);
      expect(outcomes[CONNECTS_PER_WINDOW]).toBe('rate_limited');
    } finally {
      await direct.close();
    }
  });
});

describe('sockets per user', () => {
  it('refuses the newest socket past the limit with too_many_connections; open ones keep receiving; a closed one frees its slot', async () => {
    const user = uniqueUser();
    const from = newAddress();
    const open = [await connect(userToken(user), from), await connect(userToken(user), from), await connect(userToken(user), from)];
    const before = await refusals('sockets_per_user');

    expect(await TestClient.refused(suite.gw.url, { token: userToken(user) }, from)).toEqual({
      message: 'too_many_connections',
      data: { max: 3 },
    });
    expect(await refusals('sockets_per_user')).toBe(before + 1);
    const id = await notifyUser(suite.gw.url, user, 'to every open socket');
    await Promise.all(open.map((client) => client.waitForIds([id])));
    expect(open.every((client) => client.socket.connected)).toBe(true);

    // Another user is not affected.
    await connect(userToken(uniqueUser()), from);

    open[0]!.close();
    await until(() => openSockets(user) === 2, 'the server to see the socket closed');
    const again = await connect(userToken(user), from);
    await flushWith(again, () => notifyUser(suite.gw.url, user, 'the new one is live'));
  });
});

describe('events per socket', () => {
  it('drops events past the budget with one RATE_LIMITED per second; the socket stays connected', async () => {
    const user = uniqueUser();
    const client = await connect(userToken(user), newAddress());
    const before = await refusals('socket_events');
    for (let i = 0; i < 15; i++) client.ack([`id-${i}`]);
    // An event with an ack callback is answered, not left waiting.
    expect(await client.socket.emitWithAck('auth:refresh', { token: userToken(user) })).toEqual({ ok: false, code: 'RATE_LIMITED' });
    await client.waitFor(() => client.errors.length > 0, 'RATE_LIMITED');
    expect(client.errors.every((e) => e.code === 'RATE_LIMITED' && e.retryAfterMs! > 0)).toBe(true);
    expect(await refusals('socket_events')).toBe(before + 6);

    await flushWith(client, () => notifyUser(suite.gw.url, user, 'still live'));
    expect(client.socket.connected).toBe(true);
  });

  it('a flood is disconnected with EVENT_FLOOD while a well-behaved socket on the same instance keeps receiving', async () => {
    const calmUser = uniqueUser();
    const calm = await connect(userToken(calmUser), newAddress());
    const flooder = await connect(userToken(uniqueUser()), newAddress());
    const before = await refusals('socket_event_flood');

    for (let i = 0; i < 200; i++) flooder.ack([`id-${i}`]);
    expect(await flooder.waitForDisconnect()).toBe('io server disconnect');
    const codes = flooder.errors.map((e) => e.code);
    expect(codes.at(-1)).toBe('EVENT_FLOOD');
    expect(codes.length).toBeGreaterThan(1);
    expect(codes.slice(0, -1).every((code) => code === 'RATE_LIMITED')).toBe(true);
    expect(await refusals('socket_event_flood')).toBe(before + 1);

    calm.ack(['one-ack-is-fine']);
    await flushWith(calm, () => notifyUser(suite.gw.url, calmUser, 'unaffected'));
    expect(calm.errors).toEqual([]);
  });
});

describe('token expiry on open sockets', () => {
  it('closes a socket whose token expires with TOKEN_EXPIRED', async () => {
    const before = await tokenEvents('expired');
    const client = await connect(signToken({ sub: uniqueUser() }, { expiresIn: 2 }), newAddress());
    expect(await client.waitForDisconnect()).toBe('io server disconnect');
    expect(client.errors.map((e) => e.code)).toEqual(['TOKEN_EXPIRED']);
    expect(await tokenEvents('expired')).toBe(before + 1);
  });

  it('auth:refresh with a new token of the same user keeps the socket open past the first exp', async () => {
    const user = uniqueUser();
    const exp = Math.floor(Date.now() / 1000) + 2;
    const from = newAddress();
    const renewed = await connect(tokenUntil(user, exp), from);
    // Same deadline, not renewed: its close proves the first exp has passed and was swept.
    const witness = await connect(tokenUntil(uniqueUser(), exp), from);

    const fresh = userToken(user);
    const answer = await renewed.socket.emitWithAck('auth:refresh', { token: fresh });
    expect(answer).toEqual({ ok: true, expiresAt: new Date((jwt.decode(fresh) as { exp: number }).exp * 1000).toISOString() });

    expect(await witness.waitForDisconnect()).toBe('io server disconnect');
    expect(witness.errors.map((e) => e.code)).toEqual(['TOKEN_EXPIRED']);
    expect(Date.now()).toBeGreaterThanOrEqual(exp * 1000);
    await flushWith(renewed, () => notifyUser(suite.gw.url, user, 'after the first exp'));
    expect(renewed.socket.connected).toBe(true);
    expect(renewed.errors).toEqual([]);
  });

  it('refuses auth:refresh with another user’s or tenant’s token, or a bad one, and keeps the old deadline', async () => {
    const user = uniqueUser();
    const client = await connect(signToken({ sub: user }, { expiresIn: 2 }), newAddress());
    const refresh = (payload: unknown) => client.socket.emitWithAck('auth:refresh', payload);

    expect(await refresh({ token: userToken(uniqueUser()) })).toEqual({ ok: false, code: 'SUBJECT_MISMATCH' });
    expect(await refresh({ token: userToken(user, 'acme') })).toEqual({ ok: false, code: 'SUBJECT_MISMATCH' });
    expect(await refresh({ token: signToken({ sub: user }, { expiresIn: -5 }) })).toEqual({ ok: false, code: 'UNAUTHORIZED' });
    expect(await refresh({ token: signToken({ sub: user }, {}, 'another-secret-that-is-long-enough-000') })).toEqual({
      ok: false,
      code: 'UNAUTHORIZED',
    });
    expect(await refresh({ token: 42 })).toEqual({ ok: false, code: 'VALIDATION_FAILED' });
    // Without an ack callback the refusal comes as notify:error.
    client.socket.emit('auth:refresh', { token: userToken(uniqueUser()) });
    await client.waitFor(() => client.errors.length > 0, 'notify:error');
    expect(client.errors[0]).toMatchObject({ code: 'SUBJECT_MISMATCH' });

    expect(await client.waitForDisconnect()).toBe('io server disconnect');
    expect(client.errors.map((e) => e.code)).toEqual(['SUBJECT_MISMATCH', 'TOKEN_EXPIRED']);
  });
});
