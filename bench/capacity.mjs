#!/usr/bin/env node
/**
 * `node bench/capacity.mjs [--build DIR] [--check] …` — the per-core figures that
 * docs/capacity.md sizes a deployment from, the model computed from them, and (--check)
 * one point of the model run for real. Gateways are real child processes (gateways.mjs),
 * clients are Socket.IO sockets in worker threads (client-pool.mjs). Every cost is CPU
 * time (/proc/<pid>/stat for the gateways and mariadbd, INFO cpu for Redis), not wall
 * time: the box is shared, so rates move with whatever else runs, a process's own CPU
 * time much less.
 *
 * Redis: by default a private `redis-server` on a free port (private-redis.mjs), so that
 * its CPU and INFO commandstats are the gateways' alone; --shared-redis uses
 * BENCH_REDIS_URL (default redis://127.0.0.1:6379) instead. MariaDB is BENCH_MYSQL_URL
 * (a fresh database per setup); its CPU counts every other client of the server, so a
 * quiet window before each measurement gives its background rate, printed next to it.
 *
 * Phases (--phases, default idle,cost,split,paced,broadcast,ingest; --check adds check; `none`
 * measures nothing, for the model or the check from --inputs alone):
 *   idle       1 instance started with SOCKET_PING_INTERVAL_MS=--ping-ms (2,500): gateway
 *              CPU over --idle-seconds with 0 sockets (the process's own background), then
 *              with each of --idle-sockets (5,000,10,000) idle sockets → CPU per second
 *              per 1,000 idle sockets at that interval, µs per ping, and the same scaled
 *              to the default 25 s interval (an idle socket costs one ping/pong per
 *              interval; nothing else of ours runs per socket). RSS per socket at each step.
 *   cost       1 and 4 instances, --cost-clients (2,000) connected users: post-cost.mjs
 *              (--cost-count single POSTs to one connected user each, 64 lanes, until all
 *              received) → CPU µs per notification of the gateways, MariaDB, Redis. Then
 *              --redis-count (3,000) more single POSTs → Redis commands per notification
 *              from INFO commandstats deltas (PUBLISH and every other), Redis CPU and bytes out.
 *   split      4 instances: --redis-count single POSTs all to one instance (P), to users
 *              whose sockets are all on another (R), the relay lease on a third (L), the
 *              fourth (O) only receiving → each instance's CPU per notification: O is what
 *              every extra instance costs (the adapter sends every publication to all).
 *   paced      4 instances, the cost phase's users: single POSTs at --paced-rate (default:
 *              --check-rate) for --paced-seconds (30) to random connected users → gateway
 *              CPU and Redis PUBLISH per notification at that rate. Flat out, relay batches
 *              and group commits are large; at a low rate most notifications are their own
 *              commit, relay batch and Redis message, which cost more. The two points give
 *              the cost per notification and per published message, and the check predicts
 *              with the figure measured at its own rate.
 *   broadcast  4 instances: --broadcast-sockets (10,000) more sockets in a tenant of their
 *              own, --broadcast-rounds (5) tenant broadcasts → gateway and Redis CPU per
 *              delivered socket, PUBLISHes per broadcast.
 *   ingest     1 instance: batch-ingest.mjs (4 lanes × 500 items, --ingest-seconds) →
 *              committed/s with innodb_flush_log_at_trx_commit read and printed: the write
 *              ceiling of one stream partition (every writer locks the one sequence row).
 *   check      4 instances, default heartbeat, --check-sockets (20,000) idle sockets
 *              (half in this process, half in a child process: a process holds at most
 *              `ulimit -Hn` sockets; 4 ports give 4 separate ephemeral-port spaces),
 *              --check-rate (200/s; 333/s is the model's 1 per user per minute, more
 *              than a shared 2-core box held cleanly) single POSTs to random
 *              connected users for --check-seconds (60), plus one tenant broadcast to all
 *              of them per user-minute (the model's 1 broadcast/min per 1,000-user tenant
 *              delivers the same socket-deliveries) → gateway CPU predicted from the
 *              other phases' figures vs measured. Without the other phases in the same
 *              run, --inputs FILE takes them from an earlier run's JSON.
 * The model (sizing for --users, default 100,000 and 1,000,000, under ASSUMPTIONS below)
 * is printed from whatever figures this run (or --inputs) has; docs/capacity.md does its
 * arithmetic by hand. A full run takes 8-15 minutes on a shared 2-core box.
 * --smoke shrinks every number (seconds per phase) to try the script itself. Other flags:
 * --cost-concurrency (64), --check-broadcasts (per user-minute, 1), --users LIST,
 * --shared-redis, --out DIR, --partition-ceiling N (one stream partition's write ceiling,
 * from `npm run bench:partitions -- --store-only`; unset: this run's batch ingest).
 *
 * --build DIR: a directory holding the built gateway as dist/src/main.js (default: this
 * repository, i.e. `npm run build`'s dist/). --compile first runs
 * `tsc -p tsconfig.build.json --outDir DIR/dist`, so the shared dist/ is never touched;
 * DIR gets a package.json copy and a node_modules link so the build resolves like the
 * repository's. Results: printed, and JSON in --out (bench/results/capacity-<time>.json).
 */
import { spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, totalmem } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { onCleanup, runCleanup } from './cleanup.mjs';
import { startPrivateRedis } from './private-redis.mjs';

const REPO = resolve(import.meta.dirname, '..');
const DEFAULT_PING_MS = 25_000;
const KB = 1024;

const FULL = {
  idleSockets: [5000, 10_000], idleSeconds: 20, pingMs: 2500,
  costClients: 2000, costCount: 10_000, costConcurrency: 64, redisCount: 3000, warmup: 300,
  broadcastSockets: 10_000, broadcastRounds: 5,
  ingestSeconds: 5, batchSize: 500, batchLanes: 4,
  checkSockets: 20_000, checkRate: 200, checkSeconds: 60, checkBroadcastsPerUserMinute: 1, pacedSeconds: 30,
  settleMs: 3000, baseSettleMs: 10_000, drainMs: 60_000, quietSeconds: 5,
};
const SMOKE = {
  ...FULL, idleSockets: [100, 200], idleSeconds: 3, costClients: 50, costCount: 200, costConcurrency: 8, redisCount: 100,
  warmup: 20, broadcastSockets: 200, broadcastRounds: 2, ingestSeconds: 1, batchSize: 50, batchLanes: 2,
  checkSockets: 400, checkRate: 20, checkSeconds: 5, pacedSeconds: 3, settleMs: 500, baseSettleMs: 500, quietSeconds: 1,
};
/** The model's stated load; docs/capacity.md explains each. */
const ASSUMPTIONS = {
  users: [100_000, 1_000_000],
  socketsPerUser: 1,
  notificationsPerUserPerMinute: 1,
  tenantSize: 1000,
  broadcastsPerTenantPerMinute: 1,
  targetCpu: 0.6,
  instanceMemoryMb: 512, // ecosystem.config.js max_memory_restart
  dbPoolMax: 10, // DB_POOL_MAX default; +1 lease connection per instance
  instancesPerHost: 4,
};

function parseOptions(argv) {
  const numeric = {
    'idle-seconds': 'idleSeconds', 'ping-ms': 'pingMs', 'cost-clients': 'costClients', 'cost-count': 'costCount',
    'cost-concurrency': 'costConcurrency', 'redis-count': 'redisCount', 'broadcast-sockets': 'broadcastSockets',
    'broadcast-rounds': 'broadcastRounds', 'ingest-seconds': 'ingestSeconds', 'check-sockets': 'checkSockets',
    'check-rate': 'checkRate', 'check-seconds': 'checkSeconds', 'check-broadcasts': 'checkBroadcastsPerUserMinute',
    'paced-rate': 'pacedRate', 'paced-seconds': 'pacedSeconds',
    // One partition's write ceiling from `npm run bench:partitions -- --store-only`; unset:
    // the batch ingest measured here, which on a shared box is CPU-bound and understates it.
    'partition-ceiling': 'partitionCeiling',
  };
  const { values } = parseArgs({
    args: argv,
    options: {
      ...Object.fromEntries(Object.keys(numeric).map((flag) => [flag, { type: 'string' }])),
      build: { type: 'string', default: REPO },
      compile: { type: 'boolean', default: false },
      phases: { type: 'string' },
      check: { type: 'boolean', default: false },
      'idle-sockets': { type: 'string' },
      inputs: { type: 'string' },
      users: { type: 'string' },
      'shared-redis': { type: 'boolean', default: false },
      smoke: { type: 'boolean', default: false },
      out: { type: 'string', default: join(REPO, 'bench', 'results') },
      help: { type: 'boolean', default: false },
    },
  });
  if (values.help) {
    process.stdout.write(readFileSync(new URL(import.meta.url), 'utf8').split('*/')[0].replace(/^#!.*\n\/\*\*\n/, '').replace(/^ \* ?/gm, ''));
    process.exit(0);
  }
  const opts = { ...(values.smoke ? SMOKE : FULL), smoke: values.smoke };
  for (const [flag, key] of Object.entries(numeric)) {
    if (values[flag] === undefined) continue;
    const n = Number(values[flag]);
    if (!(n > 0)) throw new Error(`--${flag} must be a positive number`);
    opts[key] = n;
  }
  if (values['idle-sockets']) opts.idleSockets = values['idle-sockets'].split(',').map(Number);
  if (opts.idleSockets.some((n, i) => !(n > 0) || (i > 0 && n <= opts.idleSockets[i - 1]))) throw new Error('--idle-sockets: increasing positive counts');
  // --phases none: nothing measured, the model (and the check's prediction) from --inputs alone
  const phases = (values.phases ?? 'idle,cost,split,paced,broadcast,ingest').split(',').map((p) => p.trim()).filter((p) => p && p !== 'none');
  if (values.check && !phases.includes('check')) phases.push('check');
  const known = ['idle', 'cost', 'split', 'paced', 'broadcast', 'ingest', 'check'];
  const unknown = phases.filter((p) => !known.includes(p));
  if (unknown.length) throw new Error(`unknown phase(s) ${unknown.join(', ')}; choose from ${known.join(', ')}`);
  opts.pacedRate ??= opts.checkRate;
  return {
    ...opts,
    phases,
    build: resolve(values.build),
    compile: values.compile,
    inputs: values.inputs ? resolve(values.inputs) : null,
    users: values.users ? values.users.split(',').map(Number) : ASSUMPTIONS.users,
    sharedRedis: values['shared-redis'],
    out: resolve(values.out),
  };
}

/** The gateways run `dist/src/main.js` from the working directory (gateways.mjs): DIR becomes it. */
function prepareBuild(opts) {
  if (opts.compile) {
    if (opts.build === REPO) throw new Error('--compile needs --build DIR: it never writes the shared dist/ (use npm run build for that)');
    process.stdout.write(`compiling the gateway into ${join(opts.build, 'dist')} (tsc -p tsconfig.build.json)…\n`);
    const tsc = spawnSync(process.execPath, [join(REPO, 'node_modules/typescript/bin/tsc'), '-p', 'tsconfig.build.json', '--outDir', join(opts.build, 'dist')], {
      cwd: REPO, stdio: 'inherit',
    });
    if (tsc.status !== 0) throw new Error('tsc failed');
  }
  if (!existsSync(join(opts.build, 'dist/src/main.js'))) {
    throw new Error(`no built gateway at ${join(opts.build, 'dist/src/main.js')} (npm run build, or --compile)`);
  }
  if (opts.build !== REPO) {
    // The build resolves its packages and its package.json upwards from its own files.
    if (!existsSync(join(opts.build, 'node_modules'))) symlinkSync(join(REPO, 'node_modules'), join(opts.build, 'node_modules'), 'dir');
    if (!existsSync(join(opts.build, 'package.json'))) copyFileSync(join(REPO, 'package.json'), join(opts.build, 'package.json'));
  }
  process.chdir(opts.build);
}

// ---------------------------------------------------------------------------------------
// Helpers loaded after the Redis URL is settled (gateways.mjs reads BENCH_REDIS_URL at load).
let B; // the bench modules

async function loadBench() {
  const [gateways, clientPool, phases, postCost, broadcast, batchIngest, poster, clock, clientProcess] = await Promise.all([
    import('./gateways.mjs'), import('./client-pool.mjs'), import('./phases.mjs'), import('./post-cost.mjs'),
    import('./broadcast.mjs'), import('./batch-ingest.mjs'), import('./poster.mjs'), import('./clock.mjs'), import('./client-process.mjs'),
  ]);
  const Redis = (await import('ioredis')).default;
  const mysql = (await import('mysql2/promise')).default;
  B = { ...gateways, ...clientPool, ...phases, ...postCost, ...broadcast, ...batchIngest, ...poster, ...clock, ...clientProcess, Redis, mysql };
}

const log = (line) => process.stdout.write(`${line}\n`);
const fmt = (v, digits = 1) => (v === null || v === undefined || !Number.isFinite(v) ? 'n/a' : v.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits }));
const int = (v) => (v === null || v === undefined || !Number.isFinite(v) ? 'n/a' : Math.round(v).toLocaleString('en-US'));
const figure = (name, value, unit) => log(`   ${name.padEnd(58, '.')} ${value} ${unit}`);

/** One Redis client for INFO: CPU seconds, commandstats, bytes out. */
function redisProbe() {
  const redis = new B.Redis(B.REDIS_URL, { maxRetriesPerRequest: 1 });
  onCleanup(async () => redis.disconnect());
  return {
    async read() {
      const info = await redis.info('all');
      const field = (name) => Number(new RegExp(`^${name}:([\\d.]+)`, 'm').exec(info)?.[1] ?? NaN);
      const commands = {};
      for (const m of info.matchAll(/^cmdstat_([^:]+):calls=(\d+)/gm)) commands[m[1]] = Number(m[2]);
      return { cpu: field('used_cpu_user') + field('used_cpu_sys'), netOut: field('total_net_output_bytes'), commands };
    },
    diff(before, after) {
      const commands = {};
      for (const [name, calls] of Object.entries(after.commands)) {
        // INFO is this probe's own
        if (name === 'info') continue;
        const d = calls - (before.commands[name] ?? 0);
        if (d > 0) commands[name] = d;
      }
      return { cpu: after.cpu - before.cpu, netOut: after.netOut - before.netOut, commands };
    },
  };
}

/** mariadbd's CPU per second while nothing of ours writes: the rest of its clients. */
async function databaseBackground(seconds) {
  const pid = B.databaseServerPid();
  if (!pid) return null;
  const before = B.readCpuSeconds(pid);
  await B.sleep(seconds * 1000);
  return (B.readCpuSeconds(pid) - before) / seconds;
}

async function withSetup(name, env, work) {
  const setup = await B.startSetup(name, env);
  try {
    return await work(setup);
  } catch (error) {
    const deaths = setup.deaths().map((d) => `\n   gateway ${d}`).join('');
    throw new Error(`${error instanceof Error ? error.message : String(error)}${deaths}`);
  } finally {
    await runCleanup(); // clients, poster, gateways, database (the private Redis was registered first: stop it last)
  }
}

function posterFor(setup, maxSockets) {
  const poster = B.createPoster({ urls: setup.urls, apiKey: B.API_KEY, tenantId: B.TENANT, maxSockets });
  onCleanup(async () => poster.close());
  return poster;
}

const cpuWindow = (setup) => {
  const t0 = B.now();
  const c0 = setup.cpuSeconds();
  return () => ({ seconds: (B.now() - t0) / 1000, cpu: setup.cpuSeconds() - c0 });
};

// ---------------------------------------------------------------------------------------
// idle

async function idlePhase(opts) {
  log(`\nidle: 1 instance, SOCKET_PING_INTERVAL_MS=${opts.pingMs}, ${opts.idleSockets.join(' then ')} idle sockets, ${opts.idleSeconds} s windows`);
  return withSetup('mysql1', { SOCKET_PING_INTERVAL_MS: String(opts.pingMs) }, async (setup) => {
    await B.sleep(opts.baseSettleMs); // past the start-up work (JIT, first sweeps)
    const rssBaseKb = setup.rssKb();
    let w = cpuWindow(setup);
    await B.sleep(opts.idleSeconds * 1000);
    const base = w();
    const baseCpuPerSec = base.cpu / base.seconds;
    figure('gateway CPU with 0 sockets (1 instance)', fmt(baseCpuPerSec * 1000, 2), 'ms CPU/s');
    figure('gateway RSS with 0 sockets', fmt(rssBaseKb / KB, 1), 'MB');
    const steps = [];
    let connected = 0;
    for (const target of opts.idleSockets) {
      const tooMany = B.fileLimitProblem(target - connected);
      if (tooMany) throw new Error(tooMany);
      const offset = connected;
      const pool = await B.startClientPool({
        urls: setup.urls, clients: target - connected, workers: Math.ceil((target - connected) / 2500), user: (i) => B.userId(offset + i),
      });
      if (pool.failed > 0) throw new Error(`${pool.failed} sockets failed to connect: ${pool.firstError}`);
      connected = target;
      await B.sleep(opts.settleMs);
      const rssKb = setup.rssKb();
      w = cpuWindow(setup);
      await B.sleep(opts.idleSeconds * 1000);
      const win = w();
      const cpuPerSec = win.cpu / win.seconds;
      const pingsPerSec = target / (opts.pingMs / 1000);
      const socketCpuPerSec = Math.max(0, cpuPerSec - baseCpuPerSec);
      const step = {
        sockets: target,
        seenByGateway: await B.metricSum(setup.urls, 'notify_connected_sockets'),
        rssKb,
        rssPerSocketKb: (rssKb - rssBaseKb) / target,
        cpuPerSec,
        cpuMsPerSecPer1000AtPing: (socketCpuPerSec * 1000) / (target / 1000),
        usPerPing: (socketCpuPerSec * 1e6) / pingsPerSec,
      };
      // An idle socket's only recurring work is the heartbeat: one ping out, one pong in per
      // interval. So its cost per second scales with 1/interval.
      step.cpuMsPerSecPer1000At25s = step.cpuMsPerSecPer1000AtPing * (opts.pingMs / DEFAULT_PING_MS);
      steps.push(step);
      figure(`RSS per socket at ${int(target)} sockets`, fmt(step.rssPerSocketKb, 1), `KB (${fmt(rssKb / KB)} MB in all)`);
      figure(`gateway CPU at ${int(target)} sockets, ping every ${opts.pingMs / 1000} s`, fmt(cpuPerSec * 1000, 2), 'ms CPU/s');
      figure('… per ping/pong', fmt(step.usPerPing, 1), 'µs CPU');
      figure(`… per 1,000 idle sockets, ping every ${opts.pingMs / 1000} s`, fmt(step.cpuMsPerSecPer1000AtPing, 2), 'ms CPU/s');
      figure('… per 1,000 idle sockets, scaled to the default 25 s', fmt(step.cpuMsPerSecPer1000At25s, 3), 'ms CPU/s');
    }
    const last = steps.at(-1);
    const incrementalRssKb = steps.length > 1 ? (last.rssKb - steps.at(-2).rssKb) / (last.sockets - steps.at(-2).sockets) : null;
    if (incrementalRssKb !== null) figure(`RSS per socket, ${int(steps.at(-2).sockets)} → ${int(last.sockets)}`, fmt(incrementalRssKb), 'KB');
    return { pingMs: opts.pingMs, seconds: opts.idleSeconds, baseCpuPerSec, rssBaseKb, steps, incrementalRssKb };
  });
}

// ---------------------------------------------------------------------------------------
// cost (+ Redis messages), broadcast, ingest

async function costPhase(opts, instances, { ingest, broadcast, split = false, paced = false, idle = null }) {
  const name = instances === 1 ? 'mysql1' : 'mysql4';
  const doCost = opts.phases.includes('cost');
  log(`\n${name}: ${instances} instance(s), ${int(opts.costClients)} connected users${doCost ? `; cost: ${int(opts.costCount)} single POSTs` : ''}` +
    `${ingest ? '; batch ingest' : ''}${broadcast ? `; broadcast to ${int(opts.broadcastSockets)}` : ''}`);
  return withSetup(name, {}, async (setup) => {
    const out = doCost ? { instances, clients: opts.costClients } : {};
    const phaseOpts = {
      clients: opts.costClients, workers: 2, settleMs: opts.settleMs, warmup: opts.warmup, costCount: opts.costCount,
      costConcurrency: opts.costConcurrency, drainMs: opts.drainMs, duration: opts.ingestSeconds, batchSize: opts.batchSize,
      batchLanes: opts.batchLanes, batchDrainMs: opts.drainMs,
    };
    const { pool } = await B.connectIdle({ setup, opts: phaseOpts });
    const poster = posterFor(setup, Math.max(64, opts.costConcurrency));
    const ctx = { setup, pool, poster, opts: phaseOpts };
    const probe = redisProbe();
    if (doCost) {
      out.databaseBackgroundCpuPerSec = await databaseBackground(opts.quietSeconds);
      const cost = await B.postCost(ctx);
      out.cost = cost;
      const dbBackgroundUs = out.databaseBackgroundCpuPerSec === null ? null : (out.databaseBackgroundCpuPerSec * (cost.receivedMs / 1000) * 1e6) / cost.committed;
      out.cost.databaseBackgroundUs = dbBackgroundUs;
      figure(`committed / received of ${int(opts.costCount)}`, `${int(cost.committed)} / ${int(cost.received)}`, `(${int(cost.committedPerSec)}/s)`);
      figure('gateway CPU per notification', fmt(cost.cpuUs.gateway, 0), `µs (all ${instances} instance(s))`);
      figure('MariaDB CPU per notification', fmt(cost.cpuUs.database, 0), `µs (of which ~${fmt(dbBackgroundUs, 0)} µs its background rate)`);
      figure('Redis CPU per notification', fmt(cost.cpuUs.redis, 1), 'µs');

      // Redis messages: a window of its own, so that INFO commandstats counts just it.
      await pool.phase('cap-redis');
      const before = await probe.read();
      const sent = await B.postFlatOut({ count: opts.redisCount }, opts.costConcurrency, () =>
        poster.post(B.userId(Math.floor(Math.random() * opts.costClients)), 'cap-redis'));
      await pool.waitForUnique(sent.committed, opts.drainMs);
      await B.sleep(300); // the coalesced instance events (wake, advance) after the last emit
      const d = probe.diff(before, await probe.read());
      const per = (v) => v / Math.max(1, sent.committed);
      out.redis = {
        notifications: sent.committed,
        commandsPerNotification: Object.fromEntries(Object.entries(d.commands).map(([k, v]) => [k, per(v)])),
        publishPerNotification: per(d.commands.publish ?? 0),
        cpuUsPerNotification: per(d.cpu) * 1e6,
        bytesOutPerNotification: per(d.netOut),
      };
      figure('Redis PUBLISH per notification', fmt(out.redis.publishPerNotification, 2), `(${Object.entries(out.redis.commandsPerNotification).map(([k, v]) => `${k} ${fmt(v, 2)}`).join(', ')})`);
      figure('Redis CPU per notification (this window)', fmt(out.redis.cpuUsPerNotification, 1), 'µs');
      figure('Redis bytes out per notification', int(out.redis.bytesOutPerNotification), `B (to ${instances} subscriber(s))`);
    }
    if (ingest) {
      const db = await B.mysql.createConnection({ uri: B.MYSQL_URL });
      const [[vars]] = await db.query('SELECT @@innodb_flush_log_at_trx_commit AS flush, @@sync_binlog AS syncBinlog, @@log_bin AS logBin, @@version AS version');
      await db.end();
      const dbPid = B.databaseServerPid();
      const dbBefore = dbPid ? B.readCpuSeconds(dbPid) : null;
      const batch = await B.batchIngest(ctx);
      // Up to the end of the drain (the relay's reads and deletes are part of each write).
      const databaseUs = dbPid ? ((B.readCpuSeconds(dbPid) - dbBefore) * 1e6) / Math.max(1, batch.committed) : null;
      out.ingest = { ...batch, databaseUs, flushLogAtTrxCommit: Number(vars.flush), syncBinlog: Number(vars.syncBinlog), logBin: Number(vars.logBin), version: vars.version };
      figure('innodb_flush_log_at_trx_commit', `${vars.flush}`, `(${vars.flush === 1 ? 'fsync at every commit' : 'NOT 1: commits are not fsynced, the ceiling is too high'}; log_bin ${vars.logBin}, sync_binlog ${vars.syncBinlog}; ${vars.version})`);
      figure(`batch ingest (${opts.batchLanes} lanes × ${opts.batchSize}, ${opts.ingestSeconds} s)`, int(batch.committedPerSec), 'committed/s');
      figure('… group commits, mean size', `${int(batch.groupCommits)}, ${fmt(batch.meanGroupCommitSize, 0)}`, 'notifications');
      figure('… gateway CPU per notification', fmt(batch.gatewayCpuMsPerNotification * 1000, 0), 'µs');
      figure('… MariaDB CPU per notification (to the end of the drain)', fmt(databaseUs, 0), 'µs');
      figure('… outbox empty after the last POST', batch.outbox.drainMsAfterLastPost === null ? 'not drained' : fmt(batch.outbox.drainMsAfterLastPost / 1000, 1), 's');
    }
    if (split) out.split = await splitRun(opts, setup, pool, idle);
    if (paced) out.paced = await pacedRun(opts, setup, pool, poster, probe);
    if (broadcast) out.broadcast = await broadcastRounds(opts, setup, poster, probe);
    return out;
  });
}

/**
 * Single POSTs at a steady rate (the check's), not flat out: gateway CPU and Redis
 * messages per notification when batches are small. Raw CPU over the window; the model
 * takes the background and heartbeats out (modelInputs).
 */
async function pacedRun(opts, setup, pool, poster, probe) {
  const count = Math.round(opts.pacedRate * opts.pacedSeconds);
  log(`   paced: ${int(count)} single POSTs at ${opts.pacedRate}/s`);
  await pool.phase('cap-paced');
  const before = await probe.read();
  const w = cpuWindow(setup);
  const sent = await B.postAtRate(count, opts.pacedRate, () => poster.post(B.userId(Math.floor(Math.random() * opts.costClients)), 'cap-paced'));
  await pool.waitForUnique(sent.committed, opts.drainMs);
  const win = w();
  const d = probe.diff(before, await probe.read());
  const out = {
    rate: opts.pacedRate, committed: sent.committed, windowSeconds: win.seconds, gatewayCpu: win.cpu,
    rawGatewayUs: (win.cpu * 1e6) / Math.max(1, sent.committed),
    publishPerNotification: (d.commands.publish ?? 0) / Math.max(1, sent.committed),
    redisCpuUsPerNotification: (d.cpu * 1e6) / Math.max(1, sent.committed),
  };
  figure(`paced at ${opts.pacedRate}/s: gateway CPU per notification (raw)`, fmt(out.rawGatewayUs, 0), `µs (${int(sent.committed)} in ${fmt(win.seconds, 1)} s)`);
  figure('… Redis PUBLISH per notification', fmt(out.publishPerNotification, 2), '');
  return out;
}

/**
 * Where a notification's gateway CPU goes, instance by instance: POSTs go to one instance
 * (P), the recipients' sockets are on another (R), the relay lease is on a third (L), and
 * the fourth (O) only receives every publication from Redis and finds no socket for it.
 * Each instance's CPU over the window, less its background (idle phase), ÷ notifications.
 * O is what every additional instance costs per notification (the adapter
 * pattern-subscribes to every publication); P, L and R are paid once whatever the count.
 */
async function splitRun(opts, setup, pool, idle) {
  const leaders = await Promise.all(setup.urls.map((url) => B.metricValue(url, 'notify_relay_leader')));
  const L = leaders.findIndex((v) => v === 1);
  if (L < 0) throw new Error('split: no instance reports notify_relay_leader 1');
  const [P, R, O] = [0, 1, 2, 3].filter((i) => i !== L);
  // client-pool puts client i on instance i mod 4
  const onR = Array.from({ length: opts.costClients }, (_, i) => i).filter((i) => i % setup.urls.length === R);
  const poster = B.createPoster({ urls: [setup.urls[P]], apiKey: B.API_KEY, tenantId: B.TENANT, maxSockets: opts.costConcurrency });
  onCleanup(async () => poster.close());
  const send = (ph) => () => poster.post(B.userId(onR[Math.floor(Math.random() * onR.length)]), ph);
  await pool.phase('cap-split-warm');
  await B.postFlatOut({ count: opts.warmup }, opts.costConcurrency, send('cap-split-warm'));
  await B.sleep(1000);
  await pool.phase('cap-split');
  const t0 = B.now();
  const before = setup.instances.map((g) => g.cpuSeconds());
  const sent = await B.postFlatOut({ count: opts.redisCount }, opts.costConcurrency, send('cap-split'));
  const counts = await pool.waitForUnique(sent.committed, opts.drainMs);
  const seconds = (B.now() - t0) / 1000;
  const after = setup.instances.map((g) => g.cpuSeconds());
  const background = idle ? idle.baseCpuPerSec * seconds : 0;
  const us = (i) => (Math.max(0, after[i] - before[i] - background) * 1e6) / Math.max(1, sent.committed);
  const result = {
    notifications: sent.committed, received: counts.unique, seconds, backgroundSubtracted: idle !== null,
    postUs: us(P), relayUs: us(L), deliverUs: us(R), receiveOnlyUs: us(O),
  };
  // The receive part is in every one of them; the rest is paid once per notification.
  result.fixedUs = result.postUs + result.relayUs + result.deliverUs - 3 * result.receiveOnlyUs;
  figure(`split: ${int(sent.committed)} POSTs to instance P, sockets on R, relay on L`, `${int(counts.unique)} received`, `in ${fmt(seconds, 1)} s`);
  figure('… P: HTTP + write (+ receive)', fmt(result.postUs, 0), 'µs per notification');
  figure('… L: relay + publish (+ receive)', fmt(result.relayUs, 0), 'µs per notification');
  figure('… R: socket send (+ receive)', fmt(result.deliverUs, 0), 'µs per notification');
  figure('… O: receive only (every extra instance)', fmt(result.receiveOnlyUs, 0), 'µs per notification');
  figure('… a + b·I', `${fmt(result.fixedUs, 0)} + ${fmt(result.receiveOnlyUs, 0)}·I`, 'µs');
  return result;
}

async function broadcastRounds(opts, setup, poster, probe) {
  const n = opts.broadcastSockets;
  const tooMany = B.fileLimitProblem(n);
  if (tooMany) throw new Error(`broadcast: ${tooMany}`);
  const pool = await B.startClientPool({
    urls: setup.urls, clients: n, workers: Math.ceil(n / 2500), tenant: B.BROADCAST_TENANT, user: (i) => `b${i}`,
  });
  if (pool.failed > 0) throw new Error(`broadcast: ${pool.failed} of ${n} sockets failed: ${pool.firstError}`);
  await B.sleep(opts.settleMs);
  const rounds = [];
  for (let r = 0; r < opts.broadcastRounds; r += 1) {
    const ph = `cap-bc${r}`;
    await pool.phase(ph);
    const redisBefore = await probe.read();
    const w = cpuWindow(setup);
    const res = await poster.postTenant(B.BROADCAST_TENANT, ph);
    if (res.status !== 201) throw new Error(`broadcast POST answered ${res.status}`);
    const counts = await pool.waitForUnique(n, opts.drainMs);
    const win = w();
    const d = probe.diff(redisBefore, await probe.read());
    rounds.push({ received: counts.unique, seconds: win.seconds, gatewayCpu: win.cpu, redisCpu: d.cpu, publish: d.commands.publish ?? 0 });
    await B.sleep(300);
  }
  const received = rounds.reduce((s, r) => s + r.received, 0);
  const result = {
    sockets: n,
    instances: setup.instances.length,
    rounds,
    gatewayUsPerSocket: (rounds.reduce((s, r) => s + r.gatewayCpu, 0) * 1e6) / received,
    redisUsPerBroadcast: (rounds.reduce((s, r) => s + r.redisCpu, 0) * 1e6) / rounds.length,
    publishPerBroadcast: rounds.reduce((s, r) => s + r.publish, 0) / rounds.length,
    medianSeconds: rounds.map((r) => r.seconds).sort((a, b) => a - b)[Math.floor(rounds.length / 2)],
  };
  figure(`broadcast: received of ${int(n)} × ${rounds.length}`, int(received), 'socket deliveries');
  figure('… gateway CPU per delivered socket', fmt(result.gatewayUsPerSocket, 1), `µs (4 instances; ${fmt(result.gatewayUsPerSocket * n / 1000, 0)} ms per broadcast)`);
  figure('… Redis PUBLISH / CPU per broadcast', `${fmt(result.publishPerBroadcast, 1)} / ${fmt(result.redisUsPerBroadcast, 0)}`, 'µs');
  figure('… POST → all received (median)', fmt(result.medianSeconds * 1000, 0), 'ms');
  return result;
}

// ---------------------------------------------------------------------------------------
// the model

/** The per-core figures the model runs on, from this run's results (or --inputs). */
function modelInputs(r, opts) {
  const idle = r.idle?.steps.at(-1);
  const c1 = r.cost1?.cost?.cpuUs;
  const c4 = r.cost4?.cost?.cpuUs;
  if (!idle || !c1 || !c4 || !r.cost4?.broadcast) return null;
  const idleCoreSecondsPerSocket = idle.cpuMsPerSecPer1000At25s / 1000 / 1000;
  // The cost windows also paid each instance's background and the connected users'
  // heartbeats: take those out, the model adds them back separately.
  const overheadUs = (instances, clients, seconds, notifications) =>
    ((instances * r.idle.baseCpuPerSec + clients * idleCoreSecondsPerSocket) * seconds * 1e6) / Math.max(1, notifications);
  const net = (run) => run.cost.cpuUs.gateway - overheadUs(run.instances, run.clients, run.cost.receivedMs / 1000, run.cost.committed);
  const g1 = net(r.cost1);
  const g4 = net(r.cost4);
  // The same at the paced rate, and the split of a notification's cost into a part per
  // notification and a part per published Redis message (relay batch or event), from the
  // two points: flat out (few messages) and paced (about one each).
  const paced = r.cost4.paced;
  const pacedUs = paced ? paced.rawGatewayUs - overheadUs(r.cost4.instances, r.cost4.clients, paced.windowSeconds, paced.committed) : null;
  const flatPublish = r.cost4.redis?.publishPerNotification;
  const perMessageUs = paced && flatPublish !== undefined && paced.publishPerNotification - flatPublish > 0.1
    ? (pacedUs - g4) / (paced.publishPerNotification - flatPublish)
    : null;
  // Every instance decodes every publication (the adapter pattern-subscribes to all of
  // them), so a notification's gateway CPU is a + b·I: b is what the receive-only instance
  // of the split run paid; without it, the difference between the 1- and 4-instance runs.
  const split = r.cost4.split;
  const perInstanceUs = split ? split.receiveOnlyUs : Math.max(0, (g4 - g1) / 3);
  const redisPerInstanceUs = Math.max(0, ((r.cost4.redis?.cpuUsPerNotification ?? c4.redis) - (r.cost1.redis?.cpuUsPerNotification ?? c1.redis)) / 3);
  return {
    idleCoreSecondsPerSocket,
    rssKbPerSocket: r.idle.incrementalRssKb ?? idle.rssPerSocketKb,
    instanceBaseCpuPerSec: r.idle.baseCpuPerSec,
    instanceBaseRssMb: r.idle.rssBaseKb / KB,
    gatewayUs: {
      at1: g1, at4: g4, rawAt1: c1.gateway, rawAt4: c4.gateway, perInstance: perInstanceUs,
      // a: anchored on the 4-instance run (the production shape, and the check's), less
      // its four receives; b·I adds them back for any other instance count.
      fixed: g4 - 4 * perInstanceUs,
      relayUs: split ? split.relayUs - split.receiveOnlyUs : null,
      paced: pacedUs, pacedRate: paced?.rate ?? null, pacedPublishPerNotification: paced?.publishPerNotification ?? null,
      flatPublishPerNotification: flatPublish ?? null,
      perMessage: perMessageUs, perNotification: perMessageUs === null ? null : g4 - flatPublish * perMessageUs,
    },
    // The database does the same work per notification whatever the instance count: the
    // mean, less its background rate (other clients) unless that noise swallows it.
    databaseUs: (netDatabase(c1.database, r.cost1.cost.databaseBackgroundUs) + netDatabase(c4.database, r.cost4.cost.databaseBackgroundUs)) / 2,
    redisUs: {
      at1: r.cost1.redis?.cpuUsPerNotification ?? c1.redis,
      at4: r.cost4.redis?.cpuUsPerNotification ?? c4.redis,
      fixed: (r.cost1.redis?.cpuUsPerNotification ?? c1.redis) - redisPerInstanceUs,
      perInstance: redisPerInstanceUs,
    },
    broadcastUsPerSocket: r.cost4.broadcast.gatewayUsPerSocket,
    writeCeilingPerSec: opts.partitionCeiling ?? r.cost1.ingest?.committedPerSec ?? null,
    writeCeilingSource: opts.partitionCeiling ? '--partition-ceiling' : 'batch ingest through the gateway',
  };
}

const netDatabase = (raw, background) => (background !== null && background !== undefined && raw - background > raw / 2 ? raw - background : raw);

/** Sizing for `users` connected users under ASSUMPTIONS; instances solved as a fixed point (cost grows with I). */
function sizeFor(users, m, a = ASSUMPTIONS) {
  const sockets = users * a.socketsPerUser;
  const notificationsPerSec = (users * a.notificationsPerUserPerMinute) / 60;
  const broadcastsPerSec = (users / a.tenantSize) * (a.broadcastsPerTenantPerMinute / 60);
  const broadcastDeliveriesPerSec = broadcastsPerSec * a.tenantSize * a.socketsPerUser;
  const memoryInstances = Math.ceil(sockets / ((a.instanceMemoryMb * 0.8 - m.instanceBaseRssMb) * KB / m.rssKbPerSocket));
  const cores = (instances, sharded) => {
    const perNotificationUs = sharded ? m.gatewayUs.fixed + m.gatewayUs.perInstance : m.gatewayUs.fixed + m.gatewayUs.perInstance * instances;
    const parts = {
      idle: sockets * m.idleCoreSecondsPerSocket,
      base: instances * m.instanceBaseCpuPerSec,
      notifications: (notificationsPerSec * perNotificationUs) / 1e6,
      broadcasts: (broadcastDeliveriesPerSec * m.broadcastUsPerSocket + broadcastsPerSec * perNotificationUs) / 1e6,
    };
    return { total: parts.idle + parts.base + parts.notifications + parts.broadcasts, parts, perNotificationUs };
  };
  const solve = (sharded) => {
    let instances = Math.max(1, memoryInstances);
    for (let i = 0; i < 200; i += 1) {
      const need = Math.max(memoryInstances, Math.ceil(cores(instances, sharded).total / a.targetCpu));
      if (need === instances) return { instances, ...cores(instances, sharded) };
      if (need > 10_000) return { instances: Infinity, ...cores(instances, sharded) };
      instances = need;
    }
    return { instances, ...cores(instances, sharded) };
  };
  const classic = solve(false);
  const sharded = solve(true);
  const redisCores = (instances, perInstance) => ((notificationsPerSec + broadcastsPerSec) * (m.redisUs.fixed + perInstance * instances)) / 1e6;
  const writesPerSec = notificationsPerSec + broadcastsPerSec;
  return {
    users, sockets, notificationsPerSec, broadcastsPerSec, broadcastDeliveriesPerSec,
    memoryInstances,
    classic,
    sharded,
    memoryGb: (sockets * m.rssKbPerSocket + sharded.instances * m.instanceBaseRssMb * KB) / KB / KB,
    redis: {
      publishPerSec: writesPerSec,
      deliveredPerSecClassic: writesPerSec * classic.instances,
      coresClassic: redisCores(classic.instances, m.redisUs.perInstance),
      coresSharded: redisCores(1, m.redisUs.perInstance),
    },
    mysql: {
      writesPerSec,
      partitions: m.writeCeilingPerSec ? Math.ceil(writesPerSec / (m.writeCeilingPerSec * a.targetCpu)) : null,
      cores: (writesPerSec * m.databaseUs) / 1e6 / a.targetCpu,
      connections: (a.dbPoolMax + 1) * sharded.instances,
    },
  };
}

function printModel(m, usersList) {
  log('\nmodel inputs (per-core figures of this run):');
  figure('idle socket at 25 s heartbeat', fmt(m.idleCoreSecondsPerSocket * 1e6, 2), 'µs CPU per second');
  figure('RSS per idle socket', fmt(m.rssKbPerSocket, 1), 'KB');
  figure('instance background (0 sockets)', `${fmt(m.instanceBaseCpuPerSec * 1000, 1)} ms CPU/s, ${fmt(m.instanceBaseRssMb, 0)}`, 'MB RSS');
  figure('gateway per notification: a + b·instances', `${fmt(m.gatewayUs.fixed, 0)} + ${fmt(m.gatewayUs.perInstance, 0)}·I`, 'µs');
  if (m.gatewayUs.paced !== null) {
    figure(`gateway per notification at ${m.gatewayUs.pacedRate}/s (paced, 4 instances)`, fmt(m.gatewayUs.paced, 0), `µs (flat out: ${fmt(m.gatewayUs.at4, 0)} µs)`);
    figure('… per notification + per published message', `${fmt(m.gatewayUs.perNotification, 0)} + ${fmt(m.gatewayUs.perMessage, 0)}`, `µs (PUBLISH per notification: flat out ${fmt(m.gatewayUs.flatPublishPerNotification, 2)}, paced ${fmt(m.gatewayUs.pacedPublishPerNotification, 2)})`);
  }
  figure('gateway per broadcast-delivered socket (4 instances)', fmt(m.broadcastUsPerSocket, 1), 'µs');
  figure('MariaDB per notification (background subtracted)', fmt(m.databaseUs, 0), 'µs');
  figure('Redis per notification: a + b·instances', `${fmt(m.redisUs.fixed, 1)} + ${fmt(m.redisUs.perInstance, 1)}·I`, 'µs');
  figure(`write ceiling per stream partition (${m.writeCeilingSource})`, int(m.writeCeilingPerSec), 'committed/s');
  const idleSocketsPerCore = 1 / m.idleCoreSecondsPerSocket;
  const a = ASSUMPTIONS;
  const perUserLoaded = m.idleCoreSecondsPerSocket + (a.notificationsPerUserPerMinute / 60) * (m.gatewayUs.fixed + 4 * m.gatewayUs.perInstance) / 1e6 +
    (a.broadcastsPerTenantPerMinute / 60) * m.broadcastUsPerSocket / 1e6;
  figure('sockets one core holds, idle (100 % CPU)', int(idleSocketsPerCore), 'sockets');
  figure('… memory-bound instead: 512 MB instance at 80 %', int(((a.instanceMemoryMb * 0.8 - m.instanceBaseRssMb) * KB) / m.rssKbPerSocket), 'sockets');
  figure(`sockets one core holds at ${a.notificationsPerUserPerMinute}/min + ${a.broadcastsPerTenantPerMinute} broadcast/min per user (4 inst.)`, int(1 / perUserLoaded), 'sockets (100 % CPU)');
  figure(`… at the ${a.targetCpu * 100} % target`, int(a.targetCpu / perUserLoaded), 'sockets');
  log(`\nmodel: ${a.notificationsPerUserPerMinute} notification/min per user, ${a.broadcastsPerTenantPerMinute} broadcast/min per ${int(a.tenantSize)}-user tenant, ${a.targetCpu * 100} % CPU target, 1 core per instance`);
  const sizes = usersList.map((u) => sizeFor(u, m));
  for (const s of sizes) {
    log(`  ${int(s.users)} users: ${int(s.notificationsPerSec)} notifications/s + ${fmt(s.broadcastsPerSec, 1)} broadcasts/s (${int(s.broadcastDeliveriesPerSec)} socket deliveries/s)`);
    const c = s.classic;
    const shape = (x) => !Number.isFinite(x.instances)
      ? `none: every instance would spend ${fmt((s.notificationsPerSec * m.gatewayUs.perInstance) / 1e6, 2)} cores receiving alone (${int(s.notificationsPerSec)}/s × ${fmt(m.gatewayUs.perInstance, 0)} µs), over the ${a.targetCpu * 100} % target`
      : `${int(x.instances)} instances (idle ${fmt(x.parts.idle, 2)} + background ${fmt(x.parts.base, 2)} + notifications ${fmt(x.parts.notifications, 2)} + broadcasts ${fmt(x.parts.broadcasts, 2)} = ${fmt(x.total, 2)} cores at ${fmt(x.perNotificationUs, 0)} µs/notification)`;
    figure('   gateway, Redis adapter (every instance decodes all)', shape(c), '');
    figure('   gateway, sharded adapter (one receiver; extrapolated)', shape(s.sharded), '');
    figure('   instances needed for memory alone', int(s.memoryInstances), `(${fmt(s.memoryGb, 1)} GB RSS in all)`);
    figure('   Redis: PUBLISH/s, delivered to subscribers/s', `${int(s.redis.publishPerSec)}, ${Number.isFinite(s.redis.deliveredPerSecClassic) ? int(s.redis.deliveredPerSecClassic) : 'n/a'}`, 'messages/s');
    figure('   Redis CPU, classic adapter / sharded (per shard total)', `${Number.isFinite(s.redis.coresClassic) ? fmt(s.redis.coresClassic, 2) : 'n/a'} / ${fmt(s.redis.coresSharded, 2)}`, 'cores');
    figure('   MySQL writes/s vs per-partition ceiling', `${int(s.mysql.writesPerSec)} → ${s.mysql.partitions ?? 'n/a'} partition(s)`, `(${fmt(s.mysql.cores, 1)} cores at ${a.targetCpu * 100} %)`);
    figure('   MySQL connections (DB_POOL_MAX + 1) × instances', int(s.mysql.connections), '');
  }
  return sizes;
}

// ---------------------------------------------------------------------------------------
// check

async function checkPhase(opts, m) {
  const n = opts.checkSockets;
  const instances = 4;
  const ownShare = Math.ceil(n / 2);
  const childShare = n - ownShare;
  const broadcasts = Math.round((opts.checkSeconds / 60) * opts.checkBroadcastsPerUserMinute);
  const count = Math.round(opts.checkRate * opts.checkSeconds);
  log(`\ncheck: ${instances} instances, ${int(n)} sockets (${int(ownShare)} here, ${int(childShare)} in a child process), ` +
    `${int(count)} single POSTs at ${opts.checkRate}/s over ${opts.checkSeconds} s + ${broadcasts} tenant broadcast(s) to all ${int(n)}`);
  const tooMany = B.fileLimitProblem(ownShare);
  if (tooMany) throw new Error(`check: ${tooMany}`);
  return withSetup('mysql4', {}, async (setup) => {
    await B.sleep(opts.settleMs);
    const rssBeforeKb = setup.rssKb();
    const started = B.now();
    const [own, child] = await Promise.all([
      B.startClientPool({ urls: setup.urls, clients: ownShare, workers: Math.ceil(ownShare / 2500), user: (i) => B.userId(i) }),
      B.forkClientPool({ urls: setup.urls, clients: childShare, workers: Math.ceil(childShare / 2500), offset: ownShare }),
    ]);
    const connectSeconds = (B.now() - started) / 1000;
    const failed = own.failed + child.failed;
    if (failed > 0) throw new Error(`check: ${failed} of ${n} sockets failed to connect: ${own.firstError ?? child.firstError}`);
    const seen = await B.metricSum(setup.urls, 'notify_connected_sockets');
    figure('sockets connected (seen by the gateways)', `${int(own.connected + child.connected)} (${int(seen)})`, `in ${fmt(connectSeconds, 0)} s`);
    await B.sleep(Math.max(opts.settleMs, 5000));
    const rssKb = setup.rssKb();
    figure('gateway RSS per socket (4 instances)', fmt((rssKb - rssBeforeKb) / n, 1), `KB (${fmt(rssKb / KB, 0)} MB in all)`);

    const poster = posterFor(setup, 256);
    await Promise.all([own.phase('chk'), child.phase('chk')]);
    const dbPid = B.databaseServerPid();
    const probe = redisProbe();
    const redisBefore = await probe.read();
    const dbBefore = dbPid ? B.readCpuSeconds(dbPid) : null;
    const w = cpuWindow(setup);
    const randomUser = () => B.userId(Math.floor(Math.random() * n));
    const broadcastResults = [];
    const broadcasting = (async () => {
      for (let i = 0; i < broadcasts; i += 1) {
        await B.sleep(((opts.checkSeconds * 1000) / broadcasts) * (i === 0 ? 0.5 : 1));
        broadcastResults.push(await poster.postTenant(B.TENANT, 'chk'));
      }
    })();
    const sent = await B.postAtRate(count, opts.checkRate, () => poster.post(randomUser(), 'chk'));
    await broadcasting;
    const committedBroadcasts = broadcastResults.filter((r) => r.status === 201).length;
    const expected = sent.committed + committedBroadcasts * n;
    // Both shares together, until everything posted arrived (or the drain bound).
    const bothCounts = async () => {
      const [a, b] = await Promise.all([own.counts(), child.counts()]);
      return { unique: a.unique + b.unique, duplicates: a.duplicates + b.duplicates };
    };
    let counts = await bothCounts();
    const deadline = Date.now() + opts.drainMs;
    while (counts.unique < expected && Date.now() < deadline) {
      await B.sleep(100);
      counts = await bothCounts();
    }
    const win = w();
    const redis = probe.diff(redisBefore, await probe.read());
    const dbCpu = dbPid ? B.readCpuSeconds(dbPid) - dbBefore : null;
    const responseLagMs = sent.elapsedMs - ((count - 1) * 1000) / opts.checkRate;

    const out = {
      sockets: n, instances, rate: opts.checkRate, seconds: opts.checkSeconds, windowSeconds: win.seconds,
      posted: sent.posted, committed: sent.committed, statuses: sent.statuses, broadcasts: committedBroadcasts,
      expected, received: counts.unique, duplicates: counts.duplicates ?? 0, responseLagMs,
      measuredGatewayCpu: win.cpu, redisCpu: redis.cpu, redisPublish: redis.commands.publish ?? 0, databaseCpu: dbCpu,
      rssPerSocketKb: (rssKb - rssBeforeKb) / n,
    };
    figure('committed single / broadcasts', `${int(sent.committed)} / ${committedBroadcasts}`,
      `(statuses ${JSON.stringify(sent.statuses)}${sent.firstError ? `; first error: ${sent.firstError}` : ''})`);
    out.firstError = sent.firstError;
    figure('received (socket deliveries) of expected', `${int(counts.unique)} of ${int(expected)}`, `(duplicates ${counts.duplicates ?? 0})`);
    figure('last POST response behind schedule', fmt(responseLagMs / 1000, 2), `s (window ${fmt(win.seconds, 1)} s)`);
    figure('measured gateway CPU (4 instances)', fmt(win.cpu, 2), `s = ${fmt(win.cpu / win.seconds * 100, 0)} % of one core`);
    figure('measured Redis / MariaDB CPU', `${fmt(redis.cpu, 2)} / ${fmt(dbCpu, 2)}`, 's');
    if (!m) {
      log('   (no model inputs: run with the other phases, or --inputs FILE, for the prediction)');
      return out;
    }
    // A notification's cost depends on the rate (batching, above): the figure measured at
    // the check's own rate when the paced phase ran at it, else the flat-out one.
    const rateMatched = m.gatewayUs.paced !== null && m.gatewayUs.pacedRate === opts.checkRate;
    const perNotificationUs = rateMatched ? m.gatewayUs.paced : m.gatewayUs.at4;
    const perNotificationSource = rateMatched ? `paced phase at ${opts.checkRate}/s` : 'cost phase, flat out';
    const parts = {
      background: instances * m.instanceBaseCpuPerSec * win.seconds,
      idle: n * m.idleCoreSecondsPerSocket * win.seconds,
      notifications: (sent.committed * perNotificationUs) / 1e6,
      broadcasts: (committedBroadcasts * n * m.broadcastUsPerSocket) / 1e6,
    };
    const predicted = parts.background + parts.idle + parts.notifications + parts.broadcasts;
    const ratio = win.cpu / predicted;
    Object.assign(out, { predictedGatewayCpu: predicted, predictedParts: parts, perNotificationUs, perNotificationSource, measuredOverPredicted: ratio, within25: Math.abs(ratio - 1) <= 0.25 });
    figure('predicted: instance background', fmt(parts.background, 2), `s (4 × ${fmt(m.instanceBaseCpuPerSec * 1000, 1)} ms/s × ${fmt(win.seconds, 1)} s)`);
    figure('predicted: idle sockets (heartbeats)', fmt(parts.idle, 2), `s (${int(n)} × ${fmt(m.idleCoreSecondsPerSocket * 1e6, 2)} µs/s × ${fmt(win.seconds, 1)} s)`);
    figure('predicted: notifications', fmt(parts.notifications, 2), `s (${int(sent.committed)} × ${fmt(perNotificationUs, 0)} µs, ${perNotificationSource})`);
    figure('predicted: broadcasts', fmt(parts.broadcasts, 2), `s (${committedBroadcasts} × ${int(n)} × ${fmt(m.broadcastUsPerSocket, 1)} µs)`);
    figure('predicted gateway CPU', fmt(predicted, 2), 's');
    figure('measured ÷ predicted', fmt(ratio, 2), out.within25 ? '(within 25 %)' : '(NOT within 25 %)');
    // What a notification cost here if the other parts were as predicted: against the
    // cost phase's figure (flat out, 64 lanes), the part of the gap that is per notification.
    out.impliedUsPerNotification = ((win.cpu - parts.background - parts.idle - parts.broadcasts) * 1e6) / Math.max(1, sent.committed);
    figure('… implied gateway CPU per notification here', fmt(out.impliedUsPerNotification, 0), `µs (flat out: ${fmt(m.gatewayUs.at4, 0)} µs; paced: ${fmt(m.gatewayUs.paced, 0)} µs)`);
    if (rateMatched) {
      out.flatOutPrediction = predicted - parts.notifications + (sent.committed * m.gatewayUs.at4) / 1e6;
      figure('… with the flat-out figure instead, measured ÷ predicted', fmt(win.cpu / out.flatOutPrediction, 2), '');
    }
    out.redisPublishPerNotification = (redis.commands.publish ?? 0) / Math.max(1, sent.committed + committedBroadcasts);
    figure('… Redis PUBLISH per notification here', fmt(out.redisPublishPerNotification, 2), '');
    if (m.redisUs.at4 !== null) {
      const redisPredicted = ((sent.committed + committedBroadcasts) * m.redisUs.at4) / 1e6;
      out.predictedRedisCpu = redisPredicted;
      figure('Redis CPU predicted / measured', `${fmt(redisPredicted, 2)} / ${fmt(redis.cpu, 2)}`, 's');
    }
    return out;
  });
}

// ---------------------------------------------------------------------------------------

let stopRedis = async () => {};

async function main() {
  const opts = parseOptions(process.argv.slice(2));
  prepareBuild(opts);
  if (!opts.sharedRedis) {
    const redis = await startPrivateRedis();
    stopRedis = redis.stop;
    process.env.BENCH_REDIS_URL = redis.url;
  }
  await loadBench();
  const problem = await B.servicesProblem();
  if (problem) throw new Error(problem);
  const machine = { cpus: cpus().length, cpu: cpus()[0]?.model, memoryMb: Math.round(totalmem() / 2 ** 20), node: process.version, loadavgAtStart: loadavg() };
  log(`capacity: build ${opts.build}, Redis ${B.REDIS_URL}${opts.sharedRedis ? ' (shared)' : ' (private)'}, MariaDB ${B.MYSQL_URL}`);
  log(`machine: ${machine.cpus} cores (${machine.cpu}), load average ${machine.loadavgAtStart.map((v) => v.toFixed(2)).join(' ')}, ${process.version}`);
  const has = (p) => opts.phases.includes(p);
  const results = opts.inputs ? { ...JSON.parse(readFileSync(opts.inputs, 'utf8')).results, check: undefined } : {};
  const startedAt = new Date();
  const save = () => {
    mkdirSync(opts.out, { recursive: true });
    const file = join(opts.out, `capacity-${startedAt.toISOString().replace(/[:.]/g, '-')}.json`);
    writeFileSync(file, `${JSON.stringify({ startedAt, finishedAt: new Date(), machine, options: opts, args: process.argv.slice(2), assumptions: ASSUMPTIONS, results }, null, 2)}\n`);
    return file;
  };
  try {
    if (has('idle')) results.idle = await idlePhase(opts);
    if (has('cost') || has('ingest')) results.cost1 = { ...results.cost1, ...(await costPhase(opts, 1, { ingest: has('ingest'), broadcast: false })) };
    if (has('cost') || has('split') || has('paced') || has('broadcast')) {
      const four = await costPhase(opts, 4, { ingest: false, broadcast: has('broadcast'), split: has('split'), paced: has('paced'), idle: results.idle });
      results.cost4 = { ...results.cost4, ...four };
    }
    const m = modelInputs(results, opts);
    if (m) results.model = { inputs: m, sizes: printModel(m, opts.users) };
    else log('\nmodel: needs idle, cost and broadcast figures (this run or --inputs)');
    if (has('check')) results.check = await checkPhase(opts, m);
  } finally {
    log(`\nresults written to ${save()}`);
  }
}

try {
  await main();
  process.exitCode = 0;
} catch (error) {
  process.stderr.write(`capacity failed: ${error instanceof Error ? error.stack : String(error)}\n`);
  process.exitCode = 1;
} finally {
  await runCleanup();
  await stopRedis();
}
process.exit(process.exitCode);
