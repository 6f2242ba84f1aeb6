/**
 * CORS_ORIGINS and the HTTP server timeouts: documented defaults, exact origins only
 * (written as a browser sends them), and timeouts that Node accepts.
 */
import { describe, expect, it } from 'vitest';
import { ConfigError, parseConfig } from '../../src/config/config.js';
import { httpServerOptions } from '../../src/http/server-timeouts.js';

function configError(env: Record<string, string>): string {
  try {
    parseConfig(env);
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return (error as Error).message;
  }
  throw new Error(`parseConfig accepted ${JSON.stringify(env)}`);
}

describe('CORS_ORIGINS', () => {
  it('defaults to none (same-origin only)', () => {
    expect(parseConfig({}).CORS_ORIGINS).toEqual([]);
  });

  it('takes exact origins, comma-separated, trimmed, without duplicates, frozen', () => {
    const config = parseConfig({ CORS_ORIGINS: ' https://app.example.com, http://localhost:5173 ,https://app.example.com,' });
    expect(config.CORS_ORIGINS).toEqual(['https://app.example.com', 'http://localhost:5173']);
    expect(Object.isFrozen(config.CORS_ORIGINS)).toBe(true);
  });

  it.each([
    ['https://app.example.com/', 'https://app.example.com'],
    ['https://app.example.com/path', 'https://app.example.com'],
    ['https://App.Example.com', 'https://app.example.com'],
    ['https://app.example.com:443', 'https://app.example.com'],
    ['http://app.example.com:80', 'http://app.example.com'],
    ['https://app.example.com?x=1', 'https://app.example.com'],
  ])('refuses %s, suggesting %s', (origin, canonical) => {
    const message = configError({ CORS_ORIGINS: origin });
    expect(message).toContain('CORS_ORIGINS');
    expect(message).toContain(`write it as "${canonical}"`);
  });

  it.each(['*', 'null', 'app.example.com', 'ftp://files.example.com', 'chrome-extension://abcdef', 'https://'])('refuses %s', (origin) => {
    expect(configError({ CORS_ORIGINS: `https://ok.example.com,${origin}` })).toMatch(/CORS_ORIGINS: .* is not an http\(s\) origin/);
  });
});

describe('HTTP server timeouts', () => {
  it('default to 10 s for headers, 30 s for the request, 5 s keep-alive', () => {
    const config = parseConfig({});
    expect(config).toMatchObject({ HTTP_HEADERS_TIMEOUT_MS: 10_000, HTTP_REQUEST_TIMEOUT_MS: 30_000, HTTP_KEEP_ALIVE_TIMEOUT_MS: 5_000 });
    expect(httpServerOptions(config)).toEqual({
      headersTimeout: 10_000,
      requestTimeout: 30_000,
      keepAliveTimeout: 5_000,
      connectionsCheckingInterval: 1000,
    });
  });

  it('checks expiry often enough for short timeouts', () => {
    const config = parseConfig({ HTTP_HEADERS_TIMEOUT_MS: '300', HTTP_REQUEST_TIMEOUT_MS: '300', HTTP_KEEP_ALIVE_TIMEOUT_MS: '100' });
    expect(httpServerOptions(config).connectionsCheckingInterval).toBe(50);
  });

  it('refuses a headers timeout longer than the request timeout (Node would throw)', () => {
    expect(configError({ HTTP_HEADERS_TIMEOUT_MS: '20000', HTTP_REQUEST_TIMEOUT_MS: '10000' })).toContain(
      'HTTP_HEADERS_TIMEOUT_MS must not be longer than HTTP_REQUEST_TIMEOUT_MS',
    );
  });

  it.each([
    ['HTTP_HEADERS_TIMEOUT_MS', '0'],
    ['HTTP_REQUEST_TIMEOUT_MS', '50'],
    ['HTTP_KEEP_ALIVE_TIMEOUT_MS', 'soon'],
  ])('refuses %s=%s', (key, value) => {
    expect(configError({ [key]: value })).toContain(key);
  });
});
