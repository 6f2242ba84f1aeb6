#!/usr/bin/env node
/**
 * `npm run bench` — builds the gateway and measures it as real child processes.
 *
 * Setups (each on free ports, NODE_ENV=production, LOG_LEVEL=warn):
 *   embedded  SQLite temp file, one process, in-process adapter
 *   mysql1    MariaDB (fresh database, dropped after) + Redis (random key prefix), 1 instance
 *   mysql2    the same with 2 instances: clients spread over them, POSTs round-robin
 *   mysql4    the same with 4 instances (the production shape, ecosystem.config.js)
 * The default is embedded,mysql1,mysql4 (the setups); mysql2 runs when named.
 * mysql* are skipped with a notice when MariaDB or Redis does not answer
 * (BENCH_MYSQL_URL, default mysql://root@127.0.0.1:3306; BENCH_REDIS_URL, default
 * redis://127.0.0.1:6379).
 *
 * What is measured per setup (details in phases.mjs, batch-ingest.mjs, broadcast.mjs):
 *   1. POST→receipt latency: --count (1000) notifications at a fixed --rate (50/s) to
 *      random connected users; the send time travels in `data.t`, the client worker
 *      takes the receive time (one monotonic clock, clock.mjs). Up to 100/s as single
 *      POSTs; above, as batches every 10 ms (--post-mode; the table says which).
 *   2. ingest: --concurrency (16) keep-alive lanes of single POSTs flat out for
 *      --duration (5) s → 201s per second, and the gateway's CPU time per notification.
 *   3. deliveries/s: notifications the clients received during (2)'s window.
 *   4. batch ingest: --batch-lanes (4) lanes POST /api/notify with --batch-size (500)
 *      items for --duration s → committed/s; then the outbox drain (last response →
 *      notify_outbox_backlog 0) and the client drain (→ every one received).
 *   5. RSS per idle socket: gateway VmRSS (/proc, all instances) before and after
 *      --clients (1000) sockets connect, ÷ N; again for the broadcast sockets (7).
 *      Approximate: includes heap the handshakes left that GC has not returned, and at
 *      small N the process's fixed growth; the larger N gives the steadier figure.
 *   6. reconnect + replay: one user misses --missed (500) notifications, reconnects with
 *      lastAckId → time from io() to `notify:synced` (median of 3 rounds), replayed count.
 *   7. tenant broadcast (runs right after the clients connect, before any load):
 *      --broadcast-clients (10000) more sockets in a tenant of their own; --broadcast-rounds
 *      (5) times one scope "tenant" POST → time to receipt on every socket (p50, p99, max,
 *      received of N); headline: median over rounds of the max. 0 clients skips it.
 *   8. the naive path: fresh gateways with WRITE_BATCHING=false (one transaction per
 *      notification, also inside a batch request), the same clients, ingest (2) and
 *      batch ingest (4) → committed/s and the batched ÷ naive ratios. A ratio is printed
 *      only when the notify_write_batch_size histogram confirms that the first run
 *      group-committed and this one did not. --no-naive skips it.
 *   8b. single-POST cost (post-cost.mjs; after replay, and on the naive gateways):
 *      --cost-count (20,000) POSTs to one connected user each, --cost-concurrency (64) lanes,
 *      until all are received → CPU µs per notification of the gateways, MariaDB and Redis.
 *      --cost-only runs nothing else (after the clients connect); --cost-count 0 skips it.
 *   9. webhook deliveries (webhook-deliveries.mjs; last, so its 20,000 queued deliveries
 *      never share the cores with another phase): a local receiver in a worker thread of
 *      this process answers 204 at once; a channel `hook` points at it; after an untimed
 *      warm-up, --webhook-count (20,000) notifications with channels ['hook'], to users no
 *      client is connected as, go through POST /api/notify as fast as they are taken
 *      (--batch-lanes × --batch-size) → deliveries/s from the first POST until the receiver
 *      has every distinct webhook-id, the rate after the last POST response (the workers
 *      alone), duplicates, sampled signature checks, what the gateways logged, and CPU per
 *      delivery of the gateways, the MariaDB server (pidof mariadbd), this process and the
 *      rest of the machine. It runs on every setup that runs (15-45 s each here);
 *      --webhook-count 0 skips it, --webhook-only runs nothing else (no clients). The
 *      naive pass repeats it with --webhook-naive-count (1,000; 5-10 s) on its fresh
 *      gateways, started also with DELIVERY_CLAIM_BATCH=1 DELIVERY_CONCURRENCY=1: one claim
 *      transaction and one send at a time per instance, the naive worker. Their ingest is
 *      the naive one too, so the row also prints the rate after the last POST response
 *      (the workers' part alone); the "worker ÷ naive worker" ratio is of the end-to-end rates.
 *  10. topics (only with --topics, after 8b on the first gateways; --topics-only runs nothing
 *      else: no idle clients, no naive pass; topic-phases.mjs prints their rows and a table
 *      of their own under the summary):
 *      a. topic broadcast (topic-broadcast.mjs): --topic-clients (10,000) sockets, one user
 *         each, in a tenant of their own, all holding one topic from their handshake
 *         (auth.topics, allowed by the token's topics claim; a denial fails the phase);
 *         --topic-rounds (5) rounds of a durable topic POST (201), a transient one (202) and,
 *         as the reference, a tenant broadcast to the same sockets (after one untimed
 *         round) → time to receipt on every socket (p50, p99, max, received of N,
 *         duplicates) and the gateways' CPU per POST; headline: median over rounds of the
 *         max, per kind.
 *      b. presence churn (presence-churn.mjs): --presence-clients (2,000) sockets whose
 *         claim allows one topic; --presence-rate (1,000) subscribe/unsubscribe operations
 *         per second in total on random sockets (not connects/disconnects) for
 *         --presence-duration (10) s; rounds alternate 0 and --presence-watchers (10)
 *         sockets watching it (presence:subscribe), --presence-rounds (2) of each →
 *         ops/s, gateway CPU per op, presence updates per watcher per second, the last
 *         counts the watchers saw against the true count, and the watchers' extra CPU.
 * Clients live in worker threads of this process, the gateway in its own processes; all
 * of it shares the machine's cores, so figures are for this box, not the gateway alone.
 *
 * The targets and the command lines that show them:
 *   ingest ≥ 20,000/s and ≥ 13× naive     batch ingest row + "batched ÷ naive" (default run)
 *   broadcast to 10,000 within 500 ms     broadcast row (default run)
 *   idle RSS ≤ 30 KB/socket, replay 500   RSS rows, replay row (default run)
 *   p99 ≤ 50 ms at 2,000/s, 5,000 clients `npm run bench -- --scale --setups mysql4`
 *                                         (= --clients 5000 --rate 2000 --count 20000,
 *                                         batch post mode; add other setups as wanted)
 *   webhook deliveries ≥ 2,000/s with     `npm run bench -- --setups mysql2 --no-naive
 *   2 instances on MariaDB                --broadcast-clients 0` (the webhook row; the same
 *                                         run's in-app rows are the no-regression check);
 *                                         --webhook-only for the phase alone, on any setups
 *   gateway CPU ≤ 150 µs per notification `npm run bench -- --setups mysql1 --cost-only`
 *   (single POSTs, 1,000 clients)         (the cost rows; batched and naive in one run)
 *   topic broadcast to 10,000 within      `npm run bench -- --topics-only` (the topics table;
 *   500 ms; presence churn 1,000/s        embedded, mysql1, mysql4; ~3 min per setup)
 * A default run (3 setups, naive pass) takes about 7-8 minutes on the shared 2-core box,
 * a third of it connecting broadcast sockets; `--setups`, `--broadcast-clients`,
 * `--webhook-count` narrow it.
 *
 * Results: a table per setup, a summary table, and JSON in bench/results/<timestamp>.json
 * (or --out DIR); the summary table also as Markdown in latest.md there, for the README.
 * While a phase runs, a progress line every 5 s (progress.mjs; BENCH_PROGRESS_MS).
 * --smoke shrinks every number so a run takes seconds (CI keeps it alive).
 * Exit code 1 when a setup that ran failed; skipped setups do not fail the run.
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, totalmem } from 'node:os';
import { join } from 'node:path';
import { batchIngest } from './batch-ingest.mjs';
import { broadcast } from './broadcast.mjs';
import { checkCounts } from './checks.mjs';
import { onCleanup, runCleanup } from './cleanup.mjs';
import { TENANT } from './client-pool.mjs';
import { API_KEY, SETUPS, servicesProblem, startSetup } from './gateways.mjs';
import { parseOptions } from './options.mjs';
import { connectIdle, ingest, latency, replay, warmUp } from './phases.mjs';
import { createPoster } from './poster.mjs';
import { postCost } from './post-cost.mjs';
import { writeMarkdown } from './markdown.mjs';
import { countPosts, createProgress } from './progress.mjs';
import { formatSetup, formatSummary } from './report.mjs';
import { formatTopicSetup, formatTopicSummary, runTopicPhases, topicProblems } from './topic-phases.mjs';
import { compareUrgent, urgentBehindBacklog } from './urgent-latency.mjs';
import { webhookDeliveries } from './webhook-deliveries.mjs';

/** The naive delivery worker: one claim transaction for one row, one send in flight, per instance. */
const NAIVE_WORKER = { concurrency: 1, claimBatch: 1 };
const NAIVE_WORKER_ENV = { DELIVERY_CONCURRENCY: String(NAIVE_WORKER.concurrency), DELIVERY_CLAIM_BATCH: String(NAIVE_WORKER.claimBatch) };

async function runSetup(name, opts, servicesDown) {
  const base = { name, label: SETUPS[name].label, instances: SETUPS[name].instances };
  if (SETUPS[name].services && servicesDown) return { ...base, skipped: servicesDown };
  const result = { ...base, loadavg: loadavg() };
  if (opts.urgentOnly) return urgentSetup(name, opts, result);
  try {
    // Results are stored as each phase ends, so a failure still reports what was measured.
    await withSetup(name, {}, opts, async (ctx) => {
      if (opts.costOnly) {
        result.rss = ctx.rss;
        result.cost = await ctx.progress.run('cost', () => postCost(ctx));
        return;
      }
      if (opts.topicsOnly) return runTopicPhases(ctx, result);
      if (!opts.webhookOnly) {
        result.rss = ctx.rss;
        // First, so that its RSS figure, like the one for --clients, is taken on a gateway
        // whose heap no load phase has grown yet (freed heap would be reused by the sockets).
        if (opts.broadcastClients > 0) result.broadcast = await ctx.progress.run('broadcast', () => broadcast(ctx));
        result.latency = await ctx.progress.run('latency', () => latency(ctx));
        Object.assign(result, await ctx.progress.run('ingest', () => ingest(ctx)));
        result.batch = await ctx.progress.run('batch ingest', () => batchIngest(ctx));
        result.replay = await ctx.progress.run('replay', () => replay(ctx));
        if (opts.costCount > 0) result.cost = await ctx.progress.run('cost', () => postCost(ctx));
        if (opts.topics) await runTopicPhases(ctx, result);
      }
      if (opts.webhookCount > 0) {
        result.webhook = await ctx.progress.run('webhooks', () => webhookDeliveries(ctx), { count: opts.webhookCount });
      }
    });
    // The same ingest phases, same clients, on fresh gateways that write one transaction
    // per notification; and the webhook phase with the naive delivery worker.
    const naiveWebhook = !opts.costOnly && opts.webhookCount > 0 && opts.webhookNaiveCount > 0;
    if (opts.naive && !opts.topicsOnly && (!opts.webhookOnly || naiveWebhook)) {
      const env = { WRITE_BATCHING: 'false', ...(naiveWebhook && NAIVE_WORKER_ENV) };
      await withSetup(name, env, { ...opts, settleMs: 0 }, async (ctx) => {
        if (!opts.webhookOnly && !opts.costOnly) {
          await ctx.progress.run('warm-up', () => warmUp(ctx)); // the batched ingest ran after the latency phase's POSTs
          const naive = await ctx.progress.run('ingest', () => ingest(ctx));
          naive.batch = await ctx.progress.run('batch ingest', () => batchIngest(ctx));
          result.naive = compareWithNaive(result, naive);
        }
        if (!opts.webhookOnly && opts.costCount > 0) {
          result.naive ??= {};
          result.naive.cost = await ctx.progress.run('cost', () => postCost(ctx));
        }
        if (naiveWebhook) {
          result.naive ??= {};
          result.naive.webhook = await ctx.progress.run(
            'webhooks',
            () => webhookDeliveries(ctx, { count: opts.webhookNaiveCount, worker: NAIVE_WORKER }),
            { count: opts.webhookNaiveCount },
          );
          result.naive.webhookRatio = result.webhook?.received.all && result.naive.webhook.received.all
            ? result.webhook.perSec / result.naive.webhook.perSec
            : null;
        }
      });
    }
  } catch (error) {
    result.error = error instanceof Error ? error.message : String(error);
  }
  return result;
}

/**
 * --urgent-only: the urgent phase (urgent-latency.mjs) on fresh gateways with out-of-band
 * emits on, then on fresh ones with URGENT_OUT_OF_BAND=false, the way without them.
 */
async function urgentSetup(name, opts, result) {
  try {
    await withSetup(name, {}, opts, async (ctx) => {
      result.urgent = { on: await urgentBehindBacklog(ctx) };
    });
    await withSetup(name, { URGENT_OUT_OF_BAND: 'false' }, opts, async (ctx) => {
      result.urgent.off = await urgentBehindBacklog(ctx);
    });
    result.urgent.ratio = compareUrgent(result.urgent.on, result.urgent.off);
  } catch (error) {
    result.error = error instanceof Error ? error.message : String(error);
  }
  return result;
}

/** Fresh gateways (and store) + the idle clients connected; everything stopped afterwards. */
async function withSetup(name, env, opts, measure) {
  const setup = await startSetup(name, env);
  try {
    const maxSockets = Math.max(64, opts.concurrency, opts.costConcurrency);
    const plain = createPoster({ urls: setup.urls, apiKey: API_KEY, tenantId: TENANT, maxSockets });
    onCleanup(async () => plain.close());
    // Counts what is posted, for the progress lines of the long phases.
    const { poster, counts } = countPosts(plain);
    const progress = createProgress(Object.keys(env).length > 0 ? `${name} naive` : name, { setup, opts }, counts);
    // The webhook phase alone needs no clients (it posts to users nobody is connected as);
    // the urgent phase connects its own.
    const { pool, rss } = opts.webhookOnly || opts.urgentOnly || opts.topicsOnly ? {} : await progress.run('connect clients', () => connectIdle({ setup, opts }));
    await measure({ setup, pool, poster, opts, rss, progress });
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
 *   ratio        single-POST ingest, batched ÷ naive
 *   batchRatio   batch-endpoint ingest, batched ÷ naive (the same requests, one
 *                transaction per item on the naive gateway)
 *   batchVsNaiveSingle  batch endpoint on the batched gateway ÷ single POSTs on the naive
 *                one: the whole write-path change as a client sees it
 */
function compareWithNaive(batched, naive) {
  if (!(batched.ingest.groupCommits > 0 && batched.batch.groupCommits > 0)) {
    return { available: false, reason: 'the gateway reported no group commits (no notify_write_batch_size metric): no batching path to compare', ...naive };
  }
  const honoured = naive.ingest.groupCommits + naive.batch.groupCommits;
  if (honoured !== 0) {
    return { available: false, reason: `WRITE_BATCHING=false was not honoured (${honoured} group commits)`, ...naive };
  }
  return {
    available: true,
    ...naive,
    ratio: batched.ingest.committedPerSec / naive.ingest.committedPerSec,
    batchRatio: batched.batch.committedPerSec / naive.batch.committedPerSec,
    batchVsNaiveSingle: batched.batch.committedPerSec / naive.ingest.committedPerSec,
  };
}

/**
 * Generous (a default setup takes ~2 min): fixed overhead, posting windows, each phase's
 * drain bound, connecting the clients at a conservative 100/s.
 */
function setupBudgetMinutes(opts) {
  if (opts.urgentOnly) return (2 * (60 + opts.urgentBacklog / 1000 + (opts.batchDrainMs + 2 * opts.drainMs) / 1000)) / 60;
  const seconds = 120 + opts.count / opts.rate + 4 * opts.duration + (2 * opts.drainMs + 2 * opts.batchDrainMs) / 1000 +
    (opts.broadcastClients > 0 ? opts.broadcastConnectMs / 1000 + (opts.broadcastRounds * opts.broadcastTimeoutMs) / 1000 : 0) +
    (2 * opts.clients) / 100 +
    (opts.costCount > 0 ? 2 * (opts.costCount / 300 + opts.drainMs / 1000) : 0) +
    (opts.webhookCount > 0 ? opts.webhookCount / 1000 + opts.webhookDrainMs / 1000 + 20 : 0) +
    (opts.webhookNaiveCount > 0 ? opts.webhookNaiveCount / 1000 + opts.webhookDrainMs / 1000 + 20 : 0) +
    (opts.topics ? topicSeconds(opts) : 0);
  return seconds / 60;
}

/** The topic phases: connecting (as for broadcasts), the rounds, the churn rounds with their settling. */
function topicSeconds(opts) {
  return (opts.topicClients > 0 ? opts.broadcastConnectMs / 1000 + (3 * opts.topicRounds * opts.broadcastTimeoutMs) / 1000 : 0) +
    (opts.presenceClients > 0 ? 60 + 2 * opts.presenceRounds * (opts.presenceDuration + 15) : 0);
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
  startWatchdog(opts.setups.length * setupBudgetMinutes(opts));
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
    result.countProblems = [...checkCounts(result), ...topicProblems(result)];
    results.push(result);
    process.stdout.write(`${formatSetup(result, opts.topicsOnly ? { ...opts, clients: 0 } : opts)}${formatTopicSetup(result)}\n`);
    for (const p of result.countProblems) process.stdout.write(`   !! ${p}\n`);
  }
  // The topic phases' table follows the main one (a blank line between; markdown.mjs keeps both).
  const summary = [formatSummary(results, opts), formatTopicSummary(results, opts)].filter(Boolean).join('\n\n');
  if (summary) process.stdout.write(`\n${summary}\n`);

  mkdirSync(opts.out, { recursive: true });
  const file = join(opts.out, `${startedAt.toISOString().replace(/[:.]/g, '-')}.json`);
  const { out, build, ...options } = opts;
  writeFileSync(file, `${JSON.stringify({ startedAt, finishedAt: new Date(), machine, options, results }, null, 2)}\n`);
  process.stdout.write(`\nresults written to ${file}\n`);
  const markdown = join(opts.out, 'latest.md');
  writeMarkdown(markdown, { args: process.argv.slice(2), machine, startedAt, results, summary });
  process.stdout.write(`summary table as Markdown: ${markdown}\n`);
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
