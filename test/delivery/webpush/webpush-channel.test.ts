/**
 * The webpush driver against a real local push service (test/support/fake-push-service.ts),
 * which verifies VAPID and decrypts with its own code: what a browser would receive, and
 * which answers mean sent, retry, permanent or "subscription gone".
 */
import webpush from 'web-push';
import { afterEach, describe, expect, it } from 'vitest';
import type { DeliveryJob, ExternalMessage, PushTarget } from '../../../src/delivery/channel.js';
import { createWebpushChannel, type WebpushChannelOptions } from '../../../src/delivery/webpush/webpush-channel.js';
import { startFakePushService, type FakePushService, type FakeSubscription } from '../../support/fake-push-service.js';

const vapid = { ...webpush.generateVAPIDKeys(), subject: 'mailto:ops@notify.example' };
const never = new AbortController().signal;
const driverWith = (overrides: Partial<WebpushChannelOptions> = {}) => createWebpushChannel({ vapid, timeoutMs: 5_000, allowPrivate: true, ...overrides });
const driver = driverWith();

const open: FakePushService[] = [];
afterEach(async () => {
  await Promise.all(open.splice(0).map((s) => s.close()));
});
async function service(): Promise<FakePushService> {
  const s = await startFakePushService();
  open.push(s);
  return s;
}

const message: ExternalMessage = {
  id: '0190f2a0-0000-7000-8000-000000000001',
  kind: 'order.shipped',
  tenantId: 'acme',
  title: 'Your order shipped',
  body: 'Parcel 42 left the warehouse — Größe L 🚚',
  data: { orderId: 42 },
  link: 'https://app.example/orders/42',
  priority: 'high',
  createdAt: '2026-11-30T10:00:00.000Z',
  mentions: null,
};

function job(sub: FakeSubscription | PushTarget, overrides: Partial<DeliveryJob> = {}): DeliveryJob {
  return {
    deliveryId: '0190f2a0-0000-7000-8000-00000000d001',
    attempt: 1,
    tenantId: 'acme',
    channelName: 'browser',
    config: { type: 'webpush' },
    message,
    recipient: null,
    push: { id: sub.id, endpoint: sub.endpoint, keys: sub.keys },
    ...overrides,
  };
}

describe('what the browser gets', () => {
  it('the documented JSON, decrypted byte for byte, under a VAPID signature the service verifies', async () => {
    const s = await service();
    const sub = s.subscribe({ applicationServerKey: vapid.publicKey });
    expect(await driver.send(job(sub), never)).toEqual({ status: 'sent' });

    const [got] = await s.waitFor(1);
    const expected = {
      id: message.id,
      kind: 'order.shipped',
      title: 'Your order shipped',
      body: message.body,
      link: 'https://app.example/orders/42',
      priority: 'high',
      createdAt: '2026-11-30T10:00:00.000Z',
      tenantId: 'acme',
    };
    expect(got!.rawPayload).toBe(JSON.stringify(expected));
    expect(got!.payload).toEqual(expected);
    expect(got!.subscriptionId).toBe(sub.id);
    expect(got!.vapid).toMatchObject({ subject: vapid.subject, publicKey: vapid.publicKey, audience: s.origin });
    expect(got!.ttl).toBe(24 * 60 * 60);
    expect(got!.urgency).toBe('high');
  });

  it('carries no data, and body only as the privacy-safe message gives it', async () => {
    const s = await service();
    const sub = s.subscribe();
    await driver.send(job(sub, { message: { ...message, body: null, data: null, link: null } }), never);
    const [got] = await s.waitFor(1);
    expect(got!.payload).toEqual(expect.objectContaining({ body: null, link: null }));
    expect(got!.payload).not.toHaveProperty('data');
  });

  it('urgency high for high and urgent, normal otherwise; TTL as configured', async () => {
    const s = await service();
    const sub = s.subscribe();
    const d = driverWith({ ttlSeconds: 600 });
    for (const priority of ['urgent', 'high', 'normal', 'low']) {
      expect(await d.send(job(sub, { message: { ...message, priority } }), never)).toEqual({ status: 'sent' });
    }
    const got = await s.waitFor(4);
    expect(got.map((p) => p.urgency)).toEqual(['high', 'high', 'normal', 'normal']);
    expect(got.map((p) => p.ttl)).toEqual([600, 600, 600, 600]);
  });

  it('cuts an over-long body to fit one push (4096 bytes), without splitting a character', async () => {
    const s = await service();
    const sub = s.subscribe();
    const long = 'Größe 🚚 "quoted"\n'.repeat(1000);
    expect(await driver.send(job(sub, { message: { ...message, body: long } }), never)).toEqual({ status: 'sent' });
    const [got] = await s.waitFor(1);
    const body = (got!.payload as { body: string }).body;
    expect(body.endsWith('…')).toBe(true);
    expect(long.startsWith(body.slice(0, -1))).toBe(true);
    expect(body.length).toBeGreaterThan(1000); // cut to the budget, not far below it
    expect(Buffer.from(body).toString()).toBe(body); // a lone surrogate would not survive UTF-8
  });
});

describe('what an answer means', () => {
  it('410 Gone: permanent, subscription gone', async () => {
    const s = await service();
    const sub = s.subscribe();
    s.markGone(sub.id);
    expect(await driver.send(job(sub), never)).toEqual({ status: 'permanent', error: expect.stringContaining('410'), subscriptionGone: true });
    expect(s.received).toHaveLength(0);
  });

  it('404 Not Found: the same', async () => {
    const s = await service();
    const sub = s.subscribe();
    s.markGone(sub.id, 404);
    expect(await driver.send(job(sub), never)).toEqual({ status: 'permanent', error: expect.stringContaining('404'), subscriptionGone: true });
  });

  it('429 with Retry-After: retry not before then, and the next attempt goes through', async () => {
    const s = await service();
    const sub = s.subscribe();
    s.replyNext({ status: 429, retryAfter: '7' });
    expect(await driver.send(job(sub), never)).toEqual({ status: 'retry', error: expect.stringContaining('429'), retryAfterMs: 7000 });
    expect(s.received).toHaveLength(0);
    expect(await driver.send(job(sub, { attempt: 2 }), never)).toEqual({ status: 'sent' });
    await s.waitFor(1);
  });

  it('500: retry', async () => {
    const s = await service();
    const sub = s.subscribe();
    s.replyNext(500);
    const outcome = await driver.send(job(sub), never);
    expect(outcome).toEqual({ status: 'retry', error: expect.stringContaining('500') });
  });

  it.each([400, 413])('%i: permanent, the subscription kept', async (status) => {
    const s = await service();
    const sub = s.subscribe();
    s.replyNext(status);
    const outcome = await driver.send(job(sub), never);
    expect(outcome).toEqual({ status: 'permanent', error: expect.stringContaining(String(status)) });
  });

  it('a subscription made for another VAPID key: 403 from the service, permanent', async () => {
    const s = await service();
    const sub = s.subscribe({ applicationServerKey: webpush.generateVAPIDKeys().publicKey });
    const outcome = await driver.send(job(sub), never);
    expect(outcome).toEqual({ status: 'permanent', error: expect.stringContaining('403') });
    expect(s.attempts.map((a) => a.status)).toEqual([403]);
  });

  it('a push service that is down: retry', async () => {
    const s = await service();
    const sub = s.subscribe();
    await s.close();
    expect(await driver.send(job(sub), never)).toEqual({ status: 'retry', error: expect.stringContaining('ECONNREFUSED') });
  });

  it('keys a browser could not have made: permanent, nothing sent', async () => {
    const s = await service();
    const sub = s.subscribe();
    const outcome = await driver.send(job({ ...sub, keys: { p256dh: 'AAAA', auth: sub.keys.auth } }), never);
    expect(outcome).toMatchObject({ status: 'permanent' });
    expect(s.attempts).toHaveLength(0);
  });
});

describe('SSRF guard', () => {
  it.each([
    ['a literal private address', (e: string) => e],
    ['a name resolving to one', (e: string) => e.replace('127.0.0.1', 'localhost')],
  ])('an endpoint at %s is refused unless allowPrivate, and nothing reaches it', async (_, endpointOf) => {
    const s = await service();
    const sub = s.subscribe();
    const guarded = driverWith({ allowPrivate: false });
    const outcome = await guarded.send(job({ ...sub, endpoint: endpointOf(sub.endpoint) }), never);
    expect(outcome).toEqual({ status: 'permanent', error: expect.stringMatching(/private address/) });
    expect(s.attempts).toHaveLength(0);
    expect(outcome.status === 'permanent' && outcome.subscriptionGone).toBeFalsy();
  });
});

describe('configuration', () => {
  it('unusable VAPID keys fail at creation, not on the first delivery', () => {
    expect(() => createWebpushChannel({ vapid: { ...vapid, privateKey: 'short' }, timeoutMs: 1000, allowPrivate: false })).toThrow();
    expect(() => createWebpushChannel({ vapid: { ...vapid, subject: 'ops@notify.example' }, timeoutMs: 1000, allowPrivate: false })).toThrow();
  });

  it('a job without a subscription or for another channel type: permanent', async () => {
    const s = await service();
    const sub = s.subscribe();
    expect(await driver.send(job(sub, { push: null }), never)).toMatchObject({ status: 'permanent' });
    expect(await driver.send(job(sub, { config: { type: 'email' } }), never)).toMatchObject({ status: 'permanent' });
    expect(s.attempts).toHaveLength(0);
  });
});
