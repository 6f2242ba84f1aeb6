/**
 * The policy cache against the real store: no query on the hot path, one batched query
 * for the misses, shared reads, invalidation on change, TTL and LRU bounds.
 */
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { PolicyCache } from '../../src/policy/policy-cache.js';
import { createStore } from '../../src/store/store.js';
import { api } from '../support/admin-api.js';
import { useGateway } from '../support/gateway-suite.js';
import { API_KEY, uniqueUser, userToken } from '../support/harness.js';

const suite = useGateway();

/** Queries on the preference tables, as knex sends them. */
interface SeenQuery {
  table: 'notify_preferences' | 'notify_kinds';
  bindings: unknown[];
}
let seen: SeenQuery[] = [];
const record = (data: { sql: string; bindings?: unknown[] }) => {
  const table = /notify_preferences/.test(data.sql) ? 'notify_preferences' : /notify_kinds/.test(data.sql) ? 'notify_kinds' : null;
  if (table) seen.push({ table, bindings: data.bindings ?? [] });
};
const queries = (table?: SeenQuery['table']) => seen.filter((q) => table === undefined || q.table === table);

beforeAll(() => {
  suite.gw.gateway.store.db.on('query', record);
});
afterEach(() => {
  seen = [];
});

let tenantCounter = 0;
const freshTenant = () => `pc-${Date.now()}-${tenantCounter++}`;

async function putUser(tenantId: string, userId: string, document: unknown) {
  const response = await fetch(`${suite.gw.url}/api/preferences`, {
    method: 'PUT',
    headers: { authorization: `Bearer ${userToken(userId, tenantId)}`, 'content-type': 'application/json' },
    body: JSON.stringify(document),
  });
  expect(response.status).toBe(200);
}

async function lookups(): Promise<{ hit: number; miss: number }> {
  const text = await (await fetch(`${suite.gw.url}/metrics`)).text();
  const value = (result: string) => Number(text.match(new RegExp(`notify_policy_cache_lookups_total\\{result="${result}"\\} (\\d+)`))?.[1] ?? 0);
  return { hit: value('hit'), miss: value('miss') };
}

describe('policy cache', () => {
  it('reads the misses in one batched query (plus the kind), then answers from memory with no query', async () => {
    const cache = suite.gw.gateway.policies;
    const tenant = freshTenant();
    const [alice, bob, carol] = [uniqueUser('alice'), uniqueUser('bob'), uniqueUser('carol')];
    await putUser(tenant, alice, { channels: { email: false } });
    await putUser(tenant, bob, { kinds: { 'task:*': { in_app: false } } });
    await api(suite.gw.url, 'PUT', `/api/tenants/${tenant}/preferences`, { channels: { webpush: false } });
    await api(suite.gw.url, 'PUT', `/api/kinds/task:done?tenantId=${tenant}`, { digestMinutes: 5 });
    seen = [];
    const before = await lookups();

    const first = await cache.load(tenant, 'task:done', [alice, bob, carol]);
    expect(first.kindDefaults).toEqual({ digestMinutes: 5 });
    expect(first.tenant).toEqual({ channels: { webpush: false } });
    expect(Object.fromEntries(first.users)).toEqual({ [alice]: { channels: { email: false } }, [bob]: { kinds: { 'task:*': { in_app: false } } } });
    expect(first.users.has(carol)).toBe(false);
    expect(queries('notify_preferences')).toHaveLength(1);
    expect(queries('notify_kinds')).toHaveLength(1);

    seen = [];
    const second = await cache.load(tenant, 'task:done', [carol, bob, alice, alice]);
    expect(queries()).toEqual([]);
    expect(second).toEqual(first);
    // Carol has no document: remembered as such, no query for her either.
    expect(cache.peek({ tenantId: tenant, userId: carol })).toEqual({ value: null });

    const after = await lookups();
    expect(after.miss - before.miss).toBe(5); // kind, tenant default, three users
    expect(after.hit - before.hit).toBe(5);
  });

  it('reads only the users it does not have, in one query', async () => {
    const cache = suite.gw.gateway.policies;
    const tenant = freshTenant();
    const known = uniqueUser('known');
    await cache.load(tenant, 'task:done', [known]);
    seen = [];
    const [newA, newB] = [uniqueUser('new'), uniqueUser('new')];
    await putUser(tenant, newB, { channels: { email: true } });
    seen = [];
    const snapshot = await cache.load(tenant, 'task:done', [known, newA, newB]);
    expect(snapshot.users.get(newB)).toEqual({ channels: { email: true } });
    expect(queries('notify_kinds')).toEqual([]);
    const [read] = queries('notify_preferences');
    expect(queries('notify_preferences')).toHaveLength(1);
    expect(read!.bindings).toEqual(expect.arrayContaining([newA, newB]));
    expect(read!.bindings).not.toContain(known);
  });

  it('reads a thousand new users and the tenant default in one query', async () => {
    const cache = suite.gw.gateway.policies;
    const tenant = freshTenant();
    const users = Array.from({ length: 1000 }, (_, i) => `bulk-${i}`);
    await putUser(tenant, 'bulk-999', { channels: { in_app: false } });
    seen = [];
    const snapshot = await cache.load(tenant, 'bulk:kind', users);
    expect(queries('notify_preferences')).toHaveLength(1);
    expect([...snapshot.users.keys()]).toEqual(['bulk-999']);
    seen = [];
    await cache.load(tenant, 'bulk:kind', users);
    expect(queries()).toEqual([]);
  });

  it('concurrent loads of the same missing keys share one query', async () => {
    const cache = suite.gw.gateway.policies;
    const tenant = freshTenant();
    const users = [uniqueUser(), uniqueUser()];
    await putUser(tenant, users[0]!, { channels: { email: false } });
    seen = [];
    const results = await Promise.all([cache.load(tenant, 'task:done', users), cache.load(tenant, 'task:done', users), cache.load(tenant, 'task:done', [users[1]!])]);
    expect(queries('notify_preferences')).toHaveLength(1);
    expect(queries('notify_kinds')).toHaveLength(1);
    for (const snapshot of results.slice(0, 2)) expect(snapshot.users.get(users[0]!)).toEqual({ channels: { email: false } });
  });

  it('a PUT or DELETE invalidates what it changed; the next load reads it again', async () => {
    const cache = suite.gw.gateway.policies;
    const tenant = freshTenant();
    const user = uniqueUser();
    const other = uniqueUser();
    await cache.load(tenant, 'task:done', [user, other]);
    expect((await cache.load(tenant, 'task:done', [user])).users.has(user)).toBe(false);

    await putUser(tenant, user, { channels: { email: false } });
    expect(cache.peek({ tenantId: tenant, userId: user })).toBeUndefined();
    expect(cache.peek({ tenantId: tenant, userId: other })).toEqual({ value: null });
    seen = [];
    expect((await cache.load(tenant, 'task:done', [user, other])).users.get(user)).toEqual({ channels: { email: false } });
    expect(queries('notify_preferences')).toHaveLength(1);
    expect(queries('notify_preferences')[0]!.bindings).not.toContain(other);

    const reset = await fetch(`${suite.gw.url}/api/preferences`, { method: 'DELETE', headers: { authorization: `Bearer ${userToken(user, tenant)}` } });
    expect(reset.status).toBe(204);
    expect((await cache.load(tenant, 'task:done', [user])).users.has(user)).toBe(false);

    await api(suite.gw.url, 'PUT', `/api/tenants/${tenant}/preferences`, { channels: { email: false } });
    await api(suite.gw.url, 'PUT', `/api/kinds/task:done?tenantId=${tenant}`, { critical: true });
    const changed = await cache.load(tenant, 'task:done', [user]);
    expect(changed.tenant).toEqual({ channels: { email: false } });
    expect(changed.kindDefaults).toEqual({ critical: true });

    await api(suite.gw.url, 'DELETE', `/api/kinds/task:done?tenantId=${tenant}`);
    await api(suite.gw.url, 'DELETE', `/api/tenants/${tenant}/preferences`);
    const removed = await cache.load(tenant, 'task:done', [user]);
    expect(removed.kindDefaults).toBeNull();
    expect(removed.tenant).toBeNull();
  });

  it('a read in flight when an invalidation arrives is returned but not cached', async () => {
    const cache = suite.gw.gateway.policies;
    const tenant = freshTenant();
    const user = uniqueUser();
    const loading = cache.load(tenant, 'task:done', [user]);
    cache.invalidate({ tenantId: tenant, userId: user });
    expect((await loading).users.has(user)).toBe(false);
    expect(cache.peek({ tenantId: tenant, userId: user })).toBeUndefined();
    seen = [];
    await cache.load(tenant, 'task:done', [user]);
    expect(queries('notify_preferences')).toHaveLength(1);
    // Read again after the invalidation: cached now.
    seen = [];
    await cache.load(tenant, 'task:done', [user]);
    expect(queries()).toEqual([]);
  });

  it('an invalidation naming only the tenant drops everything of that tenant, and clear() drops all', async () => {
    const cache = suite.gw.gateway.policies;
    const [tenant, other] = [freshTenant(), freshTenant()];
    await cache.load(tenant, 'task:done', ['a', 'b']);
    await cache.load(other, 'task:done', ['a']);
    cache.invalidate({ tenantId: tenant });
    for (const key of [{ tenantId: tenant, userId: 'a' }, { tenantId: tenant, kind: 'task:done' }, { tenantId: tenant, tenantDefaults: true } as const]) {
      expect(cache.peek(key)).toBeUndefined();
    }
    expect(cache.peek({ tenantId: other, userId: 'a' })).toEqual({ value: null });
    cache.clear();
    expect(cache.size).toBe(0);
    seen = [];
    await cache.load(other, 'task:done', ['a']);
    expect(queries()).toHaveLength(2);
  });

  it('entries expire after the TTL and the LRU keeps at most its bound', async () => {
    let now = 1_000_000;
    const cache = new PolicyCache(suite.gw.gateway.store.preferences, { maxEntries: 100, ttlMs: 60_000, now: () => now });
    const tenant = freshTenant();
    await cache.load(tenant, 'task:done', ['x']);
    seen = [];
    now += 59_000;
    await cache.load(tenant, 'task:done', ['x']);
    expect(queries()).toEqual([]);
    now += 1_000;
    await cache.load(tenant, 'task:done', ['x']);
    expect(queries()).toHaveLength(2); // documents (tenant default + x) and the kind

    const users = Array.from({ length: 150 }, (_, i) => `lru-${i}`);
    await cache.load(tenant, 'task:done', users);
    expect(cache.size).toBe(100);
    // The most recently used stay; the oldest went.
    expect(cache.peek({ tenantId: tenant, userId: 'lru-149' })).toEqual({ value: null });
    expect(cache.peek({ tenantId: tenant, userId: 'lru-0' })).toBeUndefined();
  });

  it('reads what the loads of one tenant miss in one turn in one query', async () => {
    const cache = suite.gw.gateway.policies;
    const tenant = freshTenant();
    await cache.load(tenant, 'task:done', []); // the kind and the tenant default, cached
    seen = [];
    const users = ['one', 'two', 'three'].map((u) => uniqueUser(u));
    await Promise.all(users.map((u) => cache.load(tenant, 'task:done', [u])));
    expect(queries('notify_preferences')).toHaveLength(1);
    expect(queries('notify_preferences')[0]!.bindings).toEqual(expect.arrayContaining(users));
    expect(queries('notify_kinds')).toEqual([]);
  });

  it('a batch request reads its items\' preferences in one query, not one per item', async () => {
    const tenant = freshTenant();
    const users = Array.from({ length: 20 }, (_, i) => uniqueUser(`item${i}`));
    seen = [];
    const response = await fetch(`${suite.gw.url}/api/notify`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-api-key': API_KEY },
      body: JSON.stringify({ notifications: users.map((u) => ({ kind: 'task:done', tenantId: tenant, userIds: [u], title: 'hi' })) }),
    });
    expect(response.status).toBe(200);
    expect(((await response.json()) as { results: { status: number }[] }).results.map((r) => r.status)).toEqual(users.map(() => 201));
    expect(queries('notify_preferences')).toHaveLength(1);
    expect(queries('notify_kinds')).toHaveLength(1);
  });

  it('a failed read reaches every caller and is not cached', async () => {
    // A store whose connections are closed: every read fails, as in an outage.
    const closed = createStore(suite.bed.db.url, { poolMax: 1, acquireTimeoutMs: 1000 });
    await closed.close();
    let source = closed.preferences;
    const cache = new PolicyCache(
      { getMany: (tenantId, ids) => source.getMany(tenantId, ids), getKind: (tenantId, kind) => source.getKind(tenantId, kind) },
      { maxEntries: 100, ttlMs: 60_000 },
    );
    const tenant = freshTenant();
    const results = await Promise.allSettled([cache.load(tenant, 'task:done', ['y']), cache.load(tenant, 'task:done', ['y'])]);
    expect(results.map((r) => r.status)).toEqual(['rejected', 'rejected']);
    expect(cache.peek({ tenantId: tenant, userId: 'y' })).toBeUndefined();
    source = suite.gw.gateway.store.preferences;
    expect((await cache.load(tenant, 'task:done', ['y'])).users.size).toBe(0);
    expect(cache.peek({ tenantId: tenant, userId: 'y' })).toEqual({ value: null });
  });
});
