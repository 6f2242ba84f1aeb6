/**
 * Bad input never half-writes: every rejected POST answers with the catalogue shape and
 * the expected code, and leaves notify_messages / notify_inbox / notify_outbox untouched.
 * The bad cases run before the one that writes, so the outbox (pruned by the relay after
 * emit) cannot move under the counts.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ACME_KEY, createTestBed, postNotify, uniqueUser, type RunningGateway, type TestBed } from '../support/harness.js';
import { countRows } from '../support/store-probe.js';

let bed: TestBed;
let gw: RunningGateway;

beforeAll(async () => {
  bed = await createTestBed();
  gw = await bed.start();
});
afterAll(async () => {
  await bed.stopAll();
});

interface BadCase {
  name: string;
  kind?: string;
  body?: unknown;
  raw?: string;
  headers?: Record<string, string>;
  key?: string | null;
  status: number;
  code: string;
  /** A `details[].path` the error must name. */
  path?: string;
}

const valid = () => ({ userId: uniqueUser(), title: 'Build finished' });
const many = (n: number) => Array.from({ length: n }, (_, i) => `user-${i}`);

const cases: BadCase[] = [
  { name: 'malformed JSON', raw: '{"userId": "a", "title": ', status: 400, code: 'INVALID_JSON' },
  { name: 'missing title', body: { userId: 'a' }, status: 400, code: 'VALIDATION_FAILED', path: 'title' },
  { name: 'empty title', body: { userId: 'a', title: '' }, status: 400, code: 'VALIDATION_FAILED', path: 'title' },
  { name: 'blank title', body: { userId: 'a', title: '   ' }, status: 400, code: 'VALIDATION_FAILED', path: 'title' },
  { name: 'kind with a space', kind: encodeURIComponent('Bad Kind'), body: valid(), status: 400, code: 'VALIDATION_FAILED', path: 'kind' },
  { name: 'kind starting with a digit', kind: '1abc', body: valid(), status: 400, code: 'VALIDATION_FAILED', path: 'kind' },
  { name: 'kind of 65 characters', kind: `a${'b'.repeat(64)}`, body: valid(), status: 400, code: 'VALIDATION_FAILED', path: 'kind' },
  { name: 'kind in upper case', kind: 'Task', body: valid(), status: 400, code: 'VALIDATION_FAILED', path: 'kind' },
  { name: '1001 userIds', body: { userIds: many(1001), title: 't' }, status: 400, code: 'VALIDATION_FAILED', path: 'userIds' },
  { name: 'empty userIds', body: { userIds: [], title: 't' }, status: 400, code: 'VALIDATION_FAILED', path: 'userIds' },
  { name: 'userId and userIds', body: { userId: 'a', userIds: ['b'], title: 't' }, status: 400, code: 'VALIDATION_FAILED', path: 'userIds' },
  { name: 'scope tenant with userId', body: { scope: 'tenant', userId: 'a', title: 't' }, status: 400, code: 'VALIDATION_FAILED', path: 'scope' },
  { name: 'no recipient', body: { title: 't' }, status: 400, code: 'VALIDATION_FAILED', path: 'userId' },
  { name: 'unknown scope', body: { scope: 'everyone', userId: 'a', title: 't' }, status: 400, code: 'VALIDATION_FAILED', path: 'scope' },
  { name: 'title is a number', body: { userId: 'a', title: 42 }, status: 400, code: 'VALIDATION_FAILED', path: 'title' },
  { name: 'priority "critical"', body: { userId: 'a', title: 't', priority: 'critical' }, status: 400, code: 'VALIDATION_FAILED', path: 'priority' },
  { name: 'data is an array', body: { userId: 'a', title: 't', data: [1, 2] }, status: 400, code: 'VALIDATION_FAILED', path: 'data' },
  { name: 'ttlSeconds is a string', body: { userId: 'a', title: 't', ttlSeconds: '60' }, status: 400, code: 'VALIDATION_FAILED', path: 'ttlSeconds' },
  { name: 'userId with whitespace', body: { userId: 'a b', title: 't' }, status: 400, code: 'VALIDATION_FAILED', path: 'userId' },
  { name: 'tenantId with ":"', body: { userId: 'a', tenantId: 'a:b', title: 't' }, status: 400, code: 'VALIDATION_FAILED', path: 'tenantId' },
  { name: 'unknown body field', body: { userId: 'a', title: 't', urgent: true }, status: 400, code: 'VALIDATION_FAILED' },
  { name: 'body is a JSON array', body: [{ userId: 'a', title: 't' }], status: 400, code: 'VALIDATION_FAILED' },
  { name: 'data over 8 KB', body: { userId: 'a', title: 't', data: { blob: 'x'.repeat(8 * 1024) } }, status: 413, code: 'PAYLOAD_TOO_LARGE' },
  { name: 'body over 64 KB', body: { userId: 'a', title: 't', body: 'x'.repeat(65 * 1024) }, status: 413, code: 'PAYLOAD_TOO_LARGE' },
  {
    name: 'text/plain content type',
    raw: JSON.stringify({ userId: 'a', title: 't' }),
    headers: { 'content-type': 'text/plain' },
    status: 415,
    code: 'UNSUPPORTED_MEDIA_TYPE',
  },
  {
    name: 'form content type',
    raw: 'userId=a&title=t',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    status: 415,
    code: 'UNSUPPORTED_MEDIA_TYPE',
  },
  { name: 'missing X-API-Key', body: { userId: 'a', title: 't' }, key: null, status: 401, code: 'UNAUTHORIZED' },
  { name: 'wrong X-API-Key', body: { userId: 'a', title: 't' }, key: 'not-a-key-we-know-000', status: 401, code: 'UNAUTHORIZED' },
  { name: 'empty X-API-Key', body: { userId: 'a', title: 't' }, key: '', status: 401, code: 'UNAUTHORIZED' },
  {
    name: 'Idempotency-Key differs from dedupeKey',
    body: { userId: 'a', title: 't', dedupeKey: 'order-1' },
    headers: { 'idempotency-key': 'order-2' },
    status: 400,
    code: 'VALIDATION_FAILED',
    path: 'dedupeKey',
  },
  {
    name: 'tenant-bound key addressing another tenant',
    body: { userId: 'a', title: 't', tenantId: 'other' },
    key: ACME_KEY,
    status: 403,
    code: 'FORBIDDEN_TENANT',
  },
];

describe('POST /api/notify/:kind rejects bad input without writing anything', () => {
  it.each(cases)('$name → $status $code', async (c) => {
    const before = await countRows(gw.gateway.store.db);
    const res = await postNotify(gw.url, c.kind ?? 'task:completed', c.body, {
      ...(c.raw !== undefined && { raw: c.raw }),
      ...(c.headers && { headers: c.headers }),
      ...(c.key !== undefined && { key: c.key }),
    });

    expect(res.status).toBe(c.status);
    expect(res.headers.get('content-type')).toMatch(/^application\/json/);
    expect(Object.keys(res.body)).toEqual(['error']);
    const error = res.body.error!;
    expect(error.code).toBe(c.code);
    expect(error.message).toEqual(expect.any(String));
    expect(error.message.length).toBeGreaterThan(0);
    expect(Object.keys(error).every((k) => ['code', 'message', 'details'].includes(k))).toBe(true);
    if (c.path !== undefined) {
      expect(error.details).toEqual(expect.arrayContaining([expect.objectContaining({ path: c.path })]));
    }
    expect(await countRows(gw.gateway.store.db)).toEqual(before);
  });
});

describe('the limits are inclusive', () => {
  it('accepts exactly 1000 userIds and writes one message, 1000 inbox rows', async () => {
    const users = Array.from({ length: 1000 }, () => uniqueUser());
    const before = await countRows(gw.gateway.store.db);
    const res = await postNotify(gw.url, 'task:completed', { userIds: users, title: 'Release shipped' });
    expect(res.status).toBe(201);
    expect(res.body).toEqual({ id: expect.any(String), deduped: false, recipients: 1000 });

    const db = gw.gateway.store.db;
    const inbox = await db('notify_inbox').where({ message_id: res.body.id }).select('user_id');
    expect(inbox.map((r: { user_id: string }) => r.user_id).sort()).toEqual([...users].sort());
    const after = await countRows(db);
    expect(after.messages).toBe(before.messages + 1);
    expect(after.inbox).toBe(before.inbox + 1000);
  });

  it('accepts data of exactly 8 KB serialised', async () => {
    const data = { blob: '' };
    data.blob = 'x'.repeat(8 * 1024 - JSON.stringify(data).length);
    expect(Buffer.byteLength(JSON.stringify(data))).toBe(8 * 1024);
    const res = await postNotify(gw.url, 'task:completed', { ...valid(), data });
    expect(res.status).toBe(201);
  });
});
