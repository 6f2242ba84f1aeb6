/** The SDK's small parts, in Node: the SSE parser, backoff with jitter, the dedupe window, JWT subject. */
import { describe, expect, it } from 'vitest';
import { SseParser } from '../../src/client/sse-parser.js';
import { TokenSource } from '../../src/client/rest-api.js';
import { RecentIds, backoffDelay, memoryStorage, tokenSubject } from '../../src/client/support.js';
import { signToken } from '../support/harness.js';

describe('SseParser', () => {
  it('parses events split across chunks, with CRLF, multi-line data, comments and ids', () => {
    const parser = new SseParser();
    const text = 'retry: 2000\r\n\r\n: ping\n\nid: a1\nevent: notification\ndata: {"x":\ndata: 1}\n\nevent: synced\ndata: {}\r\n\r\n';
    const events = [...text].flatMap((char) => parser.push(char));
    expect(events).toEqual([
      { event: 'notification', data: '{"x":\n1}', id: 'a1' },
      { event: 'synced', data: '{}', id: undefined },
    ]);
    expect(parser.retryMs).toBe(2000);
  });

  it('defaults the event name to "message" and ignores events without data', () => {
    const parser = new SseParser();
    expect(parser.push('id: 1\n\ndata: hi\n\n')).toEqual([{ event: 'message', data: 'hi', id: undefined }]);
  });
});

describe('backoffDelay', () => {
  it('doubles from the initial delay, is capped, and keeps half of it fixed', () => {
    expect(backoffDelay(0, 500, 30_000, () => 0)).toBe(250);
    expect(backoffDelay(0, 500, 30_000, () => 1)).toBe(500);
    expect(backoffDelay(3, 500, 30_000, () => 1)).toBe(4000);
    expect(backoffDelay(50, 500, 30_000, () => 0)).toBe(15_000);
    expect(backoffDelay(50, 500, 30_000, () => 1)).toBe(30_000);
  });
});

describe('RecentIds', () => {
  it('remembers at most `capacity` ids, forgetting the oldest first', () => {
    const recent = new RecentIds(2);
    recent.add('a');
    recent.add('b');
    recent.add('c');
    expect([recent.has('a'), recent.has('b'), recent.has('c')]).toEqual([false, true, true]);
  });
});

describe('tokenSubject and storage', () => {
  it('reads (tenant, user) from a JWT, defaulting the tenant, and rejects garbage', () => {
    expect(tokenSubject(signToken({ sub: 'ünïcode', tid: 'acme' }))).toEqual({ tenantId: 'acme', userId: 'ünïcode' });
    expect(tokenSubject(signToken({ sub: 'bob' }))).toEqual({ tenantId: 'default', userId: 'bob' });
    expect(tokenSubject('not-a-jwt')).toBeNull();
  });

  it('memoryStorage keeps values per key', () => {
    const storage = memoryStorage();
    storage.set('k', 'v');
    expect([storage.get('k'), storage.get('other')]).toEqual(['v', null]);
  });
});

describe('TokenSource', () => {
  it('asks getToken once for concurrent first callers, and again only on refresh', async () => {
    const reasons: string[] = [];
    const source = new TokenSource(undefined, async (reason) => {
      reasons.push(reason);
      return `t${reasons.length}`;
    });
    expect(await Promise.all([source.current(), source.current(), source.current()])).toEqual(['t1', 't1', 't1']);
    expect(await Promise.all([source.refresh(), source.refresh()])).toEqual(['t2', 't2']);
    expect(await source.current()).toBe('t2');
    expect(reasons).toEqual(['initial', 'expired']);
  });
});
