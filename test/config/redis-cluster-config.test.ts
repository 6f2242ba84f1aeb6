/** REDIS_CLUSTER_NODES: `host:port` seeds, validated at start, never together with REDIS_URL. */
import { describe, expect, it } from 'vitest';
import { ConfigError, parseConfig } from '../../src/config/config.js';
import { redisTargetOf } from '../../src/redis/redis-client.js';

describe('REDIS_CLUSTER_NODES', () => {
  it('reads comma-separated host:port seeds (names, IPv4, bracketed IPv6), duplicates dropped', () => {
    const config = parseConfig({ REDIS_CLUSTER_NODES: 'redis-a:7000, 10.0.0.2:7001,[::1]:7002,redis-a:7000' });
    expect(config.REDIS_CLUSTER_NODES).toEqual([
      { host: 'redis-a', port: 7000 },
      { host: '10.0.0.2', port: 7001 },
      { host: '::1', port: 7002 },
    ]);
    expect(redisTargetOf(config)).toEqual({ kind: 'cluster', nodes: config.REDIS_CLUSTER_NODES });
  });

  it.each([
    ['no port', 'redis-a'],
    ['a URL', 'redis://redis-a:7000'],
    ['port 0', 'redis-a:0'],
    ['a port too large', 'redis-a:70000'],
    ['only commas', ' , '],
  ])('refuses %s, naming the variable', (_what, value) => {
    expect(() => parseConfig({ REDIS_CLUSTER_NODES: value })).toThrow(/REDIS_CLUSTER_NODES/);
  });

  it('refuses it together with REDIS_URL; either alone picks its client', () => {
    expect(() => parseConfig({ REDIS_URL: 'redis://cache:6379', REDIS_CLUSTER_NODES: 'redis-a:7000' })).toThrow(ConfigError);
    expect(() => parseConfig({ REDIS_URL: 'redis://cache:6379', REDIS_CLUSTER_NODES: 'redis-a:7000' })).toThrow(/either REDIS_URL or REDIS_CLUSTER_NODES/);
    expect(redisTargetOf(parseConfig({ REDIS_URL: 'redis://cache:6379' }))).toEqual({ kind: 'single', url: 'redis://cache:6379' });
    expect(redisTargetOf(parseConfig({}))).toBeNull();
  });
});
