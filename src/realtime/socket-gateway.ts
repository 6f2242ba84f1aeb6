/**
 * The Socket.IO side: handshake auth, rooms, replay on connect, acks.
 *
 * Order on connect (see DESIGN.md "Connect & replay"): hold live broadcasts → join the
 * user and tenant rooms → replay the stream after `lastAckId` in commit order → emit
 * `notify:synced` → release what was held, minus what the replay already sent.
 */
import type { Server, Socket } from 'socket.io';
import { z } from 'zod';
import { AuthError, type Principal, type TokenVerifier } from '../auth/user-token.js';
import type { Logger } from '../logger.js';
import type { Metrics } from '../metrics/metrics.js';
import { tenantRoom, userRoom } from '../outbox/outbox-relay.js';
import type { WireNotification } from '../store/message-codec.js';
import type { Store } from '../store/store.js';
import { lastDeliveredId, recordDelivered, releaseHold, startHold } from './replay-hold.js';
import { replayStream, resolveCursor } from './replay.js';

export interface ServerToClientEvents {
  notification: (notification: WireNotification) => void;
  'notify:synced': (info: { replayed: number; recovered: boolean }) => void;
  'notification:read': (info: { ids: string[] }) => void;
  'notify:error': (error: { code: string; message: string }) => void;
}

export interface ClientToServerEvents {
  'notify:ack': (payload: { ids: string[] }) => void;
}

export interface SocketData {
  principal: Principal;
  lastAckId: string | null;
}

export type GatewayServer = Server<ClientToServerEvents, ServerToClientEvents, Record<string, never>, SocketData>;
type GatewaySocket = Socket<ClientToServerEvents, ServerToClientEvents, Record<string, never>, SocketData>;

export interface SocketGatewayDeps {
  io: GatewayServer;
  store: Store;
  verifyToken: TokenVerifier;
  metrics: Metrics;
  logger: Logger;
  replayRetentionMs: number;
  replayPageSize: number;
  hooks?: ReplayHooks;
}

export interface ReplayHooks {
  /** Test seam: runs after each replayed page, while live broadcasts are held. */
  afterReplayPage?: (principal: Principal) => Promise<void>;
}

const CLIENT_EVENTS = new Set<string>(['notify:ack']);
const ACK_SCHEMA = z.object({ ids: z.array(z.string().min(1).max(64)).min(1).max(500) }).strict();
const LAST_ACK_ID = z.string().min(1).max(64);

/** What the fan-out calls around an outage of the cross-instance link. */
export interface OutageHandling {
  linkLost(): void;
  /** Returns how many sockets were resynced. */
  linkRestored(): number;
}

export function attachSocketGateway(gatewayDeps: SocketGatewayDeps): OutageHandling {
  const deps: Context = { ...gatewayDeps, outage: { active: false, cursors: new WeakMap() } };
  const { io, metrics } = deps;

  io.use((socket, next) => {
    try {
      const auth = (socket.handshake.auth ?? {}) as { token?: unknown; lastAckId?: unknown };
      socket.data.principal = deps.verifyToken(auth.token);
      const lastAckId = LAST_ACK_ID.safeParse(auth.lastAckId);
      socket.data.lastAckId = lastAckId.success ? lastAckId.data : null;
      next();
    } catch (error) {
      const reason = error instanceof AuthError ? error.reason : 'invalid';
      metrics.authFailures.inc({ reason: `socket_${reason}` });
      next(new Error('unauthorized'));
    }
  });

  io.on('connection', (socket: GatewaySocket) => {
    // The handshake is already captured; keeping the first HTTP request alive per
    // connection only costs memory (https://socket.io/docs/v4/memory-usage/).
    (socket.conn as unknown as { request: unknown }).request = null;
    metrics.connectedSockets.inc();
    metrics.connectionsOpened.inc({ resumed: String(socket.data.lastAckId !== null) });
    socket.on('disconnect', (reason) => {
      metrics.connectedSockets.dec();
      metrics.connectionsClosed.inc({ reason });
    });
    socket.use(([event], next) => (CLIENT_EVENTS.has(event) ? next() : next(new Error(`unknown event "${event}"`))));
    socket.on('error', (error) => socket.emit('notify:error', { code: 'UNKNOWN_EVENT', message: error.message }));
    socket.on('notify:ack', (payload) => void handleAck(deps, socket, payload));
    void syncOnConnect(deps, socket);
  });
  return {
    linkLost: () => holdForOutage(deps),
    linkRestored: () => resyncLocalSockets(deps),
  };
}

/**
 * While the cross-instance link is down, broadcasts from other instances are lost. From
 * the moment we notice, every local socket holds live broadcasts and remembers where it
 * stood; once the link is back it replays from there and the hold is released, so a
 * broadcast that arrives right after the restore cannot move it past what it missed.
 */
interface OutageState {
  active: boolean;
  cursors: WeakMap<Socket, string | null>;
}

/** Per gateway instance (tests run several in one process). */
type Context = SocketGatewayDeps & { outage: OutageState };

function holdForOutage(deps: Context): void {
  const { outage } = deps;
  outage.active = true;
  for (const socket of deps.io.of('/').sockets.values()) {
    startHold(socket);
    if (!outage.cursors.has(socket)) outage.cursors.set(socket, lastDeliveredId(socket) ?? socket.data.lastAckId);
  }
}

async function syncOnConnect(deps: Context, socket: GatewaySocket): Promise<void> {
  const who = socket.data.principal;
  startHold(socket);
  socket.join([userRoom(who.tenantId, who.userId), tenantRoom(who.tenantId)]);
  await replayInto(deps, socket, socket.data.lastAckId);
}

/**
 * After the cross-instance link was down, broadcasts from other instances may have been
 * lost. Every local socket replays from the last notification it was sent; a socket
 * that was sent nothing and had no cursor is closed at the transport so that its client
 * reconnects and resumes with its own lastAckId.
 */
function resyncLocalSockets(deps: Context): number {
  const { outage } = deps;
  outage.active = false;
  let count = 0;
  for (const socket of deps.io.of('/').sockets.values()) {
    const atLoss = outage.cursors.get(socket);
    outage.cursors.delete(socket);
    const from = atLoss !== undefined ? atLoss : (lastDeliveredId(socket) ?? socket.data.lastAckId);
    count += 1;
    if (!from) {
      socket.conn.close();
      continue;
    }
    startHold(socket);
    void replayInto(deps, socket, from);
  }
  return count;
}

/** Replays the stream after `fromId` (held live broadcasts released after), then notify:synced. */
async function replayInto(deps: Context, socket: GatewaySocket, fromId: string | null): Promise<void> {
  const started = process.hrtime.bigint();
  const who = socket.data.principal;
  const sent = new Set<string>();
  try {
    const cursor = fromId ? await resolveCursor(deps.store.replay, who, fromId, deps.replayRetentionMs) : null;
    if (cursor !== null) {
      for await (const page of replayStream(deps.store.replay, who, cursor, deps.replayPageSize)) {
        if (socket.disconnected) return;
        for (const entry of page) {
          socket.emit('notification', entry.notification);
          sent.add(entry.notification.id);
          recordDelivered(socket, entry.notification.id);
          deps.metrics.delivered.inc({ kind: entry.notification.kind });
        }
        await deps.hooks?.afterReplayPage?.(who);
      }
    }
    socket.emit('notify:synced', { replayed: sent.size, recovered: cursor !== null });
    if (deps.outage.active) {
      // Connected during an outage: keep holding; the restore replays from here.
      deps.outage.cursors.set(socket, lastDeliveredId(socket) ?? fromId);
    } else {
      releaseHold(socket, sent);
    }
    deps.metrics.replayed.inc(sent.size);
    deps.metrics.replayDuration.observe(Number(process.hrtime.bigint() - started) / 1e9);
  } catch (error) {
    deps.logger.warn({ err: error, tenantId: who.tenantId }, 'replay failed; closing socket so the client retries');
    socket.emit('notify:error', { code: 'STORE_UNAVAILABLE', message: 'replay failed, reconnect later' });
    socket.conn.close();
  }
}

async function handleAck(deps: SocketGatewayDeps, socket: GatewaySocket, payload: unknown): Promise<void> {
  const parsed = ACK_SCHEMA.safeParse(payload);
  if (!parsed.success) {
    socket.emit('notify:error', { code: 'VALIDATION_FAILED', message: 'notify:ack expects { ids: string[1..500] }' });
    return;
  }
  const who = socket.data.principal;
  try {
    // Scoped to (tenant, user) in the store (inbox-repository.ts): ids of other users match nothing.
    const updated = await deps.store.inbox.markAcked(who, [...new Set(parsed.data.ids)]);
    deps.metrics.acked.inc(updated);
  } catch (error) {
    deps.logger.warn({ err: error }, 'ack failed');
  }
}
