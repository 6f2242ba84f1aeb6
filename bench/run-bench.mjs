#!/usr/bin/env node
/**
 * `npm run bench` — builds the gateway and measures it as real child processes.
 *
 * Setups (each on free ports, NODE_ENV=production, LOG_LEVEL=warn):
 *   embedded  SQLite temp file, one process, in-process adapter
 *   mysql1    MariaDB (fresh database, dropped after) + Redis (random key prefix), 1 instance
 *   mysql2    the same with 2 instances: clients spread over them, POSTs round-robin
 * mysql1/mysql2 are skipped with a notice when MariaDB or Redis does not answer
 * (BENCH_MYSQL_URL, default mysql://root@127.0.0.1:3306; BENCH_REDIS_URL, default
 * redis://127.0.0.1:6379).
 *
 * What is measured per setup (details in phases.mjs):
 *   1. POST→receipt latency: --count (1000) notifications at a fixed --rate (50/s) to
 *      random connected users; the send time travels in `data.t`, the client worker
 *      takes the receive time (one monotonic clock, clock.mjs).
 *   2. ingest: --concurrency (16) keep-alive lanes POST flat out for --duration (5) s
 *      → 201s per second, and the gateway's CPU time per notification (/proc).
 *   3. deliveries/s: notifications the clients received during (2)'s window.
 *   4. RSS per idle socket: gateway VmRSS (/proc, all instances) before and after
 *      --clients (1000) sockets connect, ÷ N. Approximate: includes heap the handshakes
 *      left behind that GC has not returned.
 *   5. reconnect + replay: one user misses --missed (500) notifications, reconnects with
 *      lastAckId → time from io() to `notify:synced` (median of 3 rounds), replayed count.
 *   6. the naive path (issue 5): fresh gateways with WRITE_BATCHING=false, the same clients
 *      and the same ingest phase → committed/s and the batched ÷ naive ratio. The ratio is
 *      printed only when the gateway's notify_write_batch_size histogram confirms that the
 *      first run group-committed and this one did not. --no-naive skips it.
 * Clients live in worker threads of this process, the gateway in its own processes; all
 * of it shares the machine's cores, so figures are for this box, not the gateway alone.
 *
 * Results: a table per setup, a summary table, and JSON in bench/results/<timestamp>.json
 * (or --out DIR). --smoke shrinks every number so a run takes seconds (CI keeps it alive).
 * Exit code 1 when a setup that ran failed; skipped setups do not fail the run.
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, totalmem } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { onCleanup, runCleanup } from './cleanup.mjs';
import { TENANT } from './client-pool.mjs';
import { API_KEY, SETUPS, servicesProblem, startSetup } from './gateways.mjs';
import { connectIdle, ingest, latency, replay, warmUp } from './phases.mjs';
import { createPoster } from './poster.mjs';
import { formatSetup, formatSummary } from './report.mjs';

// --rate defaults to 50/s: one gateway process tops out near 100-170 POSTs/s on this
// shared 2-core box (~8 ms of gateway CPU per POST), and a latency figure taken above
// capacity measures the queue, not the pipeline (the run warns when that happens).
// --duration is short so that the whole run, with the naive pass, stays near 4 minutes.
const FULL = {
  clients: 1000, count: 1000, rate: 50, duration: 5, concurrency: 16, missed: 500,
  workers: 2, replayRounds: 3, warmup: 300, settleMs: 1000, drainMs: 20_000,
};
const SMOKE = {
  clients: 20, count: 30, rate: 50, duration: 1, concurrency: 4, missed: 20,
  workers: 1, replayRounds: 1, warmup: 10, settleMs: 200, drainMs: 5_000,
};

function parseOptions(argv) {
  const { values } = parseArgs({
    args: argv,
    options: {
      clients: { type: 'string' },
      count: { type: 'string' },
      rate: { type: 'string' },
      duration: { type: 'string' },
      concurrency: { type: 'string' },
      missed: { type: 'string' },
      workers: { type: 'string' },
      setups: { type: 'string', default: Object.keys(SETUPS).join(',') },
      out: { type: 'string', default: join(import.meta.dirname, 'results') },
      smoke: { type: 'boolean', default: false },
      'no-build': { type: 'boolean', default: false },
      'no-naive': { type: 'boolean', default: false },
      help: { type: 'boolean', default: false },
    },
  });
  if (values.help) {
    process.stdout.write('npm run bench -- [--clients N] [--count K] [--rate R] [--duration S] [--concurrency C]\n' +
      '  [--missed M] [--workers W] [--setups embedded,mysql1,mysql2] [--smoke] [--out DIR] [--no-build] [--no-naive]\n');
    process.exit(0);
  }
  const opts = {
    ...(values.smoke ? SMOKE : FULL),
    smoke: values.smoke,
    out: values.out,
    build: !values['no-build'],
    naive: !values['no-naive'],
  };
  for (const key of ['clients', 'count', 'rate', 'duration', 'concurrency', 'missed', 'workers']) {
    if (values[key] === undefined) continue;
    const n = Number(values[key]);
    if (!(n > 0)) throw new Error(`--${key} must be a positive number`);
    opts[key] = key === 'duration' || key === 'rate' ? n : Math.round(n);
  }
  opts.setups = values.setups.split(',').map((s) => s.trim()).filter(Boolean);
  const unknown = opts.setups.filter((s) => !SETUPS[s]);
  if (unknown.length) throw new Error(`unknown setup(s) ${unknown.join(', ')}; choose from ${Object.keys(SETUPS).join(', ')}`);
  return opts;
}

async function runSetup(name, opts, servicesDown) {
  const base = { name, label: SETUPS[name].label, instances: SETUPS[name].instances };
  if (SETUPS[name].services && servicesDown) return { ...base, skipped: servicesDown };
  const result = { ...base, loadavg: loadavg() };
  try {
    // Results are stored as each phase ends, so a failure still reports what was measured.
    await withSetup(name, {}, opts, async (ctx) => {
      result.rss = ctx.rss;
      result.latency = await latency(ctx);
      Object.assign(result, await ingest(ctx));
      result.replay = await replay(ctx);
    });
    // Issue 5's comparison: the same ingest phase, same clients, on fresh gateways that
    // write one transaction per notification.
    if (opts.naive) {
      await withSetup(name, { WRITE_BATCHING: 'false' }, { ...opts, settleMs: 0 }, async (ctx) => {
        await warmUp(ctx); // the batched ingest ran after the latency phase's 1000 POSTs
        result.naive = compareWithNaive(result.ingest, await ingest(ctx));
      });
    }
  } catch (error) {
    result.error = error instanceof Error ? error.message : String(error);
  }
  return result;
}

/** Fresh gateways (and store) + the idle clients connected; everything stopped afterwards. */
async function withSetup(name, env, opts, measure) {
  const setup = await startSetup(name, env);
  try {
    const poster = createPoster({ urls: setup.urls, apiKey: API_KEY, tenantId: TENANT, maxSockets: Math.max(64, opts.concurrency) });
    onCleanup(async () => poster.close());
    const { pool, rss } = await connectIdle({ setup, opts });
    await measure({ setup, pool, poster, opts, rss });
  } catch (error) {
    const deaths = setup.deaths().map((death) => `\n   gateway ${death}`).join('');
    throw new Error(`${error instanceof Error ? error.message : String(error)}${deaths}`);
  } finally {
    await runCleanup(); // clients, poster, gateways, database
  }
}

/**
 * Valid only if the gateway's own metrics show the batched run group-committed and the
 * WRITE_BATCHING=false run did not: otherwise no ratio is printed.
 */
function compareWithNaive(batched, naive) {
  if (!(batched.groupCommits > 0)) {
    return { available: false, reason: 'the gateway reported no group commits (no notify_write_batch_size metric): no batching path to compare' };
  }
  if (naive.ingest.groupCommits !== 0) {
    return { available: false, reason: `WRITE_BATCHING=false was not honoured (${naive.ingest.groupCommits} group commits)`, ...naive };
  }
  return { available: true, ...naive, ratio: batched.committedPerSec / naive.ingest.committedPerSec };
}

/** Problems a reader should not miss: lost notifications, failed requests, a saturated rate. */
function checkCounts(result) {
  const problems = [];
  const { latency: lat, ingest: ing, deliveries: del, replay: rep, rss, naive } = result;
  const notCreated = (what, r) =>
    `${what}: ${r.posted - r.committed} POSTs not 201 ${JSON.stringify(r.statuses)}${r.firstError ? ` (${r.firstError})` : ''}`;
  if (lat && lat.unique !== lat.committed) problems.push(`latency: ${lat.unique}/${lat.committed} received`);
  if (lat?.saturated) {
    problems.push(`latency: the gateway did not keep up with ${lat.rate}/s (last response ${Math.round(lat.responseLagMs)} ms late); ` +
      'the figures are mostly queueing, try a lower --rate');
  }
  if (lat && lat.committed !== lat.posted) problems.push(notCreated('latency', lat));
  if (ing && ing.committed !== ing.posted) problems.push(notCreated('ingest', ing));
  if (del && del.unique !== del.expected) problems.push(`ingest: ${del.unique}/${del.expected} delivered`);
  if (naive?.ingest && naive.ingest.committed !== naive.ingest.posted) problems.push(notCreated('naive ingest', naive.ingest));
  if (naive?.deliveries && naive.deliveries.unique !== naive.deliveries.expected) {
    problems.push(`naive ingest: ${naive.deliveries.unique}/${naive.deliveries.expected} delivered`);
  }
  for (const r of rep?.rounds ?? []) if (r.replayed !== r.missed) problems.push(`replay: ${r.replayed}/${r.missed} replayed`);
  if (rss && rss.socketsSeenByGateway !== rss.sockets) {
    problems.push(`the gateway counts ${rss.socketsSeenByGateway} sockets, the clients ${rss.sockets}`);
  }
  return problems;
}

/** A hung gateway must not hang the bench (or CI): past this, clean up and fail. */
function startWatchdog(minutes) {
  setTimeout(() => {
    process.stderr.write(`bench: still running after ${minutes.toFixed(1)} min, giving up\n`);
    void runCleanup().finally(() => process.exit(1));
  }, minutes * 60_000).unref();
}

async function main() {
  const opts = parseOptions(process.argv.slice(2));
  // Generous: a default run takes ~3 min; each setup gets 3 min plus its posting time.
  startWatchdog(opts.setups.length * (3 + (opts.duration + opts.count / opts.rate) / 60));
  if (opts.build) {
    process.stdout.write('building the gateway (npm run build)…\n');
    const build = spawnSync('npm', ['run', 'build', '--silent'], { stdio: 'inherit' });
    if (build.status !== 0) throw new Error('npm run build failed');
  }
  const needsServices = opts.setups.some((s) => SETUPS[s].services);
  const servicesDown = needsServices ? await servicesProblem() : null;
  if (servicesDown) process.stdout.write(`\n!! ${servicesDown}: the MariaDB + Redis setups are SKIPPED.\n`);

  const machine = {
    cpus: cpus().length,
    cpu: cpus()[0]?.model,
    memoryMb: Math.round(totalmem() / 2 ** 20),
    node: process.version,
    loadavgAtStart: loadavg(),
  };
  const startedAt = new Date();
  const results = [];
  for (const name of opts.setups) {
    process.stdout.write(`\nrunning ${name}…\n`);
    const result = await runSetup(name, opts, servicesDown);
    result.countProblems = checkCounts(result);
    results.push(result);
    process.stdout.write(`${formatSetup(result, opts)}\n`);
    for (const p of result.countProblems) process.stdout.write(`   !! ${p}\n`);
  }
  const summary = formatSummary(results, opts);
  if (summary) process.stdout.write(`\n${summary}\n`);

  mkdirSync(opts.out, { recursive: true });
  const file = join(opts.out, `${startedAt.toISOString().replace(/[:.]/g, '-')}.json`);
  const { out, build, ...options } = opts;
  writeFileSync(file, `${JSON.stringify({ startedAt, finishedAt: new Date(), machine, options, results }, null, 2)}\n`);
  process.stdout.write(`\nresults written to ${file}\n`);
  return results.some((r) => r.error) ? 1 : 0;
}

try {
  process.exitCode = await main();
} catch (error) {
  process.stderr.write(`bench failed: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exitCode = 1;
} finally {
  await runCleanup();
}
// Keep-alive sockets or a stuck client must not keep the bench alive after its results.
process.exit(process.exitCode);
