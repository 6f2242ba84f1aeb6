/**
 * Main-thread side of the client workers: spreads N users over W worker threads and over
 * the setup's gateway instances (client i → instance i mod k), and merges what the
 * workers recorded. User i is `u<i>` in tenant `bench`, one connected session each, so
 * every notification posted to a user must be received exactly once. The broadcast
 * phase opens a second pool in its own tenant (other users, other prefix).
 */
import { readdirSync, readFileSync } from 'node:fs';
import { Worker } from 'node:worker_threads';
import jwt from 'jsonwebtoken';
import { onCleanup } from './cleanup.mjs';
import { now, sleep } from './clock.mjs';
import { JWT_SECRET } from './gateways.mjs';

export const TENANT = 'bench';
export const userId = (i) => `u${i}`;
export const tokenFor = (user, tenant = TENANT) =>
  jwt.sign({ sub: user, tid: tenant }, JWT_SECRET, { algorithm: 'HS256', expiresIn: '1h' });

const workerUrl = new URL('./client-worker.mjs', import.meta.url);

/**
 * `connectWithinMs` bounds the whole connect: past it no new socket is started and the
 * ones not tried count as not connected, so N that the machine cannot hold fails in
 * bounded time instead of hanging on 20 s timeouts one after the other.
 */
export async function startClientPool({
  urls, clients, workers, parallel = 50, tenant = TENANT, user = userId, connectWithinMs = Infinity, outOfBand = false,
}) {
  const threads = Array.from({ length: Math.max(1, Math.min(workers, clients)) }, () => rpcWorker(new Worker(workerUrl)));
  const close = onCleanup(async () => {
    await Promise.allSettled(threads.map((t) => t.call('close')));
    await Promise.allSettled(threads.map((t) => t.worker.terminate()));
  });
  const shares = threads.map(() => []);
  for (let i = 0; i < clients; i += 1) {
    shares[i % threads.length].push({ url: urls[i % urls.length], token: tokenFor(user(i), tenant) });
  }
  const deadline = now() + connectWithinMs;
  const results = await Promise.all(threads.map((t, i) => t.call('connect', { clients: shares[i], parallel, deadline, outOfBand })));
  const connected = results.reduce((sum, r) => sum + r.connected, 0);
  const failed = results.reduce((sum, r) => sum + r.failed + r.notTried, 0);
  const all = (cmd, args) => Promise.all(threads.map((t) => t.call(cmd, args)));
  return {
    connected,
    failed,
    firstError: results.find((r) => r.firstError)?.firstError ?? null,
    /** Start recording notifications tagged with this phase name (earlier records are dropped). */
    phase: (name) => all('phase', { name }),
    async counts() {
      const parts = await all('count');
      return sumCounts(parts);
    },
    /** Polls until `expected` unique notifications arrived or the timeout passed. */
    async waitForUnique(expected, timeoutMs) {
      const deadline = Date.now() + timeoutMs;
      let counts = await this.counts();
      while (counts.unique < expected && Date.now() < deadline) {
        await sleep(50);
        counts = await this.counts();
      }
      return counts;
    },
    async collect() {
      const parts = await all('collect');
      return { sentAt: parts.flatMap((p) => p.sentAt), recvAt: parts.flatMap((p) => p.recvAt), ...sumCounts(parts) };
    },
    close,
  };
}

/**
 * Node raises its soft RLIMIT_NOFILE to the hard limit at start, so this process (and
 * each gateway, which holds the other end) can open up to the hard limit; past it
 * sockets fail with EMFILE. Returns why `sockets` more will not fit, or null.
 */
export function fileLimitProblem(sockets) {
  const match = /^Max open files\s+(\d+|unlimited)/m.exec(readFileSync('/proc/self/limits', 'utf8'));
  if (!match || match[1] === 'unlimited') return null;
  const limit = Number(match[1]);
  const open = readdirCount('/proc/self/fd');
  const margin = 256; // keep-alive HTTP sockets, worker pipes, files
  if (open + sockets + margin <= limit) return null;
  return `${sockets} more sockets need ~${open + sockets + margin} file descriptors, the limit is ${limit} ` +
    '(raise the hard limit, e.g. `ulimit -Hn 65536` as root, or lower the client count)';
}

function readdirCount(dir) {
  try {
    return readdirSync(dir).length;
  } catch {
    return 0;
  }
}

function sumCounts(parts) {
  return {
    unique: parts.reduce((s, p) => s + p.unique, 0),
    duplicates: parts.reduce((s, p) => s + p.duplicates, 0),
    stray: parts.reduce((s, p) => s + p.stray, 0),
    early: parts.reduce((s, p) => s + p.early, 0),
    followed: parts.reduce((s, p) => s + p.followed, 0),
  };
}

/** Request/response over a worker's message port. */
function rpcWorker(worker) {
  let nextId = 0;
  const pending = new Map();
  worker.on('message', ({ reqId, ...reply }) => {
    const entry = pending.get(reqId);
    pending.delete(reqId);
    if (reply.error) entry?.reject(new Error(reply.error));
    else entry?.resolve(reply);
  });
  const failAll = (error) => {
    for (const entry of pending.values()) entry.reject(error);
    pending.clear();
  };
  worker.on('error', failAll);
  worker.on('exit', (code) => failAll(new Error(`client worker exited (${code})`)));
  return {
    worker,
    call(cmd, args = {}) {
      const reqId = nextId++;
      return new Promise((resolve, reject) => {
        pending.set(reqId, { resolve, reject });
        worker.postMessage({ reqId, cmd, ...args });
      });
    },
  };
}
