/**
 * Apps are isolated: the same tenant id, user id and topic name in two apps (and in the
 * default app) never cross — live, on replay, in presence counts, over REST, in state
 * echoes, in management lists. A token is accepted on its own app's namespace only; an
 * API key reaches its own app's tenants only.
 */
import { describe, expect, it } from 'vitest';
import { API_KEY, signToken, uniqueUser } from '../support/harness.js';
import { useGateway } from '../support/gateway-suite.js';
import { flushWith, TestClient } from '../support/test-client.js';
import { until } from '../support/until.js';
import { createNotificationClient } from '../../src/client/index.js';
import { tokenSubject } from '../../src/client/support.js';
import type { Notification } from '../../src/client/types.js';

const CRM_KEY = 'test-key-app-crm-any-tenant';
const ERP_KEY = 'test-key-app-erp-bound-acme';
const suite = useGateway({
  NOTIFY_API_KEYS: `${API_KEY},${CRM_KEY}::crm,${ERP_KEY}:acme:erp`,
  ALLOW_PRIVATE_WEBHOOKS: 'true',
});

type App = 'default' | 'crm' | 'erp';
const APPS: App[] = ['default', 'crm', 'erp'];
const KEY: Record<App, string> = { default: API_KEY, crm: CRM_KEY, erp: ERP_KEY };
const nsp = (app: App) => `${suite.gw.url}${app === 'default' ? '' : `/${app}`}`;
const tokenFor = (app: App, user: string, tenant = 'acme') =>
  signToken({ sub: user, tid: tenant, topics: ['order:*'], ...(app !== 'default' && { app }) });

async function api(method: string, path: string, headers: Record<string, string>, body?: unknown): Promise<{ status: number; body: any }> {
  const res = await fetch(`${suite.gw.url}${path}`, {
    method,
    headers: { 'content-type': 'application/json', ...headers },
    ...(body !== undefined && { body: JSON.stringify(body) }),
  });
  return { status: res.status, body: await res.json().catch(() => null) };
}

async function notify(app: App, body: Record<string, unknown>): Promise<string> {
  const res = await api('POST', '/api/notify/test:event', { 'x-api-key': KEY[app] }, { tenantId: 'acme', ...body });
  if (res.status !== 201) throw new Error(`notify in ${app}: ${res.status} ${JSON.stringify(res.body)}`);
  return res.body.id as string;
}

/** One socket of the same (tenant, user) in every app, holding the same topic. */
async function connectEverywhere(user: string, topic = 'order:1'): Promise<Record<App, TestClient>> {
  const entries = await Promise.all(
    APPS.map(async (app) => [app, await suite.connect(nsp(app), { token: tokenFor(app, user), topics: [topic] })] as const),
  );
  return Object.fromEntries(entries) as Record<App, TestClient>;
}

describe('apps', () => {
  it('a token is accepted on its own app namespace only; unknown apps and namespaces are refused', async () => {
    const user = uniqueUser('app');
    for (const [app, on] of [['crm', 'erp'], ['crm', 'default'], ['default', 'crm'], ['erp', 'crm']] as const) {
      const refused = await TestClient.refused(nsp(on), { token: tokenFor(app, user) });
      expect([app, on, refused.message]).toEqual([app, on, 'wrong_app']);
    }
    // An app no API key serves: the token itself is refused.
    expect(await TestClient.rejected(nsp('default'), { token: signToken({ sub: user, app: 'nope' }) })).toBe('unauthorized');
    expect(await TestClient.rejected(`${suite.gw.url}/nope`, { token: signToken({ sub: user, app: 'nope' }) })).toBe('Invalid namespace');
    // Over REST the token is its app's: it sees nothing of the default app.
    const id = await notify('default', { userId: user, title: 'default only' });
    const listed = await api('GET', '/api/notifications', { authorization: `Bearer ${tokenFor('crm', user)}` });
    expect(listed.status).toBe(200);
    expect(listed.body.items.map((n: { id: string }) => n.id)).not.toContain(id);
  });

  it('same tenant, user and topic in three apps: live notifications, broadcasts and topic messages stay in their app', async () => {
    const user = uniqueUser('app');
    const sockets = await connectEverywhere(user);
    const sent: Record<App, string[]> = { default: [], crm: [], erp: [] };
    for (const app of APPS) {
      sent[app].push(await notify(app, { userId: user, title: `${app} to user` }));
      sent[app].push(await notify(app, { scope: 'tenant', title: `${app} to tenant` }));
      sent[app].push(await notify(app, { topics: ['order:1'], title: `${app} to topic` }));
    }
    for (const app of APPS) await sockets[app].waitForIds(sent[app]);
    // Each app's last message is after the others' in commit order for at least one of them; flush all.
    for (const app of APPS) await flushWith(sockets[app], () => notify(app, { userId: user, title: 'marker' }));
    for (const app of APPS) {
      const others = APPS.filter((a) => a !== app).flatMap((a) => sent[a]);
      expect(sockets[app].ids.filter((id) => others.includes(id))).toEqual([]);
      // The tenant id is the app's own, never the storage key.
      expect(new Set(sockets[app].received.map((n) => n.tenantId))).toEqual(new Set(['acme']));
    }
  });

  it('replay and fresh-device replay return the app’s own notifications only', async () => {
    const user = uniqueUser('app');
    const first: Partial<Record<App, string>> = {};
    const later: Record<App, string[]> = { default: [], crm: [], erp: [] };
    for (const app of APPS) first[app] = await notify(app, { userId: user, title: `${app} first` });
    for (const app of APPS) later[app].push(await notify(app, { userId: user, title: `${app} later` }));
    for (const app of APPS) {
      const fresh = await suite.connect(nsp(app), { token: tokenFor(app, user) });
      expect(fresh.ids.sort()).toEqual([first[app]!, ...later[app]].sort());
      const resumed = await suite.connect(nsp(app), { token: tokenFor(app, user), lastAckId: first[app]! });
      expect(resumed.ids).toEqual(later[app]);
    }
    // Another app's id is no position here: the client gets what it would get fresh, not another app's rows.
    const crossed = await suite.connect(nsp('crm'), { token: tokenFor('crm', user), lastAckId: first.erp! });
    expect(crossed.ids.every((id) => ![...later.erp, ...later.default].includes(id))).toBe(true);
  });

  it('read echoes and REST state changes stay in the app', async () => {
    const user = uniqueUser('app');
    const sockets = await connectEverywhere(user);
    const ids = Object.fromEntries(await Promise.all(APPS.map(async (app) => [app, await notify(app, { userId: user, title: app })]))) as Record<App, string>;
    for (const app of APPS) await sockets[app].waitForIds([ids[app]]);
    const echoes: Record<App, unknown[]> = { default: [], crm: [], erp: [] };
    for (const app of APPS) sockets[app].socket.on('notification:read', (info: unknown) => echoes[app].push(info));

    // crm's token cannot touch erp's notification, even knowing its id.
    const foreign = await api('POST', `/api/notifications/${ids.erp}/read`, { authorization: `Bearer ${tokenFor('crm', user)}` });
    expect(foreign.status).toBe(404);
    const own = await api('POST', `/api/notifications/${ids.crm}/read`, { authorization: `Bearer ${tokenFor('crm', user)}` });
    expect(own.status).toBeLessThan(300);
    await until(() => echoes.crm.length === 1, 'the crm echo');
    await flushWith(sockets.erp, () => notify('erp', { userId: user, title: 'marker' }));
    await flushWith(sockets.default, () => notify('default', { userId: user, title: 'marker' }));
    expect([echoes.default.length, echoes.erp.length]).toEqual([0, 0]);
    const unread = await api('GET', '/api/notifications?status=unread', { authorization: `Bearer ${tokenFor('erp', user)}` });
    expect(unread.body.items.map((n: { id: string }) => n.id)).toContain(ids.erp);
  });

  it('presence counts only the app’s own sockets', async () => {
    const topic = `order:${uniqueUser('p')}`;
    await connectEverywhere(uniqueUser('app'), topic);
    await connectEverywhere(uniqueUser('app'), topic);
    await suite.connect(nsp('crm'), { token: tokenFor('crm', uniqueUser('app')), topics: [topic] });
    const counts = async (app: App) =>
      (await api('GET', `/api/presence/topics/${encodeURIComponent(topic)}?tenantId=acme`, { 'x-api-key': KEY[app] })).body;
    await until(async () => (await counts('crm')).connections === 3, 'crm presence');
    expect(await counts('crm')).toMatchObject({ connections: 3, users: 3 });
    expect(await counts('erp')).toMatchObject({ connections: 2, users: 2 });
    expect(await counts('default')).toMatchObject({ connections: 2, users: 2 });
  });

  it('API keys manage their own app’s tenants; lists across tenants stay within the app', async () => {
    const hook = { type: 'webhook', url: 'http://127.0.0.1:9/hook' };
    const put = (app: App, name: string) => api('PUT', `/api/channels/${name}?tenantId=acme`, { 'x-api-key': KEY[app] }, hook);
    expect((await put('crm', 'crm-hook')).body.channel).toMatchObject({ tenantId: 'acme', name: 'crm-hook' });
    expect((await put('default', 'default-hook')).status).toBeLessThan(300);
    expect((await put('erp', 'erp-hook')).status).toBeLessThan(300);
    const names = async (app: App) => (await api('GET', '/api/channels', { 'x-api-key': KEY[app] })).body.channels.map((c: { tenantId: string; name: string }) => `${c.tenantId}/${c.name}`);
    expect(await names('crm')).toEqual(['acme/crm-hook']);
    expect(await names('erp')).toEqual(['acme/erp-hook']);
    expect(await names('default')).toEqual(['acme/default-hook']);
    // erp's key is bound to tenant acme of erp: another tenant is refused, as in the default app.
    const other = await api('GET', '/api/channels?tenantId=globex', { 'x-api-key': ERP_KEY });
    expect([other.status, other.body.error.code]).toEqual([403, 'FORBIDDEN_TENANT']);
  });

  it('scope "app": one announcement reaches every tenant of the app, live, listed and on replay, with read state per user', async () => {
    const [user, other] = [uniqueUser('app'), uniqueUser('app')];
    const acme = await suite.connect(nsp('crm'), { token: tokenFor('crm', user, 'acme') });
    const globex = await suite.connect(nsp('crm'), { token: tokenFor('crm', other, 'globex') });
    const elsewhere = await suite.connect(nsp('default'), { token: tokenFor('default', user, 'acme') });
    const before = await notify('crm', { userId: user, title: 'before' });
    const res = await api('POST', '/api/notify/system:maintenance', { 'x-api-key': CRM_KEY }, { scope: 'app', title: 'Maintenance at 02:00' });
    expect(res.status).toBe(201);
    const id = res.body.id as string;
    await acme.waitForIds([before, id]);
    await globex.waitForIds([id]);
    expect(acme.received.find((n) => n.id === id)).toMatchObject({ scope: 'app', tenantId: '*' });
    await flushWith(elsewhere, () => notify('default', { userId: user, title: 'marker' }));
    expect(elsewhere.ids).not.toContain(id);

    // Listed for both tenants' users; read by one, still unread for the other.
    const bearer = (who: string, tenant: string) => ({ authorization: `Bearer ${tokenFor('crm', who, tenant)}` });
    const unreadIds = async (who: string, tenant: string) =>
      (await api('GET', '/api/notifications?status=unread', bearer(who, tenant))).body.items.map((n: { id: string }) => n.id);
    expect(await unreadIds(user, 'acme')).toContain(id);
    expect((await api('POST', `/api/notifications/${id}/read`, bearer(user, 'acme'))).status).toBeLessThan(300);
    expect(await unreadIds(user, 'acme')).not.toContain(id);
    expect(await unreadIds(other, 'globex')).toContain(id);

    // Replayed after a position before it, and a valid position itself.
    const resumed = await suite.connect(nsp('crm'), { token: tokenFor('crm', user, 'acme'), lastAckId: before });
    expect(resumed.ids).toEqual([id]);
    const after = await suite.connect(nsp('crm'), { token: tokenFor('crm', user, 'acme'), lastAckId: id });
    expect(after.ids).toEqual([]);

    // Only a key for any tenant of the app may announce to the whole app; no users, tenants or channels with it.
    const bound = await api('POST', '/api/notify/system:x', { 'x-api-key': ERP_KEY }, { scope: 'app', title: 't' });
    expect([bound.status, bound.body.error.code]).toEqual([403, 'FORBIDDEN_TENANT']);
    for (const extra of [{ userId: user }, { tenantId: 'acme' }, { channels: ['hook'] }]) {
      const refused = await api('POST', '/api/notify/system:x', { 'x-api-key': CRM_KEY }, { scope: 'app', title: 't', ...extra });
      expect([refused.status, refused.body.error.code]).toEqual([400, 'VALIDATION_FAILED']);
    }
  });

  it('the SDK connects to the app its token names, over every transport, and keeps its position per app', async () => {
    const user = uniqueUser('app');
    for (const transport of ['websocket', 'long-polling', 'sse', 'rest-polling'] as const) {
      const received: Notification[] = [];
      let synced = false;
      const client = createNotificationClient({ url: suite.gw.url, token: tokenFor('crm', user), storage: null, transports: [transport] });
      client.on('notification', (n) => received.push(n));
      client.on('synced', () => (synced = true));
      try {
        await until(() => synced, `the SDK synced over ${transport}`);
        const [crm, other] = [await notify('crm', { userId: user, title: `crm ${transport}` }), await notify('default', { userId: user, title: 'default' })];
        await until(() => received.some((n) => n.id === crm), `the crm notification over ${transport}`);
        const marker = await notify('crm', { userId: user, title: 'marker' });
        await until(() => received.some((n) => n.id === marker), `the marker over ${transport}`);
        expect([transport, received.some((n) => n.id === other)]).toEqual([transport, false]);
      } finally {
        client.close();
      }
    }
    // Positions are kept per app: the same tenant and user in two apps are two users.
    expect(tokenSubject(tokenFor('crm', user))).not.toEqual(tokenSubject(tokenFor('default', user)));
  });

  it('an app tenant id of full length is stored (columns hold app and tenant)', async () => {
    const user = uniqueUser('app');
    const tenant = 't'.repeat(64);
    const socket = await suite.connect(nsp('crm'), { token: tokenFor('crm', user, tenant) });
    const res = await api('POST', '/api/notify/test:event', { 'x-api-key': CRM_KEY }, { tenantId: tenant, userId: user, title: 'long' });
    expect(res.status).toBe(201);
    await socket.waitForIds([res.body.id]);
    expect(socket.received[0]!.tenantId).toBe(tenant);
  });
});
