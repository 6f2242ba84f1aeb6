/**
 * Starts the built gateway (`node dist/src/main.js`, or BENCH_GATEWAY_DIST below) as real
 * child processes on free ports, in production mode, for one bench setup; creates and
 * drops the setup's MariaDB database; reads each process's RSS from /proc. Everything
 * started here is registered with cleanup.mjs so it is stopped even when the bench fails
 * or is interrupted.
 */
import { execFileSync, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Redis from 'ioredis';
import mysql from 'mysql2/promise';
import { onCleanup, trackChild } from './cleanup.mjs';
import { freePort } from './free-port.mjs';

export const JWT_SECRET = `bench-${randomBytes(24).toString('hex')}`;
export const API_KEY = `bench-key-${randomBytes(12).toString('hex')}`;
export const MYSQL_URL = process.env.BENCH_MYSQL_URL ?? 'mysql://root@127.0.0.1:3306';
export const REDIS_URL = process.env.BENCH_REDIS_URL ?? 'redis://127.0.0.1:6379';

export const SETUPS = {
  embedded: { label: 'embedded (SQLite file, 1 process)', instances: 1, services: false },
  mysql1: { label: 'MariaDB + Redis, 1 instance', instances: 1, services: true },
  mysql2: { label: 'MariaDB + Redis, 2 instances', instances: 2, services: true },
  // 4 × DB_POOL_MAX (10) = 40 connections, well under MariaDB's default max_connections (151).
  mysql4: { label: 'MariaDB + Redis, 4 instances', instances: 4, services: true },
};

/**
 * Extra node flags for every gateway, e.g. to profile it under load:
 * BENCH_GATEWAY_NODE_ARGS="--cpu-prof --cpu-prof-dir=/tmp/notify-prof" npm run bench -- …
 * (a profile is written when the gateway stops at the end of its setup).
 */
const GATEWAY_NODE_ARGS = (process.env.BENCH_GATEWAY_NODE_ARGS ?? '').split(' ').filter(Boolean);
/**
 * The built gateway: `dist` of this checkout, or BENCH_GATEWAY_DIST, another build's
 * output directory (e.g. `tsc -p tsconfig.build.json --outDir DIR/dist`, with DIR holding
 * links to this checkout's package.json and node_modules so the gateway resolves its
 * packages); run with --no-build then.
 */
export const GATEWAY_DIST = process.env.BENCH_GATEWAY_DIST ?? 'dist';
const GATEWAY_MAIN = join(GATEWAY_DIST, 'src', 'main.js');
const READY_TIMEOUT_MS = 60_000;
const STOP_GRACE_MS = 5_000;

/** null when MariaDB and Redis both answer, else why not. */
export async function servicesProblem() {
  try {
    const conn = await mysql.createConnection({ uri: MYSQL_URL, connectTimeout: 2000 });
    await conn.end();
  } catch (error) {
    return `MariaDB/MySQL unreachable at ${MYSQL_URL} (${error.code ?? error.message})`;
  }
  const redis = new Redis(REDIS_URL, { lazyConnect: true, connectTimeout: 2000, maxRetriesPerRequest: 0, retryStrategy: () => null });
  redis.on('error', () => {});
  try {
    await redis.connect();
    await redis.ping();
    return null;
  } catch (error) {
    return `Redis unreachable at ${REDIS_URL} (${error.code ?? error.message})`;
  } finally {
    redis.disconnect();
  }
}

/** Starts every process of a setup (fresh store) and resolves when each answers /readyz. */
export async function startSetup(name, extraEnv = {}) {
  const setup = SETUPS[name];
  const store = setup.services ? await createMysqlDatabase() : createSqliteFile();
  const env = {
    DATABASE_URL: store.url,
    ...(setup.services && { REDIS_URL, REDIS_KEY_PREFIX: `bench${randomBytes(5).toString('hex')}` }),
    ...extraEnv,
  };
  const instances = [];
  // One after the other: the first one runs the migrations, the rest find them done.
  for (let i = 0; i < setup.instances; i += 1) instances.push(await startGateway(env));
  return {
    name,
    label: setup.label,
    instances,
    urls: instances.map((g) => g.url),
    rssKb: () => instances.reduce((sum, g) => sum + g.rssKb(), 0),
    cpuSeconds: () => instances.reduce((sum, g) => sum + g.cpuSeconds(), 0),
    /** Warnings and errors logged by all instances so far, with the last messages of each. */
    logs: () => {
      const each = instances.map((g) => g.logs());
      return { warn: each.reduce((s, l) => s + l.warn, 0), error: each.reduce((s, l) => s + l.error, 0), last: each.flatMap((l) => l.last) };
    },
    /** Instances that exited on their own, with their last output. */
    deaths: () => instances.map((g, i) => g.died() && `instance ${i} ${g.died()}`).filter(Boolean),
    async stop() {
      await Promise.all(instances.map((g) => g.stop()));
      await store.drop();
    },
  };
}

async function startGateway(extraEnv) {
  const port = await freePort();
  const child = spawn(process.execPath, [...GATEWAY_NODE_ARGS, GATEWAY_MAIN], {
    // Only what the gateway needs: nothing from the caller's environment leaks into the setup.
    env: {
      PATH: process.env.PATH,
      NODE_ENV: 'production',
      HOST: '127.0.0.1',
      PORT: String(port),
      JWT_SECRET,
      NOTIFY_API_KEYS: API_KEY,
      LOG_LEVEL: 'warn',
      // The webhook phase's receiver listens on 127.0.0.1, which the SSRF guard refuses otherwise.
      ALLOW_PRIVATE_WEBHOOKS: 'true',
      // The bench measures throughput: no per-key notify limits (0 = none; a gateway that
      // does not know these settings ignores them).
      NOTIFY_RATE_PER_KEY: '0',
      NOTIFY_RECIPIENTS_PER_KEY: '0',
      // Every bench client connects from 127.0.0.1: no limit on new connections per address.
      CONNECT_RATE_PER_IP: '0',
      ...extraEnv,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  trackChild(child);
  let output = '';
  const logs = { warn: 0, error: 0, last: [] };
  let partial = '';
  const keep = (chunk) => {
    output = (output + chunk.toString()).slice(-4000);
    // pino JSON lines: count warnings and errors, keep the last few messages.
    const lines = (partial + chunk.toString()).split('\n');
    partial = lines.pop();
    for (const line of lines) tallyLog(logs, line);
  };
  child.stdout.on('data', keep);
  child.stderr.on('data', keep);
  const exited = new Promise((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
  const stop = onCleanup(async () => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), STOP_GRACE_MS);
    await exited;
    clearTimeout(timer);
  });
  const url = `http://127.0.0.1:${port}`;
  const outcome = await Promise.race([waitReady(url), exited.then((e) => ({ exited: e }))]);
  if (outcome?.exited || outcome === 'timeout') {
    await stop();
    const why = outcome === 'timeout' ? 'not ready in time' : `exited (${JSON.stringify(outcome.exited)})`;
    throw new Error(`gateway on port ${port} ${why}; last output:\n${output}`);
  }
  return {
    url,
    pid: child.pid,
    /** null while running; else how it ended and what it printed last. */
    died: () => (child.exitCode === null && child.signalCode === null ? null : `${howItEnded(child)}:\n${output}`),
    rssKb: () => readRssKb(child.pid),
    cpuSeconds: () => readCpuSeconds(child.pid),
    /** Warnings and errors the process logged so far, and the last few (level ≥ 40) messages. */
    logs: () => ({ warn: logs.warn, error: logs.error, last: [...logs.last] }),
    stop,
  };
}

function tallyLog(logs, line) {
  if (!line.startsWith('{')) return;
  let entry;
  try {
    entry = JSON.parse(line);
  } catch {
    return;
  }
  if (entry.level >= 50) logs.error += 1;
  else if (entry.level >= 40) logs.warn += 1;
  else return;
  // Driver errors start with the whole SQL and end with the reason: keep both ends.
  const raw = entry.err?.message ?? (typeof entry.err === 'string' ? entry.err : '');
  const why = raw.length > 240 ? `${raw.slice(0, 80)} … ${raw.slice(-160)}` : raw;
  logs.last = [...logs.last, `${entry.level >= 50 ? 'error' : 'warn'}: ${entry.msg}${why ? ` (${why})` : ''}`].slice(-3);
}

/** The bench never stops a gateway before its cleanup, so a clean exit means a signal from outside. */
function howItEnded(child) {
  if (child.signalCode) return `killed by ${child.signalCode}`;
  if (child.exitCode === 0) return 'exit 0 (a clean shutdown: SIGTERM/SIGINT from outside the bench?)';
  return `exit ${child.exitCode}`;
}

async function waitReady(url) {
  const deadline = Date.now() + READY_TIMEOUT_MS;
  while (Date.now() < deadline) {
    try {
      const res = await fetch(`${url}/readyz`);
      if (res.status === 200) return 'ready';
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  return 'timeout';
}

/** Resident set size in kB, from /proc/<pid>/status (Linux). */
export function readRssKb(pid) {
  const match = /^VmRSS:\s+(\d+)\s+kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  if (!match) throw new Error(`no VmRSS for pid ${pid}`);
  return Number(match[1]);
}

/** User + system CPU time of a process, from /proc/<pid>/stat (clock ticks, 100/s on Linux). */
export function readCpuSeconds(pid) {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

/**
 * The local MariaDB/MySQL server's pid (`pidof mariadbd`, else `pidof mysqld`), so that its
 * CPU time can be read like the gateways'; null when the server is not on this machine
 * (BENCH_MYSQL_URL elsewhere) or not found. Its CPU includes every other client it serves.
 */
export function databaseServerPid() {
  if (!['127.0.0.1', 'localhost', '::1', '[::1]'].includes(new URL(MYSQL_URL).hostname)) return null;
  for (const name of ['mariadbd', 'mysqld']) {
    try {
      const pid = Number(execFileSync('pidof', ['-s', name], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim());
      if (pid > 0) return pid;
    } catch {
      // not running under that name
    }
  }
  return null;
}

/** CPU time the whole machine spent busy (all cores, every process), from /proc/stat, in seconds. */
export function machineBusySeconds() {
  const [, ...ticks] = readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/).map(Number);
  const [user, nice, system, , , irq, softirq, steal] = ticks; // idle and iowait left out
  return (user + nice + system + irq + softirq + steal) / 100;
}

function createSqliteFile() {
  const dir = mkdtempSync(join(tmpdir(), 'notify-bench-'));
  const drop = onCleanup(async () => rmSync(dir, { recursive: true, force: true }));
  return { url: `sqlite:${join(dir, 'notify.db')}`, drop };
}

export async function createMysqlDatabase() {
  const name = `notify_bench_${randomBytes(5).toString('hex')}`;
  const admin = await mysql.createConnection({ uri: MYSQL_URL });
  try {
    await admin.query(`CREATE DATABASE \`${name}\` CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci`);
  } finally {
    await admin.end();
  }
  const drop = onCleanup(async () => {
    const conn = await mysql.createConnection({ uri: MYSQL_URL });
    try {
      await conn.query(`DROP DATABASE IF EXISTS \`${name}\``);
    } finally {
      await conn.end();
    }
  });
  const url = new URL(MYSQL_URL);
  url.pathname = `/${name}`;
  return { url: url.toString(), drop };
}

/** Sum of a gauge/counter from /metrics over every instance (no labels). */
export async function metricSum(urls, name) {
  let sum = 0;
  for (const url of urls) sum += (await metricValue(url, name)) ?? 0;
  return sum;
}

/**
 * One instance's value of a labelled sample, e.g. ('notify_deliveries_total',
 * { channel_type: 'webhook', outcome: 'sent' }): the sample whose labels include all of
 * `labels` (label order does not matter); null when there is none.
 */
export async function metricSample(url, name, labels) {
  const text = await metricsText(url);
  for (const line of text.split('\n')) {
    if (!line.startsWith(`${name}{`)) continue;
    const close = line.lastIndexOf('}');
    const found = labelsOf(line.slice(name.length + 1, close));
    if (Object.entries(labels).every(([k, v]) => found[k] === v)) return Number(line.slice(close + 1).trim());
  }
  return null;
}

/** `a="x",b="y"` (a sample's label list) → { a: 'x', b: 'y' }. */
function labelsOf(list) {
  return Object.fromEntries([...list.matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)].map((m) => [m[1], m[2]]));
}

/** One scrape of an instance's /metrics, as text. */
export async function metricsText(url) {
  return (await fetch(`${url}/metrics`)).text();
}

/**
 * From a scrape: the gateway's own time for the notify POSTs so far
 * (notify_http_request_duration_seconds, every POST route under /api/notify, every
 * status), as a cumulative count per bucket bound.
 */
export function notifyRequestBuckets(text) {
  const buckets = new Map();
  for (const m of text.matchAll(/^notify_http_request_duration_seconds_bucket\{([^}]*)\} (\S+)$/gm)) {
    const labels = labelsOf(m[1]);
    if (labels.method !== 'POST' || !labels.route?.startsWith('/api/notify')) continue;
    const le = labels.le === '+Inf' ? Infinity : Number(labels.le);
    buckets.set(le, (buckets.get(le) ?? 0) + Number(m[2]));
  }
  return buckets;
}

/** One instance's value of a metric without labels; null when it does not report it. */
export async function metricValue(url, name) {
  return (await metricValues(url, [name]))[name];
}

/**
 * Several unlabelled metrics from one scrape, by name (null for one not reported). One
 * scrape matters for metrics a scrape resets, such as the event-loop delay histogram.
 */
export async function metricValues(url, names) {
  return valuesIn(await metricsText(url), names);
}

/** Unlabelled metrics of a scrape, by name (null for one not reported). */
export function valuesIn(text, names) {
  const lines = text.split('\n');
  return Object.fromEntries(
    names.map((name) => {
      const line = lines.find((l) => l.startsWith(`${name} `));
      return [name, line ? Number(line.slice(name.length + 1)) : null];
    }),
  );
}
