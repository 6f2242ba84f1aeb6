/**
 * GET /api/stream — Server-Sent Events, the fallback for clients that cannot keep a
 * WebSocket or a Socket.IO long-polling session (https://html.spec.whatwg.org/multipage/server-sent-events.html).
 *
 * Rules:
 * - The same stream, in the same order, as the socket: the user's inbox rows and tenant
 *   broadcasts by relay `seq` (realtime/replay.ts). Every `notification` event carries
 *   `id: <notification id>`; control events (`synced`, `read`, `notification:seen`,
 *   `notification:archived`) carry none, so they never move the client's Last-Event-ID.
 *   State echoes (state-echo.ts) keep the socket's event names, except read, which keeps
 *   its first name, `read`.
 * - Resume: `Last-Event-ID` (or `?lastEventId=`) is resolved exactly as the socket
 *   resolves `lastAckId` (ownership, retention). Unknown or absent → start at the current
 *   head and say `synced.recovered=false`, as the socket does.
 * - Live: the listener on `streamAdvanced` is attached before the first read, and every
 *   'advance' (fired on every instance after the relay published) re-reads the store
 *   after the last sent seq. Reads are serialised — one in flight, one more queued — so
 *   events leave in seq order and none twice.
 * - A heartbeat comment every HEARTBEAT_MS keeps proxies from closing an idle stream and
 *   lets the client notice a dead one. A store error ends the stream; the client
 *   reconnects with its Last-Event-ID and loses nothing.
 * - Token in `Authorization`, or `?token=` for EventSource (which cannot set headers;
 *   the query form can leak into access logs, the SDK uses the header).
 * - Limits (src/limits/connection-limits.ts): new connections per client address (`req.ip`,
 *   TRUST_PROXY applies), charged before the token is checked → 429 RATE_LIMITED with
 *   `Retry-After`; open streams per user → 429 TOO_MANY_CONNECTIONS (the newest is refused).
 * - The stream ends when the token's `exp` passes, with `event: error` and
 *   `data: {"code":"TOKEN_EXPIRED",…}`: the client reconnects with a fresh token and its
 *   Last-Event-ID (SSE has no channel back to renew a token in place).
 */
import { once } from 'node:events';
import type { EventEmitter } from 'node:events';
import { Router, type Response } from 'express';
import { z } from 'zod';
import type { TokenVerifier } from '../auth/user-token.js';
import { CONNECT_PER_IP, STREAMS_PER_USER, type ConnectionLimits } from '../limits/connection-limits.js';
import type { Logger } from '../logger.js';
import type { Metrics } from '../metrics/metrics.js';
import { replayStream, resolveCursor } from '../realtime/replay.js';
import type { Store } from '../store/store.js';
import { HttpError } from './errors.js';
import type { StateEcho, StateEventName } from './state-echo.js';
import { authenticate } from './user-auth.js';
import { reachesDevice } from '../devices/device-targets.js';

export interface StreamRouteDeps {
  store: Store;
  verifyToken: TokenVerifier;
  metrics: Metrics;
  logger: Logger;
  limits: ConnectionLimits;
  stateEcho: StateEcho;
  /** 'advance' after every published relay batch, on every instance. */
  streamAdvanced: EventEmitter;
  replayRetentionMs: number;
  replayPageSize: number;
  heartbeatMs?: number;
}

export interface StreamRoute {
  router: Router;
  /** Ends every open stream (shutdown: an open response would keep the HTTP server alive). */
  closeAll(): void;
}

export const HEARTBEAT_MS = 15_000;
/** Reconnect delay suggested to EventSource. */
const RETRY_MS = 2_000;
const LAST_EVENT_ID = z.string().min(1).max(64);
/** A stream ended at its token's expiry is cut this long after, if the client does not read the end. */
const EXPIRED_CLOSE_MS = 5_000;
/** SSE event names of the state echoes. */
const STATE_EVENTS: Record<StateEventName, string> = {
  'notification:read': 'read',
  'notification:seen': 'notification:seen',
  'notification:archived': 'notification:archived',
};

export function streamRoute(deps: StreamRouteDeps): StreamRoute {
  const open = new Set<Response>();
  const router = Router();
  router.get('/api/stream', async (req, res) => {
    // Not req.ip: an embedding host's app has its own 'trust proxy'; TRUST_PROXY is ours.
    const refusal = await deps.limits.admitConnect(deps.limits.addressOf(req));
    if (refusal) {
      const retryAfterSeconds = Math.max(1, Math.ceil(refusal.retryAfterMs / 1000));
      res.set('Retry-After', String(retryAfterSeconds));
      throw new HttpError('RATE_LIMITED', `too many new connections from this address; retry after ${retryAfterSeconds} s`, {
        limit: CONNECT_PER_IP,
        retryAfterSeconds,
      });
    }
    const { expiresAt, ...who } = authenticate(deps, req, res, 'sse', true);
    const grant = await deps.limits.acquire(STREAMS_PER_USER, who);
    if (!grant.granted) {
      throw new HttpError('TOO_MANY_CONNECTIONS', `this user has ${grant.max} open streams already, the most allowed`, {
        limit: STREAMS_PER_USER,
        max: grant.max,
      });
    }
    // Given back however the response ends (the client leaving during the reads below too).
    res.once('close', grant.release);
    const presented = LAST_EVENT_ID.safeParse(req.get('last-event-id') ?? req.query.lastEventId);

    let closed = false;
    let lastSeq = 0;
    let reading = false;
    let again = false;
    const abort = new AbortController();
    const send = async (chunk: string) => {
      if (closed || res.writableEnded) return;
      if (!res.write(chunk)) await once(res, 'drain', { signal: abort.signal }).catch(() => undefined);
    };
    /** Sends everything after `lastSeq`; a call during a read queues one more pass. */
    const pump = async (): Promise<number> => {
      if (reading) {
        again = true;
        return 0;
      }
      reading = true;
      let sent = 0;
      try {
        do {
          again = false;
          for await (const page of replayStream(deps.store.replay, who, lastSeq, deps.replayPageSize)) {
            for (const entry of page) {
              if (closed) return sent;
              // SSE names no device: one sent to some devices of the user is not for it.
              if (!reachesDevice(entry.notification, null)) {
                lastSeq = entry.seq;
                continue;
              }
              await send(`id: ${entry.notification.id}\nevent: notification\ndata: ${JSON.stringify(entry.notification)}\n\n`);
              lastSeq = entry.seq;
              sent += 1;
            }
          }
        } while (again && !closed);
      } catch (error) {
        deps.logger.warn({ err: error, tenantId: who.tenantId }, 'SSE read failed; ending the stream so the client resumes');
        res.end();
      } finally {
        reading = false;
      }
      return sent;
    };
    // Resolve the start before subscribing: an 'advance' can then only read after it.
    const cursor = presented.success ? await resolveCursor(deps.store.replay, who, presented.data, deps.replayRetentionMs) : null;
    lastSeq = cursor ?? (await deps.store.replay.currentHead());
    res.status(200).set({
      'Content-Type': 'text/event-stream; charset=utf-8',
      'Cache-Control': 'no-cache, no-transform',
      // nginx would otherwise buffer the stream.
      'X-Accel-Buffering': 'no',
      Connection: 'keep-alive',
    });
    res.write(`retry: ${RETRY_MS}\n\n`);

    const socket = req.socket;
    const onAdvance = () => void pump();
    const unsubscribeStates = deps.stateEcho.subscribe(
      who,
      ({ name, change }) => void send(`event: ${STATE_EVENTS[name]}\ndata: ${JSON.stringify(change)}\n\n`),
    );
    deps.streamAdvanced.on('advance', onAdvance);
    const heartbeat = setInterval(() => void send(': ping\n\n'), deps.heartbeatMs ?? HEARTBEAT_MS);
    const expire = () => {
      if (closed || res.writableEnded) return;
      deps.metrics.sessionTokens.inc({ channel: 'sse', event: 'expired' });
      const error = { code: 'TOKEN_EXPIRED', message: 'the token expired: reconnect with a fresh one and Last-Event-ID' };
      res.end(`event: error\ndata: ${JSON.stringify(error)}\n\n`);
      setTimeout(() => socket.destroy(), EXPIRED_CLOSE_MS).unref();
    };
    deps.limits.expiries.set(expire, expiresAt);
    open.add(res);
    res.on('close', () => {
      closed = true;
      deps.limits.expiries.delete(expire);
      abort.abort();
      clearInterval(heartbeat);
      deps.streamAdvanced.off('advance', onAdvance);
      unsubscribeStates();
      open.delete(res);
      // An unfinished event stream can never carry another request: close the
      // connection now instead of leaving it to the keep-alive timeout.
      socket.destroy();
    });

    // Called with no await since subscribing: this first pass is the replay.
    const replayed = await pump();
    await send(`event: synced\ndata: ${JSON.stringify({ replayed, recovered: cursor !== null })}\n\n`);
  });
  return {
    router,
    closeAll() {
      for (const res of open) res.end();
    },
  };
}
