/**
 * Presence on one instance (SQLite: in memory; MySQL run: through Redis): a watcher's
 * counts follow subscribers joining and leaving, at most one update per second per
 * topic; back ends read topic and user presence over REST with the API-key tenant rules.
 */
import { describe, expect, it } from 'vitest';
import { useGateway } from '../support/gateway-suite.js';
import { ACME_KEY, API_KEY, signToken, uniqueUser } from '../support/harness.js';
import type { TestClient } from '../support/test-client.js';
import { subscribe, unsubscribe, watchPresence } from '../support/topic-client.js';
import { until } from '../support/until.js';

const suite = useGateway({ CONNECT_RATE_PER_IP: '0', PRESENCE_TTL_SECONDS: '3' });

interface Update {
  topic: string;
  connections: number;
  users: number;
  at: number;
}

function recordPresence(client: TestClient): Update[] {
  const updates: Update[] = [];
  client.socket.on('presence', (u: Omit<Update, 'at'>) => updates.push({ ...u, at: Date.now() }));
  return updates;
}

const latest = (updates: Update[], topic: string) => updates.filter((u) => u.topic === topic).at(-1);

async function getJson(path: string, key = API_KEY): Promise<{ status: number; body: Record<string, unknown> }> {
  const res = await fetch(`${suite.gw.url}${path}`, { headers: { 'x-api-key': key } });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

const connectAs = (userId: string, tenantId = 'default') =>
  suite.connect(suite.gw.url, { token: signToken({ sub: userId, tid: tenantId, topics: ['room:*'] }) });

describe('presence of a topic', () => {
  it('a watcher sees exact counts as subscribers join and leave, at most once per second', async () => {
    const topic = `room:${uniqueUser('r')}`;
    const watcher = await connectAs(uniqueUser('w'));
    const updates = recordPresence(watcher);
    expect(await watchPresence(watcher, [topic, 'other:1'])).toEqual({ granted: [topic], denied: [{ topic: 'other:1', reason: 'forbidden' }] });
    await until(() => latest(updates, topic)?.connections === 0, 'the first count (0)', 5000);

    const [b, c] = [uniqueUser('b'), uniqueUser('c')];
    const b1 = await connectAs(b);
    const b2 = await connectAs(b);
    const c1 = await connectAs(c);
    for (const client of [b1, b2, c1]) await subscribe(client, [topic]);
    await until(() => latest(updates, topic)?.connections === 3, '3 connections', 5000);
    expect(latest(updates, topic)).toMatchObject({ connections: 3, users: 2 });

    expect(await getJson(`/api/presence/topics/${topic}`)).toEqual({ status: 200, body: { topic, connections: 3, users: 2 } });
    const online = await getJson(`/api/presence/users/${b}`);
    expect(online.body).toMatchObject({ userId: b, online: true, connections: 2 });

    await unsubscribe(b2, [topic]);
    await until(() => latest(updates, topic)?.connections === 2, '2 connections', 5000);
    expect(latest(updates, topic)).toMatchObject({ connections: 2, users: 2 });
    c1.close();
    await until(() => latest(updates, topic)?.connections === 1, '1 connection', 5000);
    expect(latest(updates, topic)).toMatchObject({ connections: 1, users: 1 });

    const mine = updates.filter((u) => u.topic === topic);
    for (let i = 1; i < mine.length; i++) expect(mine[i]!.at - mine[i - 1]!.at).toBeGreaterThanOrEqual(900);
    // Only changes are sent: every update differs from the one before.
    for (let i = 1; i < mine.length; i++) expect([mine[i]!.connections, mine[i]!.users]).not.toEqual([mine[i - 1]!.connections, mine[i - 1]!.users]);

    b1.close();
    b2.close();
    await until(async () => (await getJson(`/api/presence/users/${b}`)).body.online === false, 'b offline', 5000);
    const offline = await getJson(`/api/presence/users/${b}`);
    expect(offline.body).toMatchObject({ userId: b, online: false, connections: 0 });
    expect(Date.now() - Date.parse(String(offline.body.lastSeen))).toBeLessThan(10_000);
  });

  it('REST follows the API-key tenant rules; a user never seen has lastSeen null', async () => {
    expect((await getJson('/api/presence/topics/room:1?tenantId=default', ACME_KEY)).status).toBe(403);
    expect((await getJson('/api/presence/topics/room:1', 'nope-nope-nope-nope')).status).toBe(401);
    expect((await getJson('/api/presence/topics/bad%20topic')).status).toBe(400);
    const acmeUser = uniqueUser('acme');
    const client = await connectAs(acmeUser, 'acme');
    await subscribe(client, ['room:shared']);
    await until(async () => (await getJson('/api/presence/topics/room:shared', ACME_KEY)).body.connections === 1, 'acme count', 5000);
    expect((await getJson('/api/presence/topics/room:shared')).body).toMatchObject({ connections: 0, users: 0 });
    expect((await getJson(`/api/presence/users/${uniqueUser('never')}`)).body).toMatchObject({ online: false, connections: 0, lastSeen: null });
  });
});
