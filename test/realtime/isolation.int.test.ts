/**
 * Isolation: a user is (tenant, user id), compared exactly. No live event, replay cursor
 * or ack lets one user see or touch another's notifications; a tenant-bound API key
 * notifies only its tenant; a tenant broadcast stays in its tenant.
 */
import { describe, expect, it } from 'vitest';
import { randomName } from '../support/drivers.js';
import {
  ACME_KEY,
  notifyUser,
  postNotify,
  uniqueUser,
  userToken,
} from '../support/harness.js';
import { countRows } from '../support/store-probe.js';
import { until } from '../support/until.js';
import { flushWith } from '../support/test-client.js';
import { useGateway } from '../support/gateway-suite.js';

const suite = useGateway();
const connect = suite.connect;

const marker = (user: string, tenantId = 'default') => () => notifyUser(suite.gw.url, user, 'marker', { tenantId });

async function ackedAt(tenantId: string, userId: string, messageId: string): Promise<unknown> {
  const row = await suite.gw.gateway.store.db('notify_inbox')
    .where({ tenant_id: tenantId, user_id: userId, message_id: messageId })
    .first<{ acked_at: unknown } | undefined>('acked_at');
  if (!row) throw new Error(`no inbox row for ${tenantId}/${userId}/${messageId}`);
  return row.acked_at;
}

describe('one user never reaches another user’s notifications', () => {
  it('B does not receive A’s notification live', async () => {
    const [userA, userB] = [uniqueUser('a'), uniqueUser('b')];
    const a = await connect(suite.gw.url, { token: userToken(userA) });
    const b = await connect(suite.gw.url, { token: userToken(userB) });
    const forA = await notifyUser(suite.gw.url, userA, 'for A only');
    await a.waitForIds([forA]);
    await flushWith(b, marker(userB));
    expect(b.ids).not.toContain(forA);
  });

  it('B reconnecting with lastAckId = one of A’s ids gets recovered:false and nothing replayed', async () => {
    const [userA, userB] = [uniqueUser('a'), uniqueUser('b')];
    const a = await connect(suite.gw.url, { token: userToken(userA) });
    const aIds = [await notifyUser(suite.gw.url, userA, 'A 1')];
    await a.waitForIds(aIds); // positioned by the relay: a valid cursor for A
    aIds.push(await notifyUser(suite.gw.url, userA, 'A 2'), await notifyUser(suite.gw.url, userA, 'A 3'));
    await a.waitForIds(aIds);

    const b = await connect(suite.gw.url, { token: userToken(userB), lastAckId: aIds[0]! });
    expect(b.synced).toEqual([{ replayed: 0, recovered: false }]);
    // Control: A itself resumes from the same id and gets the rest.
    const aAgain = await connect(suite.gw.url, { token: userToken(userA), lastAckId: aIds[0]! });
    expect(aAgain.synced).toEqual([{ replayed: 2, recovered: true }]);

    await flushWith(b, marker(userB));
    expect(b.ids).toHaveLength(1);
  });

  it('B acking A’s id leaves A’s inbox row unacked; A’s own ack sets it', async () => {
    const [userA, userB] = [uniqueUser('a'), uniqueUser('b')];
    const a = await connect(suite.gw.url, { token: userToken(userA) });
    const b = await connect(suite.gw.url, { token: userToken(userB) });
    const forA = await notifyUser(suite.gw.url, userA, 'for A');
    const forB = await notifyUser(suite.gw.url, userB, 'for B');
    await a.waitForIds([forA]);
    await b.waitForIds([forB]);

    // One ack, one UPDATE: once B's own row is acked, the whole ack has been applied.
    b.ack([forA, forB]);
    await until(async () => (await ackedAt('default', userB, forB)) !== null, 'B’s ack of its own id');
    expect(await ackedAt('default', userA, forA)).toBeNull();

    a.ack([forA]);
    await until(async () => (await ackedAt('default', userA, forA)) !== null, 'A’s ack');
  });

  it('the same user id in two tenants is two users', async () => {
    const user = uniqueUser();
    const [t1, t2] = [randomName('t1'), randomName('t2')];
    const in1 = await connect(suite.gw.url, { token: userToken(user, t1) });
    const in2 = await connect(suite.gw.url, { token: userToken(user, t2) });
    const forT1 = await notifyUser(suite.gw.url, user, 'tenant 1', { tenantId: t1 });
    await in1.waitForIds([forT1]);
    await flushWith(in2, marker(user, t2));
    expect(in2.ids).not.toContain(forT1);

    const resumed = await connect(suite.gw.url, { token: userToken(user, t2), lastAckId: forT1 });
    expect(resumed.synced).toEqual([{ replayed: 0, recovered: false }]);
    const own = await marker(user, t2)();
    await in2.waitForIds([own]);
    in2.ack([forT1, own]);
    await until(async () => (await ackedAt(t2, user, own)) !== null, 'the tenant-2 ack');
    expect(await ackedAt(t1, user, forT1)).toBeNull();
  });

  it('user ids that differ only by case are different users', async () => {
    const base = randomName('alice-');
    const [upper, lower] = [base.replace(/^a/, 'A'), base];
    const up = await connect(suite.gw.url, { token: userToken(upper) });
    const low = await connect(suite.gw.url, { token: userToken(lower) });

    const forUpper = await notifyUser(suite.gw.url, upper, 'for Alice');
    await up.waitForIds([forUpper]);
    await flushWith(low, marker(lower));
    expect(low.ids).not.toContain(forUpper);

    const inbox = await suite.gw.gateway.store.db('notify_inbox').where({ message_id: forUpper }).select('user_id');
    expect(inbox).toEqual([{ user_id: upper }]);
    const forLower = await notifyUser(suite.gw.url, lower, 'for alice');
    await low.waitForIds([forLower]);
    low.ack([forUpper, forLower]);
    await until(async () => (await ackedAt('default', lower, forLower)) !== null, 'lower-case ack');
    expect(await ackedAt('default', upper, forUpper)).toBeNull();

    const resumed = await connect(suite.gw.url, { token: userToken(lower), lastAckId: forUpper });
    expect(resumed.synced).toEqual([{ replayed: 0, recovered: false }]);
  });
});

describe('tenant-bound API keys', () => {
  it('cannot notify another tenant: 403 FORBIDDEN_TENANT, nothing written', async () => {
    const before = await countRows(suite.gw.gateway.store.db);
    for (const body of [
      { userId: uniqueUser(), tenantId: 'other', title: 'nope' },
      { scope: 'tenant', tenantId: 'other', title: 'nope' },
    ]) {
      const res = await postNotify(suite.gw.url, 'test:event', body, { key: ACME_KEY });
      expect(res.status).toBe(403);
      expect(res.body.error?.code).toBe('FORBIDDEN_TENANT');
    }
    const after = await countRows(suite.gw.gateway.store.db);
    expect({ messages: after.messages, inbox: after.inbox }).toEqual({ messages: before.messages, inbox: before.inbox });
    expect(await suite.gw.gateway.store.db('notify_messages').where({ tenant_id: 'other' }).first()).toBeUndefined();
  });

  it('notifies its own tenant with and without tenantId', async () => {
    const user = uniqueUser();
    const inAcme = await connect(suite.gw.url, { token: userToken(user, 'acme') });
    const inDefault = await connect(suite.gw.url, { token: userToken(user) });
    const explicit = await postNotify(suite.gw.url, 'test:event', { userId: user, tenantId: 'acme', title: 'explicit' }, { key: ACME_KEY });
    const implicit = await postNotify(suite.gw.url, 'test:event', { userId: user, title: 'implicit' }, { key: ACME_KEY });
    expect([explicit.status, implicit.status]).toEqual([201, 201]);

    const ids = [explicit.body.id!, implicit.body.id!];
    const rows: { tenant_id: string }[] = await suite.gw.gateway.store.db('notify_messages').whereIn('id', ids).select('tenant_id');
    expect(rows.map((r) => r.tenant_id)).toEqual(['acme', 'acme']);
    await inAcme.waitForIds(ids);
    await flushWith(inDefault, marker(user));
    expect(inDefault.ids.filter((id) => ids.includes(id))).toEqual([]);
  });
});

describe('tenant broadcasts', () => {
  it('reach the tenant and never another tenant, live or on replay', async () => {
    const [t1, t2] = [randomName('b1'), randomName('b2')];
    const user = uniqueUser();
    const in1 = await connect(suite.gw.url, { token: userToken(user, t1) });
    const in2 = await connect(suite.gw.url, { token: userToken(user, t2) });
    const other2 = await connect(suite.gw.url, { token: userToken(uniqueUser(), t2) });

    const cast = await postNotify(suite.gw.url, 'system:maintenance', { scope: 'tenant', tenantId: t1, title: 'Maintenance' });
    expect(cast.status).toBe(201);
    await in1.waitForIds([cast.body.id!]);
    const castMarker = () =>
      postNotify(suite.gw.url, 'system:maintenance', { scope: 'tenant', tenantId: t2, title: 'marker' }).then((r) => r.body.id!);
    const m = await castMarker();
    await in2.waitForIds([m]);
    await other2.waitForIds([m]);
    expect([...in2.ids, ...other2.ids]).not.toContain(cast.body.id);

    const resumed = await connect(suite.gw.url, { token: userToken(user, t2), lastAckId: cast.body.id! });
    expect(resumed.synced).toEqual([{ replayed: 0, recovered: false }]);
  });
});
