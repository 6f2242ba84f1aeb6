/**
 * The cost of one notification on the single-POST path: --cost-count (20,000) POSTs to one
 * connected user each, --cost-concurrency (64) keep-alive lanes, until every one is received
 * → CPU time per notification of the gateway processes, the MariaDB server and Redis.
 *
 * CPU, not wall time: the box is shared (clients, load generator, other work), so rates
 * move with whatever else runs; a process's own CPU time per notification is steadier.
 *   gateway   /proc/<pid>/stat of every instance (user + system)
 *   database  /proc/<pid>/stat of the local mariadbd/mysqld (includes its other clients)
 *   redis     INFO cpu of the Redis the setup uses (used_cpu_user + used_cpu_sys; every
 *             client of that server counts)
 * The same phase runs on the naive gateways (WRITE_BATCHING=false) in the same run.
 */
import Redis from 'ioredis';
import { now } from './clock.mjs';
import { userId } from './client-pool.mjs';
import { REDIS_URL, SETUPS, databaseServerPid, readCpuSeconds } from './gateways.mjs';
import { postFlatOut } from './poster.mjs';

const randomUser = (opts) => userId(Math.floor(Math.random() * opts.clients));

export async function postCost({ setup, pool, poster, opts }) {
  const services = SETUPS[setup.name].services;
  const redis = services ? new Redis(REDIS_URL, { maxRetriesPerRequest: 1 }) : null;
  try {
    // Untimed: JIT, pools and caches warm before the measured window.
    await pool.phase('cost-warm');
    const warm = await postFlatOut({ count: opts.warmup }, opts.costConcurrency, () => poster.post(randomUser(opts), 'cost-warm'));
    await pool.waitForUnique(warm.committed, opts.drainMs);

    await pool.phase('cost');
    const dbPid = services ? databaseServerPid() : null;
    const before = await cpuNow(setup, dbPid, redis);
    const start = now();
    const sent = await postFlatOut({ count: opts.costCount }, opts.costConcurrency, () => poster.post(randomUser(opts), 'cost'));
    const counts = await pool.waitForUnique(sent.committed, opts.drainMs);
    const receivedMs = now() - start;
    const after = await cpuNow(setup, dbPid, redis);
    await pool.collect();
    const perNotification = (key) =>
      before[key] === null || after[key] === null ? null : ((after[key] - before[key]) * 1e6) / Math.max(1, sent.committed);
    return {
      count: opts.costCount,
      concurrency: opts.costConcurrency,
      posted: sent.posted,
      committed: sent.committed,
      statuses: sent.statuses,
      firstError: sent.firstError,
      received: counts.unique,
      postMs: sent.elapsedMs,
      receivedMs,
      committedPerSec: sent.committed / (sent.elapsedMs / 1000),
      cpuUs: { gateway: perNotification('gateway'), database: perNotification('database'), redis: perNotification('redis') },
    };
  } finally {
    redis?.disconnect();
  }
}

async function cpuNow(setup, dbPid, redis) {
  return {
    gateway: setup.cpuSeconds(),
    database: dbPid === null ? null : readCpuSeconds(dbPid),
    redis: redis === null ? null : await redisCpuSeconds(redis),
  };
}

/** Redis's own account of its CPU time (works for a Redis on another host too). */
async function redisCpuSeconds(redis) {
  const info = await redis.info('cpu');
  const field = (name) => Number(new RegExp(`^${name}:([\\d.]+)`, 'm').exec(info)?.[1] ?? NaN);
  const seconds = field('used_cpu_user') + field('used_cpu_sys');
  return Number.isFinite(seconds) ? seconds : null;
}
