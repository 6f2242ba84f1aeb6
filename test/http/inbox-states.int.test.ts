/**
 * Notification-center states beyond read: seen (by ids and up to a time), archived, the
 * list filters and counts over them, broadcast state per user, the owner check, cursor
 * paging under a filter, and the echo of every change to the user's other sessions
 * (socket and SSE) and to no one else.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { notifyUser, postNotify, uniqueUser, userToken } from '../support/harness.js';
import { Conditions } from '../support/conditions.js';
import { useGateway } from '../support/gateway-suite.js';
import { until } from '../support/until.js';
import { SseSession } from './sse-session.js';

const suite = useGateway();
const sseSessions: SseSession[] = [];
afterAll(() => sseSessions.forEach((s) => s.close()));

type Item = { id: string; read: boolean; seen: boolean; archived: boolean; archivedAt: string | null; createdAt: string };
type Body = Record<string, any>;

async function api(method: 'GET' | 'POST', path: string, token: string, body?: unknown) {
  const res = await fetch(`${suite.gw.url}${path}`, {
    method,
    headers: { authorization: `Bearer ${token}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  return { status: res.status, body: (await res.json()) as Body };
}

const list = async (token: string, query = '') => (await api('GET', `/api/notifications${query}`, token)).body.items as Item[];
const idsOf = (items: Item[]) => items.map((i) => i.id);
const counts = async (token: string) => (await api('GET', '/api/notifications/unread-count', token)).body;
const sorted = (ids: string[]) => [...ids].sort();

interface Echoes {
  seen: { ids: string[]; until?: string }[];
  archived: { ids: string[]; archived: boolean }[];
}

/** A socket session of the user that records the state echoes it hears. */
async function session(user: string, tenant: string) {
  const client = await suite.connect(suite.gw.url, { token: userToken(user, tenant) });
  const echoes: Echoes = { seen: [], archived: [] };
  const conditions = new Conditions(() => JSON.stringify(echoes));
  client.socket.on('notification:seen', (change: Echoes['seen'][number]) => {
    echoes.seen.push(change);
    conditions.changed();
  });
  client.socket.on('notification:archived', (change: Echoes['archived'][number]) => {
    echoes.archived.push(change);
    conditions.changed();
  });
  const heard = (predicate: () => boolean, what: string) => conditions.waitFor(predicate, what);
  return { client, echoes, heard };
}

async function broadcast(tenantId: string, title: string) {
  const res = await postNotify(suite.gw.url, 'system:notice', { scope: 'tenant', tenantId, title });
  expect(res.status).toBe(201);
  return res.body.id!;
}

let tenants = 0;
const freshTenant = () => `st${Date.now()}${tenants++}`;

describe('seen', () => {
  it('marks the given ids seen, only the caller’s, and counts unseen apart from unread', async () => {
    const tenant = freshTenant();
    const [alice, bob] = [uniqueUser(), uniqueUser()];
    const { client } = await session(alice, tenant);
    const [a, b, c] = [
      await notifyUser(suite.gw.url, alice, 'a', { tenantId: tenant }),
      await notifyUser(suite.gw.url, alice, 'b', { tenantId: tenant }),
      await notifyUser(suite.gw.url, alice, 'c', { tenantId: tenant }),
    ];
    const bobs = await notifyUser(suite.gw.url, bob, 'bob’s', { tenantId: tenant });
    await client.waitForIds([a, b, c]);
    const token = userToken(alice, tenant);
    expect(await counts(token)).toEqual({ count: 3, unseen: 3 });

    const res = await api('POST', '/api/notifications/seen', token, { ids: [a, b, bobs, 'no-such-id'] });
    expect(res.status).toBe(200);
    expect(sorted(res.body.ids)).toEqual(sorted([a, b]));
    expect(res.body.until).toBeUndefined();
    expect(await counts(token)).toEqual({ count: 3, unseen: 1 });
    const items = await list(token);
    expect(items.map((i) => [i.id, i.seen, i.read])).toEqual([
      [c, false, false],
      [b, true, false],
      [a, true, false],
    ]);
    // Again: nothing changes. Bob's row stayed unseen.
    expect((await api('POST', '/api/notifications/seen', token, { ids: [a] })).body).toEqual({ ids: [] });
    expect((await list(userToken(bob, tenant)))[0]).toMatchObject({ id: bobs, seen: false });

    // Reading makes a row seen too.
    await api('POST', `/api/notifications/${c}/read`, token);
    expect(await counts(token)).toEqual({ count: 2, unseen: 0 });
    expect((await list(token))[0]).toMatchObject({ id: c, seen: true, read: true });
    expect((await api('POST', '/api/notifications/seen', token, { ids: [c] })).body).toEqual({ ids: [] });
  });

  it('marks everything created up to `until`, broadcasts included, and echoes `until`', async () => {
    const tenant = freshTenant();
    const [alice, bob] = [uniqueUser(), uniqueUser()];
    const tab = await session(alice, tenant);
    const other = await session(alice, tenant);
    const own = await notifyUser(suite.gw.url, alice, 'own', { tenantId: tenant });
    const shared = await broadcast(tenant, 'for everyone');
    await tab.client.waitForIds([own, shared]);
    const token = userToken(alice, tenant);
    const cutoff = (await list(token)).find((i) => i.id === shared)!.createdAt;
    await until(() => Date.now() > Date.parse(cutoff) + 1, 'the clock to pass the cutoff');
    const later = await notifyUser(suite.gw.url, alice, 'later', { tenantId: tenant });
    await tab.client.waitForIds([later]);

    const res = await api('POST', '/api/notifications/seen', token, { until: cutoff });
    expect(res.status).toBe(200);
    expect(res.body.until).toBe(cutoff);
    expect(sorted(res.body.ids)).toEqual(sorted([own, shared]));
    expect(await counts(token)).toEqual({ count: 3, unseen: 1 });
    expect((await list(token)).map((i) => [i.id, i.seen])).toEqual([
      [later, false],
      [shared, true],
      [own, true],
    ]);
    // The other session hears it; Bob's view of the broadcast is his own.
    await other.heard(() => other.echoes.seen.length === 1, 'seen echo');
    expect(other.echoes.seen[0]!.until).toBe(cutoff);
    expect(sorted(other.echoes.seen[0]!.ids)).toEqual(sorted([own, shared]));
    expect(await counts(userToken(bob, tenant))).toEqual({ count: 1, unseen: 1 });
    // An offset form of the same instant is the same cutoff.
    const offsetForm = cutoff.replace('Z', '+00:00');
    expect((await api('POST', '/api/notifications/seen', token, { until: offsetForm })).body).toEqual({ ids: [], until: cutoff });
  });

  it('refuses anything but exactly one of until or ids', async () => {
    const token = userToken(uniqueUser());
    const refusals: [unknown, string][] = [
      [{}, ''],
      [{ until: new Date().toISOString(), ids: ['x'] }, ''],
      [{ until: 'yesterday' }, 'until'],
      [{ ids: 'x' }, 'ids'],
      [{ ids: Array.from({ length: 501 }, (_, i) => `id-${i}`) }, 'ids'],
      [{ ids: ['x'], extra: true }, ''],
    ];
    for (const [body, path] of refusals) {
      const res = await api('POST', '/api/notifications/seen', token, body);
      expect(res.status, JSON.stringify(body)).toBe(400);
      expect(res.body.error.code).toBe('VALIDATION_FAILED');
      expect(res.body.error.details).toEqual(expect.arrayContaining([expect.objectContaining({ path })]));
    }
    const noBody = await fetch(`${suite.gw.url}/api/notifications/seen`, { method: 'POST', headers: { authorization: `Bearer ${token}` } });
    expect(noBody.status).toBe(400);
  });
});

describe('archive', () => {
  it('moves rows between the filters and out of the counts, and back', async () => {
    const tenant = freshTenant();
    const user = uniqueUser();
    const { client } = await session(user, tenant);
    const unread = await notifyUser(suite.gw.url, user, 'unread', { tenantId: tenant });
    const read = await notifyUser(suite.gw.url, user, 'read', { tenantId: tenant });
    const stored = await notifyUser(suite.gw.url, user, 'archived', { tenantId: tenant });
    const shared = await broadcast(tenant, 'archived broadcast');
    await client.waitForIds([unread, read, stored, shared]);
    const token = userToken(user, tenant);
    await api('POST', `/api/notifications/${read}/read`, token);
    expect(await counts(token)).toEqual({ count: 3, unseen: 3 });

    const archived = await api('POST', `/api/notifications/${stored}/archive`, token);
    expect(archived).toEqual({ status: 200, body: { id: stored, archived: true, changed: true } });
    expect((await api('POST', `/api/notifications/${stored}/archive`, token)).body).toEqual({ id: stored, archived: true, changed: false });
    expect((await api('POST', `/api/notifications/${shared}/archive`, token)).body).toEqual({ id: shared, archived: true, changed: true });

    expect(idsOf(await list(token))).toEqual([read, unread]);
    expect(idsOf(await list(token, '?status=unread'))).toEqual([unread]);
    expect(idsOf(await list(token, '?unread=1'))).toEqual([unread]);
    expect(idsOf(await list(token, '?status=read'))).toEqual([read]);
    expect(idsOf(await list(token, '?status=archived'))).toEqual([shared, stored]);
    expect(idsOf(await list(token, '?status=all'))).toEqual([shared, stored, read, unread]);
    const [item] = await list(token, '?status=archived&limit=1');
    expect(item).toMatchObject({ id: shared, archived: true, archivedAt: expect.stringMatching(/^\d{4}-/), read: false, seen: false });
    expect(await counts(token)).toEqual({ count: 1, unseen: 1 });

    expect((await api('POST', `/api/notifications/${stored}/unarchive`, token)).body).toEqual({ id: stored, archived: false, changed: true });
    expect((await api('POST', `/api/notifications/${stored}/unarchive`, token)).body).toEqual({ id: stored, archived: false, changed: false });
    expect(idsOf(await list(token, '?status=unread'))).toEqual([stored, unread]);
    expect((await list(token)).find((i) => i.id === stored)).toMatchObject({ archived: false, archivedAt: null });
    expect(await counts(token)).toEqual({ count: 2, unseen: 2 });
  });

  it('refuses a status that contradicts unread=1 and an unknown status', async () => {
    const token = userToken(uniqueUser());
    const both = await api('GET', '/api/notifications?unread=1&status=read', token);
    expect(both.status).toBe(400);
    expect(both.body.error.details).toEqual([expect.objectContaining({ path: 'unread' })]);
    expect((await api('GET', '/api/notifications?status=deleted', token)).status).toBe(400);
    expect((await api('GET', '/api/notifications?after=start&status=all', token)).status).toBe(400);
  });

  it('pages with a stable cursor under a filter', async () => {
    const tenant = freshTenant();
    const user = uniqueUser();
    const { client } = await session(user, tenant);
    const ids: string[] = [];
    for (let i = 0; i < 7; i++) ids.push(await notifyUser(suite.gw.url, user, `n${i}`, { tenantId: tenant }));
    await client.waitForIds(ids);
    const token = userToken(user, tenant);
    const archivedIds = [ids[0]!, ids[2]!, ids[3]!, ids[5]!, ids[6]!];
    for (const id of archivedIds) await api('POST', `/api/notifications/${id}/archive`, token);

    const pages: string[][] = [];
    let cursor: string | null = null;
    do {
      const query: string = `?status=archived&limit=2${cursor ? `&cursor=${cursor}` : ''}`;
      const page = (await api('GET', `/api/notifications${query}`, token)).body;
      pages.push(idsOf(page.items));
      // A row archived between pages, older than the cursor, shows up in its place.
      if (pages.length === 1) await api('POST', `/api/notifications/${ids[4]}/archive`, token);
      cursor = page.nextCursor;
    } while (cursor);
    expect(pages).toEqual([[ids[6], ids[5]], [ids[4], ids[3]], [ids[2], ids[0]]]);
  });
});

describe('broadcast state', () => {
  it('is per user, and an archived or seen broadcast is still replayed exactly once', async () => {
    const tenant = freshTenant();
    const [alice, bob] = [uniqueUser(), uniqueUser()];
    const a = await session(alice, tenant);
    const anchor = await notifyUser(suite.gw.url, alice, 'anchor', { tenantId: tenant });
    const shared = await broadcast(tenant, 'for everyone');
    await a.client.waitForIds([anchor, shared]);
    const aliceToken = userToken(alice, tenant);
    const bobToken = userToken(bob, tenant);
    // Unarchiving a broadcast never touched is no change, not a 404.
    expect((await api('POST', `/api/notifications/${shared}/unarchive`, bobToken)).body).toEqual({ id: shared, archived: false, changed: false });
    expect((await api('POST', '/api/notifications/seen', aliceToken, { ids: [shared] })).body).toEqual({ ids: [shared] });
    expect((await api('POST', `/api/notifications/${shared}/archive`, aliceToken)).body.changed).toBe(true);

    expect(idsOf(await list(aliceToken))).toEqual([anchor]);
    expect(await list(bobToken)).toEqual([expect.objectContaining({ id: shared, seen: false, archived: false })]);
    expect(await counts(bobToken)).toEqual({ count: 1, unseen: 1 });

    const back = await suite.connect(suite.gw.url, { token: aliceToken, lastAckId: anchor });
    expect(back.synced[0]).toEqual({ replayed: 1, recovered: true });
    expect(back.ids).toEqual([shared]);
  });
});

describe('owner checks', () => {
  it('another user’s or tenant’s id is 404 and changes nothing', async () => {
    const tenant = freshTenant();
    const [alice, bob] = [uniqueUser(), uniqueUser()];
    const a = await session(alice, tenant);
    const mine = await notifyUser(suite.gw.url, alice, 'private', { tenantId: tenant });
    const foreignTenant = freshTenant();
    const foreign = await broadcast(foreignTenant, 'elsewhere');
    await a.client.waitForIds([mine]);
    const bobToken = userToken(bob, tenant);
    for (const action of ['archive', 'unarchive']) {
      const res = await api('POST', `/api/notifications/${mine}/${action}`, bobToken);
      expect(res.status).toBe(404);
      expect(res.body.error.code).toBe('NOT_FOUND');
      expect((await api('POST', `/api/notifications/${foreign}/${action}`, bobToken)).status).toBe(404);
    }
    expect((await api('POST', '/api/notifications/seen', bobToken, { ids: [mine, foreign] })).body).toEqual({ ids: [] });
    expect((await api('POST', '/api/notifications/seen', bobToken, { until: new Date().toISOString() })).body.ids).toEqual([]);
    // The same user id in another tenant is another user.
    expect((await api('POST', `/api/notifications/${mine}/archive`, userToken(alice, foreignTenant))).status).toBe(404);

    const aliceToken = userToken(alice, tenant);
    expect(await list(aliceToken)).toEqual([expect.objectContaining({ id: mine, seen: false, archived: false })]);
    expect(await counts(aliceToken)).toEqual({ count: 1, unseen: 1 });
    expect(a.echoes).toEqual({ seen: [], archived: [] });
  });
});

describe('echo', () => {
  it('reaches the user’s other socket and SSE sessions, and no other user', async () => {
    const tenant = freshTenant();
    const [alice, bob] = [uniqueUser(), uniqueUser()];
    const tabA = await session(alice, tenant);
    const tabB = await session(alice, tenant);
    const bobTab = await session(bob, tenant);
    const sse = await SseSession.open(`${suite.gw.url}/api/stream`, { authorization: `Bearer ${userToken(alice, tenant)}` });
    sseSessions.push(sse);
    await sse.waitFor(() => sse.named('synced').length > 0, 'SSE synced');
    const id = await notifyUser(suite.gw.url, alice, 'shared state', { tenantId: tenant });
    await tabA.client.waitForIds([id]);
    const token = userToken(alice, tenant);

    await api('POST', '/api/notifications/seen', token, { ids: [id] });
    await api('POST', `/api/notifications/${id}/archive`, token);
    await api('POST', `/api/notifications/${id}/unarchive`, token);
    for (const tab of [tabA, tabB]) {
      await tab.heard(() => tab.echoes.seen.length === 1 && tab.echoes.archived.length === 2, 'state echoes');
      expect(tab.echoes).toEqual({
        seen: [{ ids: [id] }],
        archived: [
          { ids: [id], archived: true },
          { ids: [id], archived: false },
        ],
      });
    }
    await sse.waitFor(() => sse.named('notification:archived').length === 2, 'SSE state events');
    expect(sse.named('notification:seen').map((e) => [JSON.parse(e.data), e.id])).toEqual([[{ ids: [id] }, undefined]]);
    expect(sse.named('notification:archived').map((e) => JSON.parse(e.data))).toEqual([
      { ids: [id], archived: true },
      { ids: [id], archived: false },
    ]);

    // Bob hears his own echo; had Alice's reached his socket, it would have come first.
    const bobs = await notifyUser(suite.gw.url, bob, 'bob’s', { tenantId: tenant });
    await bobTab.client.waitForIds([bobs]);
    await api('POST', `/api/notifications/${bobs}/archive`, userToken(bob, tenant));
    await bobTab.heard(() => bobTab.echoes.archived.length > 0, 'bob’s echo');
    expect(bobTab.echoes).toEqual({ seen: [], archived: [{ ids: [bobs], archived: true }] });
    // Nothing changed, nothing echoed: the next echo Alice hears is the next change.
    expect((await api('POST', `/api/notifications/${id}/unarchive`, token)).body.changed).toBe(false);
    await api('POST', `/api/notifications/${id}/archive`, token);
    await tabA.heard(() => tabA.echoes.archived.length === 3, 'the next change');
    expect(tabA.echoes.archived.map((e) => e.archived)).toEqual([true, false, true]);
    sse.close();
  });
});
