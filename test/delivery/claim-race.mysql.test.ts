/**
 * Two delivery workers claiming from one MariaDB queue at the same time never claim the
 * same row: 400 webhook deliveries are each sent exactly once, all end `sent` after one
 * attempt, and both workers did part of the work concurrently.
 *
 * How: two in-process gateways on one database (same queue), a real local receiver that
 * answers 200 at once. The workers poll every 10 ms, claim 3 rows per query and may have
 * 200 sends in flight, so while the queue is full each loops claim after claim: both run
 * `SELECT … FOR UPDATE SKIP LOCKED` against the same head of the queue over and over.
 * The visibility timeout is 10 minutes, so stuck-lock recovery can never resend anything
 * here: a second request for an id could only come from a double claim.
 *
 * What is observed, and why it proves the point:
 * - Exactly once: every row `sent` with attempts = 1 (a double claim counts two); the
 *   receiver got 400 requests carrying 400 distinct webhook-ids, which are exactly the
 *   rows' ids, all validly signed; and the two instances' notify_delivery_attempts_total
 *   (each instance has its own registry, read from its /metrics) add up to 400.
 * - Both took part: each instance's attempts counter is above zero.
 * - Concurrently, not one after the other: `locked_by` (the worker's id while a row is
 *   `sending`; cleared when sent) is sampled from a separate connection while the queue
 *   drains; at some instant rows were held by both workers at once.
 */
import mysql from 'mysql2/promise';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { putChannel } from '../support/admin-api.js';
import { metricValue } from '../support/delivery-probe.js';
import { API_KEY, createTestBed, uniqueUser, type RunningGateway, type TestBed } from '../support/harness.js';
import { until } from '../support/until.js';
import { startWebhookReceiver, type WebhookReceiver } from '../support/webhook-receiver.js';

const TOTAL = 400;
const CHUNK = 100;
const ENV = {
  ALLOW_PRIVATE_WEBHOOKS: 'true',
  DELIVERY_POLL_MS: '10',
  DELIVERY_CONCURRENCY: '200',
  DELIVERY_CLAIM_BATCH: '3',
  WEBHOOK_TIMEOUT_MS: '5000',
  DELIVERY_VISIBILITY_TIMEOUT_MS: '600000',
};

let bed: TestBed;
let receiver: WebhookReceiver;
let gateways: RunningGateway[] = [];
let probe: mysql.Connection | undefined;

async function postBatch(baseUrl: string, notifications: Record<string, unknown>[]): Promise<string[]> {
  const response = await fetch(`${baseUrl}/api/notify`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-api-key': API_KEY },
    body: JSON.stringify({ notifications }),
  });
  const body = (await response.json()) as { results: { status: number; id?: string }[] };
  expect(response.status).toBe(200);
  expect(body.results.every((r) => r.status === 201)).toBe(true);
  return body.results.map((r) => r.id!);
}

describe('two delivery workers racing for one queue', () => {
  beforeAll(async () => {
    bed = await createTestBed();
    receiver = await startWebhookReceiver();
    gateways = [await bed.start(ENV), await bed.start(ENV)];
    probe = await mysql.createConnection({ uri: bed.db.url });
  });

  afterAll(async () => {
    await probe?.end();
    await receiver?.close();
    await bed?.stopAll();
  });

  it('sends every delivery exactly once, both workers claiming at the same time', async () => {
    const [a, b] = gateways as [RunningGateway, RunningGateway];
    const workers = [a.gateway.worker!.id, b.gateway.worker!.id];
    expect(workers[0]).not.toBe(workers[1]);
    await putChannel(a.url, 'hook', { type: 'webhook', url: receiver.url, secret: receiver.secret });

    // Sample who holds `sending` rows while the queue drains (its own connection).
    let sampling = true;
    let samples = 0;
    let bothAtOnce = 0;
    const holders = new Set<string>();
    const sampler = (async () => {
      while (sampling) {
        const [rows] = await probe!.query<mysql.RowDataPacket[]>(
          "SELECT DISTINCT locked_by FROM notify_deliveries WHERE status = 'sending'",
        );
        const now = new Set(rows.map((r) => r.locked_by as string));
        for (const holder of now) holders.add(holder);
        samples += 1;
        if (workers.every((w) => now.has(w))) bothAtOnce += 1;
      }
    })();

    const started = Date.now();
    const messageIds: string[] = [];
    const user = uniqueUser();
    for (let i = 0; i < TOTAL; i += CHUNK) {
      const items = Array.from({ length: CHUNK }, (_, j) => ({ kind: 'load:item', userId: user, title: `#${i + j}`, channels: ['hook'] }));
      messageIds.push(...(await postBatch(gateways[(i / CHUNK) % 2]!.url, items)));
    }
    await receiver.waitFor(TOTAL, 60_000);
    await until(
      async () => {
        const [rows] = await probe!.query<mysql.RowDataPacket[]>("SELECT COUNT(*) AS n FROM notify_deliveries WHERE status = 'sent'");
        return Number(rows[0]!.n) === TOTAL;
      },
      `${TOTAL} sent deliveries`,
      30_000,
      50,
    );
    const elapsed = Date.now() - started;
    sampling = false;
    await sampler;

    // Every row: sent after exactly one attempt, one row per notification.
    const [rows] = await probe!.query<mysql.RowDataPacket[]>('SELECT id, message_id, status, attempts FROM notify_deliveries');
    expect(rows).toHaveLength(TOTAL);
    expect(rows.filter((r) => r.status !== 'sent' || Number(r.attempts) !== 1)).toEqual([]);
    expect(new Set(rows.map((r) => r.message_id as string))).toEqual(new Set(messageIds));

    // The receiver: each delivery exactly once, signed.
    expect(receiver.requests).toHaveLength(TOTAL);
    const seen = receiver.requests.map((r) => r.id);
    expect(new Set(seen).size).toBe(TOTAL);
    expect(new Set(seen)).toEqual(new Set(rows.map((r) => r.id as string)));
    expect(receiver.requests.filter((r) => !r.signatureValid)).toEqual([]);

    // Both instances sent some, and their attempts add up to one per delivery.
    const attempts = await Promise.all(gateways.map((g) => metricValue(g.url, 'notify_delivery_attempts_total', 'channel_type="webhook"')));
    expect(attempts[0]! + attempts[1]!).toBe(TOTAL);
    expect(attempts[0]).toBeGreaterThan(0);
    expect(attempts[1]).toBeGreaterThan(0);

    // And at the same time: rows held by both workers at one instant.
    expect([...holders].sort()).toEqual([...workers].sort());
    expect(bothAtOnce).toBeGreaterThan(0);
    console.log(
      `claim race: ${TOTAL} deliveries in ${elapsed} ms; attempts per instance ${attempts.join(' / ')}; ` +
        `both workers held rows in ${bothAtOnce} of ${samples} samples`,
    );
  }, 120_000);
});
