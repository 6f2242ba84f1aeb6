/**
 * Start-up with a dependency down (README "Start-up"), with the compiled gateway as a
 * real process: Redis (a private redis-server, started late) and MySQL (a URL whose port
 * answers only once a TCP proxy to the real server is started there) are waited for.
 * Meanwhile the process stays up, logs "waiting for <VARIABLE> (<where>): <why>, retry
 * in N s", answers /healthz 200 and /readyz 503 on its port and prints no banner; once
 * the dependency answers it becomes ready, prints the banner once, and works. Nothing is
 * left unhandled (the Redis case used to end in MaxRetriesPerRequestError and a pm2
 * restart loop; the MySQL case in a failed migration and exit 1).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import mysql from 'mysql2/promise';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createMysqlDatabase } from '../support/drivers.js';
import { API_KEY, JWT_SECRET } from '../support/harness.js';
import { freePort } from '../support/ports.js';
import { RedisServer } from '../support/redis-server.js';
import { startTcpProxy, type TcpProxy } from '../support/tcp-proxy.js';
import { until } from '../support/until.js';
import { ensureBuilt } from './support/build.js';
import { ROOT, repoPath } from './support/repo.js';

const BANNER = 'notify gateway listening';

interface Started {
  url: string;
  child: ChildProcess;
  output(): string;
  exited(): boolean;
  stop(): Promise<void>;
}

const running: Started[] = [];

/** The built gateway on a free port, not waited for: a test watches its start-up. */
async function spawnGateway(env: Record<string, string>): Promise<Started> {
  const port = await freePort();
  const child = spawn(process.execPath, [repoPath('dist', 'src', 'main.js')], {
    cwd: ROOT,
    env: {
      PATH: process.env.PATH ?? '',
      NODE_ENV: 'test',
      HOST: '127.0.0.1',
      PORT: String(port),
      JWT_SECRET,
      NOTIFY_API_KEYS: API_KEY,
      LOG_LEVEL: 'info',
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  let exit: string | null = null;
  child.stdout!.on('data', (chunk: Buffer) => (output += chunk.toString('utf8')));
  child.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString('utf8')));
  child.once('exit', (code, signal) => (exit = `code ${code}, signal ${signal}`));
  const started: Started = {
    url: `http://127.0.0.1:${port}`,
    child,
    output: () => output,
    exited: () => exit !== null,
    async stop() {
      if (exit !== null) return;
      const gone = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGKILL');
      await gone;
    },
  };
  running.push(started);
  return started;
}

const get = async (url: string) => {
  const res = await fetch(url);
  return { status: res.status, body: (await res.json()) as Record<string, unknown>, headers: res.headers };
};

const count = (text: string, needle: string) => text.split(needle).length - 1;

/** Waits for `n` "waiting for …" lines naming `variable`, the process up throughout. */
async function waitingLines(gateway: Started, variable: string, n: number): Promise<string[]> {
  await until(() => count(gateway.output(), `waiting for ${variable} (`) >= n || gateway.exited(), `${n} waiting lines`, 30_000, 50);
  expect(gateway.exited(), gateway.output()).toBe(false);
  return gateway.output().split('\n').filter((line) => line.includes(`waiting for ${variable} (`));
}

async function expectStarting(gateway: Started, variable: string, check: string): Promise<void> {
  const health = await get(`${gateway.url}/healthz`);
  expect(health.status).toBe(200);
  const ready = await get(`${gateway.url}/readyz`);
  expect(ready.status).toBe(503);
  expect(ready.body).toMatchObject({ status: 'starting', checks: { [check]: 'down' }, waitingFor: [variable] });
  const other = await get(`${gateway.url}/api/notifications`);
  expect(other.status).toBe(503);
  expect(other.body).toMatchObject({ error: { code: 'NOT_READY' } });
  expect(other.headers.get('retry-after')).toBe('5');
  expect(gateway.output()).not.toContain(BANNER);
}

async function expectReadyAndWorking(gateway: Started): Promise<void> {
  await until(async () => (await fetch(`${gateway.url}/readyz`)).status === 200 || gateway.exited(), 'readyz 200', 30_000, 100);
  expect(gateway.exited(), gateway.output()).toBe(false);
  const res = await fetch(`${gateway.url}/api/notify/startup:check`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-api-key': API_KEY },
    body: JSON.stringify({ userId: 'u1', title: 'after the wait' }),
  });
  expect(res.status).toBe(201);
  await until(() => gateway.output().includes(BANNER), 'the banner', 5_000);
  const output = gateway.output();
  expect(count(output, BANNER)).toBe(1);
  expect(output).not.toMatch(/Unhandled|MaxRetriesPerRequestError|failed to start/);
}

beforeAll(() => ensureBuilt(), 200_000);
afterEach(async () => {
  await Promise.all(running.splice(0).map((g) => g.stop()));
});

describe('Redis (REDIS_URL) not up at start', () => {
  let redis: RedisServer;
  const dir = mkdtempSync(join(tmpdir(), 'notify-startup-'));
  beforeAll(async () => {
    // Started once to own a port, stopped: the URL points at a closed port until restart().
    redis = await RedisServer.start();
    await redis.stop();
  });
  afterAll(async () => {
    await redis?.destroy();
    rmSync(dir, { recursive: true, force: true });
  });

  it('waits, says so, answers /readyz 503, and becomes ready once Redis is up', async () => {
    const gateway = await spawnGateway({ DATABASE_URL: `sqlite:${join(dir, 'notify.db')}`, REDIS_URL: redis.url, REDIS_KEY_PREFIX: 'startup' });
    const lines = await waitingLines(gateway, 'REDIS_URL', 2);
    expect(lines[0]).toContain(`waiting for REDIS_URL (redis://127.0.0.1:${redis.port}): ECONNREFUSED, retry in 1 s`);
    expect(lines[1]).toContain('retry in 2 s');
    await expectStarting(gateway, 'REDIS_URL', 'redis');

    await redis.restart();
    await expectReadyAndWorking(gateway);
    expect((await get(`${gateway.url}/readyz`)).body).toMatchObject({ status: 'ready', checks: { store: 'up', redis: 'up' } });
  }, 60_000);
});

describe('MySQL (DATABASE_URL) not up at start', () => {
  let proxy: TcpProxy | undefined;
  let database: { url: string; drop(): Promise<void> };
  beforeAll(async () => {
    database = await createMysqlDatabase('notify_su_');
  });
  afterAll(async () => {
    await proxy?.close();
    await database?.drop();
  });

  it('waits, says so without credentials, answers /readyz 503, and migrates and serves once MySQL answers', async () => {
    const real = new URL(database.url);
    const port = await freePort();
    const pointed = new URL(database.url);
    pointed.hostname = '127.0.0.1';
    pointed.port = String(port);
    const gateway = await spawnGateway({ DATABASE_URL: pointed.toString() });
    const dbName = real.pathname.slice(1);
    const lines = await waitingLines(gateway, 'DATABASE_URL', 2);
    expect(lines[0]).toContain(`waiting for DATABASE_URL (mysql://127.0.0.1:${port}/${dbName}): ECONNREFUSED, retry in 1 s`);
    expect(lines[0]).not.toContain('@');
    await expectStarting(gateway, 'DATABASE_URL', 'store');

    // The server "comes up" where the URL points.
    proxy = await startTcpProxy(real.hostname, Number(real.port || 3306), port);
    await expectReadyAndWorking(gateway);
    const conn = await mysql.createConnection({ uri: database.url });
    const [rows] = await conn.query<mysql.RowDataPacket[]>('SELECT COUNT(*) AS n FROM notify_messages');
    await conn.end();
    expect(rows[0]!.n).toBe(1);
  }, 60_000);
});
