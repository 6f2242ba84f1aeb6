/**
 * Redis dies and comes back while notifications keep arriving. MySQL is the source of
 * truth: POSTs keep committing, /readyz reports Redis down meanwhile, and once Redis is
 * back every connected session gets what it missed — in order, none lost — also the
 * ones committed right as Redis returns, when live broadcasts race the resync.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestBed, notifyUser, uniqueUser, userToken, type RunningGateway, type TestBed } from '../support/harness.js';
import { RedisServer } from '../support/redis-server.js';
import { TestClient } from '../support/test-client.js';
import { until } from '../support/until.js';

let bed: TestBed;
let redis: RedisServer;
let gateways: RunningGateway[];

const readiness = async (gw: RunningGateway) => (await fetch(`${gw.url}/readyz`)).status;

describe('Redis outage', () => {
  beforeAll(async () => {
    redis = await RedisServer.start();
    bed = await createTestBed();
    gateways = [await bed.start({ REDIS_URL: redis.url }), await bed.start({ REDIS_URL: redis.url })];
    await until(() => gateways.some((g) => g.gateway.lease.isHeld()), 'a relay lease holder');
  });
  afterAll(async () => {
    await bed.stopAll();
    await redis.destroy();
  });

  it('keeps committing, reports not ready, then delivers everything in order once Redis is back', async () => {
    const leader = gateways.find((g) => g.gateway.lease.isHeld())!;
    const follower = gateways.find((g) => g !== leader)!;
    const user = uniqueUser();
    // On the follower, every notification needs Redis to arrive live.
    const client = await TestClient.connect(follower.url, { token: userToken(user) });
    const before = await notifyUser(leader.url, user, 'before the outage');
    await client.waitForIds([before]);

    // A steady stream across the outage and the restore, to both instances.
    const sent: string[] = [];
    let streaming = true;
    const stream = (async () => {
      for (let i = 0; streaming; i++) {
        sent.push(await notifyUser(i % 2 ? follower.url : leader.url, user, `stream ${i}`));
        await new Promise((resolve) => setTimeout(resolve, 15));
      }
    })();

    await redis.stop('SIGKILL');
    await until(async () => (await readiness(follower)) === 503, 'follower /readyz to report Redis down');
    const sentAtKill = sent.length;
    await until(() => sent.length >= sentAtKill + 5, 'commits while Redis is down');
    const restartedAt = Date.now();
    await redis.restart();
    await until(async () => (await readiness(follower)) === 200, 'follower /readyz to recover');
    const sentAtRecovery = sent.length;
    await until(() => sent.length >= sentAtRecovery + 10, 'commits after the restore');
    streaming = false;
    await stream;

    await client.waitForIds(sent, 20_000);
    const recoveryMs = Date.now() - restartedAt;
    const after = await notifyUser(leader.url, user, 'after the outage');
    await client.waitForIds([after]);
    expect([...new Set(client.ids)]).toEqual([before, ...sent, after]);
    console.log(`redis outage: ${sent.length} committed across it, all delivered in order ${recoveryMs} ms after restart`);
    client.close();
  });
});
