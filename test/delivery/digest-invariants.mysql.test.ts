/**
 * "A digest never goes out twice for one window, and is never lost" — on MariaDB + Redis
 * with real instances, a real SMTP server, a real webhook receiver and a real SIGKILL.
 *
 * - 50 events for one user and key, posted to two instances at once within the window →
 *   exactly one digest mail, counting 50; every member points at the one digest row.
 * - Two first events racing to open a window, for real: 40 transactions on two connection
 *   pools join-or-open the same key at once → one open window counting 40, and every
 *   transaction got its id (store/digest-windows.ts: the unique key over the open window).
 * - A worker killed while sending the digest at the end of its window: instance A (a
 *   child process) claims the digest and its webhook request is held open by the
 *   receiver; A is killed; instance B's recovery returns the row after the visibility
 *   timeout and sends it. The receiver sees the same digest (same webhook-id, count 3)
 *   again, the row ends `sent`, and there is still exactly one digest row.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { api, deliveriesOf, putChannel, putRecipient, type DeliveryItem } from '../support/admin-api.js';
import { startGatewayProcess, type GatewayProcess } from '../support/gateway-process.js';
import { createTestBed, postNotify, uniqueUser, type RunningGateway, type TestBed } from '../support/harness.js';
import { startSmtpReceiver, type SmtpReceiver } from '../support/smtp-receiver.js';
import { until } from '../support/until.js';
import { startWebhookReceiver, type WebhookReceiver } from '../support/webhook-receiver.js';
import { joinOrOpenDigest } from '../../src/store/digest-windows.js';

type Row = DeliveryItem & { digest: { key: string; count: number } | null; digestId: string | null };

const VISIBILITY_MS = 5000;
const BASE_ENV = {
  DELIVERY_POLL_MS: '50',
  DELIVERY_VISIBILITY_TIMEOUT_MS: String(VISIBILITY_MS),
  WEBHOOK_TIMEOUT_MS: '4000',
  SMTP_TIMEOUT_MS: '2000',
  ALLOW_PRIVATE_WEBHOOKS: 'true',
  EMAIL_FROM: 'Notify <notify@example.com>',
};

let bed: TestBed;
let smtp: SmtpReceiver;
let hooks: WebhookReceiver;
let child: GatewayProcess | undefined;

beforeAll(async () => {
  smtp = await startSmtpReceiver();
  hooks = await startWebhookReceiver();
  bed = await createTestBed();
}, 240_000);
afterAll(async () => {
  await child?.stop();
  await bed?.stopAll();
  await hooks?.close();
  await smtp?.close();
});

async function putKind(url: string, kind: string, defaults: unknown) {
  const res = await api(url, 'PUT', `/api/kinds/${kind}`, defaults);
  expect([200, 201], JSON.stringify(res.body)).toContain(res.status);
}

describe('digest windows across instances', () => {
  let one: RunningGateway;
  let two: RunningGateway;

  beforeAll(async () => {
    one = await bed.start({ ...BASE_ENV, SMTP_URL: smtp.url });
    two = await bed.start({ ...BASE_ENV, SMTP_URL: smtp.url });
    await putChannel(one.url, 'mail', { type: 'email' });
  });
  afterAll(async () => {
    await one?.close();
    await two?.close();
  });

  it('50 events from two instances within the window → exactly one digest mail counting 50', async () => {
    const user = uniqueUser();
    const address = `${user}@example.test`;
    await putRecipient(one.url, user, { email: address });
    await putKind(one.url, 'review:requested', { digestMinutes: 6 / 60 });
    const ids = await Promise.all(
      Array.from({ length: 50 }, async (_, i) => {
        const res = await postNotify(i % 2 === 0 ? one.url : two.url, 'review:requested', { userId: user, title: `review ${i}`, channels: ['mail'] });
        expect(res.status).toBe(201);
        return res.body.id!;
      }),
    );
    await until(() => smtp.messages.some((m) => m.to.includes(address)), 'the digest mail', 20_000);
    const rows = (await Promise.all(ids.map((id) => deliveriesOf(one.url, id)))).flat() as Row[];
    const members = rows.filter((r) => r.digest === null);
    expect(members).toHaveLength(50);
    expect(members.every((m) => m.status === 'suppressed' && m.reason === 'digested')).toBe(true);
    const digestIds = new Set(members.map((m) => m.digestId));
    expect(digestIds.size).toBe(1);
    const digests = rows.filter((r) => r.digest !== null);
    expect(digests).toHaveLength(1);
    expect(digests[0]!.digest!.count).toBe(50);
    await until(async () => (await deliveriesOf(one.url, digests[0]!.messageId)).some((r) => r.id === digests[0]!.id && r.status === 'sent'), 'digest sent');
    const mails = smtp.messages.filter((m) => m.to.includes(address));
    expect(mails).toHaveLength(1);
    expect(mails[0]!.subject).toMatch(/^50 new notifications: review \d+$/);
  }, 60_000);

  it('40 concurrent first events on two connection pools open one window and all join it', async () => {
    const opening = {
      tenantId: 'default',
      channel: 'mail',
      channelType: 'email',
      recipient: uniqueUser(),
      key: 'race',
      messageId: '00000000-0000-7000-8000-000000000001',
      closesAt: Date.now() + 600_000,
      maxAttempts: 3,
    };
    const pools = [one.gateway.store.db, two.gateway.store.db];
    let deadlocks = 0;
    // Racing inserts on one unique key can deadlock on MySQL; the victim's transaction is
    // retried whole, as the planner's loop and the worker's fold do.
    const joinWithRetry = async (i: number): Promise<string> => {
      for (;;) {
        try {
          return await pools[i % 2]!.transaction((trx) => joinOrOpenDigest(trx, opening, Date.now(), true));
        } catch (error) {
          if ((error as { code?: string }).code !== 'ER_LOCK_DEADLOCK') throw error;
          deadlocks += 1;
        }
      }
    };
    const ids = await Promise.all(Array.from({ length: 40 }, (_, i) => joinWithRetry(i)));
    console.log(`40 concurrent joins: ${deadlocks} deadlock victims retried`);
    expect(new Set(ids).size).toBe(1);
    const windows = await one.gateway.store.db('notify_deliveries').where({ recipient: opening.recipient, digest_key: 'race' }).select('digest_count', 'digest_open');
    expect(windows).toHaveLength(1);
    expect(Number(windows[0].digest_count)).toBe(40);
    expect(Number(windows[0].digest_open)).toBe(1);
  });
});

describe('a worker killed while sending a digest', () => {
  it('leaves the digest to another instance, which sends it once more with the same id', async () => {
    child = await startGatewayProcess(bed.db, BASE_ENV);
    await putChannel(child.url, 'hook', { type: 'webhook', url: hooks.url, secret: hooks.secret });
    await putKind(child.url, 'build:failed', { digestMinutes: 2 / 60 });
    // The first request (the digest, at the end of its window) is held past the kill.
    hooks.enqueue({ status: 200, delayMs: 600_000 });
    const ids: string[] = [];
    for (let i = 1; i <= 3; i++) {
      const res = await postNotify(child.url, 'build:failed', { scope: 'tenant', title: `build ${i} failed`, channels: ['hook'] });
      expect(res.status).toBe(201);
      ids.push(res.body.id!);
    }
    const [first] = await hooks.waitFor(1, 15_000);
    const b = await bed.start(BASE_ENV);
    const digest = ((await deliveriesOf(b.url, ids[0]!)) as Row[]).find((r) => r.digest !== null)!;
    expect(digest).toMatchObject({ status: 'sending', attempts: 1 });
    expect(first!.id).toBe(digest.id);

    const exit = await child.kill('SIGKILL');
    expect(exit.signal).toBe('SIGKILL');
    const [, second] = await hooks.waitFor(2, VISIBILITY_MS + 15_000);
    expect(second!.id).toBe(digest.id);
    expect(second!.signatureValid).toBe(true);
    const data = (second!.body as { data: { digest: { count: number; latest: { title: string }[] } } }).data;
    expect(data.digest.count).toBe(3);
    expect(data.digest.latest.map((l) => l.title)).toEqual(['build 3 failed', 'build 2 failed', 'build 1 failed']);
    await until(async () => ((await deliveriesOf(b.url, ids[0]!)) as Row[]).some((r) => r.id === digest.id && r.status === 'sent'), 'the digest sent by B');
    const all = (await Promise.all(ids.map((id) => deliveriesOf(b.url, id)))).flat() as Row[];
    expect(all.filter((r) => r.digest !== null)).toHaveLength(1);
    expect(hooks.requests).toHaveLength(2);
  }, 90_000);
});
