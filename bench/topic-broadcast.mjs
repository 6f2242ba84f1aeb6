/**
 * Topic broadcast (`--topics`): `topicClients` sockets (default 10,000), one user each, in
 * a tenant of their own, all holding topic `bench:all` from their handshake (`auth.topics`;
 * the token's `topics` claim allows it, and a socket whose `notify:synced` does not grant
 * it fails the phase). Then `topicRounds` rounds, each of three POSTs one after the other:
 *   durable    `POST /api/notify/bench:event { topics: ["bench:all"] }` → 201: stored
 *              once, relayed from the outbox to the topic's room on every instance;
 *   transient  the same with `transient: true` → 202: emitted at once by the instance
 *              that took it, through the adapter, never stored;
 *   tenant     `scope: "tenant"` to the same tenant (the same N sockets): the reference,
 *              the tenant broadcast of broadcast.mjs taken at the same moment, so that a
 *              busy box shows in both.
 * After one untimed round of the three, per POST: send → receipt on every socket → p50 /
 * p99 / max, received of N, duplicates, and the gateways' CPU time (user + system from
 * /proc, summed over the instances) from just before the POST until the last socket got
 * it. The headline, per kind: median over rounds of the max, "reaches all N within X ms"
 * (a round that missed a socket sorts last), as for tenant broadcasts (broadcast.mjs).
 *
 * Before the rounds it checks that the gateway counts N holders of the topic
 * (`GET /api/presence/topics/bench:all`). The N sockets are closed at the end.
 */
import { now, sleep } from './clock.mjs';
import { fileLimitProblem, startClientPool } from './client-pool.mjs';
import { API_KEY, metricSum } from './gateways.mjs';
import { summarize } from './phases.mjs';

export const TOPIC_TENANT = 'bench-topics';
export const BROADCAST_TOPIC = 'bench:all';
/** Sockets per client worker thread, as for tenant broadcasts. */
const SOCKETS_PER_WORKER = 2500;
const ROUND_GAP_MS = 300;
/** Presence is written to Redis every 200 ms; counts are read after this. */
const PRESENCE_SETTLE_MS = 600;
export const KINDS = ['durable', 'transient', 'tenant'];

export async function topicBroadcast({ setup, poster, opts }, live = { text: async () => '' }) {
  const n = opts.topicClients;
  const tooMany = fileLimitProblem(n);
  if (tooMany) throw new Error(`topic broadcast: ${tooMany}`);
  await sleep(opts.settleMs);
  const seenBefore = await metricSum(setup.urls, 'notify_connected_sockets');
  let rounds = null;
  // Reads /metrics only while connecting: the rounds' CPU figures should not include it.
  live.text = async () => {
    if (rounds) return `${rounds.length}/${KINDS.length * opts.topicRounds} POSTs received (${KINDS.join(', ')} per round)`;
    const connected = Math.max(0, (await metricSum(setup.urls, 'notify_connected_sockets')) - seenBefore);
    return `${connected.toLocaleString('en-US')}/${n.toLocaleString('en-US')} topic sockets connected`;
  };
  const started = now();
  const pool = await startClientPool({
    urls: setup.urls,
    clients: n,
    workers: Math.max(opts.workers, Math.ceil(n / SOCKETS_PER_WORKER)),
    tenant: TOPIC_TENANT,
    user: (i) => `t${i}`,
    topics: [BROADCAST_TOPIC],
    connectWithinMs: opts.broadcastConnectMs,
  });
  const connectMs = now() - started;
  try {
    if (pool.failed > 0) {
      throw new Error(`topic broadcast: ${pool.connected} of ${n} sockets connected holding ${BROADCAST_TOPIC} within ` +
        `${Math.round(connectMs / 1000)} s${pool.firstError ? `; first error: ${pool.firstError}` : ''}`);
    }
    await sleep(Math.max(opts.settleMs, PRESENCE_SETTLE_MS));
    const holders = await topicPresence(setup.urls[0], TOPIC_TENANT, BROADCAST_TOPIC);
    // One untimed round first: the first emit to a new room and the first topic message of
    // each kind pay for JIT and lazy setup, once per gateway, not per message.
    for (const kind of KINDS) {
      await oneRound(setup, pool, poster, n, kind, `tbw-${kind}`, opts.broadcastTimeoutMs);
      await sleep(ROUND_GAP_MS);
    }
    rounds = [];
    for (let r = 0; r < opts.topicRounds; r += 1) {
      for (const kind of KINDS) {
        if (rounds.length > 0) await sleep(ROUND_GAP_MS);
        rounds.push(await oneRound(setup, pool, poster, n, kind, `tb${rounds.length}`, opts.broadcastTimeoutMs));
      }
    }
    return {
      clients: n,
      connectMs,
      holdersSeenByGateway: holders,
      ...Object.fromEntries(KINDS.map((kind) => [kind, headline(rounds.filter((r) => r.kind === kind), n)])),
      rounds,
    };
  } finally {
    await pool.close();
    await waitForSockets(setup.urls, seenBefore, opts.broadcastTimeoutMs).catch(() => {});
    await sleep(opts.settleMs);
  }
}

/** `GET /api/presence/topics/:topic` of one instance (the counts are across instances): connections, or null. */
export async function topicPresence(url, tenantId, topic) {
  const res = await fetch(`${url}/api/presence/topics/${encodeURIComponent(topic)}?tenantId=${encodeURIComponent(tenantId)}`, {
    headers: { 'x-api-key': API_KEY },
  });
  if (res.status !== 200) return null;
  return (await res.json()).connections;
}

function headline(rounds, n) {
  const maxes = rounds.map((r) => (r.received === n ? r.max : Infinity)).sort((a, b) => a - b);
  const mid = maxes[Math.floor(maxes.length / 2)];
  const cpu = rounds.map((r) => r.gatewayCpuMs).sort((a, b) => a - b);
  return {
    rounds: rounds.length,
    allReceivedEveryRound: rounds.every((r) => r.received === n),
    medianMaxMs: Number.isFinite(mid) ? mid : null,
    medianGatewayCpuMs: cpu.length ? cpu[Math.floor(cpu.length / 2)] : null,
    duplicates: rounds.reduce((s, r) => s + r.duplicates, 0),
  };
}

async function waitForSockets(urls, count, timeoutMs) {
  const deadline = now() + timeoutMs;
  while ((await metricSum(urls, 'notify_connected_sockets')) > count && now() < deadline) await sleep(100);
}

async function oneRound(setup, pool, poster, n, kind, ph, timeoutMs) {
  await pool.phase(ph);
  const cpuBefore = setup.cpuSeconds();
  // A topic target and no user: `userId` is left undefined, so it is not in the JSON body.
  const res = kind === 'tenant'
    ? await poster.postTenant(TOPIC_TENANT, ph)
    : await poster.post(undefined, ph, { tenantId: TOPIC_TENANT, topics: [BROADCAST_TOPIC], ...(kind === 'transient' && { transient: true }) });
  const expected = kind === 'transient' ? 202 : 201;
  if (res.status !== expected) throw new Error(`${kind} POST answered ${res.status}${res.error ? ` (${res.error})` : ''}, not ${expected}`);
  const counts = await pool.waitForUnique(n, timeoutMs);
  const gatewayCpuMs = (setup.cpuSeconds() - cpuBefore) * 1000;
  const { sentAt, recvAt } = await pool.collect();
  const { samples, p50, p99, max } = summarize(recvAt.map((t, i) => t - sentAt[i]));
  return { kind, received: counts.unique, duplicates: counts.duplicates, samples, p50, p99, max, gatewayCpuMs };
}

/** Problems a reader must not miss (printed under the setup, kept in the JSON). */
export function topicBroadcastProblems(tb) {
  if (!tb) return [];
  const problems = [];
  for (const [i, r] of tb.rounds.entries()) {
    const what = `topic broadcast, ${r.kind} POST ${i + 1}`;
    if (r.received !== tb.clients) problems.push(`${what}: ${r.received}/${tb.clients} sockets received it`);
    if (r.duplicates > 0) problems.push(`${what}: ${r.duplicates} duplicates`);
  }
  if (tb.holdersSeenByGateway !== tb.clients) {
    problems.push(`topic broadcast: the gateway counts ${tb.holdersSeenByGateway} holders of ${BROADCAST_TOPIC}, the clients ${tb.clients}`);
  }
  return problems;
}
