/**
 * A gateway killed with SIGKILL while a webhook delivery is `sending` loses nothing: once
 * the row's lock is older than DELIVERY_VISIBILITY_TIMEOUT_MS, another instance's recovery
 * pass returns it to the queue and that instance sends it. The receiver sees the delivery
 * twice with the same webhook-id (at-least-once; the id is its dedupe key), never zero
 * times, and the recipient's in-app notification is not lost either.
 *
 * How, with real parts only (MariaDB, Redis, real processes and sockets):
 * - Instance A is the compiled gateway (dist/) in a child process, so it can really die
 *   without a goodbye: no close(), no recorded outcome, its MySQL connections simply end.
 * - A local webhook receiver holds its first reply far longer than the test, so A's send
 *   is in flight with the row `sending` and `locked_by` A. When the request arrives, A is
 *   checked to hold the lock (through the store) and killed; right after its 'exit' event
 *   the row is checked again: still `sending`, locked by the dead A, attempt 1.
 * - Instance B is in-process with the same delivery settings. It is started only after
 *   A's request reached the receiver, i.e. after A claimed the row, and before the kill:
 *   so A claims first by construction (no race with B to steer), and at the moment of
 *   the kill B is a running peer whose periodic recovery pass (every visibility/4) is what
 *   brings the row back, as in a real cluster.
 * - WEBHOOK_TIMEOUT_MS is 4 s (visibility 5 s, which config requires to be longer): A
 *   must still be inside its own send timeout when it is killed, else it would record a
 *   retry itself. The post-kill check of the row proves it was; the margin only covers
 *   B's start-up.
 * - Proof that B (not A) sent it: A had exited before the second request arrived, and B's
 *   own /metrics counts exactly one webhook attempt and one `sent`.
 * - Timing: the second request cannot come before lock time + visibility timeout (i.e.
 *   kill → resend ≥ visibility − lock age at the kill), and comes within one recovery
 *   interval plus slack after it.
 * - In-app: the recipient's socket on A got the notification live; after A died, the
 *   client's resumed session on B (lastAckId = an earlier notification) replays it.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { deliveriesOf, putChannel, settledDeliveries } from '../support/admin-api.js';
import { deliveryRowOf, metricValue } from '../support/delivery-probe.js';
import { startGatewayProcess, type GatewayProcess } from '../support/gateway-process.js';
import { createTestBed, notifyUser, postNotify, uniqueUser, userToken, type RunningGateway, type TestBed } from '../support/harness.js';
import { TestClient } from '../support/test-client.js';
import { startWebhookReceiver, type WebhookReceiver } from '../support/webhook-receiver.js';

const VISIBILITY_MS = 5000;
const WEBHOOK_TIMEOUT_MS = 4000;
/** delivery-worker.ts runs recovery every max(250, min(visibility / 4, 30 s)). */
const RECOVERY_EVERY_MS = Math.max(250, Math.min(VISIBILITY_MS / 4, 30_000));
const DELIVERY_ENV = {
  ALLOW_PRIVATE_WEBHOOKS: 'true',
  DELIVERY_POLL_MS: '50',
  DELIVERY_VISIBILITY_TIMEOUT_MS: String(VISIBILITY_MS),
  WEBHOOK_TIMEOUT_MS: String(WEBHOOK_TIMEOUT_MS),
};

let bed: TestBed;
let receiver: WebhookReceiver;
let a: GatewayProcess | undefined;
let b: RunningGateway | undefined;
const clients: TestClient[] = [];

describe('a delivery worker killed mid-send', () => {
  beforeAll(async () => {
    bed = await createTestBed();
    receiver = await startWebhookReceiver();
    a = await startGatewayProcess(bed.db, DELIVERY_ENV);
  }, 240_000);

  afterAll(async () => {
    // The child first, whatever happened: it holds connections to the database dropped below.
    await a?.stop();
    for (const client of clients) client.close();
    await receiver?.close();
    await bed?.stopAll();
  });

  it('is sent again by another instance after the visibility timeout, once more, with the same webhook-id', async () => {
    const gwA = a!;
    await putChannel(gwA.url, 'hook', { type: 'webhook', url: receiver.url, secret: receiver.secret });
    const user = uniqueUser();
    const token = userToken(user);
    const live = await TestClient.connect(gwA.url, { token });
    clients.push(live);
    const warmup = await notifyUser(gwA.url, user, 'before the delivery');
    await live.waitForIds([warmup]);

    // A's send hangs: the receiver answers its first request only after the test is over.
    receiver.enqueue({ status: 200, delayMs: 600_000 });
    const posted = await postNotify(gwA.url, 'deal:won', { userId: user, title: 'Deal won', channels: ['hook'] });
    expect(posted.status).toBe(201);
    const messageId = posted.body.id!;
    const [first] = await receiver.waitFor(1);
    await live.waitForIds([messageId]);

    b = await bed.start({ ...DELIVERY_ENV, LOG_LEVEL: 'silent' });
    const held = await deliveryRowOf(b.gateway.store.db, messageId);
    expect(held).toMatchObject({ status: 'sending', attempts: 1 });
    expect(held.lockedBy).toContain(`:${gwA.pid}:`);
    expect(held.lockedBy).not.toBe(b.gateway.worker!.id);
    const lockedAt = held.lockedAt!;

    const killedAt = Date.now();
    const exit = await gwA.kill('SIGKILL');
    expect(exit.signal).toBe('SIGKILL');
    // Died holding the lock, inside its own send timeout: nobody recorded anything.
    const orphaned = await deliveryRowOf(b.gateway.store.db, messageId);
    expect(orphaned).toEqual(held);
    expect(killedAt - lockedAt).toBeLessThan(WEBHOOK_TIMEOUT_MS);
    expect(receiver.requests).toHaveLength(1);

    // In-app: the client reconnects to B from what it had acknowledged and replays it.
    const resumed = await TestClient.connect(b.url, { token, lastAckId: warmup });
    clients.push(resumed);
    await resumed.waitForIds([messageId]);

    const [, second] = await receiver.waitFor(2, VISIBILITY_MS + RECOVERY_EVERY_MS + 10_000);
    const [delivery] = await settledDeliveries(b.url, messageId, 1);
    expect(delivery).toMatchObject({ status: 'sent', attempts: 2, channel: 'hook', lastError: null });

    // Exactly two requests, the same delivery, both signed correctly.
    expect(receiver.requests).toHaveLength(2);
    for (const request of [first!, second!]) {
      expect(request.id).toBe(delivery!.id);
      expect(request.signatureValid).toBe(true);
      expect((request.body as { data: { id: string } }).data.id).toBe(messageId);
    }
    expect((second!.body as { data: unknown }).data).toEqual((first!.body as { data: unknown }).data);

    // Sent by B: A had exited before the resend, and B counted one attempt and one sent.
    expect(exit.at).toBeLessThanOrEqual(second!.receivedAt);
    expect(await metricValue(b.url, 'notify_delivery_attempts_total', 'channel_type="webhook"')).toBe(1);
    expect(await metricValue(b.url, 'notify_deliveries_total', 'channel_type="webhook",outcome="sent"')).toBe(1);

    // Not before the lock expired; within one recovery pass (plus slack) after it.
    const lockAgeAtKill = killedAt - lockedAt;
    const killToResend = second!.receivedAt - killedAt;
    expect(killToResend).toBeGreaterThanOrEqual(VISIBILITY_MS - lockAgeAtKill);
    expect(second!.receivedAt - (lockedAt + VISIBILITY_MS)).toBeLessThan(RECOVERY_EVERY_MS + 2000);
    expect(await deliveriesOf(b.url, messageId)).toHaveLength(1);
    console.log(
      `worker killed: lock age at kill ${lockAgeAtKill} ms, kill → resend ${killToResend} ms ` +
        `(visibility ${VISIBILITY_MS} ms, recovery every ${RECOVERY_EVERY_MS} ms)`,
    );
  }, 60_000);
});
