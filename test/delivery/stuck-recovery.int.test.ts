/**
 * Stuck-lock recovery on a single instance, on both drivers (SQLite is the one-box
 * deployment where no peer exists to take over): a row is left `sending` only by a
 * crash, never by a graceful stop, and the restarted instance sends it again.
 *
 * Nothing is inserted or edited by hand; a real local webhook receiver holds its first
 * reply far longer than the test, so the send is really in flight. The queue row is read
 * through a separate store handle (a reader only) to see its lock.
 *
 * 1. Graceful stop mid-send: close() waits for the hanging send to hit WEBHOOK_TIMEOUT_MS
 *    and records the outcome before it returns, so the row is `failed` (a retry, lock
 *    released), not `sending`. The restarted instance retries it after the backoff; the
 *    visibility timeout is 30 s, so the resend cannot be the work of recovery.
 * 2. Crash mid-send: the instance is the compiled gateway in a child process, killed with
 *    SIGKILL while its send hangs (inside its 2 s send timeout). The row stays `sending`,
 *    locked by the dead process. A restarted instance (a new process, so a new worker id)
 *    returns it to the queue once the lock is older than the 3 s visibility timeout and
 *    sends it: the receiver sees the same webhook-id twice, never before lock time +
 *    visibility timeout, and the row ends `sent` after 2 attempts.
 * Only one instance has the database open for writing at any time.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createStore, type Store } from '../../src/store/store.js';
import { putChannel, settledDeliveries } from '../support/admin-api.js';
import { ensureBuilt } from '../deploy/support/build.js';
import { deliveryRowOf, metricValue } from '../support/delivery-probe.js';
import { startGatewayProcess, type GatewayProcess } from '../support/gateway-process.js';
import { createTestBed, postNotify, uniqueUser, type TestBed } from '../support/harness.js';
import { startWebhookReceiver, type ReceivedWebhook, type WebhookReceiver } from '../support/webhook-receiver.js';

const BASE_ENV = { ALLOW_PRIVATE_WEBHOOKS: 'true', DELIVERY_POLL_MS: '50' };
const HANG = { status: 200, delayMs: 600_000 };

let bed: TestBed;
let receiver: WebhookReceiver;
let probe: Store;
let child: GatewayProcess | undefined;

async function notifyHook(baseUrl: string): Promise<string> {
  const res = await postNotify(baseUrl, 'deal:won', { userId: uniqueUser(), title: 'Deal won', channels: ['hook'] });
  expect(res.status).toBe(201);
  return res.body.id!;
}

function requestsFor(deliveryId: string): ReceivedWebhook[] {
  return receiver.requests.filter((r) => r.id === deliveryId);
}

describe('stuck-lock recovery on a single instance', () => {
  beforeAll(async () => {
    bed = await createTestBed();
    receiver = await startWebhookReceiver();
    probe = createStore(bed.db.url, { poolMax: 1, acquireTimeoutMs: 5000 });
    await ensureBuilt(); // here, not inside the crash test's time budget
  }, 240_000);

  afterAll(async () => {
    await child?.stop();
    await probe?.close();
    await receiver?.close();
    await bed?.stopAll();
  });

  it('a graceful stop mid-send records a retry instead of leaving the row stuck', async () => {
    const env = { ...BASE_ENV, WEBHOOK_TIMEOUT_MS: '1000', DELIVERY_VISIBILITY_TIMEOUT_MS: '30000', DELIVERY_BACKOFF_BASE_MS: '200' };
    const first = await bed.start(env);
    await putChannel(first.url, 'hook', { type: 'webhook', url: receiver.url, secret: receiver.secret });
    receiver.enqueue(HANG);
    const before = receiver.requests.length;
    const messageId = await notifyHook(first.url);
    await receiver.waitFor(before + 1);
    const held = await deliveryRowOf(probe.db, messageId);
    expect(held).toMatchObject({ status: 'sending', attempts: 1, lockedBy: first.gateway.worker!.id });

    const closing = Date.now();
    await first.close();
    const closeMs = Date.now() - closing;
    const released = await deliveryRowOf(probe.db, messageId);
    expect(released).toMatchObject({ status: 'failed', attempts: 1, lockedBy: null, lockedAt: null });
    expect(released.lastError).toContain('no answer within 1000 ms');

    const restarted = await bed.start(env);
    const [delivery] = await settledDeliveries(restarted.url, messageId, 1);
    expect(delivery).toMatchObject({ status: 'sent', attempts: 2 });
    const sent = requestsFor(delivery!.id);
    expect(sent).toHaveLength(2);
    expect(sent.every((r) => r.signatureValid)).toBe(true);
    await restarted.close();
    console.log(`graceful stop mid-send: close() took ${closeMs} ms; resent ${sent[1]!.receivedAt - sent[0]!.receivedAt} ms after the first try`);
  }, 30_000);

  it('a crash mid-send leaves the row sending; the restarted instance sends it after the visibility timeout', async () => {
    const visibilityMs = 3000;
    const env = { ...BASE_ENV, WEBHOOK_TIMEOUT_MS: '2000', DELIVERY_VISIBILITY_TIMEOUT_MS: String(visibilityMs) };
    child = await startGatewayProcess(bed.db, env);
    const crashed = child;
    receiver.enqueue(HANG);
    const before = receiver.requests.length;
    const messageId = await notifyHook(crashed.url);
    await receiver.waitFor(before + 1);
    const held = await deliveryRowOf(probe.db, messageId);
    expect(held).toMatchObject({ status: 'sending', attempts: 1 });
    expect(held.lockedBy).toContain(`:${crashed.pid}:`);

    const killedAt = Date.now();
    const exit = await crashed.kill('SIGKILL');
    expect(exit.signal).toBe('SIGKILL');
    expect(await deliveryRowOf(probe.db, messageId)).toEqual(held);
    expect(killedAt - held.lockedAt!).toBeLessThan(2000);

    const restarted = await bed.start(env);
    expect(restarted.gateway.worker!.id).not.toBe(held.lockedBy);
    await receiver.waitFor(before + 2, visibilityMs + 10_000);
    const [delivery] = await settledDeliveries(restarted.url, messageId, 1);
    expect(delivery).toMatchObject({ status: 'sent', attempts: 2, lastError: null });
    const sent = requestsFor(delivery!.id);
    expect(sent).toHaveLength(2);
    expect(sent.every((r) => r.signatureValid)).toBe(true);
    expect(sent[1]!.receivedAt).toBeGreaterThanOrEqual(held.lockedAt! + visibilityMs);
    expect(await metricValue(restarted.url, 'notify_delivery_attempts_total', 'channel_type="webhook"')).toBe(1);
    await restarted.close();
    console.log(`crash mid-send: resent ${sent[1]!.receivedAt - held.lockedAt!} ms after the lock (visibility ${visibilityMs} ms)`);
  }, 60_000);
});
