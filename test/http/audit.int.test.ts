/**
 * The audit log: every administrative change (channels, recipients, delivery retries)
 * and every notification of an audited kind leaves a row naming the key by its id,
 * never the key, a secret or an address; tenant-bound keys see only their tenant;
 * `GET /api/audit` lists newest first with a cursor; retention deletes old rows.
 */
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { apiKeyId } from '../../src/auth/api-keys.js';
import { createLogger } from '../../src/logger.js';
import { startRetentionSweeper } from '../../src/store/retention-sweeper.js';
import type { ConsumerLease } from '../../src/stream/consumer-lease.js';
import { api } from '../support/admin-api.js';
import { ACME_KEY, API_KEY, createTestBed, postNotify, uniqueUser, type RunningGateway, type TestBed } from '../support/harness.js';
import { until } from '../support/until.js';

interface AuditItem {
  id: string;
  tenantId: string;
  actor: string;
  action: string;
  target: string;
  details: Record<string, unknown> | null;
  createdAt: string;
}
type AuditPage = { entries: AuditItem[]; nextCursor: string | null };

let bed: TestBed;
let gw: RunningGateway;

beforeAll(async () => {
  bed = await createTestBed();
  gw = await bed.start({ AUDIT_KINDS: 'billing:*,security:login', ALLOW_PRIVATE_WEBHOOKS: 'true' });
});
afterAll(() => bed.stopAll());

const ANY_ACTOR = `key:${apiKeyId(API_KEY)}`;
const ACME_ACTOR = `key:${apiKeyId(ACME_KEY)}`;

async function audit(query = '', key: string = API_KEY): Promise<AuditPage> {
  const res = await api<AuditPage>(gw.url, 'GET', `/api/audit${query}`, undefined, key);
  if (res.status !== 200) throw new Error(`GET /api/audit${query}: ${res.status} ${JSON.stringify(res.body)}`);
  return res.body;
}

const rowsFor = async (target: string) => (await audit('?limit=500')).entries.filter((e) => e.target === target);

describe('audit log', () => {
  it('records each administrative change with the key id, never the key, a secret or an address', async () => {
    const channel = `partner-${randomBytes(3).toString('hex')}`;
    const secret = `whsec_${randomBytes(32).toString('base64')}`;
    const hookUrl = 'http://127.0.0.1:9/hooks/notify?token=very-secret-token';
    expect((await api(gw.url, 'PUT', `/api/channels/${channel}`, { type: 'webhook', url: hookUrl, secret })).status).toBe(201);
    expect((await api(gw.url, 'PUT', `/api/channels/${channel}`, { type: 'webhook', url: hookUrl, secret })).status).toBe(200);
    const user = uniqueUser();
    const email = `${user}@example.com`;
    expect((await api(gw.url, 'PUT', `/api/recipients/${user}`, { email, locale: 'zh-CN' })).status).toBe(201);
    expect((await api(gw.url, 'DELETE', `/api/recipients/${user}`)).status).toBe(204);
    expect((await api(gw.url, 'DELETE', `/api/channels/${channel}`)).status).toBe(204);
    // Refused changes leave nothing.
    expect((await api(gw.url, 'DELETE', `/api/channels/${channel}`)).status).toBe(404);

    // A delivery to retry: planned (suppressed, unknown channel), then made dead.
    const sent = await postNotify(gw.url, 'task:done', { userId: uniqueUser(), title: 'to a missing channel', channels: ['nowhere'] });
    const messageId = sent.body.id!;
    let deliveryId = '';
    await until(async () => {
      const row = await gw.gateway.store.db('notify_deliveries').where({ message_id: messageId }).first();
      deliveryId = row?.id ?? '';
      return deliveryId !== '';
    }, 'the planned delivery');
    await gw.gateway.store.db('notify_deliveries').where({ id: deliveryId }).update({ status: 'dead' });
    expect((await api(gw.url, 'POST', `/api/deliveries/${deliveryId}/retry`)).status).toBe(202);

    const channelRows = await rowsFor(channel);
    expect(channelRows.map((r) => [r.action, r.details])).toEqual([
      ['channel.delete', null],
      ['channel.put', { type: 'webhook', created: false }],
      ['channel.put', { type: 'webhook', created: true }],
    ]);
    const userRows = await rowsFor(user);
    expect(userRows.map((r) => [r.action, r.details])).toEqual([
      ['recipient.delete', null],
      ['recipient.put', { created: true, fields: ['email', 'locale'] }],
    ]);
    const [retry] = await rowsFor(deliveryId);
    expect(retry).toMatchObject({
      action: 'delivery.retry',
      tenantId: 'default',
      details: { messageId, channel: 'nowhere', from: 'dead' },
    });
    for (const row of [...channelRows, ...userRows, retry!]) {
      expect(row.actor).toBe(ANY_ACTOR);
      expect(row.tenantId).toBe('default');
    }

    const stored = JSON.stringify(await gw.gateway.store.db('notify_audit').select('*'));
    for (const leak of [API_KEY, ACME_KEY, secret, secret.slice(6), 'very-secret-token', '127.0.0.1', email]) {
      expect(stored).not.toContain(leak);
    }
  });

  it('records notifications of audited kinds (single and batch), not others, and not dedupe repeats', async () => {
    const user = uniqueUser();
    const post = async (kind: string, extra: Record<string, unknown> = {}) => {
      const res = await postNotify(gw.url, kind, { userIds: [user, uniqueUser()], title: `secret title ${kind}`, ...extra });
      expect([200, 201]).toContain(res.status);
      return res.body.id!;
    };
    const billing = await post('billing:failed', { dedupeKey: `inv-${user}` });
    const repeat = await post('billing:failed', { dedupeKey: `inv-${user}` });
    expect(repeat).toBe(billing);
    const login = await post('security:login');
    const logout = await post('security:logout');
    const other = await post('task:done');
    const batch = await api<{ results: { id: string }[] }>(gw.url, 'POST', '/api/notify', {
      notifications: [
        { kind: 'billing:refunded', userId: user, title: 'batch audited' },
        { kind: 'task:done', userId: user, title: 'batch not audited' },
      ],
    });
    const [batchAudited, batchOther] = batch.body.results.map((r) => r.id);

    const notified = (await audit('?action=notify&limit=500')).entries;
    const targets = notified.map((e) => e.target);
    expect(targets).toEqual(expect.arrayContaining([billing, login, batchAudited]));
    for (const id of [logout, other, batchOther]) expect(targets).not.toContain(id);
    expect(targets.filter((t) => t === billing)).toHaveLength(1);
    const row = notified.find((e) => e.target === billing)!;
    expect(row).toMatchObject({
      tenantId: 'default',
      actor: ANY_ACTOR,
      details: { kind: 'billing:failed', scope: 'user', recipients: 2, priority: 'medium' },
    });
    expect(JSON.stringify(notified)).not.toContain('secret title');
    expect(JSON.stringify(notified)).not.toContain(user);
  });

  it('shows a tenant-bound key only its own tenant', async () => {
    const channel = `acme-${randomBytes(3).toString('hex')}`;
    expect((await api(gw.url, 'PUT', `/api/channels/${channel}`, { type: 'webhook', url: 'http://127.0.0.1:9/acme' }, ACME_KEY)).status).toBe(201);
    const acmeUser = uniqueUser();
    expect((await postNotify(gw.url, 'billing:failed', { userId: acmeUser, title: 'acme bill' }, { key: ACME_KEY })).status).toBe(201);

    const seen = (await audit('?limit=500', ACME_KEY)).entries;
    expect(seen.length).toBeGreaterThanOrEqual(2);
    expect(seen.every((e) => e.tenantId === 'acme')).toBe(true);
    expect(seen.find((e) => e.target === channel)).toMatchObject({ action: 'channel.put', actor: ACME_ACTOR });
    expect(seen.find((e) => e.action === 'notify')).toMatchObject({ actor: ACME_ACTOR });

    const elsewhere = await api(gw.url, 'GET', '/api/audit?tenantId=default', undefined, ACME_KEY);
    expect(elsewhere.status).toBe(403);
    expect(elsewhere.body.error?.code).toBe('FORBIDDEN_TENANT');
    // A key for any tenant sees every tenant, or one.
    expect((await audit('?limit=500')).entries.some((e) => e.tenantId === 'acme')).toBe(true);
    const onlyAcme = (await audit('?tenantId=acme&limit=500')).entries;
    expect(onlyAcme.map((e) => e.id)).toEqual(seen.map((e) => e.id));
    expect((await api(gw.url, 'GET', '/api/audit', undefined, null)).status).toBe(401);
  });

  it('lists newest first, filtered by action, in pages', async () => {
    const users = Array.from({ length: 5 }, () => uniqueUser('page'));
    for (const user of users) expect((await api(gw.url, 'PUT', `/api/recipients/${user}?tenantId=paging`, { locale: 'en' })).status).toBe(201);
    const seen: AuditItem[] = [];
    let cursor: string | null = null;
    const pages: number[] = [];
    do {
      const page: AuditPage = await audit(`?tenantId=paging&action=recipient.put&limit=2${cursor ? `&cursor=${cursor}` : ''}`);
      pages.push(page.entries.length);
      seen.push(...page.entries);
      cursor = page.nextCursor;
    } while (cursor);
    expect(pages).toEqual([2, 2, 1]);
    expect(seen.map((e) => e.target)).toEqual([...users].reverse());
    expect(seen.every((e) => e.action === 'recipient.put')).toBe(true);
    const bad = await api(gw.url, 'GET', '/api/audit?limit=0&cursor=nope');
    expect(bad.status).toBe(400);
    expect(bad.body.error?.code).toBe('VALIDATION_FAILED');
  });

  it('deletes rows past AUDIT_RETENTION_DAYS in the retention sweep', async () => {
    const store = gw.gateway.store;
    const [old, recent] = await store.audit.record([
      { tenantId: 'retention', actor: ANY_ACTOR, action: 'channel.put', target: 'old' },
      { tenantId: 'retention', actor: ANY_ACTOR, action: 'channel.put', target: 'recent' },
    ]);
    await store.db('notify_audit').where({ id: old }).update({ created_at: Date.now() - 91 * 86_400_000 });
    const lease: ConsumerLease = { tryAcquire: async () => true, isHeld: () => true, onLost: () => {}, release: async () => {} };
    const stop = startRetentionSweeper(
      store,
      lease,
      { inboxRetentionMs: 30 * 86_400_000, replayRetentionMs: 86_400_000, auditRetentionMs: 90 * 86_400_000 },
      createLogger('silent'),
      20,
    );
    try {
      await until(async () => (await store.db('notify_audit').where({ id: old }).first()) === undefined, 'the old audit row deleted');
    } finally {
      stop();
    }
    expect(await store.db('notify_audit').where({ id: recent }).first()).toBeDefined();
  });
});
