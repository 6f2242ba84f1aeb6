/**
 * Batch ingest against the partitioned stream (STREAM_PARTITIONS), MariaDB with its own
 * fsync setting read and printed. One gateway instance on a fresh database per run.
 *
 *   node bench/partition-ingest.mjs [--partitions 1,2,4] [--seconds 5] [--lanes 4]
 *        [--batch-size 500] [--tenants 64] [--rounds 2] [--no-naive] [--no-build]
 *
 * Each request is `--batch-size` notifications, each to one of 16 users of a tenant drawn
 * at random from `--tenants` (so every partition gets its share; with
 * --tenant-per-request all items of a request are of one tenant drawn per request, as a
 * back end notifying one customer's users sends them); `--lanes` keep-alive lanes
 * post back to back for `--seconds`. Per run: committed/s, gateway and MariaDB CPU µs per
 * notification, mean group-commit size, the time writers waited for row locks (MariaDB's
 * Innodb_row_lock_time: the sequence rows are the only contended ones), and how long the relays took to publish the
 * last committed row (notify_outbox_backlog back to 0). Rounds go 1,2,4,1,2,4… so that
 * drift of a shared machine falls on every count alike; the table shows each count's best
 * and median. The naive path (WRITE_BATCHING=false: one transaction per notification, one
 * partition) runs once as the reference, unless --no-naive.
 *
 * --store-only leaves HTTP and the gateway out: `--lanes` writers in this process commit
 * `--batch-size`-row group commits through the gateway's own NotificationWriter (from
 * dist/, or BENCH_GATEWAY_DIST) straight into MariaDB, flat out. That is the database's
 * side alone, where the one sequence row lock of a single partition is what writers share.
 */
import { execFileSync } from 'node:child_process';
import { parseArgs } from 'node:util';
import mysql from 'mysql2/promise';
import { now } from './clock.mjs';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { API_KEY, createMysqlDatabase, databaseServerPid, GATEWAY_DIST, MYSQL_URL, readCpuSeconds, servicesProblem, startSetup } from './gateways.mjs';
import { waitForEmptyOutbox, writeBatches } from './phases.mjs';
import { createPoster, postFlatOut } from './poster.mjs';

const { values } = parseArgs({
  options: {
    partitions: { type: 'string', default: '1,2,4' },
    seconds: { type: 'string', default: '5' },
    lanes: { type: 'string', default: '4' },
    'batch-size': { type: 'string', default: '500' },
    tenants: { type: 'string', default: '64' },
    rounds: { type: 'string', default: '2' },
    naive: { type: 'boolean', default: true },
    'no-naive': { type: 'boolean', default: false },
    'no-build': { type: 'boolean', default: false },
    'store-only': { type: 'boolean', default: false },
    'tenant-per-request': { type: 'boolean', default: false },
  },
});
const opts = {
  partitions: values.partitions.split(',').map(Number),
  seconds: Number(values.seconds),
  lanes: Number(values.lanes),
  batchSize: Number(values['batch-size']),
  tenants: Number(values.tenants),
  rounds: Number(values.rounds),
  naive: values.naive && !values['no-naive'],
};
const DRAIN_TIMEOUT_MS = 60_000;
const tenantIds = Array.from({ length: opts.tenants }, (_, i) => `bench-tenant-${i}`);
const randomTenant = () => tenantIds[Math.floor(Math.random() * tenantIds.length)];
const items = () => {
  const one = values['tenant-per-request'] ? randomTenant() : null;
  return Array.from({ length: opts.batchSize }, (_, i) => ({
    kind: 'bench:event',
    tenantId: one ?? randomTenant(),
    // 16 users per tenant, 1,024 recipients in all (the main bench has 1,000): their
    // preferences stay in the policy cache, as a steady workload's do.
    userIds: [`u${i % 16}`],
    title: 'bench',
    data: { t: now() },
  }));
};

async function run(env, label) {
  const setup = await startSetup('mysql1', env);
  const poster = createPoster({ urls: setup.urls, apiKey: API_KEY, tenantId: 'unused', maxSockets: opts.lanes });
  const dbPid = databaseServerPid();
  try {
    // Warm-up: JIT, pool connections, InnoDB pages.
    await postFlatOut({ durationMs: 1000 }, opts.lanes, () => poster.postItems(items()));
    await drain(setup.urls);
    const batchesBefore = await writeBatches(setup.urls);
    const cpuBefore = setup.cpuSeconds();
    const dbBefore = dbPid ? readCpuSeconds(dbPid) : null;
    const locksBefore = await rowLockStatus();
    const sent = await postFlatOut({ durationMs: opts.seconds * 1000 }, opts.lanes, () => poster.postItems(items()));
    const end = now();
    const cpu = setup.cpuSeconds() - cpuBefore;
    const db = dbPid ? readCpuSeconds(dbPid) - dbBefore : null;
    const locksAfter = await rowLockStatus();
    const drainMs = (await drain(setup.urls)) ? now() - end : null;
    const batchesAfter = await writeBatches(setup.urls);
    const groupCommits = batchesAfter.count - batchesBefore.count;
    if (sent.committed !== sent.posted) console.log(`  ${label}: ${sent.posted - sent.committed} of ${sent.posted} not committed (${JSON.stringify(sent.statuses)}; ${sent.firstError ?? ''})`);
    return {
      label,
      committedPerSec: sent.committed / (sent.elapsedMs / 1000),
      gatewayUs: (cpu * 1e6) / Math.max(1, sent.committed),
      databaseUs: db === null ? null : (db * 1e6) / Math.max(1, sent.committed),
      meanGroupCommit: groupCommits > 0 ? (batchesAfter.sum - batchesBefore.sum) / groupCommits : null,
      drainMs,
      // Time writers spent waiting for row locks (the sequence rows), per second of the run.
      lockWaitMsPerSec: (locksAfter.time - locksBefore.time) / (sent.elapsedMs / 1000),
      lockWaits: locksAfter.waits - locksBefore.waits,
      deaths: setup.deaths(),
    };
  } finally {
    poster.close();
    await setup.stop();
  }
}

const fromDist = (path) => import(pathToFileURL(resolve(GATEWAY_DIST, path)).href);

/** The same measurement without HTTP: writers commit group commits straight through the NotificationWriter. */
async function runStoreOnly(partitions, label) {
  const [{ createStore }, { NotificationWriter }, { settleStreamLayout }] = await Promise.all([
    fromDist('src/store/store.js'),
    fromDist('src/outbox/notification-writer.js'),
    fromDist('src/stream/stream-layout.js'),
  ]);
  const database = await createMysqlDatabase();
  const store = createStore(database.url, { poolMax: 2 * opts.lanes + 2, acquireTimeoutMs: 30_000 });
  const dbPid = databaseServerPid();
  try {
    await store.migrate();
    const silent = { warn() {}, info() {}, error() {} };
    await settleStreamLayout(store, partitions, async () => [], silent);
    const writer = new NotificationWriter(store, () => undefined, {}, { partitions });
    // One lane per partition's worth of writers: each lane writes one partition's tenants.
    const lane = (i) => {
      const mine = tenantIds.filter((t) => writer.partitionOf(t).index === i % partitions);
      return () =>
        writer.writeBatch(
          Array.from({ length: opts.batchSize }, (_, k) => ({
            tenantId: mine[k % mine.length], kind: 'bench:event', scope: 'user', userIds: [`u${k % 16}`], title: 'bench', priority: 'medium',
          })),
        );
    };
    const flatOut = async (ms) => {
      const end = now() + ms;
      let committed = 0;
      await Promise.all(
        Array.from({ length: opts.lanes }, async (_, i) => {
          const write = lane(i);
          while (now() < end) for (const o of await write()) if ('ok' in o) committed += 1;
        }),
      );
      return committed;
    };
    await flatOut(1000);
    const cpuBefore = process.cpuUsage();
    const dbBefore = dbPid ? readCpuSeconds(dbPid) : null;
    const locksBefore = await rowLockStatus();
    const start = now();
    const committed = await flatOut(opts.seconds * 1000);
    const seconds = (now() - start) / 1000;
    const cpu = process.cpuUsage(cpuBefore);
    const locksAfter = await rowLockStatus();
    return {
      label,
      committedPerSec: committed / seconds,
      gatewayUs: (cpu.user + cpu.system) / Math.max(1, committed),
      databaseUs: dbPid ? ((readCpuSeconds(dbPid) - dbBefore) * 1e6) / Math.max(1, committed) : null,
      meanGroupCommit: opts.batchSize,
      drainMs: null,
      lockWaitMsPerSec: (locksAfter.time - locksBefore.time) / seconds,
      lockWaits: locksAfter.waits - locksBefore.waits,
      deaths: [],
    };
  } finally {
    await store.close();
    await database.drop();
  }
}

/** MariaDB's counters of row lock waits (server-wide: this bench is its only writer). */
async function rowLockStatus() {
  const conn = await mysql.createConnection({ uri: MYSQL_URL });
  try {
    const [rows] = await conn.query("SHOW GLOBAL STATUS WHERE Variable_name IN ('Innodb_row_lock_time', 'Innodb_row_lock_waits')");
    const of = (name) => Number(rows.find((r) => r.Variable_name === name)?.Value ?? 0);
    return { time: of('Innodb_row_lock_time'), waits: of('Innodb_row_lock_waits') };
  } finally {
    await conn.end();
  }
}

/** Until every instance's relays published all they committed; false past the timeout. */
const drain = (urls) => waitForEmptyOutbox(urls, DRAIN_TIMEOUT_MS).then(() => true, () => false);

const median = (values) => {
  const s = values.filter((x) => x !== null && x !== undefined).sort((a, b) => a - b);
  return s.length === 0 ? null : s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};
const int = (n) => (n === null || n === undefined ? '—' : Math.round(n).toLocaleString('en-US'));

async function main() {
  const problem = await servicesProblem();
  if (problem) throw new Error(problem);
  if (!values['no-build']) execFileSync('npm', ['run', 'build'], { stdio: 'inherit' });
  const conn = await mysql.createConnection({ uri: MYSQL_URL });
  const [[vars]] = await conn.query('SELECT @@innodb_flush_log_at_trx_commit AS flush, @@version AS version');
  await conn.end();
  console.log(
    `partitioned batch ingest${values['store-only'] ? ' (store only: no HTTP, writer CPU in the gateway column)' : ''}${values['tenant-per-request'] ? ' (one tenant per request)' : ''}: ${opts.lanes} lanes × ${opts.batchSize} items, ${opts.tenants} tenants, ${opts.seconds} s per run, ${opts.rounds} round(s); ` +
      `MariaDB ${vars.version}, innodb_flush_log_at_trx_commit=${vars.flush}${Number(vars.flush) === 1 ? ' (fsync at every commit)' : ' (NOT fsynced at every commit)'}`,
  );
  const results = new Map(opts.partitions.map((p) => [p, []]));
  for (let round = 0; round < opts.rounds; round++) {
    for (const p of opts.partitions) {
      const r = values['store-only'] ? await runStoreOnly(p, `${p} partition(s), store only`) : await run({ STREAM_PARTITIONS: String(p) }, `${p} partition(s)`);
      results.get(p).push(r);
      console.log(`  round ${round + 1}, ${r.label}: ${int(r.committedPerSec)}/s, gateway ${int(r.gatewayUs)} µs, MariaDB ${int(r.databaseUs)} µs, group ${int(r.meanGroupCommit)}, row lock waits ${int(r.lockWaits)} (${int(r.lockWaitMsPerSec)} ms/s), drained ${int(r.drainMs)} ms${r.deaths.length ? `, DIED: ${r.deaths}` : ''}`);
    }
  }
  const naive = opts.naive && !values['store-only'] ? await run({ WRITE_BATCHING: 'false' }, 'naive (a transaction per notification, 1 partition)') : null;
  console.log('\n| stream partitions | committed/s best | median | gateway CPU µs/notif. (median) | MariaDB CPU µs/notif. (median) | mean group commit | row lock wait ms per s (median) | relays drained after last POST (median) |');
  console.log('|---|---:|---:|---:|---:|---:|---:|---:|');
  const baseline = median(results.get(opts.partitions[0]).map((r) => r.committedPerSec));
  for (const [p, rs] of results) {
    const m = median(rs.map((r) => r.committedPerSec));
    console.log(
      `| ${p} | ${int(Math.max(...rs.map((r) => r.committedPerSec)))} | ${int(m)} (${(m / baseline).toFixed(2)}×) | ${int(median(rs.map((r) => r.gatewayUs)))} | ${int(median(rs.map((r) => r.databaseUs)))} | ${int(median(rs.map((r) => r.meanGroupCommit)))} | ${int(median(rs.map((r) => r.lockWaitMsPerSec)))} | ${values['store-only'] ? '—' : `${int(median(rs.map((r) => r.drainMs)))} ms`} |`,
    );
  }
  if (naive) {
    console.log(`| naive | ${int(naive.committedPerSec)} | (${(naive.committedPerSec / baseline).toFixed(2)}× of ${opts.partitions[0]}) | ${int(naive.gatewayUs)} | ${int(naive.databaseUs)} | — | ${int(naive.lockWaitMsPerSec)} | ${int(naive.drainMs)} ms |`);
  }
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
