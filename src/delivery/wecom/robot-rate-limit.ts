/**
 * "At most `limit` sends in ANY window of `windowMs` per robot" (WeCom: 20 a minute).
 *
 * Rules, and why:
 * - Sliding window, not fixed buckets: a fixed window admits `limit` at the end of one
 *   bucket and `limit` again at the start of the next, 2x the robot's limit within a few
 *   milliseconds, and the robot answers the excess with 45009 and a minute's ban.
 * - `reserve` answers 0 when the send is admitted, and then it is already counted (check
 *   and count are one step, so two callers never both take the last slot); otherwise the
 *   milliseconds until the oldest counted send leaves the window, and nothing is counted.
 * - A send counts from the moment it is reserved, the robot counts it when it arrives;
 *   the two differ by the request's latency, which differs between requests. Hence the
 *   production window (WECOM_ROBOT_RATE) is the robot's minute plus a margin.
 * - Redis: one Lua script over a sorted set per robot, so instances sharing a Redis share
 *   the window atomically. The clock is Redis's (TIME), not each instance's, so clock
 *   skew between instances cannot stretch or shrink the window (writing after TIME in a
 *   script needs Redis >= 5; compose runs 7.4). The key expires one window after the
 *   last admitted send, so idle robots leave nothing behind.
 * - The robot identity is opaque here; the channel passes a SHA-256 of the robot key,
 *   so the key itself never reaches Redis.
 */
import { createHash, randomUUID } from 'node:crypto';
import type { RedisClient } from '../../redis/redis-client.js';

export interface RobotRateLimit {
  /** 0 when admitted (and counted), else the ms until a slot frees (nothing counted). */
  reserve(robot: string): Promise<number>;
}

export interface RobotRateLimitOptions {
  limit: number;
  windowMs: number;
}

/** WeCom allows 20 a minute per robot; the extra second absorbs uneven request latency. */
export const WECOM_ROBOT_RATE: Readonly<RobotRateLimitOptions> = { limit: 20, windowMs: 61_000 };

export function createMemoryRobotRateLimit(options: RobotRateLimitOptions & { now?: () => number }): RobotRateLimit {
  const { limit, windowMs } = checked(options);
  const now = options.now ?? Date.now;
  const sent = new Map<string, number[]>(); // per robot, admission times, oldest first
  let nextSweep = 0;
  return {
    async reserve(robot) {
      const at = now();
      if (at >= nextSweep) {
        // Robots that went quiet would otherwise keep their arrays forever.
        for (const [key, times] of sent) if (live(times, at).length === 0) sent.delete(key);
        nextSweep = at + windowMs;
      }
      const times = live(sent.get(robot) ?? [], at);
      if (times.length < limit) {
        times.push(at);
        sent.set(robot, times);
        return 0;
      }
      sent.set(robot, times);
      // With more entries than `limit` (the limit was lowered), enough of them must expire.
      return Math.max(1, times[times.length - limit]! + windowMs - at);
    },
  };

  function live(times: number[], at: number): number[] {
    let expired = 0;
    while (expired < times.length && times[expired]! <= at - windowMs) expired++;
    return expired === 0 ? times : times.slice(expired);
  }
}

const RESERVE_SCRIPT = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local window = tonumber(ARGV[1])
local limit = tonumber(ARGV[2])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - window)
local count = redis.call('ZCARD', KEYS[1])
if count < limit then
  redis.call('ZADD', KEYS[1], now, now .. ':' .. ARGV[3])
  redis.call('PEXPIRE', KEYS[1], window)
  return 0
end
local oldest = redis.call('ZRANGE', KEYS[1], count - limit, count - limit, 'WITHSCORES')
local wait = tonumber(oldest[2]) + window - now
if wait < 1 then wait = 1 end
return wait
`;
const RESERVE_SHA = createHash('sha1').update(RESERVE_SCRIPT).digest('hex');

export function createRedisRobotRateLimit(redis: RedisClient, options: RobotRateLimitOptions & { keyPrefix: string }): RobotRateLimit {
  const { limit, windowMs } = checked(options);
  return {
    async reserve(robot) {
      const key = `${options.keyPrefix}:wecom-rate:${robot}`;
      // The member only has to be unique: two sends in one millisecond are two entries.
      const args = [1, key, windowMs, limit, randomUUID()] as const;
      let reply: unknown;
      try {
        reply = await redis.evalsha(RESERVE_SHA, ...args);
      } catch (error) {
        // After a Redis restart or SCRIPT FLUSH the cached script is gone: send it whole.
        if (!(error instanceof Error) || !error.message.startsWith('NOSCRIPT')) throw error;
        reply = await redis.eval(RESERVE_SCRIPT, ...args);
      }
      if (typeof reply !== 'number') throw new Error(`unexpected reply from the rate limit script: ${String(reply)}`);
      return reply;
    },
  };
}

function checked(options: RobotRateLimitOptions): RobotRateLimitOptions {
  if (!Number.isInteger(options.limit) || options.limit < 1) throw new Error(`limit must be a positive integer, got ${options.limit}`);
  if (!Number.isInteger(options.windowMs) || options.windowMs < 1) throw new Error(`windowMs must be a positive integer, got ${options.windowMs}`);
  return { limit: options.limit, windowMs: options.windowMs };
}
