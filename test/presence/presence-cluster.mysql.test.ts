/**
 * Presence across instances on Redis: three in-process gateways and one real child
 * process, 300 sockets (150 users, each with two sockets on two different instances)
 * joining and leaving one topic. A watcher's counts are exact within about a second;
 * SIGKILLing the child drops its sockets out of the count within PRESENCE_TTL_SECONDS
 * plus a tick; the watcher never gets two updates of the topic within a second.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startGatewayProcess, type GatewayProcess } from '../support/gateway-process.js';
import { API_KEY, createTestBed, signToken, uniqueUser, type TestBed } from '../support/harness.js';
import { TestClient } from '../support/test-client.js';
import { subscribe, unsubscribe, watchPresence } from '../support/topic-client.js';
import { until } from '../support/until.js';

const ENV = { CONNECT_RATE_PER_IP: '0', PRESENCE_TTL_SECONDS: '3', PRESENCE_INTERVAL_MS: '1000' };
const USERS = 150;

let bed: TestBed;
let child: GatewayProcess;
let urls: string[] = [];
const clients: TestClient[] = [];

beforeAll(async () => {
  bed = await createTestBed();
  const inProcess = await Promise.all([bed.start(ENV), bed.start(ENV), bed.start(ENV)]);
  child = await startGatewayProcess(bed.db, ENV);
  urls = [...inProcess.map((g) => g.url), child.url];
}, 240_000);

afterAll(async () => {
  for (const client of clients) client.close();
  await child?.stop();
  await bed?.stopAll();
});

interface Member {
  client: TestClient;
  userId: string;
  instance: number;
}

interface Update {
  connections: number;
  users: number;
  at: number;
}

const count = (members: Member[]) => ({ connections: members.length, users: new Set(members.map((m) => m.userId)).size });

describe('presence across instances', () => {
  it('exact counts, a killed instance forgotten within seconds, at most one update per second', async () => {
    const topic = `room:${uniqueUser('big')}`;
    const tokenOf = (userId: string) => signToken({ sub: userId, topics: ['room:*'] });

    const watcher = await TestClient.connect(urls[0]!, { token: tokenOf(uniqueUser('watcher')) });
    clients.push(watcher);
    const updates: Update[] = [];
    watcher.socket.on('presence', (u: { topic: string; connections: number; users: number }) => {
      if (u.topic === topic) updates.push({ connections: u.connections, users: u.users, at: Date.now() });
    });
    expect((await watchPresence(watcher, [topic])).granted).toEqual([topic]);
    const seen = (expected: { connections: number; users: number }) => () => {
      const last = updates.at(-1);
      return last?.connections === expected.connections && last.users === expected.users;
    };

    // 150 users × 2 sockets, the second one on the next instance: 75 sockets per instance.
    const plan = Array.from({ length: USERS }, (_, i) => ({ userId: uniqueUser(`p${i}-`), instances: [i % 4, (i + 1) % 4] }));
    const members: Member[] = [];
    for (let start = 0; start < plan.length; start += 25) {
      const batch = plan.slice(start, start + 25).flatMap(({ userId, instances }) => instances.map((instance) => ({ userId, instance })));
      members.push(
        ...(await Promise.all(
          batch.map(async ({ userId, instance }) => {
            const client = await TestClient.connect(urls[instance]!, { token: tokenOf(userId) });
            clients.push(client);
            return { client, userId, instance };
          }),
        )),
      );
    }
    const acks = await Promise.all(members.map((m) => subscribe(m.client, [topic])));
    expect(acks.every((a) => a.granted[0] === topic)).toBe(true);
    const joinedAt = Date.now();
    await until(seen({ connections: 300, users: USERS }), '300 connections of 150 users', 10_000);
    expect(Date.now() - joinedAt).toBeLessThan(2500);
    const rest = await fetch(`${urls[1]}/api/presence/topics/${topic}`, { headers: { 'x-api-key': API_KEY } });
    expect(await rest.json()).toEqual({ topic, connections: 300, users: USERS });

    // 100 leave, none of them on the child: 50 unsubscribe, 50 disconnect.
    const leaving = members.filter((m) => m.instance !== 3).slice(0, 100);
    await Promise.all(leaving.slice(0, 50).map((m) => unsubscribe(m.client, [topic])));
    for (const m of leaving.slice(50)) m.client.close();
    const staying = members.filter((m) => !leaving.includes(m));
    const afterLeave = count(staying);
    const leftAt = Date.now();
    await until(seen(afterLeave), `${afterLeave.connections} connections after 100 left`, 10_000);
    expect(Date.now() - leftAt).toBeLessThan(2500);

    // SIGKILL the child: no goodbye, its sockets must expire out of the count.
    const afterKill = count(staying.filter((m) => m.instance !== 3));
    expect(afterKill.connections).toBeLessThan(afterLeave.connections);
    await child.kill('SIGKILL');
    const killedAt = Date.now();
    await until(seen(afterKill), `${afterKill.connections} connections once the child is gone`, 15_000);
    expect(Date.now() - killedAt).toBeLessThan(3000 + 2500);

    for (let i = 1; i < updates.length; i++) expect(updates[i]!.at - updates[i - 1]!.at).toBeGreaterThanOrEqual(900);
  }, 120_000);
});
