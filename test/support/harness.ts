/**
 * Starts real gateway instances on port 0 against the driver under test, signs user
 * tokens and posts notifications over real HTTP. Every instance is closed by `stopAll`.
 */
import jwt from 'jsonwebtoken';
import { parseConfig } from '../../src/config/config.js';
import { createGateway, type Gateway, type GatewayOptions } from '../../src/gateway.js';
import { createTestDatabase, randomName, type TestDatabase } from './drivers.js';

export const JWT_SECRET = 'test-secret-that-is-long-enough-0123456789';
export const API_KEY = 'test-key-any-tenant-0001';
export const ACME_KEY = 'test-key-bound-acme-0001';

export interface RunningGateway {
  gateway: Gateway;
  url: string;
  close(): Promise<void>;
}

export interface TestBed {
  db: TestDatabase;
  start(env?: Record<string, string>, options?: GatewayOptions): Promise<RunningGateway>;
  stopAll(): Promise<void>;
}

export async function createTestBed(): Promise<TestBed> {
  const db = await createTestDatabase();
  const running = new Set<RunningGateway>();
  return {
    db,
    async start(env = {}, options = {}) {
      const config = parseConfig({
        NODE_ENV: 'test',
        DATABASE_URL: db.url,
        REDIS_URL: db.redisUrl,
        REDIS_KEY_PREFIX: db.redisPrefix,
        JWT_SECRET,
        NOTIFY_API_KEYS: `${API_KEY},${ACME_KEY}:acme`,
        LOG_LEVEL: 'silent',
        RELAY_POLL_MS: '200',
        RELAY_LEASE_RETRY_MS: '100',
        ...env,
      });
      const gateway = await createGateway(config, { defaultMetrics: false, ...options });
      const port = await gateway.listen(0, '127.0.0.1');
      let closed = false;
      const handle: RunningGateway = {
        gateway,
        url: `http://127.0.0.1:${port}`,
        async close() {
          if (closed) return;
          closed = true;
          running.delete(handle);
          await gateway.close();
        },
      };
      running.add(handle);
      return handle;
    },
    async stopAll() {
      await Promise.all([...running].map((g) => g.close()));
      await db.drop();
    },
  };
}

export function signToken(claims: Record<string, unknown>, options: jwt.SignOptions = {}, secret = JWT_SECRET): string {
  return jwt.sign(claims, secret, { algorithm: 'HS256', expiresIn: '1h', ...options });
}

export function userToken(userId: string, tenantId = 'default'): string {
  return signToken({ sub: userId, tid: tenantId });
}

export const uniqueUser = (label = 'u') => randomName(`${label}-`);

export interface NotifyResponse {
  status: number;
  body: Record<string, unknown> & { id?: string; error?: { code: string; message: string; details?: unknown } };
  headers: Headers;
}

export async function postNotify(
  baseUrl: string,
  kind: string,
  body: unknown,
  options: { key?: string | null; headers?: Record<string, string>; raw?: string } = {},
): Promise<NotifyResponse> {
  const key = options.key === undefined ? API_KEY : options.key;
  const response = await fetch(`${baseUrl}/api/notify/${kind}`, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      ...(key === null ? {} : { 'x-api-key': key }),
      ...options.headers,
    },
    body: options.raw ?? JSON.stringify(body),
  });
  return { status: response.status, body: (await response.json()) as NotifyResponse['body'], headers: response.headers };
}

/** POST and insist on 201; returns the new id. */
export async function notifyUser(baseUrl: string, userId: string, title: string, extra: Record<string, unknown> = {}) {
  const res = await postNotify(baseUrl, 'test:event', { userId, title, ...extra });
  if (res.status !== 201) throw new Error(`notify failed: ${res.status} ${JSON.stringify(res.body)}`);
  return res.body.id as string;
}
