/**
 * Slow consumers must not grow server memory without bound. A client that stops
 * reading (stalled tab, dead mobile link) makes every broadcast to it pile up in the
 * engine's write buffer and the WebSocket's send buffer. One timer per instance (not
 * per socket) looks at each socket's backlog; past the limit the connection is
 * dropped, its buffers discarded. Nothing is lost: the client reconnects with its
 * lastAckId and replay fills the gap from the store.
 */
import type { Server } from 'socket.io';
import type { Logger } from '../logger.js';

interface EngineConn {
  writeBuffer?: unknown[];
  transport?: { name?: string; socket?: { bufferedAmount?: number; terminate?: () => void } };
  close(discard?: boolean): void;
}

export interface SlowConsumerOptions {
  maxBufferedBytes: number;
  /** Packets waiting in the engine's own queue (transport not writable). */
  maxQueuedPackets: number;
  intervalMs: number;
}

export function startSlowConsumerGuard(
  io: Server,
  options: SlowConsumerOptions,
  onDrop: () => void,
  logger: Logger,
): () => void {
  const timer = setInterval(() => {
    // Engine connections, not sockets: one per client whatever the app's namespace.
    for (const [sid, client] of Object.entries((io.engine as unknown as { clients: Record<string, unknown> }).clients)) {
      const conn = client as EngineConn;
      const queued = conn.writeBuffer?.length ?? 0;
      const buffered = conn.transport?.socket?.bufferedAmount ?? 0;
      if (queued <= options.maxQueuedPackets && buffered <= options.maxBufferedBytes) continue;
      logger.warn({ sid, queued, buffered }, 'slow consumer: dropping the connection');
      onDrop();
      conn.close(true);
      conn.transport?.socket?.terminate?.();
    }
  }, options.intervalMs);
  timer.unref();
  return () => clearInterval(timer);
}
