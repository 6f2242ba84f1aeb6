/**
 * A worker thread holding a share of the bench's Socket.IO clients (websocket transport,
 * one connection per client). For every `notification` of the current phase it records
 * the send time the poster put in `data.t` and the receive time, both on the monotonic
 * clock shared by all threads and processes of the machine (see clock.mjs). Where a
 * POST→receipt time goes: the wall-clock send time (`data.w`) and the notification's
 * `createdAt` (stamped by the gateway as it builds the write) split it into send → write
 * (HTTP, validation, the batcher's queue) and write → receipt (commit, relay, emit, this
 * thread), to the millisecond. This thread's own event-loop delay over the phase tells
 * how much of a tail is the receiving side's.
 *
 * A notification counts once per socket: a tenant broadcast is one id received by every
 * socket, and each of those receipts is a sample. Sockets connected with `outOfBand` also
 * record `notification:out-of-band` (urgent, ahead of commit order): the first copy of an
 * id is the sample, whichever event brought it; `early` counts samples that came out of
 * band, `followed` the in-order copies that came after them (not duplicates).
 *
 * Topics (topic-broadcast.mjs, presence-churn.mjs): a client with `topics` names them in
 * `auth.topics`; a socket counts as connected only when `notify:synced` grants all of
 * them (a denial is a failure, and that socket is closed). The worker keeps which of its
 * sockets hold which topic, from those grants and the acks of its own subscribes.
 *
 * Commands (from the main thread, each answered with the same `reqId`):
 *   connect { clients: [{ url, token, topics? }], parallel, deadline, outOfBand }
 *                   → { connected, failed, notTried, firstError }; no new connection is
 *                     started after `deadline` (clock.mjs time), so a gateway or machine
 *                     that cannot take N sockets fails the bench in bounded time
 *   churn { topic, rate, durationMs }
 *                   → for durationMs, `rate` operations per second (open loop, due every
 *                     10 ms), each on a random connected socket with no operation in
 *                     flight: `unsubscribe` when it holds the topic, else `subscribe`;
 *                     answers once every ack is in: { ops, joins, leaves, denied, errors,
 *                     firstError, ackMs[], elapsedMs } (a denial, a RATE_LIMITED ack or no
 *                     ack within 10 s is not a join/leave)
 *   held { topic }  → { count }: sockets of this worker holding it now
 *   watch { topic, count } → `presence:subscribe` on the first `count` connected sockets:
 *                     { granted, denied, firstError }; from then on their `presence`
 *                     events are recorded
 *   unwatch { topic } → `presence:unsubscribe` on the sockets watching it: { unwatched }
 *   presence { clear } → { events: [{ socket, at, topic, connections, users }] } (clock.mjs time)
 *   phase { name }  → starts recording notifications tagged `data.ph === name`, clears the last record
 *   count           → { unique, duplicates, stray, early, followed }
 *   collect         → { sentAt[], recvAt[], sendToWrite[], writeToReceipt[], loopDelay: { p99Ms, maxMs },
 *                       unique, duplicates, stray, early, followed }
 *   close           → closes every socket
 */
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { parentPort } from 'node:worker_threads';
import { io } from 'socket.io-client';
import { now } from './clock.mjs';

const CONNECT_TIMEOUT_MS = 20_000;
const ACK_TIMEOUT_MS = 10_000;
const CHURN_TICK_MS = 10;
const sockets = [];
/** topic → indices of the sockets holding it */
const held = new Map();
/** topic → indices of the sockets watching its presence */
const watching = new Map();
let presenceEvents = [];
let phase = null;
let record = freshRecord();
const loopDelay = monitorEventLoopDelay({ resolution: 10 });
loopDelay.enable();

function freshRecord() {
  // ids: socket:id → how its first copy came (IN_ORDER, or EARLY until the in-order copy follows)
  return { sentAt: [], recvAt: [], sendToWrite: [], writeToReceipt: [], ids: new Map(), duplicates: 0, stray: 0, early: 0, followed: 0 };
}

const IN_ORDER = 0;
const EARLY = 1;
const EARLY_FOLLOWED = 2;

function onNotification(socketIndex, notification, outOfBand = false) {
  const receivedAt = now();
  const data = notification.data ?? {};
  if (data.ph !== phase) {
    record.stray += 1;
    return;
  }
  const key = `${socketIndex}:${notification.id}`;
  const seen = record.ids.get(key);
  if (seen === EARLY && !outOfBand) {
    record.ids.set(key, EARLY_FOLLOWED);
    record.followed += 1;
    return;
  }
  if (seen !== undefined) {
    record.duplicates += 1; // at-least-once transport; an app would drop it by id
    return;
  }
  record.ids.set(key, outOfBand ? EARLY : IN_ORDER);
  if (outOfBand) record.early += 1;
  record.sentAt.push(data.t);
  record.recvAt.push(receivedAt);
  const written = Date.parse(notification.createdAt);
  if (typeof data.w === 'number' && Number.isFinite(written)) {
    record.sendToWrite.push(written - data.w);
    record.writeToReceipt.push(Date.now() - written);
  }
}

function connectOne({ url, token, topics }, outOfBand) {
  const auth = topics ? { token, topics } : { token };
  const socket = io(url, { auth, transports: ['websocket'], reconnection: false, forceNew: true });
  const socketIndex = sockets.push(socket) - 1;
  socket.on('notification', (notification) => onNotification(socketIndex, notification));
  if (outOfBand) socket.on('notification:out-of-band', (notification) => onNotification(socketIndex, notification, true));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no notify:synced within ${CONNECT_TIMEOUT_MS} ms`)), CONNECT_TIMEOUT_MS);
    socket.once('connect_error', (error) => (clearTimeout(timer), reject(new Error(describe(error)))));
    socket.once('notify:synced', (info) => {
      clearTimeout(timer);
      if (!topics) return resolve();
      const granted = new Set(info?.topics?.granted ?? []);
      const missing = topics.filter((t) => !granted.has(t));
      if (missing.length > 0) {
        socket.close();
        const why = (info?.topics?.denied ?? []).map((d) => `${d.topic}: ${d.reason}`).join(', ');
        return reject(new Error(`topics not granted at the handshake: ${missing.join(', ')}${why ? ` (${why})` : ''}`));
      }
      for (const topic of topics) holders(held, topic).add(socketIndex);
      resolve();
    });
  });
}

function holders(map, topic) {
  let set = map.get(topic);
  if (!set) map.set(topic, (set = new Set()));
  return set;
}

/** Emits with an ack; resolves to the ack, or { error } when none came within ACK_TIMEOUT_MS. */
function ask(socket, event, payload) {
  return socket.timeout(ACK_TIMEOUT_MS).emitWithAck(event, payload).catch((error) => ({ error: { code: 'NO_ACK', message: error.message } }));
}

const ackProblem = (ack) =>
  ack?.error ? `${ack.error.code}: ${ack.error.message}` : ack?.ok === false ? ack.code : null;

/** See `churn` in the header. */
async function churn({ topic, rate, durationMs }) {
  const holding = holders(held, topic);
  const live = sockets.map((s, i) => (s.connected ? i : -1)).filter((i) => i >= 0);
  const busy = new Set();
  const stats = { ops: 0, joins: 0, leaves: 0, denied: 0, errors: 0, firstError: null, ackMs: [] };
  const fail = (why) => {
    stats.errors += 1;
    stats.firstError ??= why;
  };
  const operate = async (index) => {
    busy.add(index);
    const socket = sockets[index];
    const leave = holding.has(index);
    const started = now();
    const ack = await ask(socket, leave ? 'unsubscribe' : 'subscribe', { topics: [topic] });
    stats.ackMs.push(now() - started);
    busy.delete(index);
    const problem = ackProblem(ack);
    if (problem) return fail(problem);
    if (leave) {
      if (!ack.unsubscribed?.includes(topic)) return fail(`unsubscribe ack without the topic: ${JSON.stringify(ack)}`);
      holding.delete(index);
      stats.leaves += 1;
    } else if (ack.granted?.includes(topic)) {
      holding.add(index);
      stats.joins += 1;
    } else {
      stats.denied += 1;
      stats.firstError ??= `subscribe denied: ${JSON.stringify(ack.denied ?? ack)}`;
    }
  };
  const pending = [];
  const start = now();
  let issued = 0;
  for (let tick = 1; live.length > 0; tick += 1) {
    const elapsed = Math.min(durationMs, tick * CHURN_TICK_MS);
    const due = Math.floor((elapsed * rate) / 1000) - issued;
    for (let k = 0; k < due; k += 1) {
      // A random socket without an operation in flight (a few tries; else this one is skipped).
      let index = -1;
      for (let tries = 0; tries < 8 && index < 0; tries += 1) {
        const candidate = live[Math.floor(Math.random() * live.length)];
        if (!busy.has(candidate)) index = candidate;
      }
      issued += 1;
      if (index < 0) continue;
      stats.ops += 1;
      pending.push(operate(index));
    }
    if (elapsed >= durationMs) break;
    const wait = start + tick * CHURN_TICK_MS - now();
    if (wait >= 1) await new Promise((r) => setTimeout(r, wait));
  }
  await Promise.all(pending);
  return { ...stats, elapsedMs: now() - start };
}

async function watch({ topic, count }) {
  const watchers = holders(watching, topic);
  const result = { granted: 0, denied: 0, firstError: null };
  const chosen = sockets.map((s, i) => (s.connected ? i : -1)).filter((i) => i >= 0).slice(0, count);
  await Promise.all(chosen.map(async (index) => {
    const socket = sockets[index];
    if (!socket.listeners('presence').length) {
      socket.on('presence', (update) => presenceEvents.push({ socket: index, at: now(), ...update }));
    }
    const ack = await ask(socket, 'presence:subscribe', { topics: [topic] });
    if (ack.granted?.includes(topic)) {
      watchers.add(index);
      result.granted += 1;
    } else {
      result.denied += 1;
      result.firstError ??= ackProblem(ack) ?? `denied: ${JSON.stringify(ack.denied ?? ack)}`;
    }
  }));
  return result;
}

async function unwatch({ topic }) {
  const watchers = holders(watching, topic);
  const acks = await Promise.all([...watchers].map((index) => ask(sockets[index], 'presence:unsubscribe', { topics: [topic] })));
  watchers.clear();
  return { unwatched: acks.filter((ack) => ack.unsubscribed?.includes(topic)).length };
}

/** socket.io-client says "websocket error"; the cause (ECONNRESET, EMFILE, HTTP 503 …) is in `description`. */
function describe(error) {
  const cause = error.description?.error ?? error.description;
  const detail = cause?.code ?? cause?.message ?? (typeof cause === 'string' || typeof cause === 'number' ? cause : null);
  return detail ? `${error.message} (${detail})` : error.message;
}

async function connectAll(clients, parallel, deadline = Infinity, outOfBand = false) {
  let connected = 0;
  let failed = 0;
  let firstError = null;
  let next = 0;
  const lane = async () => {
    while (next < clients.length && now() < deadline) {
      const client = clients[next++];
      try {
        await connectOne(client, outOfBand);
        connected += 1;
      } catch (error) {
        failed += 1;
        firstError ??= error.message;
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(parallel, clients.length) }, lane));
  return { connected, failed, notTried: clients.length - next, firstError };
}

const counts = () => ({ unique: record.ids.size, duplicates: record.duplicates, stray: record.stray, early: record.early, followed: record.followed });

parentPort.on('message', async ({ reqId, cmd, ...args }) => {
  let reply;
  switch (cmd) {
    case 'connect':
      reply = await connectAll(args.clients, args.parallel, args.deadline, args.outOfBand);
      break;
    case 'phase':
      phase = args.name;
      record = freshRecord();
      loopDelay.reset();
      reply = {};
      break;
    case 'count':
      reply = counts();
      break;
    case 'collect':
      reply = {
        sentAt: record.sentAt, recvAt: record.recvAt, sendToWrite: record.sendToWrite, writeToReceipt: record.writeToReceipt,
        loopDelay: { p99Ms: loopDelay.percentile(99) / 1e6, maxMs: loopDelay.max / 1e6 },
        ...counts(),
      };
      break;
    case 'churn':
      reply = await churn(args);
      break;
    case 'held':
      reply = { count: held.get(args.topic)?.size ?? 0 };
      break;
    case 'watch':
      reply = await watch(args);
      break;
    case 'unwatch':
      reply = await unwatch(args);
      break;
    case 'presence':
      reply = { events: presenceEvents };
      if (args.clear) presenceEvents = [];
      break;
    case 'close':
      for (const socket of sockets) socket.close();
      sockets.length = 0;
      held.clear();
      watching.clear();
      reply = {};
      break;
    default:
      reply = { error: `unknown command ${cmd}` };
  }
  parentPort.postMessage({ reqId, ...reply });
});
