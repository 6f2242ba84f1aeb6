/** The fan-out driver for the gateway's Redis: none → in process, one Redis, or a Redis Cluster. */
import type { Logger } from '../logger.js';
import type { RedisTarget } from '../redis/redis-client.js';
import type { Fanout } from './fanout.js';
import { createLocalFanout } from './local-fanout.js';
import { createRedisClusterFanout } from './redis-cluster-fanout.js';
import { createRedisFanout } from './redis-fanout.js';

export function createFanout(target: RedisTarget | null, keyPrefix: string, logger: Logger): Fanout {
  if (!target) return createLocalFanout();
  return target.kind === 'cluster' ? createRedisClusterFanout(target, keyPrefix, logger) : createRedisFanout(target.url, keyPrefix, logger);
}
