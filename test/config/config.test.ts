/**
 * Config is an explicit list of variables → one schema → a frozen object; malformed
 * values fail at start naming the variable; production refuses to start without a
 * secret or keys; outside production, dev credentials are generated once and reused.
 */
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import jwt from 'jsonwebtoken';
import { afterEach, describe, expect, it } from 'vitest';
import { ConfigError, parseConfig } from '../../src/config/config.js';
import { withDevCredentials } from '../../src/config/dev-credentials.js';

const SECRET = 'a-secret-that-is-at-least-32-chars-long';
const KEY = 'service-key-0123456789';

function configError(env: Record<string, string>): ConfigError {
  try {
    parseConfig(env);
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return error as ConfigError;
  }
  throw new Error(`parseConfig accepted ${JSON.stringify(env)}`);
}

describe('parseConfig', () => {
  it('fills the documented defaults from an empty environment', () => {
    const config = parseConfig({});
    expect(config).toMatchObject({
      NODE_ENV: 'development',
      PORT: 3000,
      HOST: '0.0.0.0',
      DATABASE_URL: 'sqlite:./data/notify.db',
      REDIS_KEY_PREFIX: 'notify',
      LOG_LEVEL: 'info',
      REPLAY_RETENTION_HOURS: 24,
      INBOX_RETENTION_DAYS: 30,
      RELAY_POLL_MS: 500,
      RELAY_BATCH_SIZE: 500,
      REPLAY_PAGE_SIZE: 200,
      DB_POOL_MAX: 10,
      DB_ACQUIRE_TIMEOUT_MS: 5000,
      NOTIFY_API_KEYS: [],
      DEMO_PAGE: true,
      isProduction: false,
    });
    expect(config.REDIS_URL).toBeUndefined();
    expect(config.JWT_SECRET).toBeUndefined();
    expect(config.JWT_PUBLIC_KEY).toBeUndefined();
  });

  it('treats empty strings as unset and ignores variables it does not own', () => {
    const config = parseConfig({ PORT: '', REDIS_URL: '', JWT_SECRET: '', PATH: '/usr/bin', HOME: '/root' });
    expect(config.PORT).toBe(3000);
    expect(config.REDIS_URL).toBeUndefined();
    expect(config.JWT_SECRET).toBeUndefined();
    expect(config).not.toHaveProperty('PATH');
  });

  it('coerces numbers and booleans', () => {
    const config = parseConfig({ PORT: '8080', DB_POOL_MAX: '4', DEMO_PAGE: 'false', NODE_ENV: 'test' });
    expect(config).toMatchObject({ PORT: 8080, DB_POOL_MAX: 4, DEMO_PAGE: false, NODE_ENV: 'test' });
  });

  it.each<[string, Record<string, string>, string]>([
    ['PORT=abc', { PORT: 'abc' }, 'PORT'],
    ['PORT out of range', { PORT: '70000' }, 'PORT'],
    ['PORT not an integer', { PORT: '80.5' }, 'PORT'],
    ['DATABASE_URL=postgres://…', { DATABASE_URL: 'postgres://db.example.test/notify' }, 'DATABASE_URL'],
    ['REDIS_URL=http://…', { REDIS_URL: 'http://cache:6379' }, 'REDIS_URL'],
    ['LOG_LEVEL=verbose', { LOG_LEVEL: 'verbose' }, 'LOG_LEVEL'],
    ['NODE_ENV=staging', { NODE_ENV: 'staging' }, 'NODE_ENV'],
    ['short JWT_SECRET', { JWT_SECRET: 'too-short' }, 'JWT_SECRET'],
    ['JWT_PUBLIC_KEY not a PEM', { JWT_PUBLIC_KEY: 'ssh-rsa AAAA' }, 'JWT_PUBLIC_KEY'],
    ['DEMO_PAGE=yes', { DEMO_PAGE: 'yes' }, 'DEMO_PAGE'],
    ['RELAY_POLL_MS below the minimum', { RELAY_POLL_MS: '1' }, 'RELAY_POLL_MS'],
    ['DB_POOL_MAX=0', { DB_POOL_MAX: '0' }, 'DB_POOL_MAX'],
    ['NOTIFY_API_KEYS with a short key', { NOTIFY_API_KEYS: 'short' }, 'NOTIFY_API_KEYS'],
    ['NOTIFY_API_KEYS with three colons', { NOTIFY_API_KEYS: `${KEY}:acme:crm:x` }, 'NOTIFY_API_KEYS'],
    ['NOTIFY_API_KEYS with a bad app', { NOTIFY_API_KEYS: `${KEY}:acme:CRM` }, 'NOTIFY_API_KEYS'],
    ['NOTIFY_API_KEYS with an empty app', { NOTIFY_API_KEYS: `${KEY}:acme:` }, 'NOTIFY_API_KEYS'],
    ['NOTIFY_API_KEYS with no tenant and no app', { NOTIFY_API_KEYS: `${KEY}::` }, 'NOTIFY_API_KEYS'],
    ['NOTIFY_API_KEYS with an empty tenant', { NOTIFY_API_KEYS: `${KEY}:` }, 'NOTIFY_API_KEYS'],
    ['NOTIFY_API_KEYS with a bad tenant', { NOTIFY_API_KEYS: `${KEY}:ac me` }, 'NOTIFY_API_KEYS'],
    ['NOTIFY_API_KEYS with one bad key among good ones', { NOTIFY_API_KEYS: `${KEY},tiny` }, 'NOTIFY_API_KEYS'],
  ])('%s fails with a ConfigError naming the variable', (_name, env, variable) => {
    expect(configError(env).message).toContain(variable);
  });

  it('names every malformed variable at once', () => {
    const message = configError({ PORT: 'abc', LOG_LEVEL: 'verbose' }).message;
    expect(message).toContain('PORT');
    expect(message).toContain('LOG_LEVEL');
  });

  it('refuses JWT_SECRET and JWT_PUBLIC_KEY together', () => {
    const pem = '-----BEGIN PUBLIC KEY-----\nMFkw\n-----END PUBLIC KEY-----';
    expect(configError({ JWT_SECRET: SECRET, JWT_PUBLIC_KEY: pem }).message).toMatch(/either JWT_SECRET .* or JWT_PUBLIC_KEY/);
  });

  it.each<[string, Record<string, string>, RegExp]>([
    ['without a secret or public key', { NOTIFY_API_KEYS: KEY }, /production requires JWT_SECRET or JWT_PUBLIC_KEY/],
    ['without API keys', { JWT_SECRET: SECRET }, /production requires NOTIFY_API_KEYS/],
    ['with nothing', {}, /production requires/],
  ])('production %s refuses to start with a clear message', (_name, env, message) => {
    expect(configError({ NODE_ENV: 'production', ...env }).message).toMatch(message);
  });

  it('production with a secret and keys starts, demo page off unless asked for', () => {
    const config = parseConfig({ NODE_ENV: 'production', JWT_SECRET: SECRET, NOTIFY_API_KEYS: KEY });
    expect(config).toMatchObject({ isProduction: true, DEMO_PAGE: false });
    expect(parseConfig({ NODE_ENV: 'production', JWT_SECRET: SECRET, NOTIFY_API_KEYS: KEY, DEMO_PAGE: 'true' }).DEMO_PAGE).toBe(true);
  });

  it('binds a key to an app with "key:tenant:app" or "key::app"', () => {
    const config = parseConfig({ NOTIFY_API_KEYS: `${KEY}:acme:crm,erp-key-0123456789::erp` });
    expect(config.NOTIFY_API_KEYS).toEqual([
      { key: KEY, tenantId: 'acme', app: 'crm' },
      { key: 'erp-key-0123456789', tenantId: null, app: 'erp' },
    ]);
  });

  it('parses "key" and "key:tenant", trimming blanks and empty entries', () => {
    const config = parseConfig({ NOTIFY_API_KEYS: ` ${KEY} , other-key-0123456789:acme,, bound-key-0123456789:tenant_2.x ` });
    expect(config.NOTIFY_API_KEYS).toEqual([
      { key: KEY, tenantId: null, app: 'default' },
      { key: 'other-key-0123456789', tenantId: 'acme', app: 'default' },
      { key: 'bound-key-0123456789', tenantId: 'tenant_2.x', app: 'default' },
    ]);
  });

  it('returns a deeply frozen object', () => {
    const config = parseConfig({ NOTIFY_API_KEYS: `${KEY}:acme` });
    expect(Object.isFrozen(config)).toBe(true);
    expect(Object.isFrozen(config.NOTIFY_API_KEYS)).toBe(true);
    expect(Object.isFrozen(config.NOTIFY_API_KEYS[0])).toBe(true);
    expect(() => Object.assign(config, { PORT: 1 })).toThrow(TypeError);
    expect(() => (config.NOTIFY_API_KEYS as unknown as unknown[]).push({ key: KEY, tenantId: null, app: 'default' })).toThrow(TypeError);
    expect(config.PORT).toBe(3000);
  });
});

describe('withDevCredentials', () => {
  const dirs: string[] = [];
  const credentialsFile = () => {
    const dir = mkdtempSync(join(tmpdir(), 'notify-dev-cred-'));
    dirs.push(dir);
    return join(dir, 'nested', 'dev-credentials.json');
  };
  afterEach(() => {
    for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
  });

  it('generates a secret and a key once, stores them (0600) and reuses them on the next start', () => {
    const file = credentialsFile();
    const first = withDevCredentials(parseConfig({}), file);
    expect(first.demo).not.toBeNull();
    expect(first.config.JWT_SECRET).toMatch(/^[0-9a-f]{64}$/);
    expect(first.config.NOTIFY_API_KEYS).toEqual([{ key: expect.stringMatching(/^dev_[0-9a-f]{32}$/), tenantId: null, app: 'default' }]);
    expect(statSync(file).mode & 0o777).toBe(0o600);
    expect(JSON.parse(readFileSync(file, 'utf8'))).toEqual({
      jwtSecret: first.config.JWT_SECRET,
      apiKey: first.config.NOTIFY_API_KEYS[0]!.key,
    });

    const second = withDevCredentials(parseConfig({}), file);
    expect(second.config.JWT_SECRET).toBe(first.config.JWT_SECRET);
    expect(second.config.NOTIFY_API_KEYS).toEqual(first.config.NOTIFY_API_KEYS);
    expect(Object.isFrozen(second.config)).toBe(true);

    // The demo token is a real user token for the stored secret.
    const claims = jwt.verify(second.demo!.token, second.config.JWT_SECRET!, { algorithms: ['HS256'] }) as jwt.JwtPayload;
    expect(claims).toMatchObject({ sub: second.demo!.userId, tid: second.demo!.tenantId });
    expect(second.demo!.apiKey).toBe(first.config.NOTIFY_API_KEYS[0]!.key);
  });

  it('keeps what is configured and fills in only what is missing', () => {
    const file = credentialsFile();
    const onlySecret = withDevCredentials(parseConfig({ JWT_SECRET: SECRET }), file);
    expect(onlySecret.config.JWT_SECRET).toBe(SECRET);
    expect(onlySecret.config.NOTIFY_API_KEYS).toHaveLength(1);

    const onlyKey = withDevCredentials(parseConfig({ NOTIFY_API_KEYS: KEY }), file);
    expect(onlyKey.config.NOTIFY_API_KEYS).toEqual([{ key: KEY, tenantId: null, app: 'default' }]);
    expect(onlyKey.config.JWT_SECRET).toMatch(/^[0-9a-f]{64}$/);
  });

  it('does nothing when both are configured, or in production', () => {
    const file = credentialsFile();
    const configured = parseConfig({ JWT_SECRET: SECRET, NOTIFY_API_KEYS: KEY });
    const kept = withDevCredentials(configured, file);
    expect(kept.config).toBe(configured);
    expect(kept.demo).toBeNull();
    const production = parseConfig({ NODE_ENV: 'production', JWT_SECRET: SECRET, NOTIFY_API_KEYS: KEY });
    const untouched = withDevCredentials(production, file);
    expect(untouched.config).toBe(production);
    expect(untouched.demo).toBeNull();
    expect(() => statSync(file)).toThrow(/ENOENT/);
  });

  it('replaces a corrupt credentials file instead of failing', () => {
    const file = credentialsFile();
    const first = withDevCredentials(parseConfig({}), file);
    writeFileSync(file, '{"jwtSecret": ');
    const again = withDevCredentials(parseConfig({}), file);
    expect(again.config.JWT_SECRET).toMatch(/^[0-9a-f]{64}$/);
    expect(again.config.JWT_SECRET).not.toBe(first.config.JWT_SECRET);
    expect(JSON.parse(readFileSync(file, 'utf8'))).toMatchObject({ jwtSecret: again.config.JWT_SECRET });
  });
});
