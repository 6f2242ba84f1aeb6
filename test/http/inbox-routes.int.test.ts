/**
 * The notification-center REST API: history merged with tenant broadcasts, stable
 * cursors, unread count, mark read / read all with their echo, the polling stream, and
 * the owner check on every row.
 */
import { describe, expect, it } from 'vitest';
import { notifyUser, postNotify, signToken, uniqueUser, userToken } from '../support/harness.js';
import { TestClient } from '../support/test-client.js';
import { useGateway } from '../support/gateway-suite.js';

const suite = useGateway();
const clients = suite.clients;

async function api(method: 'GET' | 'POST', path: string, token: string | null) {
  const res = await fetch(`${suite.gw.url}${path}`, { method, headers: token ? { authorization: `Bearer ${token}` } : {} });
  return { status: res.status, body: (await res.json()) as Record<string, any>, headers: res.headers };
}

/** A connected session of the user: sees every notification once the relay sequenced it. */
async function session(user: string, tenant = 'default') {
  const client = await TestClient.connect(suite.gw.url, { token: userToken(user, tenant) });
  clients.push(client);
  const reads: { ids: string[]; all?: boolean }[] = [];
  client.socket.on('notification:read', (change: { ids: string[] }) => reads.push(change));
  return { client, reads };
}

async function broadcast(tenantId: string, title: string) {
  const res = await postNotify(suite.gw.url, 'system:notice', { scope: 'tenant', tenantId, title });
  expect(res.status).toBe(201);
  return res.body.id!;
}

describe('GET /api/notifications', () => {
  it('merges the user rows with tenant broadcasts, newest first, and pages with a stable cursor', async () => {
    const tenant = `t${Date.now()}a`;
    const user = uniqueUser();
    const { client } = await session(user, tenant);
    const ids: string[] = [];
    for (let i = 0; i < 5; i++) {
      ids.push(i % 2 === 0 ? await notifyUser(suite.gw.url, user, `own ${i}`, { tenantId: tenant }) : await broadcast(tenant, `all ${i}`));
    }
    await client.waitForIds(ids);
    const token = userToken(user, tenant);

    const first = await api('GET', '/api/notifications?limit=2', token);
    expect(first.status).toBe(200);
    expect(first.headers.get('cache-control')).toContain('no-store');
    expect(first.body.items.map((n: { id: string }) => n.id)).toEqual([ids[4], ids[3]]);
    expect(first.body.items[0]).toMatchObject({ id: ids[4], scope: 'user', read: false, readAt: null, title: 'own 4' });
    expect(first.body.items[1]).toMatchObject({ scope: 'tenant', read: false });

    // A newer notification arriving between pages must not shift the next page.
    const newer = await notifyUser(suite.gw.url, user, 'newer', { tenantId: tenant });
    await client.waitForIds([newer]);
    const second = await api('GET', `/api/notifications?limit=2&cursor=${first.body.nextCursor}`, token);
    expect(second.body.items.map((n: { id: string }) => n.id)).toEqual([ids[2], ids[1]]);
    const third = await api('GET', `/api/notifications?limit=2&cursor=${second.body.nextCursor}`, token);
    expect(third.body).toEqual({ items: [expect.objectContaining({ id: ids[0] })], nextCursor: null });
  });

  it('filters unread and counts them, broadcasts included', async () => {
    const tenant = `t${Date.now()}b`;
    const user = uniqueUser();
    const { client } = await session(user, tenant);
    const own = await notifyUser(suite.gw.url, user, 'own', { tenantId: tenant });
    const shared = await broadcast(tenant, 'shared');
    await client.waitForIds([own, shared]);
    const token = userToken(user, tenant);
    expect((await api('GET', '/api/notifications/unread-count', token)).body).toEqual({ count: 2, unseen: 2 });
    expect((await api('POST', `/api/notifications/${own}/read`, token)).status).toBe(200);
    const unread = await api('GET', '/api/notifications?unread=1', token);
    expect(unread.body.items.map((n: { id: string }) => n.id)).toEqual([shared]);
    expect((await api('GET', '/api/notifications/unread-count', token)).body).toEqual({ count: 1, unseen: 1 });
  });

  it('rejects a missing or expired token and a forged cursor', async () => {
    expect((await api('GET', '/api/notifications', null)).status).toBe(401);
    const expired = signToken({ sub: 'someone' }, { expiresIn: -10 });
    const res = await api('GET', '/api/notifications/unread-count', expired);
    expect(res.status).toBe(401);
    expect(res.body.error.code).toBe('UNAUTHORIZED');
    expect(res.headers.get('www-authenticate')).toContain('invalid_token');
    const bad = await api('GET', '/api/notifications?cursor=bm9wZQ', userToken(uniqueUser()));
    expect(bad.status).toBe(400);
    expect(bad.body.error.code).toBe('VALIDATION_FAILED');
  });
});

describe('marking read', () => {
  it('marks one read, is idempotent, and echoes notification:read to every session of the user', async () => {
    const user = uniqueUser();
    const tabA = await session(user);
    const tabB = await session(user);
    const id = await notifyUser(suite.gw.url, user, 'read me');
    await tabA.client.waitForIds([id]);
    const token = userToken(user);
    expect((await api('POST', `/api/notifications/${id}/read`, token)).body).toEqual({ id, read: true, changed: true });
    await tabB.client.waitFor(() => tabB.reads.length === 1, 'read echo');
    expect(tabB.reads[0]).toEqual({ ids: [id] });
    expect((await api('POST', `/api/notifications/${id}/read`, token)).body).toEqual({ id, read: true, changed: false });
    const [item] = (await api('GET', '/api/notifications', token)).body.items;
    expect(item).toMatchObject({ id, read: true, readAt: expect.stringMatching(/^\d{4}-/) });
  });

  it('keeps broadcast read state per user, and a read broadcast is still replayed once', async () => {
    const tenant = `t${Date.now()}c`;
    const [alice, bob] = [uniqueUser(), uniqueUser()];
    const a = await session(alice, tenant);
    const before = await notifyUser(suite.gw.url, alice, 'anchor', { tenantId: tenant });
    const shared = await broadcast(tenant, 'for everyone');
    await a.client.waitForIds([before, shared]);
    expect((await api('POST', `/api/notifications/${shared}/read`, userToken(alice, tenant))).body.changed).toBe(true);
    expect((await api('GET', '/api/notifications/unread-count', userToken(bob, tenant))).body).toEqual({ count: 1, unseen: 1 });
    const bobList = await api('GET', '/api/notifications', userToken(bob, tenant));
    expect(bobList.body.items).toEqual([expect.objectContaining({ id: shared, read: false })]);

    const back = await TestClient.connect(suite.gw.url, { token: userToken(alice, tenant), lastAckId: before });
    clients.push(back);
    expect(back.synced[0]).toEqual({ replayed: 1, recovered: true });
    expect(back.ids).toEqual([shared]);
  });

  it('read-all marks rows and broadcasts, echoes them, and leaves the count at zero', async () => {
    const tenant = `t${Date.now()}d`;
    const user = uniqueUser();
    const tab = await session(user, tenant);
    const ids = [await notifyUser(suite.gw.url, user, 'one', { tenantId: tenant }), await broadcast(tenant, 'two')];
    await tab.client.waitForIds(ids);
    const token = userToken(user, tenant);
    expect((await api('POST', '/api/notifications/read-all', token)).body).toEqual({ marked: 2 });
    await tab.client.waitFor(() => tab.reads.length === 1, 'read-all echo');
    expect(tab.reads[0]).toMatchObject({ all: true, until: expect.any(String) });
    expect([...tab.reads[0]!.ids].sort()).toEqual([...ids].sort());
    expect((await api('GET', '/api/notifications/unread-count', token)).body).toEqual({ count: 0, unseen: 0 });
    expect((await api('POST', '/api/notifications/read-all', token)).body).toEqual({ marked: 0 });
  });
});

describe('owner checks', () => {
  it('user B can neither see nor mark user A’s rows; another tenant is invisible', async () => {
    const tenant = `t${Date.now()}e`;
    const [alice, bob] = [uniqueUser(), uniqueUser()];
    const a = await session(alice, tenant);
    const mine = await notifyUser(suite.gw.url, alice, 'private', { tenantId: tenant });
    const otherTenant = `${tenant}x`;
    const outsider = await session(uniqueUser(), otherTenant);
    const foreign = await broadcast(otherTenant, 'other tenant');
    await a.client.waitForIds([mine]);
    await outsider.client.waitForIds([foreign]);

    const bobToken = userToken(bob, tenant);
    expect((await api('POST', `/api/notifications/${mine}/read`, bobToken)).status).toBe(404);
    expect((await api('POST', `/api/notifications/${foreign}/read`, bobToken)).status).toBe(404);
    // Same user id in the other tenant is another user.
    expect((await api('POST', `/api/notifications/${mine}/read`, userToken(alice, otherTenant))).status).toBe(404);
    expect((await api('GET', '/api/notifications', bobToken)).body.items).toEqual([]);
    expect((await api('GET', `/api/notifications?after=${mine}`, bobToken)).body).toMatchObject({ items: [], recovered: false });
    await api('POST', '/api/notifications/read-all', bobToken);
    const aliceView = await api('GET', '/api/notifications', userToken(alice, tenant));
    expect(aliceView.body.items).toEqual([expect.objectContaining({ id: mine, read: false })]);
    expect(a.reads).toEqual([]);
  });
});

describe('stream mode (?after=) for polling clients', () => {
  it('answers the head, then what follows a position in commit order', async () => {
    const user = uniqueUser();
    const token = userToken(user);
    expect((await api('GET', '/api/notifications?after=', token)).body).toEqual({ items: [], lastId: null, recovered: false });
    const { client } = await session(user);
    const ids = [await notifyUser(suite.gw.url, user, 'a'), await notifyUser(suite.gw.url, user, 'b'), await notifyUser(suite.gw.url, user, 'c')];
    await client.waitForIds(ids);
    expect((await api('GET', '/api/notifications?after=', token)).body).toEqual({ items: [], lastId: ids[2], recovered: false });
    const fromStart = await api('GET', '/api/notifications?after=start&limit=2', token);
    expect(fromStart.body.items.map((n: { id: string }) => n.id)).toEqual(ids.slice(0, 2));
    expect(fromStart.body).toMatchObject({ lastId: ids[1], recovered: true });
    const rest = await api('GET', `/api/notifications?after=${fromStart.body.lastId}`, token);
    expect(rest.body).toEqual({ items: [expect.objectContaining({ id: ids[2] })], lastId: ids[2], recovered: true });
    expect((await api('GET', '/api/notifications?after=x&cursor=y', token)).status).toBe(400);
  });
});
