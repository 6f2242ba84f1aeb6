/**
 * A worker thread holding a share of the bench's Socket.IO clients (websocket transport,
 * one connection per client). For every `notification` of the current phase it records
 * the send time the poster put in `data.t` and the receive time, both on the monotonic
 * clock shared by all threads and processes of the machine (see clock.mjs).
 *
 * A notification counts once per socket: a tenant broadcast is one id received by every
 * socket, and each of those receipts is a sample. Sockets connected with `outOfBand` also
 * record `notification:out-of-band` (urgent, ahead of commit order): the first copy of an
 * id is the sample, whichever event brought it; `early` counts samples that came out of
 * band, `followed` the in-order copies that came after them (not duplicates).
 *
 * Commands (from the main thread, each answered with the same `reqId`):
 *   connect { clients: [{ url, token }], parallel, deadline, outOfBand }
 *                   → { connected, failed, notTried, firstError }; no new connection is
 *                     started after `deadline` (clock.mjs time), so a gateway or machine
 *                     that cannot take N sockets fails the bench in bounded time
 *   phase { name }  → starts recording notifications tagged `data.ph === name`, clears the last record
 *   count           → { unique, duplicates, stray, early, followed }
 *   collect         → { sentAt[], recvAt[], unique, duplicates, stray, early, followed }
 *   close           → closes every socket
 */
import { parentPort } from 'node:worker_threads';
import { io } from 'socket.io-client';
import { now } from './clock.mjs';

const CONNECT_TIMEOUT_MS = 20_000;
const sockets = [];
let phase = null;
let record = freshRecord();

function freshRecord() {
  // ids: socket:id → how its first copy came (IN_ORDER, or EARLY until the in-order copy follows)
  return { sentAt: [], recvAt: [], ids: new Map(), duplicates: 0, stray: 0, early: 0, followed: 0 };
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
}

function connectOne({ url, token }, outOfBand) {
  const socket = io(url, { auth: { token }, transports: ['websocket'], reconnection: false, forceNew: true });
  const socketIndex = sockets.push(socket) - 1;
  socket.on('notification', (notification) => onNotification(socketIndex, notification));
  if (outOfBand) socket.on('notification:out-of-band', (notification) => onNotification(socketIndex, notification, true));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no notify:synced within ${CONNECT_TIMEOUT_MS} ms`)), CONNECT_TIMEOUT_MS);
    socket.once('connect_error', (error) => (clearTimeout(timer), reject(new Error(describe(error)))));
    socket.once('notify:synced', () => (clearTimeout(timer), resolve()));
  });
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
      reply = {};
      break;
    case 'count':
      reply = counts();
      break;
    case 'collect':
      reply = { sentAt: record.sentAt, recvAt: record.recvAt, ...counts() };
      break;
    case 'close':
      for (const socket of sockets) socket.close();
      sockets.length = 0;
      reply = {};
      break;
    default:
      reply = { error: `unknown command ${cmd}` };
  }
  parentPort.postMessage({ reqId, ...reply });
});
