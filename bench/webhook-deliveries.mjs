/**
 * Webhook deliveries/s: the external-channel path end to end, to a local receiver that
 * answers 204 at once (webhook-receiver.mjs, a worker thread of this process).
 *
 *   1. `PUT /api/channels/hook?tenantId=bench` {type: webhook, url: the receiver, secret}
 *      (the gateways run with ALLOW_PRIVATE_WEBHOOKS=true, gateways.mjs); then an untimed
 *      warm-up burst (200 notifications, 10 under --smoke) so that the delivery path is
 *      compiled and its keep-alive sockets are open, as the in-app path is by earlier phases;
 *      the receiver's counts are reset after it.
 *   2. `count` notifications (--webhook-count), each `channels: ['hook']`, posted through
 *      `POST /api/notify` as fast as it takes them: --batch-lanes lanes of --batch-size items,
 *      round-robin over the instances. Recipients are users no client is connected as
 *      (wh0…wh999), so no socket fan-out competes for the cores: the in-app row is still
 *      written and relayed, but the figure is the webhook path's.
 *   3. Done when the receiver has seen every committed one (distinct webhook-id; the id is
 *      the delivery id), bounded by --webhook-drain-ms after the last POST response.
 *
 * Figures:
 *   perSec            committed ÷ (first POST → the receipt of the last distinct id): what a
 *                     client posting this burst sees, ingest included
 *   afterIngest       deliveries that arrived after the last POST response ÷ that stretch:
 *                     the workers alone; only when ≥ 20 % of them came after it (otherwise
 *                     the window is too short to mean anything and it is null)
 *   duplicates        requests repeating a webhook-id (at-least-once: allowed, but a clean run
 *                     has none); signatures: 1 request in 100 (every one under --smoke) is
 *                     verified with the channel secret
 *   gatewaySent       notify_deliveries_total{channel_type="webhook",outcome="sent"} after −
 *                     before, per instance (counters are per process) and summed
 *   gatewayLogs       warnings and errors the gateways logged meanwhile (the last few kept)
 *   queue             notify_delivery_queue_depth by status once settled (the gauge reads the
 *                     shared store, so every instance reports the same: max over instances);
 *                     `GET /api/deliveries?status=sent` lists rows as a spot check
 *   pendingWhileDraining  the pending gauge of one instance every 500 ms from the last POST
 *                     response until done (mean, max): near 0 the workers are starved (the
 *                     planner that queues deliveries is the limit), high they are the limit
 *   cpu               CPU seconds from the first POST until the receiver had every one (the
 *                     last `sent` records, ≤ 20 ms later, fall outside): the gateway
 *                     processes (/proc/<pid>/stat, as for ingest), the MariaDB server
 *                     (`pidof mariadbd`; it serves every other client of that server too),
 *                     this bench process (poster, receiver, idle client threads) and the whole
 *                     machine (/proc/stat); ÷ deliveries. The gateway's share covers the whole
 *                     pipeline per notification: batch ingest, relay, planning, claim, send,
 *                     recording `sent`.
 */
import { randomBytes } from 'node:crypto';
import { cpus } from 'node:os';
import { TENANT } from './client-pool.mjs';
import { now, sleep } from './clock.mjs';
import { API_KEY, SETUPS, databaseServerPid, machineBusySeconds, metricSample, readCpuSeconds } from './gateways.mjs';
import { postFlatOut } from './poster.mjs';
import { startWebhookReceiver } from './webhook-receiver.mjs';

export const WEBHOOK_CHANNEL = 'hook';
/** The gateway's defaults (src/config/config.ts), for the report. */
export const DEFAULT_WORKER = { concurrency: 32, claimBatch: 50 };
const USERS = 1000;
const SIGNATURE_SAMPLE_EVERY = 100;
const MIN_SHARE_AFTER_INGEST = 0.2;
const SETTLE_TIMEOUT_MS = 10_000;
const SETTLE_POLL_MS = 50;
const QUEUE_STATUSES = ['pending', 'sending', 'failed', 'dead'];
const PENDING_SAMPLE_MS = 500;

export async function webhookDeliveries({ setup, poster, opts }, { count = opts.webhookCount, worker = DEFAULT_WORKER } = {}) {
  const secret = `whsec_${randomBytes(24).toString('base64')}`;
  const receiver = await startWebhookReceiver({ secret, sampleEvery: opts.smoke ? 1 : SIGNATURE_SAMPLE_EVERY });
  try {
    await putChannel(setup.urls[0], receiver.url, secret);
    const burst = (n) => postFlatOut({ count: Math.ceil(n / opts.batchSize) }, opts.batchLanes, (i) => {
      const users = Array.from({ length: Math.min(opts.batchSize, n - i * opts.batchSize) }, (_, k) => `wh${(i * opts.batchSize + k) % USERS}`);
      return poster.postBatch(users, 'hook', { channels: [WEBHOOK_CHANNEL] });
    });
    const warm = await burst(opts.webhookWarmup);
    await receiver.waitForDistinct(warm.committed, now() + opts.webhookDrainMs, now);
    await settleQueue(setup.urls);
    await receiver.reset();

    const dbPid = SETUPS[setup.name].services ? databaseServerPid() : null;
    const sentBefore = await sentCounters(setup.urls);
    const logsBefore = setup.logs();
    const cpuBefore = cpuNow(setup, dbPid);
    const start = now();
    const sent = await burst(count);
    const lastResponse = start + sent.elapsedMs;
    const pending = samplePending(setup.urls[0]);
    const stats = await receiver.waitForDistinct(sent.committed, lastResponse + opts.webhookDrainMs, now);
    const cpuAfter = cpuNow(setup, dbPid);
    const pendingWhileDraining = await pending.stop();
    const arrivals = await receiver.arrivals();
    const all = stats.distinct >= sent.committed;
    const queue = await settleQueue(setup.urls);
    const sentAfter = await sentCounters(setup.urls);
    const finalStats = await receiver.stats(); // duplicates may come after the last new id
    const listed = await listDeliveries(setup.urls[0], Math.min(500, Math.max(1, sent.committed)));
    const logsAfter = setup.logs();

    const delivered = Math.min(stats.distinct, sent.committed);
    const doneAt = all ? arrivals[sent.committed - 1] : stats.lastNewAt;
    const afterCount = arrivals.filter((t) => t > lastResponse).length;
    const afterMs = doneAt === null ? 0 : doneAt - lastResponse;
    const perDelivery = (seconds) => (seconds === null ? null : (seconds * 1000) / Math.max(1, delivered));
    const cpu = Object.fromEntries(Object.keys(cpuBefore).map((k) => [k, cpuBefore[k] === null || cpuAfter[k] === null ? null : cpuAfter[k] - cpuBefore[k]]));
    const perInstance = sentAfter.map((n, i) => n - sentBefore[i]);
    return {
      count,
      warmup: warm.committed,
      worker,
      batchSize: opts.batchSize,
      lanes: opts.batchLanes,
      requests: sent.requests,
      posted: sent.posted,
      committed: sent.committed,
      statuses: sent.statuses,
      firstError: sent.firstError,
      ingestMs: sent.elapsedMs,
      received: { ...finalStats, all, delivered },
      drainTimeoutMs: opts.webhookDrainMs,
      firstDeliveryMs: arrivals.length ? arrivals[0] - start : null,
      totalMs: doneAt === null ? null : doneAt - start,
      perSec: doneAt === null ? 0 : delivered / ((doneAt - start) / 1000),
      deliveredBeforeLastResponse: arrivals.filter((t) => t <= lastResponse).length,
      afterIngest: afterCount >= MIN_SHARE_AFTER_INGEST * sent.committed && afterMs > 0
        ? { deliveries: afterCount, ms: afterMs, perSec: afterCount / (afterMs / 1000) }
        : null,
      gatewaySent: { total: perInstance.reduce((s, n) => s + n, 0), perInstance },
      queue,
      pendingWhileDraining,
      listed,
      // What the gateways logged at warn/error level during the phase (e.g. a failed `sent` record).
      gatewayLogs: { warn: logsAfter.warn - logsBefore.warn, error: logsAfter.error - logsBefore.error, last: logsAfter.error + logsAfter.warn > logsBefore.error + logsBefore.warn ? logsAfter.last : [] },
      cpu: {
        windowMs: cpuAfter.at - start,
        cores: cpus().length,
        gatewaySeconds: cpu.gateway,
        databaseSeconds: cpu.database,
        benchSeconds: cpu.bench,
        machineSeconds: cpu.machine,
        gatewayMsPerDelivery: perDelivery(cpu.gateway),
        databaseMsPerDelivery: perDelivery(cpu.database),
        benchMsPerDelivery: perDelivery(cpu.bench),
        // Busy CPU of the machine not accounted to the gateway, the database or this process:
        // other work on the box (other processes' tests, Redis, the kernel) during the window.
        otherMsPerDelivery: perDelivery(cpu.machine - cpu.gateway - (cpu.database ?? 0) - cpu.bench),
      },
    };
  } finally {
    await receiver.close();
  }
}

async function putChannel(url, receiverUrl, secret) {
  const res = await fetch(`${url}/api/channels/${WEBHOOK_CHANNEL}?tenantId=${TENANT}`, {
    method: 'PUT',
    headers: { 'content-type': 'application/json', 'x-api-key': API_KEY },
    body: JSON.stringify({ type: 'webhook', url: receiverUrl, secret }),
  });
  if (res.status !== 201 && res.status !== 200) throw new Error(`PUT /api/channels/${WEBHOOK_CHANNEL}: ${res.status} ${await res.text()}`);
}

/** notify_deliveries_total{channel_type="webhook",outcome="sent"} of each instance. */
function sentCounters(urls) {
  return Promise.all(urls.map(async (u) => (await metricSample(u, 'notify_deliveries_total', { channel_type: 'webhook', outcome: 'sent' })) ?? 0));
}

/** Queue depth by status, max over instances (each reads the shared store). */
async function queueDepth(urls) {
  const depth = {};
  for (const status of QUEUE_STATUSES) {
    const values = await Promise.all(urls.map((u) => metricSample(u, 'notify_delivery_queue_depth', { status })));
    depth[status] = values.some((v) => v !== null) ? Math.max(...values.filter((v) => v !== null)) : null;
  }
  return depth;
}

/** Samples the pending gauge in the background until stop(); resolves to { samples, mean, max }. */
function samplePending(url) {
  const values = [];
  let running = true;
  const loop = (async () => {
    while (running) {
      const v = await metricSample(url, 'notify_delivery_queue_depth', { status: 'pending' }).catch(() => null);
      if (v !== null) values.push(v);
      await sleep(PENDING_SAMPLE_MS);
    }
  })();
  return {
    async stop() {
      running = false;
      await loop;
      return {
        samples: values.length,
        mean: values.length ? values.reduce((a, b) => a + b, 0) / values.length : null,
        max: values.length ? Math.max(...values) : null,
      };
    },
  };
}

/** Waits until nothing is pending or sending (the last `sent` results are recorded ~20 ms late). */
async function settleQueue(urls) {
  const started = now();
  let depth = await queueDepth(urls);
  while ((depth.pending > 0 || depth.sending > 0) && now() - started < SETTLE_TIMEOUT_MS) {
    await sleep(SETTLE_POLL_MS);
    depth = await queueDepth(urls);
  }
  return { ...depth, settled: depth.pending === 0 && depth.sending === 0, settleMs: now() - started };
}

/** Spot check through the operators' endpoint: `limit` sent rows of the channel, and no suppressed ones. */
async function listDeliveries(url, limit) {
  const list = async (status, n) => {
    const res = await fetch(`${url}/api/deliveries?tenantId=${TENANT}&channel=${WEBHOOK_CHANNEL}&status=${status}&limit=${n}`, {
      headers: { 'x-api-key': API_KEY },
    });
    if (res.status !== 200) throw new Error(`GET /api/deliveries: ${res.status} ${await res.text()}`);
    return (await res.json()).deliveries;
  };
  const sent = await list('sent', limit);
  const suppressed = await list('suppressed', 1);
  return { limit, sent: sent.filter((d) => d.status === 'sent' && d.channelType === 'webhook').length, suppressed: suppressed.length };
}

function cpuNow(setup, dbPid) {
  let database = null;
  try {
    database = dbPid === null ? null : readCpuSeconds(dbPid);
  } catch {
    // the server is another user's process and /proc hides it, or it restarted
  }
  const usage = process.cpuUsage(); // every thread of this process
  return {
    at: now(),
    gateway: setup.cpuSeconds(),
    database,
    bench: (usage.user + usage.system) / 1e6,
    machine: machineBusySeconds(),
  };
}
