/**
 * The compatibility surface across instances (MariaDB + Redis): a compat socket on B gets
 * `dataUpdate` counts that include a subscriber on A, and `dataUpdate` data for topic
 * messages POSTed to A (`POST /notify`, stored and transient) and for a device of its
 * user; an urgent topic message POSTed to A reaches a holder on B out of band.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { WireNotification } from '../../src/store/message-codec.js';
import { Conditions } from '../support/conditions.js';
import { API_KEY, createTestBed, postNotify, signToken, uniqueUser, type RunningGateway, type TestBed } from '../support/harness.js';
import { TestClient } from '../support/test-client.js';
import { subscribe } from '../support/topic-client.js';

let bed: TestBed;
let a: RunningGateway;
let b: RunningGateway;
const clients: TestClient[] = [];

beforeAll(async () => {
  bed = await createTestBed();
  const env = { CONNECT_RATE_PER_IP: '0', PRESENCE_INTERVAL_MS: '300' };
  a = await bed.start(env);
  b = await bed.start(env);
});
afterAll(async () => {
  for (const client of clients) client.close();
  await bed.stopAll();
});

type DataUpdate = { type: 'count'; topic: string; count: number } | { type: 'data'; topic?: string; id: string; data: Record<string, unknown> };

async function connect(gw: RunningGateway, userId: string, auth: { compat?: boolean; deviceId?: string } = {}) {
  const client = await TestClient.connect(gw.url, { token: signToken({ sub: userId, topics: ['news:*'] }), ...auth });
  clients.push(client);
  const updates: DataUpdate[] = [];
  const early: WireNotification[] = [];
  const conditions = new Conditions(() => JSON.stringify({ updates, early: early.map((n) => n.id) }));
  client.socket.on('dataUpdate', (u: DataUpdate) => (updates.push(u), conditions.changed()));
  client.socket.on('notification:out-of-band', (n: WireNotification) => (early.push(n), conditions.changed()));
  return { client, updates, early, waitFor: (p: () => boolean, what: string) => conditions.waitFor(p, what, 15_000) };
}

async function postCompat(gw: RunningGateway, body: unknown) {
  const res = await fetch(`${gw.url}/notify`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-api-key': API_KEY },
    body: JSON.stringify(body),
  });
  return { status: res.status, body: (await res.json()) as { id?: string } };
}

const count = (updates: DataUpdate[], topic: string) => (updates.filter((u) => u.type === 'count' && u.topic === topic).at(-1) as { count: number } | undefined)?.count;
const data = (updates: DataUpdate[]) => updates.filter((u) => u.type === 'data');

describe('compat across instances', () => {
  it('counts include the other instance; data POSTed to A reaches a compat socket on B', async () => {
    const topic = `news:${uniqueUser('t')}`;
    const user = uniqueUser();
    const onB = await connect(b, user, { compat: true, deviceId: 'phone-1' });
    await onB.client.socket.timeout(10_000).emitWithAck('subscribe', topic);
    await onB.client.socket.timeout(10_000).emitWithAck('subscribeCount', topic);
    await onB.waitFor(() => count(onB.updates, topic) === 1, 'count 1');
    const onA = await connect(a, uniqueUser('a'));
    await subscribe(onA.client, [topic]);
    await onB.waitFor(() => count(onB.updates, topic) === 2, 'count 2, one on each instance');

    const stored = await postCompat(a, { eventTopics: [topic], data: { n: 1 } });
    expect(stored.status).toBe(201);
    const live = await postCompat(a, { eventTopics: [topic], data: { n: 2 }, transient: true });
    expect(live.status).toBe(202);
    const forPhone = await postCompat(a, { users: [user], devices: ['phone-1'], data: { n: 3 } });
    expect(forPhone.status).toBe(201);
    await onB.waitFor(() => data(onB.updates).length === 3, 'three data updates');
    expect(data(onB.updates).map((u) => u.data.n).sort()).toEqual([1, 2, 3]);
    expect(data(onB.updates).find((u) => u.data.n === 1)).toMatchObject({ topic, id: stored.body.id });
    expect(data(onB.updates).find((u) => u.data.n === 3)).toEqual({ type: 'data', id: forPhone.body.id, kind: 'data:update', data: { n: 3 } });
  });

  it('an urgent topic message POSTed to A reaches a holder on B out of band', async () => {
    const topic = `news:${uniqueUser('t')}`;
    const onB = await connect(b, uniqueUser());
    await subscribe(onB.client, [topic]);
    const res = await postNotify(a.url, 'news:alert', { topics: [topic], title: 'Breaking', priority: 'urgent' });
    expect(res.status).toBe(201);
    await onB.waitFor(() => onB.early.length === 1, 'the out-of-band copy');
    expect(onB.early[0]).toMatchObject({ id: res.body.id, scope: 'topic', topics: [topic] });
    await onB.client.waitForIds([res.body.id!]);
  });
});
