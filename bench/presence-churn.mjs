/**
 * Presence churn (`--topics`): `presenceClients` sockets (default 2,000), one user each,
 * in a tenant of their own, whose token's `topics` claim allows topic `bench:room` but
 * who hold nothing at first; and `presenceWatchers` (10) more sockets of that tenant,
 * other users, that `presence:subscribe` to it. Both are spread over the instances.
 *
 * Churn: `presenceRate` (1,000) operations per second in total for `presenceDuration`
 * (10) s, each a `subscribe` or an `unsubscribe` of `bench:room` on a random socket of the
 * pool (whichever it does not hold; one at a time per socket; open loop), i.e. about half
 * joins and half leaves, about half the sockets holding the topic. Subscribe/unsubscribe
 * exercises the presence path (room join/leave, in-memory count, the Redis write every
 * 200 ms, the watchers' reads) without the cost of handshakes. An operation counts when
 * its ack says so; a denial, RATE_LIMITED or missing ack is an error.
 *
 * After an untimed warm-up churn (3 s), rounds alternate without watchers (W = 0: the 10 sockets stay connected, watching
 * nothing) and with them (W = presenceWatchers), `presenceRounds` (2) of each, so the two
 * share the box's drift. Per round: operations done per second, ack latency, the
 * gateways' CPU time (user + system from /proc, summed over the instances) over the churn
 * window ÷ operations, gross and net of the idle rate measured before the first round.
 * With watchers also: `presence` updates per watcher per second during the churn, the
 * shortest gap between two updates to one watcher (the gateway promises at most one per
 * topic per PRESENCE_INTERVAL_MS, 1 s), and, once the churn has stopped and 3 s passed,
 * the last counts each watcher saw against the true count (the sockets whose subscribe
 * was acked and not undone) and against `GET /api/presence/topics/bench:room`.
 * The watcher cost: CPU per second of churn with watchers minus without, and that ÷ the
 * updates delivered. It is small against the churn itself, so the shared box's noise
 * may hide it; the rounds' spread is printed beside it.
 */
import { now, sleep } from './clock.mjs';
import { fileLimitProblem, startClientPool } from './client-pool.mjs';
import { summarize } from './phases.mjs';
import { topicPresence } from './topic-broadcast.mjs';

export const PRESENCE_TENANT = 'bench-presence';
export const PRESENCE_TOPIC = 'bench:room';
const SOCKETS_PER_WORKER = 2500;
/** Idle window before the rounds: the gateways' CPU rate with these sockets connected and no churn. */
const IDLE_MS = 3000;
/** After the churn: the last Redis write (≤ 200 ms) and the next watcher tick (≤ 1 s), with room to spare. */
const FINAL_SETTLE_MS = 3000;
/** After watching starts: the first (fresh-watcher) update arrives at the next tick. */
const WATCH_SETTLE_MS = 1500;

export async function presenceChurn({ setup, opts }, live = { text: async () => '' }) {
  const m = opts.presenceClients;
  const w = opts.presenceWatchers;
  const tooMany = fileLimitProblem(m + w);
  if (tooMany) throw new Error(`presence churn: ${tooMany}`);
  let state = 'connecting';
  live.text = async () => state;
  const claim = { tenant: PRESENCE_TENANT, topicClaim: [PRESENCE_TOPIC], urls: setup.urls, connectWithinMs: opts.broadcastConnectMs };
  const pool = await startClientPool({ ...claim, clients: m, workers: Math.max(opts.workers, Math.ceil(m / SOCKETS_PER_WORKER)), user: (i) => `p${i}` });
  const watchers = w > 0 ? await startClientPool({ ...claim, clients: w, workers: 1, user: (i) => `w${i}` }) : null;
  try {
    for (const [what, p] of [['churn', pool], ['watcher', watchers]]) {
      if (p && p.failed > 0) throw new Error(`presence churn: ${p.failed} ${what} sockets did not connect; first error: ${p.firstError}`);
    }
    // Untimed: JIT, and about half the sockets holding the topic before the rounds start.
    state = 'warm-up churn';
    const warmUp = await pool.churn({ topic: PRESENCE_TOPIC, rate: opts.presenceRate, durationMs: Math.min(3, opts.presenceDuration) * 1000 });
    if (warmUp.errors + warmUp.denied > 0) throw new Error(`presence churn warm-up: ${warmUp.errors + warmUp.denied} failed; first error: ${warmUp.firstError}`);
    await sleep(Math.max(opts.settleMs, FINAL_SETTLE_MS));
    state = 'idle CPU baseline';
    const idle = await cpuOver(setup, () => sleep(IDLE_MS));
    const idleCpuMsPerSec = idle.cpuMs / (idle.ms / 1000);
    const rounds = [];
    const total = 2 * opts.presenceRounds;
    for (let r = 0; r < total; r += 1) {
      const withWatchers = w > 0 && r % 2 === 1;
      state = `round ${r + 1}/${total} (${withWatchers ? w : 0} watchers), ${opts.presenceRate}/s for ${opts.presenceDuration} s`;
      rounds.push(await oneRound({ setup, pool, watchers: withWatchers ? watchers : null, w, opts, idleCpuMsPerSec }));
    }
    return summarizeRounds({ m, w, opts, idleCpuMsPerSec, rounds });
  } finally {
    await watchers?.close();
    await pool.close();
    await sleep(opts.settleMs);
  }
}

async function cpuOver(setup, work) {
  const cpu = setup.cpuSeconds();
  const started = now();
  const result = await work();
  return { result, cpuMs: (setup.cpuSeconds() - cpu) * 1000, ms: now() - started };
}

async function oneRound({ setup, pool, watchers, w, opts, idleCpuMsPerSec }) {
  let watch = null;
  if (watchers) {
    watch = await watchers.watch(PRESENCE_TOPIC, w);
    if (watch.granted !== w) throw new Error(`presence:subscribe granted to ${watch.granted}/${w} watchers; first error: ${watch.firstError}`);
    await sleep(WATCH_SETTLE_MS);
    await watchers.presence({ clear: true }); // the first (current counts) update is not churn
  }
  const churnStart = now();
  const { result: churn, cpuMs, ms } = await cpuOver(setup, () =>
    pool.churn({ topic: PRESENCE_TOPIC, rate: opts.presenceRate, durationMs: opts.presenceDuration * 1000 }));
  const churnEnd = now();
  await sleep(FINAL_SETTLE_MS);
  const trueCount = await pool.held(PRESENCE_TOPIC);
  const apiCount = await topicPresence(setup.urls[setup.urls.length - 1], PRESENCE_TENANT, PRESENCE_TOPIC);
  const done = churn.joins + churn.leaves;
  const round = {
    watchers: watchers ? w : 0,
    ops: churn.ops,
    joins: churn.joins,
    leaves: churn.leaves,
    denied: churn.denied,
    errors: churn.errors,
    firstError: churn.firstError,
    seconds: ms / 1000,
    opsPerSec: done / (ms / 1000),
    ack: pick(summarize(churn.ackMs)),
    gatewayCpuMs: cpuMs,
    cpuUsPerOp: done ? (cpuMs * 1000) / done : null,
    netCpuUsPerOp: done ? ((cpuMs - idleCpuMsPerSec * (ms / 1000)) * 1000) / done : null,
    trueCount,
    apiCount,
  };
  if (watchers) {
    const events = (await watchers.presence({ clear: true })).filter((e) => e.topic === PRESENCE_TOPIC);
    await watchers.unwatch(PRESENCE_TOPIC);
    round.watch = watcherFigures(events, w, churnStart, churnEnd, trueCount);
  }
  return round;
}

const pick = ({ p50, p99, max }) => ({ p50, p99, max });

/** Per watcher: updates during the churn ÷ its seconds, the shortest gap, and its last counts against the truth. */
function watcherFigures(events, w, from, to, trueCount) {
  const byWatcher = new Map();
  for (const e of events) {
    const list = byWatcher.get(e.watcher);
    if (list) list.push(e);
    else byWatcher.set(e.watcher, [e]);
  }
  const seconds = (to - from) / 1000;
  const perSec = [];
  let minGapMs = Infinity;
  let exact = 0;
  const lastSeen = [];
  for (const list of byWatcher.values()) {
    list.sort((a, b) => a.at - b.at);
    perSec.push(list.filter((e) => e.at >= from && e.at <= to).length / seconds);
    for (let i = 1; i < list.length; i += 1) minGapMs = Math.min(minGapMs, list[i].at - list[i - 1].at);
    const last = list[list.length - 1];
    lastSeen.push(last.connections);
    if (last.connections === trueCount && last.users === trueCount) exact += 1;
  }
  return {
    watchersHeard: byWatcher.size,
    updates: events.length,
    updatesInChurn: events.filter((e) => e.at >= from && e.at <= to).length,
    perWatcherPerSec: { min: Math.min(...perSec), max: Math.max(...perSec), mean: perSec.reduce((s, v) => s + v, 0) / Math.max(1, perSec.length) },
    minGapMs: Number.isFinite(minGapMs) ? minGapMs : null,
    exact,
    lastSeen: { min: Math.min(...lastSeen), max: Math.max(...lastSeen) },
  };
}

const mean = (values) => (values.length ? values.reduce((s, v) => s + v, 0) / values.length : null);

function summarizeRounds({ m, w, opts, idleCpuMsPerSec, rounds }) {
  const without = rounds.filter((r) => r.watchers === 0);
  const withW = rounds.filter((r) => r.watchers > 0);
  const cpuPerSec = (r) => r.gatewayCpuMs / r.seconds;
  const extraMsPerSec = withW.length && without.length ? mean(withW.map(cpuPerSec)) - mean(without.map(cpuPerSec)) : null;
  const updatesPerSec = withW.length ? mean(withW.map((r) => r.watch.updatesInChurn / r.seconds)) : null;
  return {
    clients: m,
    watchers: w,
    rate: opts.presenceRate,
    duration: opts.presenceDuration,
    idleCpuMsPerSec,
    rounds,
    opsPerSec: mean(rounds.map((r) => r.opsPerSec)),
    cpuUsPerOp: { without: mean(without.map((r) => r.cpuUsPerOp)), with: mean(withW.map((r) => r.cpuUsPerOp)) },
    netCpuUsPerOp: { without: mean(without.map((r) => r.netCpuUsPerOp)), with: mean(withW.map((r) => r.netCpuUsPerOp)) },
    watcherCost: {
      extraCpuMsPerSec: extraMsPerSec,
      updatesPerSec,
      usPerUpdate: extraMsPerSec !== null && updatesPerSec ? (extraMsPerSec * 1000) / updatesPerSec : null,
      cpuMsPerSecSpread: {
        without: without.map((r) => cpuPerSec(r)),
        with: withW.map((r) => cpuPerSec(r)),
      },
    },
    updatesPerWatcherPerSec: withW.length ? Math.max(...withW.map((r) => r.watch.perWatcherPerSec.max)) : null,
    minGapMs: withW.length ? Math.min(...withW.map((r) => r.watch.minGapMs ?? Infinity)) : null,
    exact: withW.length ? withW.every((r) => r.watch.exact === w && r.watch.watchersHeard === w) : null,
    apiExact: rounds.every((r) => r.apiCount === r.trueCount),
  };
}

/** Problems a reader must not miss (printed under the setup, kept in the JSON). */
export function presenceChurnProblems(pc) {
  if (!pc) return [];
  const problems = [];
  for (const [i, r] of pc.rounds.entries()) {
    const what = `presence round ${i + 1} (${r.watchers} watchers)`;
    if (r.errors + r.denied > 0) problems.push(`${what}: ${r.errors} errors, ${r.denied} denied (${r.firstError})`);
    if (r.opsPerSec < 0.9 * pc.rate) problems.push(`${what}: ${Math.round(r.opsPerSec)} operations/s, asked ${pc.rate}/s`);
    if (r.apiCount !== r.trueCount) problems.push(`${what}: GET presence says ${r.apiCount}, the clients hold ${r.trueCount}`);
    if (r.watch) {
      if (r.watch.exact !== pc.watchers) {
        problems.push(`${what}: ${r.watch.exact}/${pc.watchers} watchers saw the true count ${r.trueCount} last ` +
          `(they saw ${r.watch.lastSeen.min}-${r.watch.lastSeen.max})`);
      }
      if (r.watch.perWatcherPerSec.max > 1.05) problems.push(`${what}: up to ${r.watch.perWatcherPerSec.max.toFixed(2)} updates per watcher per second`);
    }
  }
  return problems;
}
