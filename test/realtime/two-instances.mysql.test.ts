/** Two gateway instances on one MySQL and one Redis behave as one gateway. */
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Principal } from '../../src/auth/user-token.js';
import { ADVANCE_EVENT, RELAY_BATCH_EVENT, WAKE_EVENT } from '../../src/realtime/fanout.js';
import { SseSession } from '../http/sse-session.js';
import { deferred, type Deferred } from '../support/deferred.js';
import { until } from '../support/until.js';
import { createTestBed, notifyUser, postNotify, uniqueUser, userToken, type RunningGateway, type TestBed } from '../support/harness.js';
import { TestClient } from '../support/test-client.js';

let bed: TestBed;
let a: RunningGateway;
let b: RunningGateway;

describe('two instances joined by Redis', () => {
  beforeAll(async () => {
    bed = await createTestBed();
    a = await bed.start();
    b = await bed.start();
  });
  afterAll(() => bed.stopAll());

  it('exactly one instance holds the relay lease', async () => {
    const holders = () => [a, b].filter((g) => g.gateway.lease.isHeld()).length;
    await until(() => holders() > 0, 'a lease holder');
    expect(holders()).toBe(1);
  });

  it('a client on A receives what was POSTed to B, and the reverse', async () => {
    const user = uniqueUser();
    const onA = await TestClient.connect(a.url, { token: userToken(user) });
    const onB = await TestClient.connect(b.url, { token: userToken(user) });
    const viaB = await notifyUser(b.url, user, 'posted to B');
    const viaA = await notifyUser(a.url, user, 'posted to A');
    for (const client of [onA, onB]) {
      await client.waitForIds([viaB, viaA]);
      expect(client.ids).toEqual([viaB, viaA]);
    }
    onA.close();
    onB.close();
  });

  it('tenant broadcasts reach sessions on both instances', async () => {
    const tenant = `tb${Date.now()}`;
    const onA = await TestClient.connect(a.url, { token: userToken(uniqueUser(), tenant) });
    const onB = await TestClient.connect(b.url, { token: userToken(uniqueUser(), tenant) });
    const res = await postNotify(a.url, 'system:notice', { scope: 'tenant', tenantId: tenant, title: 'hello all' });
    await onA.waitForIds([res.body.id!]);
    await onB.waitForIds([res.body.id!]);
    onA.close();
    onB.close();
  });

  // The relay leader sends each batch to the other instances as one message
  // (realtime/relay-emits.ts): on the receiving instance it must still wait for a replay.
  it('a batch relayed by another instance is held during a replay here, then sent once, in order', async () => {
    let pause: { userId: string; reached: Deferred; resume: Deferred } | null = null;
    const follower = await bed.start(
      { REPLAY_PAGE_SIZE: '2' },
      {
        hooks: {
          replay: {
            async afterReplayPage(who: Principal) {
              const p = pause;
              if (!p || p.userId !== who.userId) return;
              pause = null;
              p.reached.resolve();
              await p.resume.promise;
            },
          },
        },
      },
    );
    expect(follower.gateway.lease.isHeld()).toBe(false); // its sockets get the relay's emits from another instance
    const leader = a.gateway.lease.isHeld() ? a : b;
    const user = uniqueUser();
    const first = await TestClient.connect(follower.url, { token: userToken(user) });
    const anchor = await notifyUser(leader.url, user, 'anchor');
    await first.waitForIds([anchor]);
    first.close();
    const missed: string[] = [];
    for (let i = 0; i < 5; i++) missed.push(await notifyUser(leader.url, user, `missed ${i}`));
    const observer = await TestClient.connect(follower.url, { token: userToken(user) });
    const settled = await notifyUser(leader.url, user, 'settled');
    await observer.waitForIds([settled]);
    missed.push(settled);

    pause = { userId: user, reached: deferred(), resume: deferred() };
    const paused = pause;
    const reconnecting = TestClient.connect(follower.url, { token: userToken(user), lastAckId: anchor });
    await paused.reached.promise; // first replay page sent, rooms joined, rest pending
    const during = await notifyUser(leader.url, user, 'committed during replay');
    await observer.waitForIds([during]); // arrived on this instance meanwhile
    paused.resume.resolve();

    const back = await reconnecting;
    await back.waitForIds([during]);
    const marker = await notifyUser(leader.url, user, 'marker');
    await back.waitForIds([marker]);
    expect(back.ids).toEqual([...missed, during, marker]);
    observer.close();
    back.close();
  });

  it('a client that left A replays on B what it missed', async () => {
    const user = uniqueUser();
    const onA = await TestClient.connect(a.url, { token: userToken(user) });
    const seen = await notifyUser(a.url, user, 'seen on A');
    await onA.waitForIds([seen]);
    onA.close();
    const missed = [await notifyUser(a.url, user, 'm1'), await notifyUser(b.url, user, 'm2')];
    const onB = await TestClient.connect(b.url, { token: userToken(user), lastAckId: seen });
    const marker = await notifyUser(a.url, user, 'marker');
    await onB.waitForIds([marker]);
    expect(onB.ids).toEqual([...missed, marker]);
    onB.close();
  });
  /** The instance leading both consumers of the one partition, and another one. */
  async function leaderAndOther(): Promise<{ leader: RunningGateway; other: RunningGateway }> {
    const leadsBoth = (g: RunningGateway) => g.gateway.relays[0]!.isLeader() && g.gateway.planners[0]!.isLeader();
    await until(() => [a, b].some(leadsBoth), 'one instance leading the relay and the planner');
    const leader = leadsBoth(a) ? a : b;
    return { leader, other: leader === a ? b : a };
  }

  it('an SSE stream on an instance that does not lead gets what the leader relayed', async () => {
    const { leader, other } = await leaderAndOther();
    const user = uniqueUser();
    const stream = await SseSession.open(`${other.url}/api/stream`, { authorization: `Bearer ${userToken(user)}` });
    try {
      await stream.waitFor(() => stream.named('synced').length > 0, 'synced');
      const ids = [await notifyUser(leader.url, user, 'relayed elsewhere 1'), await notifyUser(other.url, user, 'relayed elsewhere 2')];
      await stream.waitForIds(ids);
      expect(stream.notificationIds).toEqual(ids);
    } finally {
      stream.close();
    }
  });

  // What a notification costs the other instances (each decodes every message): its relay
  // batch, which also stands for the stream's advance, and a wake-up only when it was
  // committed away from the leaders.
  it('a notification publishes one relay-batch message, no separate advance, and a wake-up only from a non-leader', async () => {
    const { leader, other } = await leaderAndOther();
    const listener = new Redis(bed.db.redisUrl!);
    const seen: string[] = [];
    listener.on('pmessageBuffer', (_pattern: Buffer, _channel: Buffer, message: Buffer) => seen.push(message.toString('latin1')));
    await listener.psubscribe(`${bed.db.redisPrefix}:sio*`);
    const count = (event: string) => seen.filter((m) => m.includes(event)).length;
    const batchOf = (id: string) => () => seen.some((m) => m.includes(RELAY_BATCH_EVENT) && m.includes(id));
    const user = uniqueUser();
    const client = await TestClient.connect(other.url, { token: userToken(user) });
    try {
      const first = await notifyUser(leader.url, user, 'posted where the leaders are');
      await client.waitForIds([first]);
      // The leader publishes on one connection, in order: once the second batch is here, an
      // advance announced after the first would be here too.
      const second = await notifyUser(leader.url, user, 'again');
      await until(batchOf(second), 'the second relay batch');
      expect(count(ADVANCE_EVENT)).toBe(0);
      expect(count(WAKE_EVENT)).toBe(0);
      expect(count(RELAY_BATCH_EVENT)).toBe(2);

      const third = await notifyUser(other.url, user, 'posted away from the leaders');
      await until(() => batchOf(third)() && count(WAKE_EVENT) > 0, 'the third relay batch and a wake-up');
      await client.waitForIds([first, second, third]);
      expect(count(WAKE_EVENT)).toBe(1);
      expect(count(RELAY_BATCH_EVENT)).toBe(3);
      expect(count(ADVANCE_EVENT)).toBe(0);
    } finally {
      client.close();
      listener.disconnect();
    }
  });
});
