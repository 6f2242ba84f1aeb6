/**
 * Start-up with a dependency down. Before the gateway builds itself (migrations, Redis
 * subscriptions), main.ts waits until DATABASE_URL (MySQL; an SQLite file is local) and
 * REDIS_URL (or REDIS_CLUSTER_NODES) answer, retrying with backoff and saying what it waits for:
 *
 *   waiting for REDIS_URL (redis://10.0.0.5:6379): ECONNREFUSED, retry in 2 s
 *
 * Nothing crashes and nothing is retried in a restart loop; meanwhile the starting
 * server (starting-server.ts) holds the port and answers /readyz 503. Addresses are
 * logged without credentials.
 */
import { Cluster, Redis } from 'ioredis';
import mysql from 'mysql2/promise';
import type { Config } from '../config/config.js';
import type { Logger } from '../logger.js';

export interface Dependency {
  /** The setting that names it, as the log line and /readyz say. */
  variable: 'DATABASE_URL' | 'REDIS_URL' | 'REDIS_CLUSTER_NODES';
  /** The /readyz check it becomes once the gateway runs (health-routes.ts). */
  check: 'store' | 'redis';
  /** Where it is, without credentials. */
  target: string;
  /** Resolves when it answers; rejects with why not. */
  probe(): Promise<void>;
}

/** A probe gives up after this (a silent host, a dropped SYN). */
const PROBE_TIMEOUT_MS = 5_000;
/** Waits between attempts; the last one repeats. */
export const RETRY_DELAYS_MS = [1_000, 2_000, 4_000, 8_000, 15_000] as const;

export function dependenciesOf(config: Pick<Config, 'DATABASE_URL' | 'REDIS_URL'> & Partial<Pick<Config, 'REDIS_CLUSTER_NODES'>>): Dependency[] {
  const dependencies: Dependency[] = [];
  if (config.DATABASE_URL.startsWith('mysql://')) {
    const url = config.DATABASE_URL;
    dependencies.push({ variable: 'DATABASE_URL', check: 'store', target: withoutCredentials(url), probe: () => probeMysql(url) });
  }
  if (config.REDIS_URL) {
    const url = config.REDIS_URL;
    dependencies.push({ variable: 'REDIS_URL', check: 'redis', target: withoutCredentials(url), probe: () => probeRedis(url) });
  }
  if (config.REDIS_CLUSTER_NODES) {
    const nodes = config.REDIS_CLUSTER_NODES;
    const target = nodes.map((node) => `${node.host}:${node.port}`).join(',');
    dependencies.push({ variable: 'REDIS_CLUSTER_NODES', check: 'redis', target, probe: () => probeRedisCluster(nodes) });
  }
  return dependencies;
}

export interface WaitOptions {
  /** Told which variables are still awaited, after every round (empty: all answer). */
  onWaiting?: (variables: readonly Dependency[]) => void;
  delaysMs?: readonly number[];
}

/** Resolves once every dependency answered (each is probed until it does). */
export async function waitForDependencies(dependencies: readonly Dependency[], logger: Logger, options: WaitOptions = {}): Promise<void> {
  const delays = options.delaysMs ?? RETRY_DELAYS_MS;
  let pending = [...dependencies];
  for (let attempt = 0; pending.length > 0; attempt++) {
    const failures = await Promise.all(pending.map(async (dependency) => ({ dependency, error: await failureOf(dependency) })));
    const down = failures.filter((f) => f.error !== null);
    for (const { dependency } of failures.filter((f) => f.error === null)) {
      if (attempt > 0) logger.info({ variable: dependency.variable, target: dependency.target }, `${dependency.variable} answers`);
    }
    pending = down.map((f) => f.dependency);
    options.onWaiting?.(pending);
    if (pending.length === 0) return;
    const delay = delays[Math.min(attempt, delays.length - 1)]!;
    for (const { dependency, error } of down) {
      logger.warn(
        { variable: dependency.variable, target: dependency.target, err: error, retryInMs: delay },
        `waiting for ${dependency.variable} (${dependency.target}): ${error}, retry in ${formatSeconds(delay)}`,
      );
    }
    await new Promise((resolve) => setTimeout(resolve, delay));
  }
}

async function failureOf(dependency: Dependency): Promise<string | null> {
  try {
    await withTimeout(dependency.probe(), PROBE_TIMEOUT_MS);
    return null;
  } catch (error) {
    return describe(error);
  }
}

async function probeMysql(url: string): Promise<void> {
  const conn = await mysql.createConnection({ uri: url, connectTimeout: PROBE_TIMEOUT_MS });
  try {
    await conn.ping();
  } finally {
    await conn.end().catch(() => conn.destroy());
  }
}

async function probeRedis(url: string): Promise<void> {
  const redis = new Redis(url, {
    lazyConnect: true,
    enableOfflineQueue: false,
    maxRetriesPerRequest: 0,
    retryStrategy: () => null,
    connectTimeout: PROBE_TIMEOUT_MS,
  });
  let lastError: unknown = null;
  redis.on('error', (error: unknown) => (lastError = error)); // reported by connect() below
  try {
    await redis.connect();
    await redis.ping();
  } catch (error) {
    throw lastError ?? error;
  } finally {
    redis.disconnect();
  }
}

/** The cluster answers: its slot map was read from a seed node and a command ran. */
async function probeRedisCluster(nodes: readonly { host: string; port: number }[]): Promise<void> {
  const cluster = new Cluster(
    nodes.map((node) => ({ ...node })),
    {
      lazyConnect: true,
      enableOfflineQueue: false,
      clusterRetryStrategy: () => null,
      redisOptions: { maxRetriesPerRequest: 0, connectTimeout: PROBE_TIMEOUT_MS },
    },
  );
  let lastError: unknown = null;
  cluster.on('error', (error: unknown) => (lastError = error));
  try {
    await cluster.connect();
    await cluster.ping();
  } catch (error) {
    throw lastError ?? error;
  } finally {
    cluster.disconnect();
  }
}

/** `scheme://host:port/path` only: no user, no password, no query. */
export function withoutCredentials(url: string): string {
  try {
    const parsed = new URL(url);
    return `${parsed.protocol}//${parsed.host}${parsed.pathname === '/' ? '' : parsed.pathname}`;
  } catch {
    return '(unparsable URL)';
  }
}

/** The error's code (ECONNREFUSED, ER_ACCESS_DENIED_ERROR, …), else its message. */
function describe(error: unknown): string {
  if (error && typeof error === 'object') {
    const { code, message } = error as { code?: unknown; message?: unknown };
    if (typeof code === 'string' && code !== '') return code;
    if (typeof message === 'string' && message !== '') return message;
  }
  return String(error);
}

const formatSeconds = (ms: number) => `${Number((ms / 1000).toFixed(1))} s`;

function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(Object.assign(new Error(`no answer within ${ms} ms`), { code: 'ETIMEDOUT' })), ms);
  });
  promise.catch(() => undefined); // a late failure after the timeout is not unhandled
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}
