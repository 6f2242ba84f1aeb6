/**
 * Policy caches across instances joined by Redis: a change on one instance drops the
 * entry on every other one; an instance that lost its link to Redis (and so maybe an
 * invalidation) forgets everything once the link is back. The TTL is set to an hour, so
 * nothing here can pass by expiry.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Gateway } from '../../src/gateway.js';
import { api } from '../support/admin-api.js';
import { createTestBed, uniqueUser, userToken, type RunningGateway, type TestBed } from '../support/harness.js';
import { startTcpProxy, type TcpProxy } from '../support/tcp-proxy.js';
import { until } from '../support/until.js';

const NO_EXPIRY = { POLICY_CACHE_TTL_SECONDS: '3600' };

let bed: TestBed;
let a: RunningGateway;
let b: RunningGateway;

async function putUser(url: string, tenantId: string, userId: string, document: unknown) {
  const response = await fetch(`${url}/api/preferences`, {
    method: 'PUT',
    headers: { authorization: `Bearer ${userToken(userId, tenantId)}`, 'content-type': 'application/json' },
    body: JSON.stringify(document),
  });
  expect(response.status).toBe(200);
}

const dropped = (gateway: Gateway, key: Parameters<Gateway['policies']['peek']>[0]) => () => gateway.policies.peek(key) === undefined;

describe('policy cache invalidation across instances', () => {
  beforeAll(async () => {
    bed = await createTestBed();
    a = await bed.start(NO_EXPIRY);
    b = await bed.start(NO_EXPIRY);
  });
  afterAll(() => bed.stopAll());

  it('a user PUT on A drops the user on B; B then reads the new document', async () => {
    const tenant = `x-${Date.now()}`;
    const user = uniqueUser();
    const bystander = uniqueUser();
    expect((await b.gateway.policies.load(tenant, 'task:done', [user, bystander])).users.size).toBe(0);
    expect(b.gateway.policies.peek({ tenantId: tenant, userId: user })).toEqual({ value: null });

    await putUser(a.url, tenant, user, { channels: { email: false } });
    await until(dropped(b.gateway, { tenantId: tenant, userId: user }), 'B to drop the user');
    expect(b.gateway.policies.peek({ tenantId: tenant, userId: bystander })).toEqual({ value: null });
    expect((await b.gateway.policies.load(tenant, 'task:done', [user])).users.get(user)).toEqual({ channels: { email: false } });
  });

  it('tenant defaults and kind defaults changed on one instance are dropped on the other', async () => {
    const tenant = `y-${Date.now()}`;
    await Promise.all([a, b].map((g) => g.gateway.policies.load(tenant, 'task:done', [])));

    expect((await api(a.url, 'PUT', `/api/tenants/${tenant}/preferences`, { channels: { webpush: false } })).status).toBe(200);
    await until(dropped(b.gateway, { tenantId: tenant, tenantDefaults: true }), 'B to drop the tenant default');
    expect(b.gateway.policies.peek({ tenantId: tenant, kind: 'task:done' })).toEqual({ value: null });

    expect((await api(b.url, 'PUT', `/api/kinds/task:done?tenantId=${tenant}`, { critical: true })).status).toBe(201);
    await until(dropped(a.gateway, { tenantId: tenant, kind: 'task:done' }), 'A to drop the kind');
    const onA = await a.gateway.policies.load(tenant, 'task:done', []);
    expect(onA).toMatchObject({ kindDefaults: { critical: true }, tenant: { channels: { webpush: false } } });
  });

  it('an instance cut off from Redis misses the invalidation, and forgets everything once the link is back', async () => {
    const redis = new URL(bed.db.redisUrl!);
    const proxy: TcpProxy = await startTcpProxy(redis.hostname, Number(redis.port || 6379));
    const c = await bed.start({ ...NO_EXPIRY, REDIS_URL: `redis://127.0.0.1:${proxy.port}` });
    try {
      const tenant = `z-${Date.now()}`;
      const user = uniqueUser();
      await c.gateway.policies.load(tenant, 'task:done', [user]);
      proxy.cut();
      await until(() => c.gateway.policies.size === 0, 'C to forget everything when the link is lost');

      // Cached during the outage, then changed elsewhere: the invalidation cannot reach C.
      await c.gateway.policies.load(tenant, 'task:done', [user]);
      await b.gateway.policies.load(tenant, 'task:done', [user]);
      await putUser(a.url, tenant, user, { channels: { in_app: false } });
      // B, still linked, has been told: the announcement went out before C is checked.
      await until(dropped(b.gateway, { tenantId: tenant, userId: user }), 'B to drop the user');
      expect(c.gateway.policies.peek({ tenantId: tenant, userId: user })).toEqual({ value: null });

      proxy.restore();
      await until(dropped(c.gateway, { tenantId: tenant, userId: user }), 'C to forget everything when the link is back', 20_000);
      expect((await c.gateway.policies.load(tenant, 'task:done', [user])).users.get(user)).toEqual({ channels: { in_app: false } });
    } finally {
      await c.close();
      await proxy.close();
    }
  });
});
