/**
 * Webhook deliveries end to end: POST /api/notify with `channels` → the deliveries
 * consumer queues one row per channel → a worker signs and sends it to a real local
 * receiver, retries with growing gaps, dead-letters what cannot succeed, and an operator
 * retries it. In-app delivery of the same notification is untouched.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { api, deliveriesOf, putChannel, settledDeliveries } from '../support/admin-api.js';
import { useGateway } from '../support/gateway-suite.js';
import { ACME_KEY, postNotify, uniqueUser, userToken } from '../support/harness.js';
import { startWebhookReceiver, type WebhookReceiver } from '../support/webhook-receiver.js';

const suite = useGateway({
  ALLOW_PRIVATE_WEBHOOKS: 'true',
  DELIVERY_POLL_MS: '50',
  DELIVERY_BACKOFF_BASE_MS: '300',
  DELIVERY_MAX_ATTEMPTS: '4',
  WEBHOOK_TIMEOUT_MS: '1000',
  DELIVERY_VISIBILITY_TIMEOUT_MS: '5000',
});
let receiver: WebhookReceiver;

beforeAll(async () => {
  receiver = await startWebhookReceiver();
});
afterAll(async () => {
  await receiver.close();
});

async function notifyVia(channel: string, extra: Record<string, unknown> = {}) {
  const res = await postNotify(suite.gw.url, 'deal:won', { userId: uniqueUser(), title: 'Deal won', channels: [channel], ...extra });
  expect(res.status).toBe(201);
  return res.body.id!;
}

describe('webhook channel', () => {
  it('delivers a signed, privacy-safe payload once, next to the in-app notification', async () => {
    await putChannel(suite.gw.url, 'partner', { type: 'webhook', url: receiver.url, secret: receiver.secret });
    const user = uniqueUser();
    const tab = await suite.connect(suite.gw.url, { token: userToken(user) });
    const before = receiver.requests.length;
    const res = await postNotify(suite.gw.url, 'deal:won', {
      userId: user,
      title: 'Deal won',
      body: 'ACME signed for 3 years',
      data: { amount: 120000 },
      channels: ['partner'],
      link: 'https://crm.example.com/deals/7',
    });
    const id = res.body.id!;
    await tab.waitForIds([id]);
    const [delivery] = await settledDeliveries(suite.gw.url, id, 1);
    expect(delivery).toMatchObject({ channel: 'partner', channelType: 'webhook', status: 'sent', attempts: 1, recipient: null });
    const got = receiver.requests.slice(before).filter((r) => r.id === delivery!.id);
    expect(got).toHaveLength(1);
    expect(got[0]!.signatureValid).toBe(true);
    expect(got[0]!.body).toMatchObject({
      type: 'deal:won',
      data: { id, kind: 'deal:won', title: 'Deal won', link: 'https://crm.example.com/deals/7', body: null, data: null },
    });
  });

  it('carries body and data only when the notification asks for external: "full"', async () => {
    const id = await notifyVia('partner', { body: 'details', data: { a: 1 }, external: 'full' });
    const [delivery] = await settledDeliveries(suite.gw.url, id, 1);
    const request = receiver.requests.find((r) => r.id === delivery!.id)!;
    expect((request.body as { data: Record<string, unknown> }).data).toMatchObject({ body: 'details', data: { a: 1 } });
  });

  it('retries 503s with growing gaps, then is sent', async () => {
    receiver.enqueue(503, 503, 200);
    const before = receiver.requests.length;
    const id = await notifyVia('partner');
    const [delivery] = await settledDeliveries(suite.gw.url, id, 1);
    expect(delivery).toMatchObject({ status: 'sent', attempts: 3 });
    const times = receiver.requests.slice(before).filter((r) => r.id === delivery!.id).map((r) => r.receivedAt);
    expect(times).toHaveLength(3);
    const [gap1, gap2] = [times[1]! - times[0]!, times[2]! - times[1]!];
    // Equal jitter over base·2^(n-1): attempt 1 waits 150–300 ms, attempt 2 300–600 ms.
    expect(gap1).toBeGreaterThanOrEqual(140);
    expect(gap2).toBeGreaterThanOrEqual(290);
    expect(gap2).toBeGreaterThan(gap1 / 2);
  });

  it('dead-letters a 400 after one attempt; an operator retry sends it once the receiver is fixed', async () => {
    receiver.enqueue({ status: 400, body: 'unknown event type' });
    const id = await notifyVia('partner');
    const [dead] = await settledDeliveries(suite.gw.url, id, 1);
    expect(dead).toMatchObject({ status: 'dead', attempts: 1, reason: 'permanent_error' });
    expect(dead!.lastError).toContain('400');
    const listed = await api<{ deliveries: { id: string }[] }>(suite.gw.url, 'GET', '/api/deliveries?status=dead&channel=partner');
    expect(listed.body.deliveries.map((d) => d.id)).toContain(dead!.id);

    const retried = await api(suite.gw.url, 'POST', `/api/deliveries/${dead!.id}/retry`);
    expect(retried.status).toBe(202);
    const [sent] = await settledDeliveries(suite.gw.url, id, 1);
    expect(sent).toMatchObject({ status: 'sent', attempts: 1 });
    const again = await api(suite.gw.url, 'POST', `/api/deliveries/${dead!.id}/retry`);
    expect(again.status).toBe(409);
  });

  it('gives up after DELIVERY_MAX_ATTEMPTS retryable failures', async () => {
    receiver.enqueue(500, 500, 500, 500);
    const id = await notifyVia('partner');
    const [dead] = await settledDeliveries(suite.gw.url, id, 1);
    expect(dead).toMatchObject({ status: 'dead', attempts: 4, reason: 'max_attempts' });
  });

  it('records an unknown channel as suppressed instead of dropping it', async () => {
    const id = await notifyVia('no-such-channel');
    const [row] = await settledDeliveries(suite.gw.url, id, 1);
    expect(row).toMatchObject({ status: 'suppressed', reason: 'unknown_channel', channel: 'no-such-channel' });
  });

  it('never returns the secret in full, and refuses a private URL without ALLOW_PRIVATE_WEBHOOKS', async () => {
    const listed = await api<{ channels: { name: string; secret?: string }[] }>(suite.gw.url, 'GET', '/api/channels');
    const partner = listed.body.channels.find((c) => c.name === 'partner')!;
    expect(partner.secret).toBe(`whsec_…${receiver.secret.slice(-4)}`);
    expect(JSON.stringify(listed.body)).not.toContain(receiver.secret);
    const generated = await api<{ channel: { secret: string } }>(suite.gw.url, 'PUT', '/api/channels/fresh', { type: 'webhook', url: receiver.url });
    expect(generated.status).toBe(201);
    expect(generated.body.channel.secret).toMatch(/^whsec_[A-Za-z0-9+/]{32}$/);
    const bad = await api(suite.gw.url, 'PUT', '/api/channels/evil', { type: 'webhook', url: 'ftp://example.com/x' });
    expect(bad.status).toBe(400);
  });

  it('keeps tenants apart: a tenant-bound key manages and sees only its own tenant', async () => {
    const own = await api(suite.gw.url, 'PUT', '/api/channels/acme-hook', { type: 'webhook', url: receiver.url }, ACME_KEY);
    expect(own.status).toBe(201);
    const other = await api(suite.gw.url, 'GET', '/api/channels?tenantId=default', undefined, ACME_KEY);
    expect(other.status).toBe(403);
    const mine = await api<{ channels: { tenantId: string }[] }>(suite.gw.url, 'GET', '/api/channels', undefined, ACME_KEY);
    expect(new Set(mine.body.channels.map((c) => c.tenantId))).toEqual(new Set(['acme']));
    const deliveries = await api<{ deliveries: { tenantId: string }[] }>(suite.gw.url, 'GET', '/api/deliveries', undefined, ACME_KEY);
    expect(deliveries.body.deliveries.every((d) => d.tenantId === 'acme')).toBe(true);
    const somebodyElses = (await deliveriesOf(suite.gw.url, await notifyVia('partner')))[0];
    if (somebodyElses) {
      const retry = await api(suite.gw.url, 'POST', `/api/deliveries/${somebodyElses.id}/retry`, undefined, ACME_KEY);
      expect(retry.status).toBe(404);
    }
  });
});
