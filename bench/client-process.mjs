/**
 * A share of the bench's client sockets in a child process of their own: a process may
 * hold only as many sockets as its file descriptor limit (`ulimit -Hn`, which only root
 * outside a container can raise), so N sockets above it are split over this process and
 * the caller (capacity.mjs --check: 20,000 sockets with a limit of 20,000 per process).
 * Inside, the sockets live in worker threads as usual (client-pool.mjs).
 *
 * The tokens must be signed with the secret of the gateways the caller started
 * (gateways.mjs draws a random one per process), so the caller passes it in
 * BENCH_CLIENT_JWT_SECRET and client-pool's signing uses it.
 *
 * Parent side: `forkClientPool({ urls, clients, workers, offset, tenant })` resolves to the
 * same interface as startClientPool (connected, failed, firstError, phase, counts,
 * waitForUnique, close); user i of the share is `u<offset + i>`.
 */
import { fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import jwt from 'jsonwebtoken';

const SELF = fileURLToPath(import.meta.url);

export async function forkClientPool({ urls, clients, workers, offset = 0, tenant, parallel = 50 }) {
  const { JWT_SECRET } = await import('./gateways.mjs');
  const { onCleanup } = await import('./cleanup.mjs');
  const child = fork(SELF, ['--child'], { env: { ...process.env, BENCH_CLIENT_JWT_SECRET: JWT_SECRET }, stdio: 'inherit' });
  const call = rpc(child);
  const exited = new Promise((resolve) => child.once('exit', resolve));
  const close = onCleanup(async () => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    await call('close').catch(() => {});
    child.disconnect(); // the child cleans up and exits on it
    await exited;
  });
  const result = await call('connect', { urls, clients, workers, offset, tenant, parallel });
  return {
    connected: result.connected,
    failed: result.failed,
    firstError: result.firstError,
    pid: child.pid,
    phase: (name) => call('phase', { name }),
    counts: () => call('counts'),
    async waitForUnique(expected, timeoutMs) {
      const deadline = Date.now() + timeoutMs;
      let counts = await call('counts');
      while (counts.unique < expected && Date.now() < deadline) {
        await new Promise((r) => setTimeout(r, 50));
        counts = await call('counts');
      }
      return counts;
    },
    close,
  };
}

function rpc(child) {
  let next = 0;
  const pending = new Map();
  child.on('message', ({ reqId, error, ...reply }) => {
    const entry = pending.get(reqId);
    pending.delete(reqId);
    if (error) entry?.reject(new Error(error));
    else entry?.resolve(reply);
  });
  child.on('exit', (code, signal) => {
    for (const entry of pending.values()) entry.reject(new Error(`client process exited (${code ?? signal})`));
    pending.clear();
  });
  return (cmd, args = {}) =>
    new Promise((resolve, reject) => {
      const reqId = next++;
      pending.set(reqId, { resolve, reject });
      child.send({ reqId, cmd, ...args });
    });
}

async function childMain() {
  const secret = process.env.BENCH_CLIENT_JWT_SECRET;
  if (!secret) throw new Error('BENCH_CLIENT_JWT_SECRET is not set');
  // client-pool signs with this process's own random secret (gateways.mjs); the gateways
  // know the parent's. jsonwebtoken is one shared module object, so client-pool's
  // `jwt.sign` is this one.
  const sign = jwt.sign.bind(jwt);
  jwt.sign = (payload, _secret, options) => sign(payload, secret, options);
  const { startClientPool, userId } = await import('./client-pool.mjs');
  const { runCleanup } = await import('./cleanup.mjs');
  let pool = null;
  process.on('message', async ({ reqId, cmd, ...args }) => {
    try {
      let reply = {};
      if (cmd === 'connect') {
        pool = await startClientPool({
          urls: args.urls, clients: args.clients, workers: args.workers, parallel: args.parallel,
          ...(args.tenant && { tenant: args.tenant }),
          user: (i) => userId(args.offset + i),
        });
        reply = { connected: pool.connected, failed: pool.failed, firstError: pool.firstError };
      } else if (cmd === 'phase') {
        await pool.phase(args.name);
      } else if (cmd === 'counts') {
        reply = await pool.counts();
      } else if (cmd === 'close') {
        await runCleanup();
      } else {
        throw new Error(`unknown command ${cmd}`);
      }
      process.send({ reqId, ...reply });
    } catch (error) {
      process.send({ reqId, error: error instanceof Error ? error.message : String(error) });
    }
  });
  process.on('disconnect', () => void runCleanup().finally(() => process.exit(0)));
}

if (process.argv[1] === SELF && process.argv[2] === '--child') await childMain();
