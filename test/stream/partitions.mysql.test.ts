/**
 * The partitioned stream on MariaDB, where partitions run side by side:
 * - a write transaction held open in one partition holds up neither another partition's
 *   writes nor their delivery, while the next write of its own partition waits for it
 *   (commit order per partition, one sequence row lock each);
 * - two instances split the partitions' leases (relays and planners) between them; when
 *   one instance's lease connections are KILLed, or it stops, the partitions are led again
 *   and no notification is lost;
 * - a real instance process SIGKILLed while it leads half the partitions: the other takes
 *   them over and every client gets every notification, in order (this found relay
 *   batches counted as emitted while still queued in the Redis client: the cursor moved,
 *   the process died, the batch never left);
 * - changing STREAM_PARTITIONS while another instance leads the stream is refused.
 */
import mysql from 'mysql2/promise';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { WriterHooks } from '../../src/outbox/notification-writer.js';
import type { ConsumerLease } from '../../src/stream/consumer-lease.js';
import type { MysqlLease } from '../../src/stream/mysql-lease.js';
import { partitionOf } from '../../src/stream/stream-partitions.js';
import { deferred } from '../support/deferred.js';
import { startGatewayProcess } from '../support/gateway-process.js';
import { MYSQL_URL } from '../support/drivers.js';
import { createTestBed, postNotify, uniqueUser, userToken, type RunningGateway, type TestBed } from '../support/harness.js';
import { TestClient } from '../support/test-client.js';
import { until } from '../support/until.js';

const P = 4;
let bed: TestBed;
const clients: TestClient[] = [];

beforeAll(async () => {
  bed = await createTestBed();
});
afterEach(() => {
  for (const c of clients.splice(0)) c.close();
});
afterAll(async () => {
  await bed?.stopAll();
});

/** One tenant id in each partition of P. */
function onePerPartition(label: string): string[] {
  const by: (string | undefined)[] = new Array(P).fill(undefined);
  for (let i = 0; by.some((t) => t === undefined); i++) {
    const tenant = `${label}${i}`;
    by[partitionOf(tenant, P)] ??= tenant;
  }
  return by as string[];
}

async function post(gw: RunningGateway, tenantId: string, userId: string, title: string): Promise<string> {
  const res = await postNotify(gw.url, 'test:event', { tenantId, userId, title });
  if (res.status !== 201) throw new Error(`notify failed: ${res.status} ${JSON.stringify(res.body)}`);
  return res.body.id as string;
}

/** An unlabelled gauge from an instance's /metrics. */
async function gauge(url: string, name: string): Promise<number | null> {
  const text = await (await fetch(`${url}/metrics`)).text();
  const line = text.split('\n').find((l) => l.startsWith(`${name} `));
  return line ? Number(line.split(' ')[1]) : null;
}

const heldBy = (leases: readonly ConsumerLease[]) => leases.flatMap((l, i) => (l.isHeld() ? [i] : []));

describe('partitioned stream on MariaDB', () => {
  it('a transaction held open in one partition holds up no other partition, and the next write of its own waits for it', async () => {
    let armed = false;
    const parked = { reached: deferred(), release: deferred() };
    const hooks: WriterHooks = {
      beforeCommit: async () => {
        if (!armed) return;
        armed = false;
        parked.reached.resolve();
        await parked.release.promise;
      },
    };
    const gw = await bed.start({ STREAM_PARTITIONS: String(P) }, { hooks: { writer: hooks } });
    try {
      const [held, free] = onePerPartition('lock-');
      const heldUser = uniqueUser();
      const freeUser = uniqueUser();
      const heldClient = await TestClient.connect(gw.url, { token: userToken(heldUser, held!) });
      const freeClient = await TestClient.connect(gw.url, { token: userToken(freeUser, free!) });
      clients.push(heldClient, freeClient);

      armed = true;
      const first = post(gw, held!, heldUser, 'parked before commit');
      await parked.reached.promise;
      // The other partition writes and delivers while that transaction holds its own row.
      const other = await post(gw, free!, freeUser, 'another partition');
      await freeClient.waitForIds([other]);
      // The same partition's next write waits for the parked one's row lock.
      let secondDone = false;
      const second = post(gw, held!, heldUser, 'waits for the parked one').then((id) => ((secondDone = true), id));
      await freeClient.waitForIds([await post(gw, free!, freeUser, 'still flowing')]);
      expect(secondDone).toBe(false);
      expect(heldClient.received).toHaveLength(0);

      parked.release.resolve();
      const ids = [await first, await second];
      await heldClient.waitForIds(ids);
      expect(heldClient.ids).toEqual(ids);
    } finally {
      parked.release.resolve();
      await gw.close();
    }
  });

  it('two instances split the leases; a killed or stopped leader leaves its partitions to the other and nothing is lost', async () => {
    const env = { STREAM_PARTITIONS: String(P) };
    const a = await bed.start(env);
    const b = await bed.start(env);
    const both = [a, b];
    const split = () =>
      both.every((g) => heldBy(g.gateway.streamLeases.realtime).length === P / 2 && heldBy(g.gateway.streamLeases.deliveries).length === P / 2);
    await until(async () => split(), 'each instance leads half the relays and half the planners', 15_000);
    // Each partition led by exactly one of them.
    expect([...heldBy(a.gateway.streamLeases.realtime), ...heldBy(b.gateway.streamLeases.realtime)].sort()).toEqual([0, 1, 2, 3]);

    const tenants = onePerPartition('lead-');
    const users = tenants.map(() => uniqueUser());
    for (let i = 0; i < P; i++) clients.push(await TestClient.connect(b.url, { token: userToken(users[i]!, tenants[i]!) }));
    const sent: string[][] = tenants.map(() => []);
    const sendRound = async (label: string, via: RunningGateway) => {
      for (let i = 0; i < P; i++) sent[i]!.push(await post(via, tenants[i]!, users[i]!, `${label} ${i}`));
    };

    // KILL a's lease connections on the server, posting all the while.
    await sendRound('before the kill', a);
    const admin = await mysql.createConnection({ uri: MYSQL_URL });
    try {
      for (const lease of [...a.gateway.streamLeases.realtime, ...a.gateway.streamLeases.deliveries]) {
        const id = (lease as MysqlLease).connectionId();
        if (lease.isHeld() && id !== null) await admin.query(`KILL ${Number(id)}`);
      }
    } finally {
      await admin.end();
    }
    await sendRound('during the takeover', b);
    await until(async () => split(), 'every partition led again', 15_000);
    await sendRound('after the takeover', a);
    for (let i = 0; i < P; i++) await clients[i]!.waitForIds(sent[i]!);

    // a stops: b leads every partition.
    await a.close();
    await sendRound('a stopped', b);
    await until(async () => heldBy(b.gateway.streamLeases.realtime).length === P && heldBy(b.gateway.streamLeases.deliveries).length === P, 'b leads all', 15_000);
    await sendRound('b alone', b);
    for (let i = 0; i < P; i++) {
      await clients[i]!.waitForIds(sent[i]!);
      // Every one in write order; a takeover may emit a batch twice, never skip or reorder.
      const firstSeen = clients[i]!.ids.filter((id, k, all) => all.indexOf(id) === k);
      expect(firstSeen).toEqual(sent[i]);
    }
    await b.close();
  });

  it('an instance process SIGKILLed while it leads half the partitions: the other takes them over, nothing is lost', async () => {
    const env = { STREAM_PARTITIONS: String(P) };
    const doomed = await startGatewayProcess(bed.db, env);
    const survivor = await bed.start(env);
    try {
      const relaysLed = async () => gauge(doomed.url, 'notify_relay_leader');
      await until(async () => (await relaysLed()) === P / 2 && heldBy(survivor.gateway.streamLeases.realtime).length === P / 2, 'the partitions split', 15_000);
      const tenants = onePerPartition('kill-');
      const users = tenants.map(() => uniqueUser());
      const mine: TestClient[] = [];
      for (let i = 0; i < P; i++) mine.push(await TestClient.connect(survivor.url, { token: userToken(users[i]!, tenants[i]!) }));
      clients.push(...mine);
      const sent: string[][] = tenants.map(() => []);
      // Posting to the survivor without pause while the other instance dies.
      let posting = true;
      const poster = (async () => {
        for (let round = 0; posting || round < 5; round++) {
          for (let i = 0; i < P; i++) sent[i]!.push(await post(survivor, tenants[i]!, users[i]!, `round ${round}`));
        }
      })();
      await until(async () => sent[0]!.length >= 5, 'posting under way');
      await doomed.kill('SIGKILL');
      await until(async () => heldBy(survivor.gateway.streamLeases.realtime).length === P, 'the survivor leads every partition', 15_000);
      posting = false;
      await poster;
      for (let i = 0; i < P; i++) {
        await mine[i]!.waitForIds(sent[i]!);
        const firstSeen = mine[i]!.ids.filter((id, k, all) => all.indexOf(id) === k);
        expect(firstSeen).toEqual(sent[i]);
      }
    } finally {
      await doomed.stop();
      await survivor.close();
    }
  });

  it('refuses another partition count while a running instance leads the stream', async () => {
    const running = await bed.start({ STREAM_PARTITIONS: String(P) });
    try {
      await until(async () => heldBy(running.gateway.streamLeases.realtime).length > 0, 'a lease held');
      await expect(bed.start({ STREAM_PARTITIONS: '2' })).rejects.toThrow(/stop every instance/);
      // Nothing changed: the running instance writes on.
      expect(await running.gateway.store.streamLayout.partitions()).toBe(P);
      expect((await postNotify(running.url, 'test:event', { userId: uniqueUser(), title: 'still ok' })).status).toBe(201);
    } finally {
      await running.close();
    }
  });
});
