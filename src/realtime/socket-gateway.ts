/**
 * The Socket.IO side: handshake auth, rooms, replay on connect, acks.
 *
 * Order on connect (README "Socket.IO"): hold live broadcasts → join the
 * user and tenant rooms → replay the stream after `lastAckId` in commit order (no
 * `lastAckId`: the user's unacked notifications, fresh-replay.ts), each flagged
 * `replayed: true` → emit `notify:synced` → release what was held, minus what the replay
 * already sent.
 *
 * Handshake, in this order (limits: src/limits/connection-limits.ts): new connections per
 * client address (`rate_limited`, before any signature check) → the token
 * (`unauthorized`) → the device id, if named (`invalid_device_id`) → sockets per user (`too_many_connections`). A refused handshake
 * gets `connect_error` with that message and `data`, then its transport is closed.
 * Connected: every event the client sends is charged to the socket's budget
 * (`RATE_LIMITED`, then `EVENT_FLOOD` and a disconnect); the socket is closed with
 * `TOKEN_EXPIRED` when its token's `exp` passes, unless `auth:refresh` renewed it.
 */
import type { Server, Socket } from 'socket.io';
import { z } from 'zod';
import { AuthError, type Principal, type TokenVerifier } from '../auth/user-token.js';
import { SOCKET_EVENT_FLOOD, SOCKET_EVENTS, SOCKETS_PER_USER, type ConnectionLimits } from '../limits/connection-limits.js';
import type { Logger } from '../logger.js';
import type { Metrics } from '../metrics/metrics.js';
import { APP_ROOM, tenantRoom, userRoom } from './rooms.js';
import type { WireNotification } from '../store/message-codec.js';
import type { Store } from '../store/store.js';
import type { TopicAccess } from '../topics/topic-authorizer.js';
import { TOPIC_EVENTS, type TopicSessions, type TopicSocketData } from '../topics/topic-session.js';
import { lastDeliveredId, recordDelivered, releaseHold, startHold } from './replay-hold.js';
import { replayStream, resolveCursor } from './replay.js';
import { unackedStream } from './fresh-replay.js';
import type { DeviceLastSeen } from '../devices/device-last-seen.js';
import { deviceRoom, handshakeDevice, reachesDevice } from '../devices/device-targets.js';
import { appOfTenant } from '../apps/app-scope.js';
import type { AppNamespaces } from './app-namespaces.js';

export interface ServerToClientEvents {
  notification: (notification: WireNotification) => void;
  /** Urgent, at once, ahead of commit order; the `notification` copy follows in order (out-of-band.ts). */
  'notification:out-of-band': (notification: WireNotification) => void;
  /** `topics`: the verdict on the handshake's `auth.topics`, on the first sync only (topics/topic-session.ts). */
  'notify:synced': (info: { replayed: number; recovered: boolean; topics?: TopicAccess }) => void;
  /** State echoes to every session of the user (http/state-echo.ts). `all` + `until`: everything created up to `until`. */
  'notification:read': (info: { ids: string[]; all?: true; until?: string }) => void;
  'notification:seen': (info: { ids: string[]; until?: string }) => void;
  'notification:archived': (info: { ids: string[]; archived: boolean }) => void;
  'notify:error': (error: { code: string; message: string; retryAfterMs?: number }) => void;
}

export interface ClientToServerEvents {
  'notify:ack': (payload: { ids: string[] }) => void;
  'auth:refresh': (payload: { token: string }, ack: (result: RefreshResult) => void) => void;
}

/** The answer to `auth:refresh`; `expiresAt` (ISO 8601) is the new deadline, null for a token without `exp`. */
export type RefreshResult =
  | { ok: true; expiresAt: string | null }
  | { ok: false; code: 'UNAUTHORIZED' | 'SUBJECT_MISMATCH' | 'VALIDATION_FAILED' | 'RATE_LIMITED' };

export interface SocketData extends TopicSocketData {
  principal: Principal;
  lastAckId: string | null;
  /** The token's `exp` (epoch ms), moved by `auth:refresh`; null: no deadline. */
  expiresAt: number | null;
  /** The device the handshake named (devices/device-targets.ts); null: none. */
  deviceId: string | null;
}

export type GatewayServer = Server<ClientToServerEvents, ServerToClientEvents, Record<string, never>, SocketData>;
type GatewayNamespace = ReturnType<GatewayServer['of']>;
type GatewaySocket = Socket<ClientToServerEvents, ServerToClientEvents, Record<string, never>, SocketData>;

export interface SocketGatewayDeps {
  /** Every app's namespace (app-namespaces.ts); each gets the handshake and session rules here. */
  namespaces: AppNamespaces;
  store: Store;
  verifyToken: TokenVerifier;
  metrics: Metrics;
  logger: Logger;
  limits: ConnectionLimits;
  replayRetentionMs: number;
  replayPageSize: number;
  hooks?: ReplayHooks;
  /** Records devices' last seen on connect and disconnect; unset: not recorded. */
  devices?: DeviceLastSeen;
  /** Topics and presence of each socket; unset: topic events are refused as unknown. */
  topics?: TopicSessions;
}

export interface ReplayHooks {
  /** Test seam: runs after each replayed page, while live broadcasts are held. */
  afterReplayPage?: (principal: Principal) => Promise<void>;
}

const CLIENT_EVENTS = new Set<string>(['notify:ack', 'auth:refresh']);
const ACK_SCHEMA = z.object({ ids: z.array(z.string().min(1).max(64)).min(1).max(500) }).strict();
const REFRESH_SCHEMA = z.object({ token: z.string().min(1).max(8192) }).strict();
const LAST_ACK_ID = z.string().min(1).max(64);

/** What the fan-out calls around an outage of the cross-instance link. */
export interface OutageHandling {
  linkLost(): void;
  /** Returns how many sockets were resynced. */
  linkRestored(): number;
}

export function attachSocketGateway(gatewayDeps: SocketGatewayDeps): OutageHandling {
  const deps: Context = { ...gatewayDeps, outage: { active: false, cursors: new WeakMap() }, slots: new WeakMap() };
  for (const [app, nsp] of deps.namespaces.entries()) wireNamespace(deps, app, nsp);
  return {
    linkLost: () => holdForOutage(deps),
    linkRestored: () => resyncLocalSockets(deps),
  };
}

/** One app's namespace: the same handshake and session rules for every app. */
function wireNamespace(deps: Context, app: string, nsp: GatewayNamespace): void {
  const { metrics, limits } = deps;

  nsp.use(async (socket, next) => {
    let refusal: { retryAfterMs: number } | null = null;
    try {
      refusal = await limits.admitConnect(limits.addressOf(socket.request));
    } catch (error) {
      deps.logger.warn({ err: error }, 'connect rate check failed; admitting');
    }
    if (refusal) return refuse(socket, next, 'rate_limited', refusal);
    next();
  });

  nsp.use((socket, next) => {
    try {
      const auth = (socket.handshake.auth ?? {}) as { token?: unknown; lastAckId?: unknown };
      const { expiresAt, topicPatterns, ...principal } = deps.verifyToken(auth.token);
      socket.data.principal = principal;
      socket.data.topicPatterns = topicPatterns ?? [];
      socket.data.expiresAt = expiresAt;
      const lastAckId = LAST_ACK_ID.safeParse(auth.lastAckId);
      socket.data.lastAckId = lastAckId.success ? lastAckId.data : null;
      next();
    } catch (error) {
      const reason = error instanceof AuthError ? error.reason : 'invalid';
      metrics.authFailures.inc({ reason: `socket_${reason}` });
      next(new Error('unauthorized'));
    }
  });

  // A token is for one app: its tenants and users exist in that app's namespace only.
  nsp.use((socket, next) => {
    if (appOfTenant(socket.data.principal.tenantId) === app) return next();
    metrics.authFailures.inc({ reason: 'socket_wrong_app' });
    refuse(socket, next, 'wrong_app', { message: `this token is for another app than namespace "${nsp.name}"` });
  });

  nsp.use((socket, next) => {
    const deviceId = handshakeDevice(socket.handshake.auth, socket.handshake.headers);
    if (deviceId === 'invalid') return refuse(socket, next, 'invalid_device_id', { message: 'deviceId: 1..128 printable characters, no whitespace' });
    socket.data.deviceId = deviceId;
    next();
  });

  nsp.use(async (socket, next) => {
    // The connection may close while Redis answers, before any 'disconnect' could fire:
    // the slot is given back on whichever comes first, the transport's close or the
    // socket's disconnect (release runs once).
    let closed = false;
    let release: (() => void) | null = null;
    socket.conn.once('close', () => {
      closed = true;
      release?.();
    });
    let grant;
    try {
      grant = await limits.acquire(SOCKETS_PER_USER, socket.data.principal);
    } catch (error) {
      deps.logger.warn({ err: error }, 'sockets-per-user check failed; admitting');
      return next();
    }
    if (!grant.granted) return refuse(socket, next, 'too_many_connections', { max: grant.max });
    release = grant.release;
    if (closed) release();
    deps.slots.set(socket, release);
    next();
  });

  // auth.topics, authorised once the connection is admitted (topics/topic-session.ts).
  const topics = deps.topics;
  if (topics) nsp.use((socket, next) => void topics.handshake(socket, next));

  nsp.on('connection', (socket: GatewaySocket) => {
    // The handshake is already captured; keeping the first HTTP request alive per
    // connection only costs memory (https://socket.io/docs/v4/memory-usage/).
    (socket.conn as unknown as { request: unknown }).request = null;
    metrics.connectedSockets.inc();
    // auth.reconnect: the SDK restores a connection it lost; a page load (even with a
    // stored lastAckId) or an unknown client is not a reconnect.
    metrics.connectionsOpened.inc({ reconnect: String(socket.handshake.auth?.reconnect === true), resumed: String(socket.data.lastAckId !== null) });
    const expire = () => {
      metrics.sessionTokens.inc({ channel: 'socket', event: 'expired' });
      socket.emit('notify:error', { code: 'TOKEN_EXPIRED', message: 'the token expired: reconnect with a fresh one, or send auth:refresh before exp' });
      socket.disconnect(true);
    };
    limits.expiries.set(expire, socket.data.expiresAt);
    socket.on('disconnect', (reason) => {
      metrics.connectedSockets.dec();
      metrics.connectionsClosed.inc({ reason });
      limits.expiries.delete(expire);
      deps.slots.get(socket)?.();
      if (socket.data.deviceId) deps.devices?.seen(socket.data.principal, socket.data.deviceId);
    });
    if (socket.data.deviceId) deps.devices?.seen(socket.data.principal, socket.data.deviceId);
    socket.use(eventGuard(deps, socket));
    socket.on('error', (error) => socket.emit('notify:error', { code: 'UNKNOWN_EVENT', message: error.message }));
    socket.on('notify:ack', (payload) => void handleAck(deps, socket, payload));
    socket.on('auth:refresh', (payload: unknown, ack: unknown) => handleRefresh(deps, socket, expire, payload, ack));
    deps.topics?.attach(socket);
    void syncOnConnect(deps, socket);
  });
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
type Context = SocketGatewayDeps & {
  outage: OutageState;
  /** Gives the socket's sockets_per_user slot back. */
  slots: WeakMap<Socket, () => void>;
};

type Next = (error?: Error) => void;

/**
 * Refuses a handshake with `connect_error` { message, data }. The client gets no
 * namespace, so its transport is closed once the refusal is out (a well-behaved client
 * closes it itself) rather than held open for the connect timeout.
 */
function refuse(socket: GatewaySocket, next: Next, message: string, data: Record<string, unknown>): void {
  next(Object.assign(new Error(message), { data }));
  setImmediate(() => socket.conn.close());
}

/**
 * Runs before every event the client sends (`socket.use`): the socket's event budget,
 * then the closed protocol (unknown events → UNKNOWN_EVENT through 'error').
 * Dropped: answered with one `notify:error` RATE_LIMITED per second (an event carrying
 * an ack callback gets `{ ok: false, code: 'RATE_LIMITED' }`). Flood: `EVENT_FLOOD`, then
 * the socket is disconnected.
 */
function eventGuard(deps: Context, socket: GatewaySocket) {
  const budget = deps.limits.eventBudget();
  let cut = false;
  return (packet: unknown[], next: Next) => {
    if (cut) return;
    if (budget) {
      const { verdict, firstDropThisSecond } = budget.take(Date.now());
      if (verdict === 'flood') {
        cut = true;
        deps.limits.refused(SOCKET_EVENT_FLOOD);
        socket.emit('notify:error', { code: 'EVENT_FLOOD', message: 'too many events for too long: disconnected' });
        socket.disconnect(true);
        return;
      }
      if (verdict === 'drop') {
        deps.limits.refused(SOCKET_EVENTS);
        const ack = packet[packet.length - 1];
        if (typeof ack === 'function') (ack as (result: RefreshResult) => void)({ ok: false, code: 'RATE_LIMITED' });
        if (firstDropThisSecond) {
          const retryAfterMs = budget.retryAfterMs();
          socket.emit('notify:error', { code: 'RATE_LIMITED', message: `too many events: dropped; retry after ${retryAfterMs} ms`, retryAfterMs });
        }
        return;
      }
    }
    const event = String(packet[0]);
    if (CLIENT_EVENTS.has(event) || (deps.topics && (TOPIC_EVENTS as readonly string[]).includes(event))) next();
    else next(new Error(`unknown event "${event}"`));
  };
}

/**
 * `auth:refresh { token }`: a token verified by the same rules, naming the same tenant and
 * user, moves the socket's deadline to its `exp`. Anything else leaves the deadline as it
 * was. Answered through the ack callback, or with `notify:error` when there is none.
 */
function handleRefresh(deps: Context, socket: GatewaySocket, expire: () => void, payload: unknown, ack: unknown): void {
  const reply = (result: RefreshResult, message: string) => {
    if (!result.ok) deps.metrics.sessionTokens.inc({ channel: 'socket', event: 'refused' });
    if (typeof ack === 'function') (ack as (result: RefreshResult) => void)(result);
    else if (!result.ok) socket.emit('notify:error', { code: result.code, message });
  };
  const parsed = REFRESH_SCHEMA.safeParse(payload);
  if (!parsed.success) return reply({ ok: false, code: 'VALIDATION_FAILED' }, 'auth:refresh expects { token: string }');
  let fresh;
  try {
    fresh = deps.verifyToken(parsed.data.token);
  } catch (error) {
    const reason = error instanceof AuthError ? error.reason : 'invalid';
    deps.metrics.authFailures.inc({ reason: `socket_refresh_${reason}` });
    return reply({ ok: false, code: 'UNAUTHORIZED' }, 'auth:refresh: missing, invalid or expired token');
  }
  const who = socket.data.principal;
  if (fresh.tenantId !== who.tenantId || fresh.userId !== who.userId) {
    deps.metrics.authFailures.inc({ reason: 'socket_refresh_mismatch' });
    return reply({ ok: false, code: 'SUBJECT_MISMATCH' }, 'auth:refresh: the token names another user or tenant');
  }
  socket.data.expiresAt = fresh.expiresAt;
  socket.data.topicPatterns = fresh.topicPatterns ?? []; // for later subscribes; held topics stay
  deps.limits.expiries.set(expire, fresh.expiresAt);
  deps.metrics.sessionTokens.inc({ channel: 'socket', event: 'refreshed' });
  reply({ ok: true, expiresAt: fresh.expiresAt === null ? null : new Date(fresh.expiresAt).toISOString() }, '');
}

function holdForOutage(deps: Context): void {
  const { outage } = deps;
  outage.active = true;
  for (const socket of deps.namespaces.sockets()) {
    startHold(socket);
    if (!outage.cursors.has(socket)) outage.cursors.set(socket, lastDeliveredId(socket) ?? socket.data.lastAckId);
  }
}

async function syncOnConnect(deps: Context, socket: GatewaySocket): Promise<void> {
  const who = socket.data.principal;
  startHold(socket);
  socket.join([userRoom(who.tenantId, who.userId), tenantRoom(who.tenantId), APP_ROOM, ...(deps.topics?.rooms(socket) ?? [])]);
  if (socket.data.deviceId) socket.join(deviceRoom(who.tenantId, who.userId, socket.data.deviceId));
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
  for (const socket of deps.namespaces.sockets()) {
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
    // No position at all (a fresh device): what no session has acked yet (fresh-replay.ts).
    const pages =
      cursor !== null
        ? replayStream(deps.store.replay, who, cursor, deps.replayPageSize, [...(socket.data.topics ?? [])])
        : fromId === null
          ? unackedStream(deps.store.unacked, who, { retentionMs: deps.replayRetentionMs, pageSize: deps.replayPageSize })
          : null;
    if (pages !== null) {
      for await (const page of pages) {
        if (socket.disconnected) return;
        for (const entry of page) {
          if (!reachesDevice(entry.notification, socket.data.deviceId)) continue; // sent to other devices of the user
          socket.emit('notification', { ...entry.notification, replayed: true });
          sent.add(entry.notification.id);
          recordDelivered(socket, entry.notification.id);
          deps.metrics.delivered.inc({ kind: entry.notification.kind });
        }
        await deps.hooks?.afterReplayPage?.(who);
      }
    }
    const topicAccess = socket.data.handshakeTopics;
    socket.data.handshakeTopics = null; // told once, on the first sync
    socket.emit('notify:synced', { replayed: sent.size, recovered: cursor !== null, ...(topicAccess && { topics: topicAccess }) });
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
