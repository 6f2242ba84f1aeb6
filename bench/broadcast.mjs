/**
 * Tenant broadcast: `broadcastClients` sockets (one user each, in a tenant of their own so
 * the main pool's sockets are not recipients) stay connected while one `scope: "tenant"`
 * notification is POSTed, `broadcastRounds` times. Per round: POST send → receipt on
 * every socket → p50 / p99 / max and how many of N received it within
 * `broadcastTimeoutMs`. The headline is the median over rounds of the max: "reaches all
 * N within X ms".
 *
 * Connecting the N sockets is also the large-N RSS measurement: the gateway's RSS before
 * and after they connect, ÷ N (less noisy than at --clients). It runs right after the
 * main pool connected and before any load phase; the main pool stays connected, so it
 * is the cost of N more sockets on top of it. The N sockets are closed at the end.
 */
import { now, sleep } from './clock.mjs';
import { fileLimitProblem, startClientPool } from './client-pool.mjs';
import { metricSum } from './gateways.mjs';
import { summarize } from './phases.mjs';

export const BROADCAST_TENANT = 'bench-broadcast';
/** Sockets per client worker thread: a broadcast is N receipts processed at once. */
const SOCKETS_PER_WORKER = 2500;
const ROUND_GAP_MS = 300;

export async function broadcast({ setup, poster, opts }) {
  const n = opts.broadcastClients;
  const tooMany = fileLimitProblem(n);
  if (tooMany) throw new Error(`broadcast: ${tooMany}`);
  await sleep(opts.settleMs);
  const beforeKb = setup.rssKb();
  const seenBefore = await metricSum(setup.urls, 'notify_connected_sockets');
  const started = now();
  const pool = await startClientPool({
    urls: setup.urls,
    clients: n,
    workers: Math.max(opts.workers, Math.ceil(n / SOCKETS_PER_WORKER)),
    tenant: BROADCAST_TENANT,
    user: (i) => `b${i}`,
    connectWithinMs: opts.broadcastConnectMs,
  });
  const connectMs = now() - started;
  try {
    if (pool.failed > 0) {
      throw new Error(`broadcast: ${pool.connected} of ${n} sockets connected within ${Math.round(connectMs / 1000)} s ` +
        `(limit ${opts.broadcastConnectMs / 1000} s)${pool.firstError ? `; first error: ${pool.firstError}` : ''}`);
    }
    await sleep(opts.settleMs);
    const afterKb = setup.rssKb();
    const rss = {
      sockets: n,
      socketsSeenByGateway: (await metricSum(setup.urls, 'notify_connected_sockets')) - seenBefore,
      beforeKb,
      afterKb,
      perSocketKb: (afterKb - beforeKb) / n,
      connectMs,
    };
    const rounds = [];
    for (let r = 0; r < opts.broadcastRounds; r += 1) {
      if (r > 0) await sleep(ROUND_GAP_MS);
      rounds.push(await oneRound(pool, poster, n, `bc${r}`, opts.broadcastTimeoutMs));
    }
    // A round in which some socket missed the broadcast never "reached all": it sorts last.
    const maxes = rounds.map((r) => (r.received === n ? r.max : Infinity)).sort((a, b) => a - b);
    return {
      clients: n,
      rss,
      rounds,
      allReceivedEveryRound: rounds.every((r) => r.received === n),
      medianMaxMs: Number.isFinite(maxes[Math.floor(maxes.length / 2)]) ? maxes[Math.floor(maxes.length / 2)] : null,
    };
  } finally {
    await pool.close();
    // 10,000 disconnects keep the gateway busy for a while: the next phase must not time them.
    // (A gateway that died fails the setup with its own message: do not hide it behind a fetch error.)
    await waitForSockets(setup.urls, seenBefore, opts.broadcastTimeoutMs).catch(() => {});
    await sleep(opts.settleMs);
  }
}

async function waitForSockets(urls, count, timeoutMs) {
  const deadline = now() + timeoutMs;
  while ((await metricSum(urls, 'notify_connected_sockets')) > count && now() < deadline) await sleep(100);
}

async function oneRound(pool, poster, n, ph, timeoutMs) {
  await pool.phase(ph);
  const res = await poster.postTenant(BROADCAST_TENANT, ph);
  if (res.status !== 201) throw new Error(`broadcast POST answered ${res.status}${res.error ? ` (${res.error})` : ''}`);
  const counts = await pool.waitForUnique(n, timeoutMs);
  const { sentAt, recvAt } = await pool.collect();
  const { samples, p50, p99, max } = summarize(recvAt.map((t, i) => t - sentAt[i]));
  return { received: counts.unique, duplicates: counts.duplicates, samples, p50, p99, max };
}
