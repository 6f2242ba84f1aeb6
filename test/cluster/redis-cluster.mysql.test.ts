/**
 * REDIS_CLUSTER_NODES: two gateway instances on MariaDB joined by a real Redis Cluster
 * (3 masters + 3 replicas, started here) behave as with one Redis: user rooms, tenant
 * broadcasts and topics reach sockets on the other instance, wake-ups cross instances,
 * presence and a connection limit are shared. Then the master of the shard carrying a
 * tenant's rooms is killed (SIGKILL) mid-stream; its replica takes over, and every socket
 * ends with every notification exactly once, in order (replay covers the gap).
 *
 * Prints a broadcast figure: one tenant broadcast to N sockets over two instances, time
 * to the last receipt, on one Redis and on the cluster.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  API_KEY,
  createTestBed,
  notifyUser,
  postNotify,
  signToken,
  uniqueUser,
  type RunningGateway,
  type TestBed,
} from '../support/harness.js';
import { parseConfig } from '../../src/config/config.js';
import { dependenciesOf } from '../../src/startup/dependencies.js';
import { partitionOf } from '../../src/stream/stream-partitions.js';
import { freePort } from '../support/ports.js';
import { RedisCluster } from '../support/redis-cluster.js';
import { TestClient } from '../support/test-client.js';
import { until } from '../support/until.js';

let cluster: RedisCluster;
let bed: TestBed;
let leader: RunningGateway;
let follower: RunningGateway;
const clients: TestClient[] = [];

// A long fallback poll: a notification POSTed to the follower arrives promptly only if
// its wake-up crossed to the leader's relay.
const RELAY_POLL_MS = 10_000;
const env = () => ({
  REDIS_URL: '',
  REDIS_CLUSTER_NODES: cluster.seeds,
  RELAY_POLL_MS: String(RELAY_POLL_MS),
  MAX_SOCKETS_PER_USER: '2',
  CONNECT_RATE_PER_IP: '0',
});

let tenants = 0;
const newTenant = (label: string) => `${label}${Date.now().toString(36)}${++tenants}`;
const tokenFor = (userId: string, tenantId: string, topics: string[] = []) => signToken({ sub: userId, tid: tenantId, topics });
const readiness = async (gw: RunningGateway) => (await fetch(`${gw.url}/readyz`)).status;

async function connect(gw: RunningGateway, token: string, topics?: string[], deviceId?: string): Promise<TestClient> {
  const client = await TestClient.connect(gw.url, { token, ...(topics && { topics }), ...(deviceId && { deviceId }) });
  clients.push(client);
  return client;
}

async function post(gw: RunningGateway, body: Record<string, unknown>): Promise<string> {
  const res = await postNotify(gw.url, 'test:event', body);
  if (res.status !== 201) throw new Error(`notify failed: ${res.status} ${JSON.stringify(res.body)}`);
  return res.body.id!;
}

beforeAll(async () => {
  cluster = await RedisCluster.start();
  bed = await createTestBed();
  const gateways = [await bed.start(env()), await bed.start(env())];
  await until(() => gateways.some((g) => g.gateway.lease.isHeld()), 'a relay lease holder');
  leader = gateways.find((g) => g.gateway.lease.isHeld())!;
  follower = gateways.find((g) => g !== leader)!;
  await until(async () => (await readiness(leader)) === 200 && (await readiness(follower)) === 200, 'both instances ready');
}, 90_000);

afterAll(async () => {
  for (const client of clients) client.close();
  await bed?.stopAll();
  await cluster?.destroy();
});

describe('two instances on a Redis Cluster', () => {
  it('start-up waits for REDIS_CLUSTER_NODES: the probe answers for the live cluster, not for a closed port', async () => {
    const probeOf = (nodes: string) => dependenciesOf(parseConfig({ REDIS_CLUSTER_NODES: nodes })).find((d) => d.variable === 'REDIS_CLUSTER_NODES')!;
    await expect(probeOf(cluster.seeds).probe()).resolves.toBeUndefined();
    await expect(probeOf(`127.0.0.1:${await freePort()}`).probe()).rejects.toBeTruthy();
  });

  it('a user room, a tenant broadcast and a topic POSTed to one instance reach sockets on the other', async () => {
    const tenant = newTenant('fan');
    const user = uniqueUser();
    const onFollower = await connect(follower, tokenFor(user, tenant, ['order:1']), ['order:1'], 'phone-1');
    const onLeader = await connect(leader, tokenFor(uniqueUser(), tenant));
    const toUser = await post(leader, { tenantId: tenant, userId: user, title: 'to the user' });
    const toTenant = await post(leader, { tenantId: tenant, scope: 'tenant', title: 'to everyone' });
    const toTopic = await post(leader, { tenantId: tenant, topics: ['order:1'], title: 'to the topic' });
    await onFollower.waitForIds([toUser, toTenant, toTopic]);
    expect(onFollower.ids).toEqual([toUser, toTenant, toTopic]);
    await onLeader.waitForIds([toTenant]);
    expect(onLeader.ids).toEqual([toTenant]);

    // The leader asks every instance which sockets are in the user's room (fetchSockets).
    const devices = await fetch(`${leader.url}/api/users/${user}/devices?tenantId=${tenant}`, { headers: { 'x-api-key': API_KEY } });
    expect((await devices.json()).devices).toEqual([expect.objectContaining({ deviceId: 'phone-1', connected: true })]);
  });

  it('a socket gets its user, tenant and topic notifications in commit order, though they are different rooms', async () => {
    const tenant = newTenant('order');
    const user = uniqueUser();
    const onFollower = await connect(follower, tokenFor(user, tenant, ['feed:1']), ['feed:1']);
    const targets = [{ userId: user }, { scope: 'tenant' }, { topics: ['feed:1'] }];
    const notifications = Array.from({ length: 90 }, (_, i) => ({ kind: 'test:event', tenantId: tenant, title: `n${i}`, ...targets[i % 3] }));
    const res = await fetch(`${leader.url}/api/notify`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-api-key': API_KEY },
      body: JSON.stringify({ notifications }),
    });
    const ids = ((await res.json()) as { results: { id: string }[] }).results.map((r) => r.id);
    expect(ids).toHaveLength(90);
    await onFollower.waitForIds(ids);
    expect(onFollower.ids).toEqual(ids);
  });

  it('a POST on the follower wakes the leader’s relay at once (not after its fallback poll)', async () => {
    const tenant = newTenant('wake');
    const user = uniqueUser();
    const onLeader = await connect(leader, tokenFor(user, tenant));
    const started = Date.now();
    const id = await post(follower, { tenantId: tenant, userId: user, title: 'wake up' });
    await onLeader.waitForIds([id], RELAY_POLL_MS - 1000);
    const elapsed = Date.now() - started;
    expect(elapsed).toBeLessThan(2000);
    console.log(`redis cluster: POST on the follower → socket on the leader in ${elapsed} ms (fallback poll ${RELAY_POLL_MS} ms)`);
  });

  it('presence counts and a per-user connection limit are shared by both instances', async () => {
    const tenant = newTenant('pres');
    const [first, second] = [uniqueUser(), uniqueUser()];
    await connect(leader, tokenFor(first, tenant, ['room:1']), ['room:1']);
    await connect(follower, tokenFor(second, tenant, ['room:1']), ['room:1']);
    const presence = async (gw: RunningGateway) =>
      (await fetch(`${gw.url}/api/presence/topics/room:1?tenantId=${tenant}`, { headers: { 'x-api-key': API_KEY } })).json();
    for (const gw of [leader, follower]) {
      await until(async () => (await presence(gw)).connections === 2, 'both sockets counted');
      expect(await presence(gw)).toEqual({ topic: 'room:1', connections: 2, users: 2 });
    }

    // MAX_SOCKETS_PER_USER=2, counted in the cluster (one Lua call over two keys of one slot).
    const user = uniqueUser();
    await connect(leader, tokenFor(user, tenant));
    await connect(follower, tokenFor(user, tenant));
    for (const gw of [leader, follower]) {
      expect(await TestClient.refused(gw.url, { token: tokenFor(user, tenant) })).toEqual({ message: 'too_many_connections', data: { max: 2 } });
    }
  });

  it('prints the broadcast figure: one tenant broadcast to N sockets on two instances, one Redis vs the cluster', async () => {
    const sockets = 200;
    const rounds = 5;
    const single = await createTestBed();
    try {
      const singleEnv = { CONNECT_RATE_PER_IP: '0' };
      const onOneRedis = [await single.start(singleEnv), await single.start(singleEnv)];
      const figures: Record<string, number> = {};
      for (const [name, pair] of [['one Redis', onOneRedis], ['Redis Cluster', [leader, follower]]] as const) {
        figures[name] = await broadcastFigure(pair, sockets, rounds);
      }
      console.log(
        `broadcast to ${sockets} sockets on 2 instances, median of ${rounds} rounds, POST → last receipt: ` +
          Object.entries(figures).map(([name, ms]) => `${name} ${ms} ms`).join(', '),
      );
      for (const ms of Object.values(figures)) expect(ms).toBeLessThan(5000);
    } finally {
      await single.stopAll();
    }
  }, 90_000);

  it('a master killed mid-stream fails over; every socket gets every notification once, in order', async () => {
    const tenant = newTenant('fail');
    // The shard whose master dies carries this tenant's rooms (their channels share the tenant's slot).
    const victim = await cluster.masterOfSlot(await cluster.keyslot(tenant));
    const users = [uniqueUser(), uniqueUser(), uniqueUser()];
    const sessions = new Map<string, TestClient[]>();
    for (const user of users) sessions.set(user, [await connect(leader, tokenFor(user, tenant)), await connect(follower, tokenFor(user, tenant))]);
    const expected = new Map<string, string[]>(users.map((user) => [user, []]));

    let streaming = true;
    let sent = 0;
    const stream = (async () => {
      for (let i = 0; streaming; i++) {
        const via = i % 2 ? follower : leader;
        if (i % 5 === 4) {
          const id = await post(via, { tenantId: tenant, scope: 'tenant', title: `all ${i}` });
          for (const user of users) expected.get(user)!.push(id);
        } else {
          const user = users[i % users.length]!;
          expected.get(user)!.push(await post(via, { tenantId: tenant, userId: user, title: `stream ${i}` }));
        }
        sent += 1;
        await new Promise((resolve) => setTimeout(resolve, 10)); // a steady stream, not a burst
      }
    })();

    await until(() => sent >= 20, 'notifications before the kill');
    await cluster.kill(victim);
    await until(async () => (await readiness(follower)) === 503, 'the follower to report its subscriptions down');
    const failoverMs = await cluster.waitHealthy();
    await until(async () => (await readiness(leader)) === 200 && (await readiness(follower)) === 200, 'both instances ready again', 20_000);
    const sentAtRecovery = sent;
    await until(() => sent >= sentAtRecovery + 20, 'notifications after the failover');
    streaming = false;
    await stream;

    for (const user of users) {
      for (const client of sessions.get(user)!) {
        await client.waitForIds(expected.get(user)!, 20_000);
        expect([...new Set(client.ids)]).toEqual(expected.get(user));
      }
    }
    console.log(`redis cluster failover: master :${victim} killed, cluster ok after ${failoverMs} ms; ${sent} notifications, all delivered once and in order`);
  }, 90_000);

  // A database of its own: the stream layout moves to two partitions only with no other
  // instance leading on the database (the pair above leads on theirs).
  it('with STREAM_PARTITIONS=2 the instances lead one partition each and deliver across them', async () => {
    const partitioned = await createTestBed();
    try {
      // The long fallback poll of env(): the first instance, idle, hands a lease back
      // because the new count wakes it, not because a poll came round.
      const partitionedEnv = { ...env(), STREAM_PARTITIONS: '2' };
      const pair = [await partitioned.start(partitionedEnv), await partitioned.start(partitionedEnv)];
      const led = (g: RunningGateway) => g.gateway.relays.filter((r) => r.isLeader()).length;
      // The spread counts the instances through the sharded adapter (SHARDNUMSUB).
      await until(() => led(pair[0]!) === 1 && led(pair[1]!) === 1, 'one relay lease on each instance', RELAY_POLL_MS / 2);
      const tenantIn = (partition: number) => {
        for (let i = 0; ; i++) {
          const tenant = newTenant(`p${partition}x${i}`);
          if (partitionOf(tenant, 2) === partition) return tenant;
        }
      };
      for (const tenant of [tenantIn(0), tenantIn(1)]) {
        const user = uniqueUser();
        const onFirst = await connect(pair[0]!, tokenFor(user, tenant));
        const onSecond = await connect(pair[1]!, tokenFor(user, tenant));
        const ids = [
          await post(pair[0]!, { tenantId: tenant, userId: user, title: 'via the first' }),
          await post(pair[1]!, { tenantId: tenant, userId: user, title: 'via the second' }),
          await post(pair[0]!, { tenantId: tenant, scope: 'tenant', title: 'to everyone' }),
        ];
        for (const client of [onFirst, onSecond]) {
          await client.waitForIds(ids);
          expect(client.ids).toEqual(ids);
        }
        onFirst.close();
        onSecond.close();
      }
    } finally {
      await partitioned.stopAll();
    }
  }, 60_000);

  it('closing both instances closes every connection they opened on the cluster', async () => {
    for (const client of clients.splice(0)) client.close();
    expect(await cluster.clientConnections()).toBeGreaterThan(0);
    await leader.close();
    await follower.close();
    await until(async () => (await cluster.clientConnections()) === 0, 'no client connection left on any node');
  });
});

/** Median over `rounds` of the time from POST to the last of `n` sockets (half on each instance) receiving it. */
async function broadcastFigure(pair: readonly RunningGateway[], n: number, rounds: number): Promise<number> {
  const tenant = newTenant('bc');
  const listeners: TestClient[] = [];
  try {
    for (let i = 0; i < n; i += 20) {
      const batch = Array.from({ length: Math.min(20, n - i) }, (_, j) => TestClient.connect(pair[(i + j) % 2]!.url, { token: tokenFor(`b${i + j}`, tenant) }));
      listeners.push(...(await Promise.all(batch)));
    }
    const times: number[] = [];
    for (let round = 0; round < rounds; round++) {
      const started = Date.now();
      const id = await post(pair[round % 2]!, { tenantId: tenant, scope: 'tenant', title: `round ${round}` });
      await Promise.all(listeners.map((client) => client.waitForIds([id])));
      times.push(Date.now() - started);
    }
    return times.sort((x, y) => x - y)[Math.floor(rounds / 2)]!;
  } finally {
    for (const client of listeners) client.close();
  }
}
