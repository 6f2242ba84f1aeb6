/** Preferences over HTTP: user documents (JWT), tenant defaults and kind defaults (API key). */
import { describe, expect, it } from 'vitest';
import { api } from '../support/admin-api.js';
import { useGateway } from '../support/gateway-suite.js';
import { ACME_KEY, uniqueUser, userToken } from '../support/harness.js';

const suite = useGateway();

interface PreferencesBody {
  channels: Record<string, boolean>;
  kinds: Record<string, Record<string, boolean | number>>;
  tenantDefaults?: { channels: Record<string, boolean>; kinds: Record<string, Record<string, boolean | number>> };
  error?: { code: string; message: string; details?: { path: string; message: string }[] };
}

async function asUser(method: string, token: string, body?: unknown): Promise<{ status: number; body: PreferencesBody }> {
  const response = await fetch(`${suite.gw.url}/api/preferences`, {
    method,
    headers: { authorization: `Bearer ${token}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    ...(body === undefined ? {} : { body: typeof body === 'string' ? body : JSON.stringify(body) }),
  });
  const text = await response.text();
  return { status: response.status, body: (text ? JSON.parse(text) : {}) as PreferencesBody };
}

const document = { channels: { email: false, in_app: true }, kinds: { 'task:*': { email: true, digestMinutes: 10 }, 'marketing:*': { in_app: false } } };

describe('user preferences (JWT)', () => {
  it('GET before anything is stored answers empty objects', async () => {
    const res = await asUser('GET', userToken(uniqueUser(), `t-empty-${Date.now()}`));
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ channels: {}, kinds: {}, tenantDefaults: { channels: {}, kinds: {} } });
  });

  it('PUT replaces, GET reads it back, DELETE resets', async () => {
    const token = userToken(uniqueUser());
    const put = await asUser('PUT', token, document);
    expect(put.status).toBe(200);
    expect(put.body).toMatchObject(document);
    expect((await asUser('GET', token)).body).toMatchObject(document);

    // A PUT replaces the whole document: what is left out is gone.
    await asUser('PUT', token, { channels: { webpush: false } });
    expect((await asUser('GET', token)).body).toMatchObject({ channels: { webpush: false }, kinds: {} });

    expect((await asUser('DELETE', token)).status).toBe(204);
    expect((await asUser('GET', token)).body).toMatchObject({ channels: {}, kinds: {} });
    // Resetting twice is fine.
    expect((await asUser('DELETE', token)).status).toBe(204);
  });

  it('refuses an invalid document with details naming where, and stores nothing', async () => {
    const token = userToken(uniqueUser());
    const res = await asUser('PUT', token, { channels: { email: 'no' }, kinds: { 'Bad Pattern': { email: true }, 'task:*': { digestMinutes: 99999 } } });
    expect(res.status).toBe(400);
    expect(res.body.error?.code).toBe('VALIDATION_FAILED');
    const paths = res.body.error?.details?.map((d) => d.path) ?? [];
    expect(paths).toEqual(expect.arrayContaining(['channels.email', 'kinds.Bad Pattern', 'kinds.task:*.digestMinutes']));
    expect(res.body.error?.details?.every((d) => typeof d.message === 'string' && d.message.length > 0)).toBe(true);
    expect((await asUser('GET', token)).body).toMatchObject({ channels: {}, kinds: {} });

    const unknownKey = await asUser('PUT', token, { channel: { email: false } });
    expect(unknownKey.status).toBe(400);
    expect((await asUser('PUT', token, '[1,2]')).status).toBe(400);
    expect((await asUser('PUT', token, '{"channels":')).body.error?.code).toBe('INVALID_JSON');
  });

  it('refuses a document over the size limit with 413', async () => {
    const kinds = Object.fromEntries(
      Array.from({ length: 100 }, (_, i) => [`kind-${i}:*`, Object.fromEntries(Array.from({ length: 10 }, (_, j) => [`channel-name-${j}`, true]))]),
    );
    const res = await asUser('PUT', userToken(uniqueUser()), { kinds });
    expect(res.status).toBe(413);
    expect(res.body.error?.code).toBe('PAYLOAD_TOO_LARGE');
  });

  it('needs a valid user token', async () => {
    const response = await fetch(`${suite.gw.url}/api/preferences`);
    expect(response.status).toBe(401);
    const withKey = await api(suite.gw.url, 'GET', '/api/preferences');
    expect(withKey.status).toBe(401);
  });

  it('each user sees and changes only their own document; the tenant comes from the token', async () => {
    const alice = uniqueUser('alice');
    const bob = uniqueUser('bob');
    await asUser('PUT', userToken(alice), { channels: { email: false } });
    await asUser('PUT', userToken(bob), { channels: { webpush: false } });
    expect((await asUser('GET', userToken(alice))).body.channels).toEqual({ email: false });
    expect((await asUser('GET', userToken(bob))).body.channels).toEqual({ webpush: false });

    // The same user id in another tenant is another person.
    expect((await asUser('GET', userToken(alice, 'acme'))).body.channels).toEqual({});
    await asUser('PUT', userToken(alice, 'acme'), { channels: { in_app: false } });
    expect((await asUser('GET', userToken(alice))).body.channels).toEqual({ email: false });

    await asUser('DELETE', userToken(bob));
    expect((await asUser('GET', userToken(alice))).body.channels).toEqual({ email: false });
    expect((await asUser('GET', userToken(alice, 'acme'))).body.channels).toEqual({ in_app: false });
  });

  it('shows the tenant defaults read-only beside the user document', async () => {
    const tenant = `t-defaults-${Date.now()}`;
    const defaults = { channels: { email: false }, kinds: { 'billing:*': { email: true } } };
    expect((await api(suite.gw.url, 'PUT', `/api/tenants/${tenant}/preferences`, defaults)).status).toBe(200);
    const res = await asUser('GET', userToken(uniqueUser(), tenant));
    expect(res.body).toEqual({ channels: {}, kinds: {}, tenantDefaults: defaults });
    // A user's PUT body cannot carry tenant defaults.
    expect((await asUser('PUT', userToken(uniqueUser(), tenant), { tenantDefaults: {} })).status).toBe(400);
  });
});

describe('tenant defaults (API key)', () => {
  it('GET, PUT, DELETE round trip', async () => {
    const tenant = `t-round-${Date.now()}`;
    const path = `/api/tenants/${tenant}/preferences`;
    expect((await api(suite.gw.url, 'GET', path)).body).toEqual({ tenantId: tenant, channels: {}, kinds: {} });
    const put = await api(suite.gw.url, 'PUT', path, document);
    expect(put.status).toBe(200);
    expect(put.body).toEqual({ tenantId: tenant, ...document });
    expect((await api(suite.gw.url, 'GET', path)).body).toEqual({ tenantId: tenant, ...document });
    expect((await api(suite.gw.url, 'DELETE', path)).status).toBe(204);
    expect((await api(suite.gw.url, 'GET', path)).body).toEqual({ tenantId: tenant, channels: {}, kinds: {} });
  });

  it('validates the body and the tenant id', async () => {
    const bad = await api<{ error: { details: { path: string }[] } }>(suite.gw.url, 'PUT', '/api/tenants/default/preferences', { kinds: { 'task:*': { email: 'x' } } });
    expect(bad.status).toBe(400);
    expect(bad.body.error?.code).toBe('VALIDATION_FAILED');
    expect(bad.body.error.details.map((d) => d.path)).toContain('kinds.task:*.email');
    expect((await api(suite.gw.url, 'GET', '/api/tenants/bad:tenant/preferences')).status).toBe(400);
  });

  it('a tenant-bound key reaches only its tenant', async () => {
    expect((await api(suite.gw.url, 'PUT', '/api/tenants/acme/preferences', { channels: { email: false } }, ACME_KEY)).status).toBe(200);
    expect((await api(suite.gw.url, 'GET', '/api/tenants/acme/preferences', undefined, ACME_KEY)).body).toMatchObject({ channels: { email: false } });
    for (const method of ['GET', 'PUT', 'DELETE']) {
      const res = await api(suite.gw.url, method, '/api/tenants/other/preferences', method === 'PUT' ? {} : undefined, ACME_KEY);
      expect(res.status, method).toBe(403);
      expect(res.body.error?.code).toBe('FORBIDDEN_TENANT');
    }
    expect((await api(suite.gw.url, 'GET', '/api/tenants/acme/preferences', undefined, null)).status).toBe(401);
    expect((await api(suite.gw.url, 'GET', '/api/tenants/acme/preferences', undefined, 'not-a-valid-key-0000')).status).toBe(401);
  });

  it('changes leave an audit row', async () => {
    const tenant = `t-audit-${Date.now()}`;
    await api(suite.gw.url, 'PUT', `/api/tenants/${tenant}/preferences`, { channels: { email: false } });
    const audit = await api<{ entries: { action: string; target: string }[] }>(suite.gw.url, 'GET', `/api/audit?tenantId=${tenant}`);
    expect(audit.body.entries.map((e) => [e.action, e.target])).toEqual([['preferences.put', tenant]]);
  });
});

describe('kind defaults (API key)', () => {
  it('PUT creates (201) then replaces (200); GET reads; DELETE removes', async () => {
    const tenant = `t-kinds-${Date.now()}`;
    const path = `/api/kinds/security:login?tenantId=${tenant}`;
    expect((await api(suite.gw.url, 'GET', path)).status).toBe(404);
    const created = await api(suite.gw.url, 'PUT', path, { critical: true, channels: ['mail'] });
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({ tenantId: tenant, kind: 'security:login', defaults: { critical: true, channels: ['mail'] } });
    expect(typeof created.body.updatedAt).toBe('string');
    const replaced = await api(suite.gw.url, 'PUT', path, { digestMinutes: 15 });
    expect(replaced.status).toBe(200);
    expect(replaced.body.defaults).toEqual({ digestMinutes: 15 });
    expect((await api(suite.gw.url, 'GET', path)).body.defaults).toEqual({ digestMinutes: 15 });
    expect((await api(suite.gw.url, 'DELETE', path)).status).toBe(204);
    expect((await api(suite.gw.url, 'GET', path)).status).toBe(404);
    expect((await api(suite.gw.url, 'DELETE', path)).status).toBe(404);
  });

  it('lists a tenant’s kind defaults, and only that tenant’s', async () => {
    const tenant = `t-list-${Date.now()}`;
    await api(suite.gw.url, 'PUT', `/api/kinds/task:done?tenantId=${tenant}`, { digestMinutes: 5 });
    await api(suite.gw.url, 'PUT', `/api/kinds/billing:failed?tenantId=${tenant}`, { critical: true, external: 'full' });
    await api(suite.gw.url, 'PUT', `/api/kinds/task:done?tenantId=${tenant}-other`, { critical: true });
    const list = await api<{ tenantId: string; kinds: { kind: string; defaults: Record<string, unknown> }[] }>(suite.gw.url, 'GET', `/api/kinds?tenantId=${tenant}`);
    expect(list.status).toBe(200);
    expect(list.body.tenantId).toBe(tenant);
    expect(list.body.kinds.map(({ kind, defaults }) => ({ kind, defaults }))).toEqual([
      { kind: 'billing:failed', defaults: { critical: true, external: 'full' } },
      { kind: 'task:done', defaults: { digestMinutes: 5 } },
    ]);
  });

  it('an unbound key without ?tenantId= works on tenant "default"', async () => {
    await api(suite.gw.url, 'PUT', '/api/kinds/deploy:finished', { digestMinutes: 1 });
    const list = await api<{ tenantId: string; kinds: { kind: string }[] }>(suite.gw.url, 'GET', '/api/kinds');
    expect(list.body.tenantId).toBe('default');
    expect(list.body.kinds.map((k) => k.kind)).toContain('deploy:finished');
  });

  it('validates the kind and the body', async () => {
    const badKind = await api(suite.gw.url, 'PUT', '/api/kinds/Bad%20Kind', { critical: true });
    expect(badKind.status).toBe(400);
    expect(badKind.body.error?.code).toBe('VALIDATION_FAILED');
    const badBody = await api<{ error: { details: { path: string }[] } }>(suite.gw.url, 'PUT', '/api/kinds/task:done', { critical: 'yes', digestMinutes: -5, extra: 1 });
    expect(badBody.status).toBe(400);
    expect(badBody.body.error.details.map((d) => d.path)).toEqual(expect.arrayContaining(['critical', 'digestMinutes']));
    expect((await api(suite.gw.url, 'PUT', '/api/kinds/task:*', { critical: true })).status).toBe(400);
  });

  it('a tenant-bound key manages only its own tenant’s kinds', async () => {
    expect((await api(suite.gw.url, 'PUT', '/api/kinds/acme:thing', { critical: true }, ACME_KEY)).status).toBe(201);
    const own = await api<{ tenantId: string; kinds: { kind: string }[] }>(suite.gw.url, 'GET', '/api/kinds', undefined, ACME_KEY);
    expect(own.body.tenantId).toBe('acme');
    expect(own.body.kinds.map((k) => k.kind)).toEqual(['acme:thing']);
    expect((await api(suite.gw.url, 'GET', '/api/kinds/acme:thing?tenantId=acme', undefined, ACME_KEY)).status).toBe(200);
    for (const [method, path] of [
      ['GET', '/api/kinds?tenantId=other'],
      ['GET', '/api/kinds/acme:thing?tenantId=other'],
      ['PUT', '/api/kinds/acme:thing?tenantId=other'],
      ['DELETE', '/api/kinds/acme:thing?tenantId=other'],
    ] as const) {
      const res = await api(suite.gw.url, method, path, method === 'PUT' ? { critical: false } : undefined, ACME_KEY);
      expect(res.status, `${method} ${path}`).toBe(403);
      expect(res.body.error?.code).toBe('FORBIDDEN_TENANT');
    }
    // The other tenant's kinds are untouched (nothing was written there).
    expect((await api(suite.gw.url, 'GET', '/api/kinds/acme:thing?tenantId=other')).status).toBe(404);
  });

  it('changes leave audit rows', async () => {
    const tenant = `t-kaudit-${Date.now()}`;
    await api(suite.gw.url, 'PUT', `/api/kinds/task:done?tenantId=${tenant}`, { critical: true });
    await api(suite.gw.url, 'DELETE', `/api/kinds/task:done?tenantId=${tenant}`);
    const audit = await api<{ entries: { action: string; target: string }[] }>(suite.gw.url, 'GET', `/api/audit?tenantId=${tenant}`);
    expect(audit.body.entries.map((e) => [e.action, e.target])).toEqual([
      ['kind.delete', 'task:done'],
      ['kind.put', 'task:done'],
    ]);
  });
});
