/**
 * The measurements, run in this order against one started setup:
 *   connectIdle   gateway RSS before/after N idle clients connect → RSS per socket
 *   (broadcast    broadcast.mjs: N more sockets, tenant broadcasts; closed after)
 *   latency       `count` notifications at a fixed rate → POST→receipt p50/p95/p99/max;
 *                 single POSTs, or above what one process takes as single POSTs, small
 *                 batches every 10 ms (postMode, see latencyPostMode)
 *   ingest        `concurrency` lanes POST flat out for `duration` → committed/s, and the
 *                 deliveries the clients received inside that window → deliveries/s
 *   (batchIngest  batch-ingest.mjs: POST /api/notify flat out → committed/s, outbox drain)
 *   replay        one user misses `missed` notifications, reconnects with lastAckId →
 *                 time to `notify:synced` and how many were replayed
 * The naive-path comparison reruns connectIdle + ingest + batch ingest on
 * fresh gateways started with WRITE_BATCHING=false (run-bench.mjs).
 * Each phase waits until everything it posted was received (or a timeout) before the
 * next starts, so one phase's backlog never pollutes the next one's figures.
 */
import { cpus } from 'node:os';
import { io } from 'socket.io-client';
import { now, sleep } from './clock.mjs';
import { fileLimitProblem, startClientPool, tokenFor, userId } from './client-pool.mjs';
import { machineBusySeconds, metricsText, metricSum, notifyRequestBuckets, valuesIn } from './gateways.mjs';
import { postAtRate, postBatchesAtRate, postFlatOut } from './poster.mjs';

/**
 * One gateway process takes ~100-170 single POSTs/s on a shared 2-core box; above this
 * rate `--post-mode auto` sends the latency load as batches so that the figure measures
 * the pipeline, not a queue of HTTP requests in front of it.
 */
export const SINGLE_POST_MAX_RATE = 100;
/** Batch mode sends one request per tick carrying rate × tick / 1000 notifications. */
export const BATCH_TICK_MS = 10;

export function latencyPostMode(opts) {
  if (opts.postMode !== 'auto') return opts.postMode;
  return opts.rate > SINGLE_POST_MAX_RATE ? 'batch' : 'single';
}

/** Random, so that with 2 instances the recipient's instance is independent of the POST's. */
const randomUser = (opts) => userId(Math.floor(Math.random() * opts.clients));

export async function connectIdle({ setup, opts }) {
  const tooMany = fileLimitProblem(opts.clients);
  if (tooMany) throw new Error(tooMany);
  await sleep(opts.settleMs);
  const beforeKb = setup.rssKb();
  const started = now();
  const pool = await startClientPool({ urls: setup.urls, clients: opts.clients, workers: opts.workers });
  const connectMs = now() - started;
  if (pool.failed > 0) {
    await pool.close();
    throw new Error(`${pool.failed} of ${opts.clients} clients failed to connect: ${pool.firstError}`);
  }
  await sleep(opts.settleMs);
  const afterKb = setup.rssKb();
  const rss = {
    sockets: pool.connected,
    socketsSeenByGateway: await metricSum(setup.urls, 'notify_connected_sockets'),
    beforeKb,
    afterKb,
    perSocketKb: (afterKb - beforeKb) / pool.connected,
    connectMs,
  };
  return { pool, rss };
}

export async function latency({ setup, pool, poster, opts }) {
  await pool.phase('lat');
  const postMode = latencyPostMode(opts);
  // Where the tail comes from: the gateway's event-loop delay over the phase (prom-client
  // resets it on every scrape, so this one starts the window), its request times, its
  // CPU, the whole box's.
  const scrapeBefore = await metricsText(setup.urls[0]);
  const cpuBefore = setup.cpuSeconds();
  const machineBefore = machineBusySeconds();
  const start = now();
  // Batch mode: each item carries its request's send time, so POST→receipt stays per notification.
  const sent = postMode === 'batch'
    ? await postBatchesAtRate(opts.count, opts.rate, BATCH_TICK_MS, (n) =>
      poster.postBatch(Array.from({ length: n }, () => randomUser(opts)), 'lat'))
    : await postAtRate(opts.count, opts.rate, () => poster.post(randomUser(opts), 'lat'));
  const counts = await pool.waitForUnique(sent.committed, opts.drainMs);
  const windowSeconds = (now() - start) / 1000;
  const scrapeAfter = await metricsText(setup.urls[0]);
  const gateway = {
    loopLag: loopLag(scrapeAfter),
    cpuShare: (setup.cpuSeconds() - cpuBefore) / windowSeconds,
    machineBusyShare: (machineBusySeconds() - machineBefore) / windowSeconds / cpus().length,
    requestTime: bucketQuantiles(notifyRequestBuckets(scrapeBefore), notifyRequestBuckets(scrapeAfter)),
  };
  const { sentAt, recvAt, sendToWrite, writeToReceipt, loopDelay } = await pool.collect();
  // How long after the last scheduled send the last response came: beyond a second the
  // gateway did not keep up with --rate and the figures are mostly queueing time.
  const responseLagMs = sent.elapsedMs - ((opts.count - 1) * 1000) / opts.rate;
  // Likewise for the receipts: far behind the last response, the relay or the sockets
  // did not keep up and the figures are mostly its queue.
  const deliveryLagMs = recvAt.reduce((max, t) => Math.max(max, t), 0) - (start + sent.elapsedMs);
  return {
    rate: opts.rate,
    clients: opts.clients,
    postMode,
    itemsPerRequest: postMode === 'batch' ? (opts.rate * BATCH_TICK_MS) / 1000 : 1,
    posted: sent.posted,
    committed: sent.committed,
    statuses: sent.statuses,
    firstError: sent.firstError,
    responseLagMs,
    saturated: responseLagMs > 1000,
    deliveryLagMs,
    gateway,
    // Where the time went (wall clock, ms resolution), and the receiving threads' own delay.
    hops: { sendToWrite: summarize(sendToWrite), writeToReceipt: summarize(writeToReceipt) },
    clientLoopDelay: loopDelay,
    ...counts,
    ...summarize(recvAt.map((r, i) => r - sentAt[i])),
  };
}

/**
 * From a scrape: the event-loop delay since the scrape before, in ms (prom-client default
 * metrics; every scrape starts the delay histogram over).
 */
function loopLag(text) {
  const lag = valuesIn(text, ['nodejs_eventloop_lag_p99_seconds', 'nodejs_eventloop_lag_max_seconds']);
  const ms = (seconds) => (seconds === null ? null : seconds * 1000);
  return { p99Ms: ms(lag.nodejs_eventloop_lag_p99_seconds), maxMs: ms(lag.nodejs_eventloop_lag_max_seconds) };
}

/**
 * From two readings of a histogram's cumulative buckets: the requests between them and,
 * for p50/p99, the smallest bucket bound holding that share (an upper bound, not a value).
 */
function bucketQuantiles(before, after) {
  const bounds = [...after.keys()].sort((x, y) => x - y);
  const count = (le) => (after.get(le) ?? 0) - (before.get(le) ?? 0);
  const total = count(Infinity);
  const withinMs = (q) => {
    const le = bounds.find((b) => count(b) >= q * total);
    return le === undefined ? null : le * 1000;
  };
  return { requests: total, p50AtMostMs: withinMs(0.5), p99AtMostMs: withinMs(0.99) };
}

/** What an ingest phase committed, and at what cost; shared by single-POST and batch ingest. */
export function commitFigures(sent, cpuSeconds, batchesBefore, batchesAfter) {
  const groupCommits = batchesAfter.count - batchesBefore.count;
  return {
    seconds: sent.elapsedMs / 1000,
    posted: sent.posted,
    committed: sent.committed,
    statuses: sent.statuses,
    firstError: sent.firstError,
    committedPerSec: sent.committed / (sent.elapsedMs / 1000),
    // Gateway CPU (all instances) per committed notification: steadier than the rates
    // when other work shares the cores.
    gatewayCpuMsPerNotification: (cpuSeconds * 1000) / Math.max(1, sent.committed),
    // From the gateway's notify_write_batch_size histogram: 0 group commits means every
    // notification took the one-transaction path.
    groupCommits,
    meanGroupCommitSize: groupCommits > 0 ? (batchesAfter.sum - batchesBefore.sum) / groupCommits : null,
  };
}

export async function ingest({ setup, pool, poster, opts }) {
  await pool.phase('ing');
  const cpuBefore = setup.cpuSeconds();
  const batchesBefore = await writeBatches(setup.urls);
  const start = now();
  const sent = await postFlatOut({ durationMs: opts.duration * 1000 }, opts.concurrency, () =>
    poster.post(randomUser(opts), 'ing'),
  );
  const end = start + sent.elapsedMs;
  const counts = await pool.waitForUnique(sent.committed, opts.drainMs);
  const cpuSeconds = setup.cpuSeconds() - cpuBefore;
  const batchesAfter = await writeBatches(setup.urls);
  const { sentAt, recvAt } = await pool.collect();
  const inWindow = recvAt.filter((t) => t <= end).length;
  const lastReceipt = recvAt.reduce((max, t) => Math.max(max, t), end);
  return {
    ingest: { concurrency: opts.concurrency, ...commitFigures(sent, cpuSeconds, batchesBefore, batchesAfter) },
    deliveries: {
      expected: sent.committed,
      ...counts,
      inWindow,
      perSec: inWindow / (sent.elapsedMs / 1000),
      drainMsAfterLastPost: lastReceipt - end,
      latencyUnderLoad: summarize(recvAt.map((r, i) => r - sentAt[i])),
    },
  };
}

/** Untimed POSTs so that a fresh gateway's JIT and pools are warm before `ingest`. */
export async function warmUp({ pool, poster, opts }) {
  await pool.phase('warm');
  const sent = await postFlatOut({ count: opts.warmup }, opts.concurrency, () => poster.post(randomUser(opts), 'warm'));
  await pool.waitForUnique(sent.committed, opts.drainMs);
}

export async function replay({ setup, poster, opts }) {
  const user = 'replayer';
  const token = tokenFor(user);
  const url = setup.urls[0];
  // An anchor notification the client has seen gives it a lastAckId to resume from.
  const first = await openClient(url, { token });
  const anchor = await poster.post(user, 'rep');
  if (anchor.status !== 201) throw new Error(`anchor POST failed: ${anchor.status}`);
  await first.waitForCount(1, opts.drainMs);
  first.socket.close();

  let lastAckId = anchor.id;
  const rounds = [];
  for (let round = 0; round < opts.replayRounds; round += 1) {
    const sent = await postFlatOut({ count: opts.missed }, opts.concurrency, () => poster.post(user, 'rep'));
    await waitForEmptyOutbox(setup.urls, opts.drainMs);
    const started = now();
    const client = await openClient(url, { token, lastAckId });
    const posted = new Set(sent.ids);
    rounds.push({
      missed: sent.committed,
      totalMs: client.syncedAt - started,
      afterConnectMs: client.syncedAt - client.connectedAt,
      replayed: client.synced.replayed,
      recovered: client.synced.recovered,
      receivedBeforeSynced: client.beforeSynced,
      matched: client.ids.filter((id) => posted.has(id)).length,
    });
    lastAckId = client.ids.at(-1) ?? lastAckId;
    client.socket.close();
  }
  const totals = rounds.map((r) => r.totalMs).sort((a, b) => a - b);
  return { missed: opts.missed, rounds, medianTotalMs: totals[Math.floor(totals.length / 2)] };
}

/** The gateway's notify_write_batch_size histogram: group commits and notifications in them. */
export async function writeBatches(urls) {
  const [sum, count] = await Promise.all([
    metricSum(urls, 'notify_write_batch_size_sum'),
    metricSum(urls, 'notify_write_batch_size_count'),
  ]);
  return { sum, count };
}

async function openClient(url, auth, timeoutMs = 20_000) {
  const socket = io(url, { auth, transports: ['websocket'], reconnection: false, forceNew: true });
  const client = { socket, ids: [], connectedAt: 0, syncedAt: 0, synced: null, beforeSynced: 0 };
  socket.on('notification', (n) => client.ids.push(n.id));
  client.waitForCount = async (count, timeoutMs) => {
    const deadline = Date.now() + timeoutMs;
    while (client.ids.length < count && Date.now() < deadline) await sleep(10);
    if (client.ids.length < count) throw new Error(`replay client: ${client.ids.length}/${count} notifications`);
  };
  await new Promise((resolve, reject) => {
    const timer = setTimeout(() => (socket.close(), reject(new Error('replay client: no notify:synced in time'))), timeoutMs);
    socket.once('connect', () => (client.connectedAt = now()));
    socket.once('connect_error', (error) => (clearTimeout(timer), socket.close(), reject(error)));
    socket.once('notify:synced', (info) => {
      clearTimeout(timer);
      client.syncedAt = now();
      client.synced = info;
      client.beforeSynced = client.ids.length;
      resolve();
    });
  });
  return client;
}

/** The relay assigns replay positions as it publishes: wait until it has caught up. */
export async function waitForEmptyOutbox(urls, timeoutMs) {
  const deadline = Date.now() + timeoutMs;
  while ((await metricSum(urls, 'notify_outbox_backlog')) > 0) {
    if (Date.now() > deadline) throw new Error('outbox not drained in time');
    await sleep(20);
  }
}

/** Nearest-rank percentiles in ms; all null when nothing was measured. */
export function summarize(values) {
  const sorted = Float64Array.from(values).sort();
  const pick = (p) => (sorted.length ? sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] : null);
  const mean = sorted.length ? sorted.reduce((s, v) => s + v, 0) / sorted.length : null;
  return { samples: sorted.length, p50: pick(50), p95: pick(95), p99: pick(99), max: pick(100), mean };
}
