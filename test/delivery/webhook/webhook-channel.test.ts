/**
 * The webhook driver against a real local endpoint (test/support/webhook-receiver.ts):
 * what the receiver can verify, and which answers mean sent, retry or permanent.
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { DeliveryJob, ExternalMessage, SendOutcome } from '../../../src/delivery/channel.js';
import { createWebhookChannel } from '../../../src/delivery/webhook/webhook-channel.js';
import { startWebhookReceiver, type ScriptedReply, type WebhookReceiver } from '../../support/webhook-receiver.js';

const driver = createWebhookChannel({ timeoutMs: 5_000, allowPrivate: true });
const never = new AbortController().signal;

const open: WebhookReceiver[] = [];
afterEach(async () => {
  await Promise.all(open.splice(0).map((r) => r.close()));
});
async function receiver(...replies: (number | ScriptedReply)[]): Promise<WebhookReceiver> {
  const r = await startWebhookReceiver();
  open.push(r);
  r.enqueue(...replies);
  return r;
}

const fullMessage: ExternalMessage = {
  id: '0190f2a0-0000-7000-8000-000000000001',
  kind: 'order.shipped',
  tenantId: 'acme',
  title: 'Your order shipped',
  body: 'Parcel 42 left the warehouse — Größe L 🚚',
  data: { orderId: 42, lines: [{ sku: 'A-1', qty: 2 }], gift: false, note: null },
  link: 'https://app.example/orders/42',
  priority: 'high',
  createdAt: '2026-11-30T10:00:00.000Z',
  mentions: { userIds: ['u1'], mobiles: [], all: false },
};

function job(r: WebhookReceiver, overrides: Partial<DeliveryJob> = {}): DeliveryJob {
  return {
    deliveryId: '0190f2a0-0000-7000-8000-00000000d001',
    attempt: 1,
    tenantId: 'acme',
    channelName: 'partner',
    config: { type: 'webhook', url: r.url, secret: r.secret },
    message: fullMessage,
    recipient: null,
    push: null,
    ...overrides,
  };
}

/** Sends, and checks the one rule every outcome keeps: no secret in its text. */
async function send(r: WebhookReceiver, j: DeliveryJob = job(r), d = driver, signal = never): Promise<SendOutcome> {
  const outcome = await d.send(j, signal);
  if (outcome.status !== 'sent') {
    expect(outcome.error).not.toContain(r.secret);
    expect(outcome.error).not.toContain(r.secret.slice('whsec_'.length));
  }
  return outcome;
}

describe('what the receiver gets', () => {
  it('a Standard Webhooks request it can verify, carrying the documented event', async () => {
    const r = await receiver();
    const before = Date.now();
    expect(await send(r)).toEqual({ status: 'sent' });

    const [got] = await r.waitFor(1);
    expect(got!.signatureValid).toBe(true);
    expect(got!.id).toBe('0190f2a0-0000-7000-8000-00000000d001');
    expect(got!.headers['content-type']).toBe('application/json');
    expect(got!.body).toEqual({
      type: 'order.shipped',
      timestamp: expect.any(String),
      data: {
        id: fullMessage.id,
        kind: 'order.shipped',
        tenantId: 'acme',
        title: 'Your order shipped',
        body: fullMessage.body,
        data: fullMessage.data,
        link: 'https://app.example/orders/42',
        priority: 'high',
        createdAt: '2026-11-30T10:00:00.000Z',
      },
    });
    // The event timestamp and the signed header are the same instant of this attempt.
    const iso = (got!.body as { timestamp: string }).timestamp;
    expect(iso).toBe(new Date(Date.parse(iso)).toISOString());
    expect(Math.floor(Date.parse(iso) / 1000)).toBe(got!.timestamp);
    expect(Date.parse(iso)).toBeGreaterThanOrEqual(before);
  });

  it('a privacy-safe message as it is: body and data present and null, not dropped', async () => {
    const r = await receiver();
    const thin = { ...fullMessage, body: null, data: null, link: null };
    expect(await send(r, job(r, { message: thin }))).toEqual({ status: 'sent' });
    const [got] = await r.waitFor(1);
    const data = (got!.body as { data: Record<string, unknown> }).data;
    expect(Object.keys(data).sort()).toEqual(['body', 'createdAt', 'data', 'id', 'kind', 'link', 'priority', 'tenantId', 'title']);
    expect(data).toMatchObject({ body: null, data: null, link: null });
    expect(got!.signatureValid).toBe(true);
  });

  it('the same webhook-id on every attempt, each freshly signed', async () => {
    const r = await receiver(503, 500);
    expect((await send(r, job(r, { attempt: 1 }))).status).toBe('retry');
    expect((await send(r, job(r, { attempt: 2 }))).status).toBe('retry');
    expect(await send(r, job(r, { attempt: 3 }))).toEqual({ status: 'sent' });
    const got = await r.waitFor(3);
    expect(got.map((g) => g.id)).toEqual(Array(3).fill('0190f2a0-0000-7000-8000-00000000d001'));
    expect(got.every((g) => g.signatureValid)).toBe(true);
  });

  it('a signature the receiver rejects when it holds another secret (the check is real)', async () => {
    const r = await receiver();
    const other = await receiver();
    await send(r, job(r, { config: { type: 'webhook', url: r.url, secret: other.secret } }));
    const [got] = await r.waitFor(1);
    expect(got!.signatureValid).toBe(false);
  });
});

describe('what an answer means', () => {
  it.each([200, 201, 202, 204, 299])('%i: sent', async (status) => {
    const r = await receiver(status);
    expect(await send(r)).toEqual({ status: 'sent' });
  });

  it.each([408, 429, 500, 502, 503, 504])('%i: retry, saying the status', async (status) => {
    const r = await receiver(status);
    const outcome = await send(r);
    expect(outcome).toMatchObject({ status: 'retry', error: expect.stringContaining(`HTTP ${status}`) });
    expect(outcome).not.toHaveProperty('retryAfterMs');
  });

  it('503 with Retry-After: 7: retry, not before 7 s', async () => {
    const r = await receiver({ status: 503, retryAfter: '7' });
    expect(await send(r)).toMatchObject({ status: 'retry', retryAfterMs: 7000 });
  });

  it('429 with Retry-After as an HTTP date: retry, not before then', async () => {
    const at = new Date(Date.now() + 60_000);
    const r = await receiver({ status: 429, retryAfter: at.toUTCString() });
    const outcome = await send(r);
    expect(outcome.status).toBe('retry');
    const after = (outcome as { retryAfterMs?: number }).retryAfterMs;
    expect(after).toBeGreaterThan(55_000);
    expect(after).toBeLessThanOrEqual(60_000);
  });

  it.each([301, 302, 400, 401, 403, 404, 410, 413, 422])('%i: permanent', async (status) => {
    const r = await receiver(status);
    expect(await send(r)).toMatchObject({ status: 'permanent', error: expect.stringContaining(`HTTP ${status}`) });
  });

  it('the error text holds the status and the start of the body, on one line and short', async () => {
    const r = await receiver({ status: 400, body: `invalid\npayload: ${'x'.repeat(5000)}` });
    const outcome = await send(r);
    expect(outcome.status).toBe('permanent');
    const error = (outcome as { error: string }).error;
    expect(error.startsWith('HTTP 400 Bad Request: invalid payload: xxx')).toBe(true);
    expect(error).not.toContain('\n');
    expect(error.length).toBeLessThanOrEqual('HTTP 400 Bad Request: '.length + 201);
  });

  it('never the secret, even when the receiver echoes it back', async () => {
    const r = await receiver();
    r.enqueue(
      { status: 401, body: `signature mismatch for ${r.secret}` },
      { status: 503, body: `key ${r.secret.slice('whsec_'.length)} rejected` },
    );
    const first = await send(r);
    const second = await send(r);
    expect(first).toMatchObject({ status: 'permanent', error: 'HTTP 401 Unauthorized: signature mismatch for [secret]' });
    expect(second).toMatchObject({ status: 'retry', error: 'HTTP 503 Service Unavailable: key [secret] rejected' });
  });
});

describe('when there is no answer', () => {
  it('a receiver slower than the timeout: retry', async () => {
    const r = await receiver({ status: 200, delayMs: 10_000 });
    const quick = createWebhookChannel({ timeoutMs: 200, allowPrivate: true });
    const started = Date.now();
    const outcome = await send(r, job(r), quick);
    expect(outcome).toMatchObject({ status: 'retry', error: expect.stringMatching(/no answer within 200 ms/) });
    expect(Date.now() - started).toBeLessThan(5_000);
    expect(r.requests).toHaveLength(1); // it did arrive: the answer is what never came
  });

  it('connection refused: retry', async () => {
    const r = await receiver();
    await r.close();
    expect(await send(r)).toMatchObject({ status: 'retry', error: expect.stringMatching(/ECONNREFUSED/) });
  });

  it('the worker stopping mid-request: retry', async () => {
    const r = await receiver({ status: 200, delayMs: 10_000 });
    const stop = new AbortController();
    const pending = send(r, job(r), driver, stop.signal);
    await r.waitFor(1);
    stop.abort();
    expect((await pending).status).toBe('retry');
  });
});

describe('what is refused before sending', () => {
  const guarded = createWebhookChannel({ timeoutMs: 5_000, allowPrivate: false });

  it.each([
    ['a loopback address', (r: WebhookReceiver) => r.url],
    ['a name resolving to loopback', (r: WebhookReceiver) => r.url.replace('127.0.0.1', 'localhost')],
  ])('%s, private addresses not allowed: permanent, and nothing reaches it', async (_, urlOf) => {
    const r = await receiver();
    const outcome = await send(r, job(r, { config: { type: 'webhook', url: urlOf(r), secret: r.secret } }), guarded);
    expect(outcome).toMatchObject({ status: 'permanent', error: expect.stringMatching(/private address/) });
    expect(r.requests).toHaveLength(0);
  });

  it('a secret that is not a whsec_ secret: permanent, without echoing it', async () => {
    const r = await receiver();
    const secret = 'whsec_short-and-wrong';
    const outcome = await driver.send(job(r, { config: { type: 'webhook', url: r.url, secret } }), never);
    expect(outcome).toMatchObject({ status: 'permanent' });
    expect((outcome as { error: string }).error).not.toContain('short-and-wrong');
    expect(r.requests).toHaveLength(0);
  });

  it('a URL that is not http(s): permanent, without echoing it', async () => {
    const r = await receiver();
    const outcome = await send(r, job(r, { config: { type: 'webhook', url: 'ftp://token123@example.com/x', secret: r.secret } }));
    expect(outcome).toMatchObject({ status: 'permanent' });
    expect((outcome as { error: string }).error).not.toContain('token123');
  });
});
