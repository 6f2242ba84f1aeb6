/**
 * GET /api/stream — Server-Sent Events, the fallback for clients that cannot keep a
 * WebSocket or a Socket.IO long-polling session (https://html.spec.whatwg.org/multipage/server-sent-events.html).
 *
 * Rules:
 * - The same stream, in the same order, as the socket: the user's inbox rows and tenant
 *   broadcasts by relay `seq` (realtime/replay.ts). Every `notification` event carries
 *   `id: <notification id>`; control events (`synced`, `read`) carry none, so they never
 *   move the client's Last-Event-ID.
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
 */
import { once } from 'node:events';
import type { EventEmitter } from 'node:events';
import { Router, type Response } from 'express';
import { z } from 'zod';
import type { TokenVerifier } from '../auth/user-token.js';
import type { Logger } from '../logger.js';
import type { Metrics } from '../metrics/metrics.js';
import { replayStream, resolveCursor } from '../realtime/replay.js';
import type { Store } from '../store/store.js';
import type { ReadEcho } from './read-echo.js';
import { authenticate } from './user-auth.js';

export interface StreamRouteDeps {
  store: Store;
  verifyToken: TokenVerifier;
  metrics: Metrics;
  logger: Logger;
  readEcho: ReadEcho;
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

export function streamRoute(deps: StreamRouteDeps): StreamRoute {
  const open = new Set<Response>();
  const router = Router();
  router.get('/api/stream', async (req, res) => {
    const who = authenticate(deps, req, res, 'sse', true);
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
    const unsubscribeReads = deps.readEcho.subscribe(who, (change) => void send(`event: read\ndata: ${JSON.stringify(change)}\n\n`));
    deps.streamAdvanced.on('advance', onAdvance);
    const heartbeat = setInterval(() => void send(': ping\n\n'), deps.heartbeatMs ?? HEARTBEAT_MS);
    open.add(res);
    res.on('close', () => {
      closed = true;
      abort.abort();
      clearInterval(heartbeat);
      deps.streamAdvanced.off('advance', onAdvance);
      unsubscribeReads();
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
