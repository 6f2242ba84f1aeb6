/**
 * "The Redis" of a gateway, from config: REDIS_URL → one Redis, REDIS_CLUSTER_NODES → a
 * Redis Cluster (config.ts refuses both at once). Every Redis user (fan-out, limits,
 * presence, robot limits) gets its client here, so none of them can end up on a single
 * node of a cluster by accident.
 *
 * On a cluster, a command, Lua script or pipeline must keep its keys in one hash slot:
 * keys that one script touches together carry the same `{hash tag}` (see each user).
 */
import { Cluster, Redis, type ClusterOptions, type RedisOptions } from 'ioredis';
import type { Config } from '../config/config.js';

export type RedisTarget = { kind: 'single'; url: string } | { kind: 'cluster'; nodes: readonly ClusterNodeAddress[] };

export interface ClusterNodeAddress {
  host: string;
  port: number;
}

/** Either client: both speak the same commands; only the cluster routes them by slot. */
export type RedisClient = Redis | Cluster;

/** null: no Redis, one process. */
export function redisTargetOf(config: Pick<Config, 'REDIS_URL' | 'REDIS_CLUSTER_NODES'>): RedisTarget | null {
  if (config.REDIS_CLUSTER_NODES) return { kind: 'cluster', nodes: config.REDIS_CLUSTER_NODES };
  if (config.REDIS_URL) return { kind: 'single', url: config.REDIS_URL };
  return null;
}

/** For logs and /readyz: where it points, without credentials. */
export function describeRedisTarget(target: RedisTarget): string {
  if (target.kind === 'cluster') return `cluster ${target.nodes.map((n) => `${n.host}:${n.port}`).join(',')}`;
  try {
    const url = new URL(target.url);
    return `${url.protocol}//${url.host}`;
  } catch {
    return '(unparsable URL)';
  }
}

export interface ClientOptions extends RedisOptions {
  /** Cluster only: SSUBSCRIBE on a connection per shard (Redis 7 sharded Pub/Sub). */
  shardedSubscribers?: boolean;
}

/**
 * A client for the target. The connection options apply to every node of a cluster;
 * queueing and pipelining are the cluster's own options there.
 */
export function createRedisClient(target: RedisTarget, options: ClientOptions = {}): RedisClient {
  const { shardedSubscribers, ...redisOptions } = options;
  if (target.kind === 'single') return new Redis(target.url, redisOptions);
  const clusterOptions: ClusterOptions = {
    redisOptions,
    shardedSubscribers: shardedSubscribers ?? false,
    ...(redisOptions.enableOfflineQueue !== undefined && { enableOfflineQueue: redisOptions.enableOfflineQueue }),
    ...(redisOptions.enableAutoPipelining !== undefined && { enableAutoPipelining: redisOptions.enableAutoPipelining }),
    ...(redisOptions.lazyConnect !== undefined && { lazyConnect: redisOptions.lazyConnect }),
  };
  return new Cluster(
    target.nodes.map((node) => ({ host: node.host, port: node.port })),
    clusterOptions,
  );
}

/** Closes a client of createRedisClient: QUIT when it can, cut otherwise. */
export async function closeRedisClient(client: RedisClient): Promise<void> {
  await client.quit().catch(() => undefined);
  client.disconnect();
}
