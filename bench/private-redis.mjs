/**
 * A Redis server of the bench's own (`redis-server` on PATH, a free loopback port, no
 * persistence), so that its CPU time (INFO cpu) and its command counts (INFO
 * commandstats) are the gateways' alone: a Redis shared with other work counts that work
 * too. It outlives the setups (their cleanup runs every registered task), so it is not a
 * cleanup.mjs task: the caller stops it, and cleanup.mjs SIGKILLs it at exit otherwise.
 */
import { spawn } from 'node:child_process';
import { freePort } from './free-port.mjs';
import Redis from 'ioredis';
import { trackChild } from './cleanup.mjs';

const READY_TIMEOUT_MS = 10_000;

/** Resolves to { url, pid, stop } once the server answers PING. */
export async function startPrivateRedis() {
  const port = await freePort();
  const child = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  trackChild(child);
  let output = '';
  child.stdout.on('data', (chunk) => (output = (output + chunk).slice(-2000)));
  child.stderr.on('data', (chunk) => (output = (output + chunk).slice(-2000)));
  const exited = new Promise((resolve) => child.once('exit', resolve));
  const spawnError = new Promise((resolve) => child.once('error', resolve));
  const stop = async () => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    child.kill('SIGTERM');
    await exited;
  };
  const url = `redis://127.0.0.1:${port}`;
  const deadline = Date.now() + READY_TIMEOUT_MS;
  for (;;) {
    const error = await Promise.race([spawnError, ping(url)]);
    if (error === true) return { url, pid: child.pid, stop };
    if (error instanceof Error && error.code === 'ENOENT') throw new Error('redis-server not found on PATH (or use --shared-redis)');
    if (child.exitCode !== null || Date.now() > deadline) {
      await stop();
      throw new Error(`private redis-server did not answer on ${url}:\n${output}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
}

async function ping(url) {
  const redis = new Redis(url, { lazyConnect: true, connectTimeout: 500, maxRetriesPerRequest: 0, retryStrategy: () => null });
  redis.on('error', () => {});
  try {
    await redis.connect();
    await redis.ping();
    return true;
  } catch {
    return false;
  } finally {
    redis.disconnect();
  }
}

