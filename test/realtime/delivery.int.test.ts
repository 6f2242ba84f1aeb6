import { describe, expect, it } from 'vitest';
import { notifyUser, postNotify, uniqueUser, userToken } from '../support/harness.js';
import { useGateway } from '../support/gateway-suite.js';

const suite = useGateway();
const connect = suite.connect;

describe('live delivery', () => {
  it('reaches every open session of the recipient, with the contract fields', async () => {
    const user = uniqueUser();
    const tabs = await Promise.all([1, 2, 3].map(() => connect(suite.gw.url, { token: userToken(user) })));
    const res = await postNotify(suite.gw.url, 'task:completed', {
      userId: user,
      title: 'Build finished',
      body: 'main is green',
      data: { build: 42 },
      priority: 'high',
    });
    expect(res.status).toBe(201);
    expect(res.body).toEqual({ id: expect.any(String), deduped: false, recipients: 1 });
    for (const tab of tabs) await tab.waitForIds([res.body.id!]);
    expect(tabs[0]!.received[0]).toEqual({
      id: res.body.id,
      kind: 'task:completed',
      title: 'Build finished',
      body: 'main is green',
      data: { build: 42 },
      priority: 'high',
      scope: 'user',
      tenantId: 'default',
      createdAt: expect.stringMatching(/^\d{4}-\d\d-\d\dT/),
    });
    expect(tabs.map((t) => t.received.length)).toEqual([1, 1, 1]);
  });

  it('delivers to every listed user once, also when a user id is repeated', async () => {
    const users = [uniqueUser(), uniqueUser()];
    const [a, b] = await Promise.all(users.map((u) => connect(suite.gw.url, { token: userToken(u) })));
    const res = await postNotify(suite.gw.url, 'quota:low', { userIds: [users[0], users[1], users[0]], title: 'Quota low' });
    expect(res.body.recipients).toBe(2);
    await a!.waitForIds([res.body.id!]);
    await b!.waitForIds([res.body.id!]);
    const marker = await notifyUser(suite.gw.url, users[0]!, 'marker');
    await a!.waitForIds([marker]);
    expect(a!.ids.filter((id) => id === res.body.id)).toHaveLength(1);
  });

  it('scope "tenant" reaches every session of the tenant and nobody in another tenant', async () => {
    const tenant = `t${Date.now()}`;
    const inTenant = await Promise.all([uniqueUser(), uniqueUser()].map((u) => connect(suite.gw.url, { token: userToken(u, tenant) })));
    const outsider = await connect(suite.gw.url, { token: userToken(uniqueUser(), `${tenant}x`) });
    const res = await postNotify(suite.gw.url, 'system:maintenance', { scope: 'tenant', tenantId: tenant, title: 'Maintenance at 22:00' });
    expect(res.status).toBe(201);
    for (const c of inTenant) await c.waitForIds([res.body.id!]);
    const outsiderMarker = await postNotify(suite.gw.url, 'system:maintenance', { scope: 'tenant', tenantId: `${tenant}x`, title: 'marker' });
    await outsider.waitForIds([outsiderMarker.body.id!]);
    expect(outsider.ids).not.toContain(res.body.id);
  });
});

describe('reconnect and replay', () => {
  it('gives an offline client exactly what it missed, in order, once, then notify:synced', async () => {
    const user = uniqueUser();
    const first = await connect(suite.gw.url, { token: userToken(user) });
    const seen = await notifyUser(suite.gw.url, user, 'seen');
    await first.waitForIds([seen]);
    first.close();

    const missed: string[] = [];
    for (let i = 0; i < 7; i++) missed.push(await notifyUser(suite.gw.url, user, `missed ${i}`));

    const back = await connect(suite.gw.url, { token: userToken(user), lastAckId: seen });
    expect(back.synced[0]?.recovered).toBe(true);
    // The relay may still be sequencing the last ones: those arrive live, after the replay.
    const marker = await notifyUser(suite.gw.url, user, 'marker');
    await back.waitForIds([marker]);
    expect(back.ids).toEqual([...missed, marker]);
  });

  it('pages through long gaps (more than one replay page)', async () => {
    const small = await suite.bed.start({ REPLAY_PAGE_SIZE: '3' });
    const user = uniqueUser();
    const anchor = await notifyUser(small.url, user, 'anchor');
    const missed: string[] = [];
    for (let i = 0; i < 10; i++) missed.push(await notifyUser(small.url, user, `missed ${i}`));
    // The relay must have sequenced them before a replay can see them.
    const watcher = await connect(small.url, { token: userToken(user) });
    await postNotify(small.url, 'test:event', { userId: user, title: 'tail' }).then((r) => watcher.waitForIds([r.body.id!]));
    const back = await connect(small.url, { token: userToken(user), lastAckId: anchor });
    expect(back.synced[0]).toMatchObject({ recovered: true, replayed: 11 });
    expect(back.ids.slice(0, 10)).toEqual(missed);
    await small.close();
  });

  it('answers recovered:false for an unknown lastAckId, and for none at all', async () => {
    const user = uniqueUser();
    const unknown = await connect(suite.gw.url, { token: userToken(user), lastAckId: '01900000-0000-7000-8000-000000000000' });
    expect(unknown.synced).toEqual([{ replayed: 0, recovered: false }]);
    const fresh = await connect(suite.gw.url, { token: userToken(user) });
    expect(fresh.synced).toEqual([{ replayed: 0, recovered: false }]);
  });

  it('answers recovered:false when lastAckId is older than the replay retention', async () => {
    const user = uniqueUser();
    const live = await connect(suite.gw.url, { token: userToken(user) });
    const old = await notifyUser(suite.gw.url, user, 'old');
    await live.waitForIds([old]);
    const back = await suite.gw.gateway.store.db('notify_messages').where({ id: old }).update({
      created_at: Date.now() - (suite.gw.gateway.config.REPLAY_RETENTION_HOURS + 1) * 3600_000,
    });
    expect(back).toBe(1);
    await notifyUser(suite.gw.url, user, 'after');
    const client = await connect(suite.gw.url, { token: userToken(user), lastAckId: old });
    expect(client.synced).toEqual([{ replayed: 0, recovered: false }]);
  });
});
