/**
 * Main-thread side of the client workers: spreads N users over W worker threads and over
 * the setup's gateway instances (client i → instance i mod k), and merges what the
 * workers recorded. User i is `u<i>` in tenant `bench`, one connected session each, so
 * every notification posted to a user must be received exactly once. The broadcast
 * phase opens a second pool in its own tenant (other users, other prefix).
 *
 * Topics (only when asked; without them tokens and handshakes are as before): `topics`
 * are held by every socket from its handshake (`auth.topics`, and the token's `topics`
 * claim allows them); `topicClaim` puts other patterns in the claim (default: `topics`),
 * e.g. for sockets that subscribe later (`churn`) or watch presence (`watch`).
 */
import { readdirSync, readFileSync } from 'node:fs';
import { Worker } from 'node:worker_threads';
import jwt from 'jsonwebtoken';
import { onCleanup } from './cleanup.mjs';
import { now, sleep } from './clock.mjs';
import { JWT_SECRET } from './gateways.mjs';

export const TENANT = 'bench';
export const userId = (i) => `u${i}`;
export const tokenFor = (user, tenant = TENANT, topicClaim = null) =>
  jwt.sign({ sub: user, tid: tenant, ...(topicClaim && { topics: topicClaim }) }, JWT_SECRET, { algorithm: 'HS256', expiresIn: '1h' });

const workerUrl = new URL('./client-worker.mjs', import.meta.url);

/**
 * `connectWithinMs` bounds the whole connect: past it no new socket is started and the
 * ones not tried count as not connected, so N that the machine cannot hold fails in
 * bounded time instead of hanging on 20 s timeouts one after the other.
 */
export async function startClientPool({
  urls, clients, workers, parallel = 50, tenant = TENANT, user = userId, connectWithinMs = Infinity, outOfBand = false,
  topics = null, topicClaim = topics,
}) {
  const threads = Array.from({ length: Math.max(1, Math.min(workers, clients)) }, () => rpcWorker(new Worker(workerUrl)));
  const close = onCleanup(async () => {
    await Promise.allSettled(threads.map((t) => t.call('close')));
    await Promise.allSettled(threads.map((t) => t.worker.terminate()));
  });
  const shares = threads.map(() => []);
  for (let i = 0; i < clients; i += 1) {
    shares[i % threads.length].push({ url: urls[i % urls.length], token: tokenFor(user(i), tenant, topicClaim), ...(topics && { topics }) });
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
      return {
        sentAt: parts.flatMap((p) => p.sentAt), recvAt: parts.flatMap((p) => p.recvAt),
        sendToWrite: parts.flatMap((p) => p.sendToWrite), writeToReceipt: parts.flatMap((p) => p.writeToReceipt),
        // The worst thread's: a tail is as long as the slowest receiver makes it.
        loopDelay: { p99Ms: Math.max(...parts.map((p) => p.loopDelay.p99Ms)), maxMs: Math.max(...parts.map((p) => p.loopDelay.maxMs)) },
        ...sumCounts(parts),
      };
    },
    /**
     * `rate` subscribe/unsubscribe operations per second on `topic` for `durationMs`, over
     * all sockets (each thread its share of the rate, by its share of the sockets).
     */
    async churn({ topic, rate, durationMs }) {
      const parts = await Promise.all(threads.map((t, i) =>
        t.call('churn', { topic, rate: (rate * results[i].connected) / Math.max(1, connected), durationMs })));
      const sum = (key) => parts.reduce((s, p) => s + p[key], 0);
      return {
        ops: sum('ops'), joins: sum('joins'), leaves: sum('leaves'), denied: sum('denied'), errors: sum('errors'),
        firstError: parts.find((p) => p.firstError)?.firstError ?? null,
        ackMs: parts.flatMap((p) => p.ackMs),
        elapsedMs: Math.max(...parts.map((p) => p.elapsedMs)),
      };
    },
    /** Sockets holding `topic` now, as the clients know it (handshake grants and acked subscribes). */
    async held(topic) {
      return (await all('held', { topic })).reduce((s, p) => s + p.count, 0);
    },
    /** `presence:subscribe` to `topic` on the first `count` sockets (spread over the threads as the sockets are). */
    async watch(topic, count) {
      const parts = await Promise.all(threads.map((t, i) =>
        t.call('watch', { topic, count: Math.floor(count / threads.length) + (i < count % threads.length ? 1 : 0) })));
      return { granted: parts.reduce((s, p) => s + p.granted, 0), denied: parts.reduce((s, p) => s + p.denied, 0),
        firstError: parts.find((p) => p.firstError)?.firstError ?? null };
    },
    async unwatch(topic) {
      return (await all('unwatch', { topic })).reduce((s, p) => s + p.unwatched, 0);
    },
    /** `presence` events received, watcher ids made unique over the threads (`<thread>:<socket>`). */
    async presence({ clear = false } = {}) {
      const parts = await all('presence', { clear });
      return parts.flatMap((p, t) => p.events.map((e) => ({ ...e, watcher: `${t}:${e.socket}` })));
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
