/**
 * A worker thread holding a share of the bench's Socket.IO clients (websocket transport,
 * one connection per client). For every `notification` of the current phase it records
 * the send time the poster put in `data.t` and the receive time, both on the monotonic
 * clock shared by all threads and processes of the machine (see clock.mjs).
 *
 * A notification counts once per socket: a tenant broadcast is one id received by every
 * socket, and each of those receipts is a sample.
 *
 * Commands (from the main thread, each answered with the same `reqId`):
 *   connect { clients: [{ url, token }], parallel, deadline }
 *                   → { connected, failed, notTried, firstError }; no new connection is
 *                     started after `deadline` (clock.mjs time), so a gateway or machine
 *                     that cannot take N sockets fails the bench in bounded time
 *   phase { name }  → starts recording notifications tagged `data.ph === name`, clears the last record
 *   count           → { unique, duplicates, stray }
 *   collect         → { sentAt[], recvAt[], unique, duplicates, stray }
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
  return { sentAt: [], recvAt: [], ids: new Set(), duplicates: 0, stray: 0 };
}

function onNotification(socketIndex, notification) {
  const receivedAt = now();
  const data = notification.data ?? {};
  if (data.ph !== phase) {
    record.stray += 1;
    return;
  }
  const key = `${socketIndex}:${notification.id}`;
  if (record.ids.has(key)) {
    record.duplicates += 1; // at-least-once transport; an app would drop it by id
    return;
  }
  record.ids.add(key);
  record.sentAt.push(data.t);
  record.recvAt.push(receivedAt);
}

function connectOne({ url, token }) {
  const socket = io(url, { auth: { token }, transports: ['websocket'], reconnection: false, forceNew: true });
  const socketIndex = sockets.push(socket) - 1;
  socket.on('notification', (notification) => onNotification(socketIndex, notification));
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

async function connectAll(clients, parallel, deadline = Infinity) {
  let connected = 0;
  let failed = 0;
  let firstError = null;
  let next = 0;
  const lane = async () => {
    while (next < clients.length && now() < deadline) {
      const client = clients[next++];
      try {
        await connectOne(client);
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

const counts = () => ({ unique: record.ids.size, duplicates: record.duplicates, stray: record.stray });

parentPort.on('message', async ({ reqId, cmd, ...args }) => {
  let reply;
  switch (cmd) {
    case 'connect':
      reply = await connectAll(args.clients, args.parallel, args.deadline);
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
