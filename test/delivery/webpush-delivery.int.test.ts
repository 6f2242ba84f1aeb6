/**
 * Browser push end to end: a user registers a subscription (as the SDK's registerPush
 * does) → a notification with the push channel is queued once per subscription → the
 * gateway encrypts it with VAPID (RFC 8291/8292) for a real local push service that
 * decrypts it with the subscription's keys. A subscription the push service calls gone
 * (410) is removed; a recipient without one is recorded as suppressed.
 */
import webpush from 'web-push';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { api, putChannel, settledDeliveries } from '../support/admin-api.js';
import { startFakePushService, type FakePushService, type FakeSubscription } from '../support/fake-push-service.js';
import { createTestBed, postNotify, uniqueUser, userToken, type RunningGateway, type TestBed } from '../support/harness.js';

let bed: TestBed;
let gw: RunningGateway;
let push: FakePushService;
const vapid = webpush.generateVAPIDKeys();

beforeAll(async () => {
  push = await startFakePushService();
  bed = await createTestBed();
  gw = await bed.start({
    VAPID_PUBLIC_KEY: vapid.publicKey,
    VAPID_PRIVATE_KEY: vapid.privateKey,
    VAPID_SUBJECT: 'mailto:ops@example.com',
    ALLOW_PRIVATE_WEBHOOKS: 'true',
    DELIVERY_POLL_MS: '50',
  });
  await putChannel(gw.url, 'browser', { type: 'webpush' });
});
afterAll(async () => {
  await bed?.stopAll();
  await push?.close();
});

async function subscribe(user: string, subscription: FakeSubscription, deviceId = 'laptop') {
  const res = await fetch(`${gw.url}/api/push-subscriptions`, {
    method: 'POST',
    headers: { authorization: `Bearer ${userToken(user)}`, 'content-type': 'application/json' },
    body: JSON.stringify({ endpoint: subscription.endpoint, expirationTime: null, keys: subscription.keys, deviceId }),
  });
  expect(res.status).toBe(201);
  return ((await res.json()) as { id: string }).id;
}

describe('web push channel', () => {
  it('serves the VAPID public key for the SDK', async () => {
    const res = await api<{ publicKey: string }>(gw.url, 'GET', '/api/push/vapid-public-key', undefined, null);
    expect(res.body.publicKey).toBe(vapid.publicKey);
  });

  it('pushes one privacy-safe, decryptable message per subscription of the recipient', async () => {
    const user = uniqueUser();
    const [phone, laptop] = [push.subscribe(), push.subscribe()];
    await subscribe(user, phone!, 'phone');
    await subscribe(user, laptop!, 'laptop');
    const before = push.received.length;
    const res = await postNotify(gw.url, 'payment:succeeded', {
      userId: user,
      title: 'Payment received',
      body: 'card ending 4242',
      priority: 'high',
      channels: ['browser'],
      link: 'https://app.example.com/payments/9',
    });
    const rows = await settledDeliveries(gw.url, res.body.id!, 2);
    expect(rows.map((r) => r.status)).toEqual(['sent', 'sent']);
    const got = push.received.slice(before).filter((p) => (p.payload as { id?: string }).id === res.body.id);
    expect(got.map((p) => p.subscriptionId).sort()).toEqual([phone!.id, laptop!.id].sort());
    expect(got[0]!.payload).toEqual({
      id: res.body.id,
      kind: 'payment:succeeded',
      title: 'Payment received',
      body: null,
      link: 'https://app.example.com/payments/9',
      priority: 'high',
      createdAt: expect.any(String),
      tenantId: 'default',
    });
    expect(got[0]!.urgency).toBe('high');
    expect(got[0]!.vapid.subject).toBe('mailto:ops@example.com');
  });

  it('removes a subscription the push service reports gone, and suppresses users without one', async () => {
    const user = uniqueUser();
    const withoutPush = uniqueUser();
    const gone = push.subscribe();
    await subscribe(user, gone);
    push.markGone(gone.id);
    const first = await postNotify(gw.url, 'task:done', { userIds: [user, withoutPush], title: 'Done', channels: ['browser'] });
    const rows = await settledDeliveries(gw.url, first.body.id!, 2);
    const byUser = Object.fromEntries(rows.map((r) => [r.recipient, r]));
    expect(byUser[user]).toMatchObject({ status: 'dead', reason: 'subscription_gone', attempts: 1 });
    expect(byUser[withoutPush]).toMatchObject({ status: 'suppressed', reason: 'no_subscription' });
    // The subscription is gone: the next notification finds none for that user either.
    const second = await postNotify(gw.url, 'task:done', { userId: user, title: 'Again', channels: ['browser'] });
    const [again] = await settledDeliveries(gw.url, second.body.id!, 1);
    expect(again).toMatchObject({ status: 'suppressed', reason: 'no_subscription' });
  });

  it('only the signed-in user registers or removes their own subscriptions', async () => {
    const user = uniqueUser();
    const sub = push.subscribe();
    const anonymous = await fetch(`${gw.url}/api/push-subscriptions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ endpoint: sub.endpoint, keys: sub.keys }),
    });
    expect(anonymous.status).toBe(401);
    await subscribe(user, sub);
    const remove = (who: string) =>
      fetch(`${gw.url}/api/push-subscriptions`, {
        method: 'DELETE',
        headers: { authorization: `Bearer ${userToken(who)}`, 'content-type': 'application/json' },
        body: JSON.stringify({ endpoint: sub.endpoint }),
      });
    expect((await remove(uniqueUser())).status).toBe(404);
    expect((await remove(user)).status).toBe(204);
    const bad = await fetch(`${gw.url}/api/push-subscriptions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${userToken(user)}`, 'content-type': 'application/json' },
      body: JSON.stringify({ endpoint: 'not a url', keys: sub.keys }),
    });
    expect(bad.status).toBe(400);
  });
});
