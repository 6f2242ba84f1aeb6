/**
 * SOCKET_PING_INTERVAL_MS / SOCKET_PING_TIMEOUT_MS: defaults that stay under a default
 * proxy idle timeout, and bounds that refuse values given in seconds or absurdly long.
 */
import { describe, expect, it } from 'vitest';
import { ConfigError, parseConfig } from '../../src/config/config.js';

function configError(env: Record<string, string>): string {
  try {
    parseConfig(env);
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return (error as Error).message;
  }
  throw new Error(`parseConfig accepted ${JSON.stringify(env)}`);
}

/** nginx's proxy_read_timeout when a site does not set one. */
const NGINX_DEFAULT_READ_TIMEOUT_MS = 60_000;

describe('socket heartbeat settings', () => {
  it('default to a 25 s ping with 20 s for the pong: the longest silence stays under a default proxy timeout', () => {
    const config = parseConfig({});
    expect(config.SOCKET_PING_INTERVAL_MS).toBe(25_000);
    expect(config.SOCKET_PING_TIMEOUT_MS).toBe(20_000);
    expect(config.SOCKET_PING_INTERVAL_MS + config.SOCKET_PING_TIMEOUT_MS).toBeLessThan(NGINX_DEFAULT_READ_TIMEOUT_MS);
  });

  it('take milliseconds within their bounds', () => {
    const config = parseConfig({ SOCKET_PING_INTERVAL_MS: '1000', SOCKET_PING_TIMEOUT_MS: '120000' });
    expect([config.SOCKET_PING_INTERVAL_MS, config.SOCKET_PING_TIMEOUT_MS]).toEqual([1000, 120_000]);
    expect(parseConfig({ SOCKET_PING_INTERVAL_MS: '300000' }).SOCKET_PING_INTERVAL_MS).toBe(300_000);
  });

  it.each([
    ['SOCKET_PING_INTERVAL_MS', '25'], // seconds, not milliseconds
    ['SOCKET_PING_INTERVAL_MS', '300001'],
    ['SOCKET_PING_INTERVAL_MS', '2.5s'],
    ['SOCKET_PING_TIMEOUT_MS', '20'],
    ['SOCKET_PING_TIMEOUT_MS', '120001'],
    ['SOCKET_PING_TIMEOUT_MS', '-1'],
  ])('refuse %s=%s, naming the variable', (name, value) => {
    expect(configError({ [name]: value })).toContain(name);
  });
});
