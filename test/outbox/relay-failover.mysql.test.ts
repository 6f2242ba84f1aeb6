/**
 * No loss when the relay dies mid-batch: the holder is stopped after it committed
 * positions (before or after emitting) and its lease connection is KILLed on the MySQL
 * server; the other instance takes the lease and re-emits what was not marked done.
 */
import mysql from 'mysql2/promise';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RelayHooks } from '../../src/outbox/outbox-relay.js';
import type { MysqlLease } from '../../src/stream/mysql-lease.js';
import { deferred, type Deferred } from '../support/deferred.js';
import { MYSQL_URL } from '../support/drivers.js';
import { createTestBed, notifyUser, uniqueUser, userToken, type RunningGateway, type TestBed } from '../support/harness.js';
import { TestClient } from '../support/test-client.js';

type Step = 'beforeEmit' | 'afterEmit';
interface Trap {
  step: Step;
  reached: Deferred;
  release: Deferred;
}

let bed: TestBed;
const traps = new Map<RunningGateway, Trap | null>();
const allTraps: Trap[] = [];
let gateways: RunningGateway[] = [];

/** Hooks for one instance: park the relay at `step` when a trap is armed for it. */
function trapHooks(self: () => RunningGateway | undefined): RelayHooks {
  const park = async (step: Step) => {
    const me = self();
    const trap = me ? traps.get(me) : null;
    if (!me || !trap || trap.step !== step) return;
    traps.set(me, null);
    trap.reached.resolve();
    await trap.release.promise;
  };
  return { beforeEmit: () => park('beforeEmit'), afterEmit: () => park('afterEmit') };
}

async function killLeaseConnection(holder: RunningGateway) {
  const threadId = (holder.gateway.lease as MysqlLease).connectionId();
  expect(threadId).not.toBeNull();
  const admin = await mysql.createConnection({ uri: MYSQL_URL });
  await admin.query(`KILL ${Number(threadId)}`);
  await admin.end();
}

describe('relay failover', () => {
  beforeAll(async () => {
    bed = await createTestBed();
    for (let i = 0; i < 2; i++) {
      let me: RunningGateway | undefined;
      me = await bed.start({}, { hooks: { relay: trapHooks(() => me) } });
      gateways.push(me);
    }
  });
  afterAll(async () => {
    for (const trap of allTraps) trap.release.resolve();
    await bed.stopAll();
  });

  const holder = () => gateways.find((g) => g.gateway.lease.isHeld());

  for (const step of ['beforeEmit', 'afterEmit'] as const) {
    it(`holder dies ${step === 'beforeEmit' ? 'after reading its batch, before emitting' : 'between emit and mark'}: nothing is lost`, async () => {
      const user = uniqueUser();
      const client = await TestClient.connect(gateways[0]!.url, { token: userToken(user) });
      const warmup = await notifyUser(gateways[1]!.url, user, 'warm-up');
      await client.waitForIds([warmup]);

      const old = holder();
      expect(old).toBeDefined();
      const trap: Trap = { step, reached: deferred(), release: deferred() };
      traps.set(old!, trap);
      allTraps.push(trap);
      const stuck = await notifyUser(old!.url, user, 'stuck in the dying relay');
      await trap.reached.promise;

      const killedAt = Date.now();
      await killLeaseConnection(old!);
      // beforeEmit: nobody got it yet. afterEmit: it was delivered once; the new holder
      // must emit it again (at-least-once; clients drop the duplicate by id).
      const copies = step === 'beforeEmit' ? 1 : 2;
      await client.waitFor(() => client.ids.filter((id) => id === stuck).length >= copies, `${copies} copies`);
      const takeoverMs = Date.now() - killedAt;
      const next = holder();
      expect(next).toBeDefined();
      expect(next).not.toBe(old);

      const after = await notifyUser(old!.url, user, 'after takeover');
      await client.waitForIds([after]);
      const unique = [...new Set(client.ids)];
      expect(unique).toEqual([warmup, stuck, after]);
      console.log(`relay failover (${step}): re-delivered ${takeoverMs} ms after the lease connection was killed`);

      trap.release.resolve(); // the old holder wakes up; its late emit is a duplicate at most
      client.close();
    });
  }
});
