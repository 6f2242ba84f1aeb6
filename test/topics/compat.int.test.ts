/**
 * The compatibility surface: clients of the common `subscribe` / `subscribeCount` /
 * `dataUpdate` protocol (plain socket.io-client with `auth.compat` or `?compat=1`) and
 * back ends posting `POST /notify { users, devices, eventTopics, data }`. Counts and data
 * arrive as `dataUpdate`; authorisation is the gateway's own; the API key decides the
 * app, and an `x-client-id` header decides nothing.
 */
import { describe, expect, it } from 'vitest';
import { Conditions } from '../support/conditions.js';
import { useGateway } from '../support/gateway-suite.js';
import { API_KEY, notifyUser, signToken, uniqueUser } from '../support/harness.js';
import { flushWith, type ClientOptions, type TestClient } from '../support/test-client.js';
import type { TopicAck } from '../support/topic-client.js';

const suite = useGateway({ CONNECT_RATE_PER_IP: '0', PRESENCE_INTERVAL_MS: '300' });

type DataUpdate = { type: 'count'; topic: string; count: number } | { type: 'data'; topic?: string; id: string; kind: string; data: Record<string, unknown> };

/** A socket recording its `dataUpdate`s. */
async function connect(userId: string, auth: { compat?: boolean; deviceId?: string } = {}, options: ClientOptions = {}) {
  const client = await suite.connect(suite.gw.url, { token: signToken({ sub: userId, topics: ['news:*'] }), ...auth }, ['websocket'], options);
  const updates: DataUpdate[] = [];
  const conditions = new Conditions(() => JSON.stringify(updates));
  client.socket.on('dataUpdate', (u: DataUpdate) => (updates.push(u), conditions.changed()));
  const data = () => updates.filter((u): u is Extract<DataUpdate, { type: 'data' }> => u.type === 'data');
  const lastCount = (topic: string) => updates.filter((u) => u.type === 'count' && u.topic === topic).at(-1) as { count: number } | undefined;
  return { client, updates, data, lastCount, waitFor: (p: () => boolean, what: string) => conditions.waitFor(p, what, 10_000) };
}

const ask = (client: TestClient, event: string, payload: unknown) => client.socket.timeout(10_000).emitWithAck(event, payload) as Promise<TopicAck>;

async function postCompat(body: unknown, headers: Record<string, string> = {}) {
  const res = await fetch(`${suite.gw.url}/notify`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-api-key': API_KEY, ...headers },
    body: JSON.stringify(body),
  });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> & { id?: string; error?: { code: string; details?: { path: string }[] } } };
}

const flush = (client: TestClient, userId: string) => flushWith(client, () => notifyUser(suite.gw.url, userId, 'marker'));

describe('subscribe and subscribeCount in the common protocol’s shapes', () => {
  it('counts and topic data arrive as dataUpdate; a plain socket holding the topic gets no dataUpdate', async () => {
    const topic = `news:${uniqueUser('t')}`;
    const [compatUser, plainUser] = [uniqueUser('compat'), uniqueUser('plain')];
    const compat = await connect(compatUser, { compat: true });
    const plain = await connect(plainUser);

    expect(await ask(compat.client, 'subscribe', topic)).toEqual({ granted: [topic], denied: [] });
    expect(await ask(compat.client, 'subscribeCount', [topic])).toEqual({ granted: [topic], denied: [] });
    await compat.waitFor(() => compat.lastCount(topic)?.count === 1, 'count 1');
    expect(await ask(plain.client, 'subscribe', { topics: [topic] })).toEqual({ granted: [topic], denied: [] });
    await compat.waitFor(() => compat.lastCount(topic)?.count === 2, 'count 2');

    const stored = await postCompat({ eventTopics: [topic], data: { headline: 'stored' } });
    expect(stored.status).toBe(201);
    expect(stored.body).toMatchObject({ deduped: false, recipients: 0 });
    const live = await postCompat({ eventTopics: [topic], data: { headline: 'live' }, kind: 'news:flash', transient: true });
    expect(live).toEqual({ status: 202, body: { transient: true, recipients: 0 } });

    await compat.waitFor(() => compat.data().length === 2, 'two data updates');
    expect(compat.data()[0]).toEqual({ type: 'data', topic, id: stored.body.id, kind: 'data:update', data: { headline: 'stored' } });
    expect(compat.data()[1]).toMatchObject({ type: 'data', topic, kind: 'news:flash', data: { headline: 'live' } });
    // Also the ordinary event, titled after the kind.
    await compat.client.waitForIds([stored.body.id!]);
    expect(compat.client.received.find((n) => n.id === stored.body.id)).toMatchObject({ scope: 'topic', topics: [topic], title: 'data:update' });

    await plain.client.waitForIds([stored.body.id!]);
    await flush(plain.client, plainUser);
    expect(plain.updates).toEqual([]);

    await ask(plain.client, 'unsubscribe', topic);
    await compat.waitFor(() => compat.lastCount(topic)?.count === 1, 'count back to 1');
    expect(await ask(compat.client, 'unsubscribeCount', topic)).toEqual({ unsubscribed: [topic] });
  });

  it('subscribeCount alone makes a socket speak the protocol; ?compat=1 does it at the handshake', async () => {
    const topic = `news:${uniqueUser('t')}`;
    const viaEvent = await connect(uniqueUser('e'));
    const viaQuery = await connect(uniqueUser('q'), {}, { query: { compat: '1' } });
    await ask(viaQuery.client, 'subscribe', [topic]);
    expect(await ask(viaEvent.client, 'subscribeCount', { topics: [topic] })).toEqual({ granted: [topic], denied: [] });
    await viaEvent.waitFor(() => viaEvent.lastCount(topic)?.count === 1, 'count 1');
    const res = await postCompat({ eventTopics: [topic], data: { n: 1 } });
    await viaQuery.waitFor(() => viaQuery.data().length === 1, 'data via ?compat=1');
    expect(viaQuery.data()[0]).toMatchObject({ topic, id: res.body.id, data: { n: 1 } });
  });

  it('unauthorised topics are denied, whatever the shape, and their messages never arrive', async () => {
    const user = uniqueUser();
    const compat = await connect(user, { compat: true });
    expect(await ask(compat.client, 'subscribe', 'secret:1')).toEqual({ granted: [], denied: [{ topic: 'secret:1', reason: 'forbidden' }] });
    expect(await ask(compat.client, 'subscribeCount', ['secret:1', 'news:ok'])).toEqual({
      granted: ['news:ok'],
      denied: [{ topic: 'secret:1', reason: 'forbidden' }],
    });
    expect(await ask(compat.client, 'subscribe', { topics: 'secret:1' })).toMatchObject({ error: { code: 'VALIDATION_FAILED' } });
    await postCompat({ eventTopics: ['secret:1'], data: { leaked: true } });
    await flush(compat.client, user);
    expect(compat.data()).toEqual([]);
    expect(compat.updates.some((u) => u.topic === 'secret:1')).toBe(false);
  });
});

describe('POST /notify', () => {
  it('users with devices reach that device only, as dataUpdate without a topic', async () => {
    const user = uniqueUser();
    const phone = await connect(user, { compat: true, deviceId: 'phone-1' });
    const tablet = await connect(user, { compat: true, deviceId: 'tablet-1' });
    const res = await postCompat({ users: [user], devices: ['phone-1'], data: { code: '123456' }, kind: 'login:code' });
    expect(res.status).toBe(201);
    await phone.waitFor(() => phone.data().length === 1, 'the phone’s data update');
    expect(phone.data()[0]).toEqual({ type: 'data', id: res.body.id, kind: 'login:code', data: { code: '123456' } });
    await flush(tablet.client, user);
    expect(tablet.client.ids).not.toContain(res.body.id);
    expect(tablet.data()).toEqual([]);
  });

  it('appId must be the key’s app; other fields are checked like /api/notify, named as sent', async () => {
    const user = uniqueUser();
    const mismatch = await postCompat({ appId: 'other-app', users: [user], data: {} });
    expect(mismatch.status).toBe(403);
    expect(mismatch.body.error?.code).toBe('FORBIDDEN_APP');
    expect((await postCompat({ appId: 'default', users: [user], data: { ok: 1 } })).status).toBe(201);

    const twoTargets = await postCompat({ users: [user], eventTopics: ['news:1'], data: {} });
    expect(twoTargets.status).toBe(400);
    expect(twoTargets.body.error?.details?.map((d) => d.path)).toContain('eventTopics');
    const badUser = await postCompat({ users: ['has space'], data: {} });
    expect(badUser.body.error?.details?.map((d) => d.path)).toEqual(['users.0']);
    const noData = await postCompat({ users: [user] });
    expect(noData.status).toBe(400);
    expect(noData.body.error?.details?.map((d) => d.path)).toEqual(['data']);
    expect((await postCompat({ users: [user], data: {} }, { 'x-api-key': 'wrong' })).status).toBe(401);
  });

  it('x-client-id is never identity: not on the socket, not on the request', async () => {
    const [alice, bob] = [uniqueUser('alice'), uniqueUser('bob')];
    const aliceSocket = await connect(alice, { compat: true });
    // Bob claims to be Alice in the header; his token decides.
    const bobSocket = await connect(bob, { compat: true }, { extraHeaders: { 'x-client-id': alice } });
    const res = await postCompat({ users: [alice], data: { for: 'alice' } }, { 'x-client-id': bob });
    expect(res.status).toBe(201);
    expect(res.body.recipients).toBe(1);
    await aliceSocket.client.waitForIds([res.body.id!]);
    await flush(bobSocket.client, bob);
    expect(bobSocket.client.ids).not.toContain(res.body.id);
  });
});
