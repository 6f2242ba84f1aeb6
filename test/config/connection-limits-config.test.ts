/** Realtime connection limits: documented defaults, 0 turns a limit off, bad values refused. */
import { describe, expect, it } from 'vitest';
import { ConfigError, parseConfig } from '../../src/config/config.js';

describe('connection limits configuration', () => {
  it('has the documented defaults', () => {
    expect(parseConfig({})).toMatchObject({
      CONNECT_RATE_PER_IP: 20,
      CONNECT_RATE_WINDOW_SECONDS: 2,
      MAX_SOCKETS_PER_USER: 20,
      MAX_STREAMS_PER_USER: 5,
      SOCKET_EVENTS_PER_SECOND: 20,
      SOCKET_EVENTS_BURST: 40,
    });
  });

  it('turns limits off with 0', () => {
    const config = parseConfig({ CONNECT_RATE_PER_IP: '0', MAX_SOCKETS_PER_USER: '0', MAX_STREAMS_PER_USER: '0', SOCKET_EVENTS_PER_SECOND: '0' });
    expect(config).toMatchObject({ CONNECT_RATE_PER_IP: 0, MAX_SOCKETS_PER_USER: 0, MAX_STREAMS_PER_USER: 0, SOCKET_EVENTS_PER_SECOND: 0 });
  });

  it('refuses negative, fractional and out-of-range values', () => {
    for (const env of [
      { CONNECT_RATE_PER_IP: '-1' },
      { CONNECT_RATE_PER_IP: '2.5' },
      { CONNECT_RATE_WINDOW_SECONDS: '0' },
      { MAX_SOCKETS_PER_USER: 'many' },
      { MAX_STREAMS_PER_USER: '-5' },
      { SOCKET_EVENTS_BURST: '0' },
    ]) {
      expect(() => parseConfig(env), JSON.stringify(env)).toThrow(ConfigError);
    }
  });
});
