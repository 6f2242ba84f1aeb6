/**
 * Urgent notifications behind a backlog: POST→receipt of urgent notifications sent while
 * --urgent-backlog (50,000) low-priority ones drain, with out-of-band emits on (the
 * default) and off (URGENT_OUT_OF_BAND=false: urgent ones wait for the relay like the
 * rest), each on fresh gateways of the same setup, in the same run (run-bench.mjs).
 *
 *   1. Sockets: --urgent-backlog-clients (100) users bg0… receive the backlog; 10 users
 *      ur0… (4 under --smoke) receive the urgent ones, listening to
 *      `notification:out-of-band` as well as `notification`.
 *   2. Warm-up, untimed: 500 lows (50 under --smoke) and 5 urgent ones, all received.
 *   3. The backlog: --batch-lanes lanes POST /api/notify with --batch-size low-priority
 *      items, as fast as they are taken, round-robin over the backlog users.
 *   4. Meanwhile, from the first backlog POST until the backlog sockets have every low one
 *      (or --batch-drain-ms after the last POST), one urgent single POST every
 *      --urgent-every (100 ms) to a random urgent user, stamped with its send time
 *      (data.t, clock.mjs), then until each urgent one is received.
 * Figures per mode: urgent POST→receipt (the first copy, whichever event) p50/p95/max,
 * how many of them came out of band, the backlog's drain (last low received after the
 * last POST), low POST→receipt, and the gateways' CPU per notification (low + urgent)
 * over the whole phase, which prices the extra emit.
 */
import { startClientPool } from './client-pool.mjs';
import { now, sleep } from './clock.mjs';
import { summarize } from './phases.mjs';
import { postFlatOut } from './poster.mjs';

const URGENT = { priority: 'urgent' };
const LOW = { priority: 'low' };
const COUNT_POLL_MS = 50;

export async function urgentBehindBacklog({ setup, poster, opts }) {
  const backlogUsers = (i) => `bg${i}`;
  const urgentUsers = (i) => `ur${i}`;
  const urgentClients = opts.smoke ? 4 : 10;
  const backlogPool = await startClientPool({ urls: setup.urls, clients: opts.urgentBacklogClients, workers: 1, user: backlogUsers });
  const urgentPool = await startClientPool({ urls: setup.urls, clients: urgentClients, workers: 1, user: urgentUsers, outOfBand: true });
  for (const pool of [backlogPool, urgentPool]) {
    if (pool.failed > 0) throw new Error(`urgent phase: ${pool.failed} clients failed to connect: ${pool.firstError}`);
  }
  const randomUrgentUser = () => urgentUsers(Math.floor(Math.random() * urgentClients));
  const batchOf = (i, size) => Array.from({ length: size }, (_, k) => backlogUsers((i * opts.batchSize + k) % opts.urgentBacklogClients));

  // Warm-up: the paths compiled and the keep-alive sockets open, as in the other phases.
  await Promise.all([backlogPool.phase('uwarm'), urgentPool.phase('uwarm')]);
  const warmLows = await poster.postBatch(batchOf(0, opts.smoke ? 50 : 500), 'uwarm', LOW);
  const warmUrgent = await Promise.all(Array.from({ length: 5 }, () => poster.post(randomUrgentUser(), 'uwarm', URGENT)));
  await backlogPool.waitForUnique(warmLows.filter((r) => r.status === 201).length, opts.drainMs);
  await urgentPool.waitForUnique(warmUrgent.filter((r) => r.status === 201).length, opts.drainMs);

  await Promise.all([backlogPool.phase('low'), urgentPool.phase('urg')]);
  const cpuBefore = setup.cpuSeconds();
  const start = now();
  let backlogDone = false;
  let lastBacklogResponse = null;
  const urgentSent = [];
  const urgentLoop = (async () => {
    for (let tick = 0; !backlogDone; tick += 1) {
      urgentSent.push(poster.post(randomUrgentUser(), 'urg', URGENT));
      const wait = start + (tick + 1) * opts.urgentEveryMs - now();
      if (wait >= 1) await sleep(wait);
    }
  })();
  const requests = Math.ceil(opts.urgentBacklog / opts.batchSize);
  const sent = await postFlatOut({ count: requests }, opts.batchLanes, (i) =>
    poster.postBatch(batchOf(i, Math.min(opts.batchSize, opts.urgentBacklog - i * opts.batchSize)), 'low', LOW));
  lastBacklogResponse = now();
  const drainDeadline = Date.now() + opts.batchDrainMs;
  let lows = await backlogPool.counts();
  while (lows.unique < sent.committed && Date.now() < drainDeadline) {
    await sleep(COUNT_POLL_MS);
    lows = await backlogPool.counts();
  }
  backlogDone = true;
  await urgentLoop;
  const urgentResults = await Promise.all(urgentSent);
  const urgentCommitted = urgentResults.filter((r) => r.status === 201).length;
  const urgentCounts = await urgentPool.waitForUnique(urgentCommitted, opts.drainMs);
  const cpuSeconds = setup.cpuSeconds() - cpuBefore;
  const low = await backlogPool.collect();
  const urgent = await urgentPool.collect();
  await Promise.all([backlogPool.close(), urgentPool.close()]);
  const lastLow = low.recvAt.reduce((max, t) => Math.max(max, t), lastBacklogResponse);
  return {
    backlog: {
      count: opts.urgentBacklog,
      posted: sent.posted,
      committed: sent.committed,
      statuses: sent.statuses,
      firstError: sent.firstError,
      ingestMs: lastBacklogResponse - start,
      ...lows,
      drained: lows.unique >= sent.committed,
      drainMsAfterLastPost: lastLow - lastBacklogResponse,
      latency: summarize(low.recvAt.map((r, i) => r - low.sentAt[i])),
    },
    urgent: {
      everyMs: opts.urgentEveryMs,
      posted: urgentResults.length,
      committed: urgentCommitted,
      firstError: urgentResults.find((r) => r.error)?.error ?? null,
      ...urgentCounts,
      ...summarize(urgent.recvAt.map((r, i) => r - urgent.sentAt[i])),
    },
    gatewayCpuMsPerNotification: (cpuSeconds * 1000) / Math.max(1, sent.committed + urgentCommitted),
  };
}

/** Both modes' results → the comparison printed under them. */
export function compareUrgent(on, off) {
  if (!on?.urgent.samples || !off?.urgent.samples) return null;
  return {
    p50: off.urgent.p50 / on.urgent.p50,
    p95: off.urgent.p95 / on.urgent.p95,
    cpu: on.gatewayCpuMsPerNotification / off.gatewayCpuMsPerNotification,
  };
}
