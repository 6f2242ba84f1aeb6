/**
 * Steps 1 and 2 of the chain: Socket.IO over WebSocket, else its long-polling
 * (`tryAllTransports`: a failed WebSocket falls through to polling within one attempt).
 * A fresh socket per attempt, with socket.io-client's own reconnection off: the
 * connection manager owns retries, so every attempt carries the current `lastAckId`
 * and token, and backoff is the same on every step.
 *
 * Refusals and closes by the gateway: `connect_error` `unauthorized` → refresh the token;
 * `rate_limited` (`data.retryAfterMs`) → wait, same step; `too_many_connections` and
 * anything else → a failed attempt. `notify:error` `TOKEN_EXPIRED` (the gateway then
 * disconnects) → refresh the token and reconnect. A token is renewed in place with
 * `auth:refresh` (see `renewToken`).
 *
 * `notification` arrives in commit order; `notification:out-of-band` (urgent, at commit,
 * ahead of the relay) goes to `onOutOfBand`, never to the resume position.
 */
import { io, type Socket } from 'socket.io-client';
import type { ArchivedInfo, Notification, PresenceUpdate, ReadInfo, SeenInfo, TopicAck, TransportName } from '../types.js';
import { tokenApp } from '../support.js';
import type { CloseReason, Transport, TransportContext } from './transport.js';

// The gateway accepts at most 500 ids per notify:ack, but also closes the connection on a
// packet over 16 KB: 500 ids of 36 characters, quoted and comma-separated, are ~19.5 KB.
const ACK_BATCH = 200;
/** How long `auth:refresh` may take before the connection is reopened with the new token instead. */
const RENEW_TIMEOUT_MS = 10_000;

export function socketTransport(engines: ('websocket' | 'polling')[]) {
  return (ctx: TransportContext): Transport => {
    let done = false;
    // The token's app is a namespace of its own (README "Apps"); the default app is `/`.
    const app = tokenApp(ctx.token);
    const socket: Socket = io(app ? `${ctx.url}/${app}` : ctx.url, {
      path: ctx.path,
      transports: engines,
      tryAllTransports: engines.length > 1,
      reconnection: false,
      forceNew: true,
      timeout: ctx.connectTimeoutMs,
      auth: {
        token: ctx.token,
        ...(ctx.lastAckId ? { lastAckId: ctx.lastAckId } : {}),
        ...(ctx.reconnect ? { reconnect: true } : {}),
        ...(ctx.deviceId ? { deviceId: ctx.deviceId } : {}),
        ...(ctx.topics?.length ? { topics: [...ctx.topics] } : {}),
      },
    });
    const finish = (reason: CloseReason, retryAfterMs?: number) => {
      if (done) return;
      done = true;
      socket.removeAllListeners();
      socket.io.removeAllListeners();
      socket.close();
      ctx.onClose(reason, retryAfterMs);
    };
    const transportName = (): TransportName => (socket.io.engine?.transport?.name === 'websocket' ? 'websocket' : 'long-polling');

    socket.on('connect', () => {
      ctx.onOpen(transportName());
      socket.io.engine.once('upgrade', () => ctx.onOpen(transportName()));
    });
    socket.on('connect_error', (error: Error & { data?: { retryAfterMs?: unknown } }) => {
      if (error.message === 'unauthorized') return finish('unauthorized');
      if (error.message === 'rate_limited') {
        const wait = error.data?.retryAfterMs;
        return finish('rate_limited', typeof wait === 'number' && wait > 0 ? wait : undefined);
      }
      finish('failed');
    });
    socket.on('notify:error', (error: { code?: unknown }) => {
      if (error?.code === 'TOKEN_EXPIRED') finish('unauthorized');
    });
    socket.on('disconnect', () => finish('dropped'));
    socket.on('notification', (n: Notification) => ctx.onNotification(n));
    socket.on('notification:out-of-band', (n: Notification) => ctx.onOutOfBand(n));
    socket.on('notify:synced', (info: { replayed: number; recovered: boolean; topics?: TopicAck }) => ctx.onSynced(info));
    socket.on('notification:read', (info: ReadInfo) => ctx.onRead(info));
    socket.on('notification:seen', (info: SeenInfo) => ctx.onSeen(info));
    socket.on('notification:archived', (info: ArchivedInfo) => ctx.onArchived(info));
    socket.on('presence', (update: PresenceUpdate) => ctx.onPresence?.(update));
    return {
      close() {
        done = true;
        socket.removeAllListeners();
        socket.close();
      },
      ack(ids) {
        if (!socket.connected) return;
        for (let i = 0; i < ids.length; i += ACK_BATCH) socket.emit('notify:ack', { ids: ids.slice(i, i + ACK_BATCH) });
      },
      request(event, payload) {
        if (!socket.connected) return null;
        return socket.timeout(RENEW_TIMEOUT_MS).emitWithAck(event, payload);
      },
      renewToken(token) {
        if (!socket.connected) return Promise.resolve(false);
        (socket.auth as { token?: string }).token = token;
        return new Promise<boolean>((resolve) => {
          socket
            .timeout(RENEW_TIMEOUT_MS)
            .emit('auth:refresh', { token }, (error: Error | null, result?: { ok?: unknown }) => resolve(!error && result?.ok === true));
        });
      },
    };
  };
}
