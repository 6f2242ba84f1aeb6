/**
 * Limits on realtime connections, shared by the Socket.IO gateway and the SSE route:
 *
 * - `connect_per_ip`: new connections (socket handshakes and SSE requests together) per
 *   client address, CONNECT_RATE_PER_IP per second over windows of
 *   CONNECT_RATE_WINDOW_SECONDS (window-limits.ts: in Redis across instances when
 *   configured). Charged before the token is verified, so a flood of bad tokens costs
 *   no signature checks.
 * - `sockets_per_user` / `streams_per_user`: open sockets and SSE streams per (tenant,
 *   user), MAX_SOCKETS_PER_USER / MAX_STREAMS_PER_USER (connection-slots.ts: counted
 *   across instances in Redis when configured). Policy: the newest connection is refused,
 *   open ones are never closed to make room — closing the oldest would make every
 *   refused tab reconnect and close another, a storm that never settles.
 * - `socket_events`: what one socket may send, SOCKET_EVENTS_PER_SECOND with a bucket of
 *   SOCKET_EVENTS_BURST (event-budget.ts, in memory: a socket lives on one instance).
 * - Token lifetime: every socket and stream is filed under its token's `exp` in one
 *   DeadlineSweep (one timer per instance, not one per connection).
 *
 * Every refusal counts `notify_rate_limited_total{limit}` and is logged at most once a
 * minute per limit.
 */
import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import type { Principal } from '../auth/user-token.js';
import type { Config } from '../config/config.js';
import type { Logger } from '../logger.js';
import type { Metrics } from '../metrics/metrics.js';
import { addressSubject, clientAddressResolver, type AddressOf } from './client-address.js';
import { ConnectionSlots, type SlotGrant } from './connection-slots.js';
import { DeadlineSweep } from './deadline-sweep.js';
import { EventBudget } from './event-budget.js';
import { openLimitStore, WindowLimits } from './window-limits.js';
import { redisTargetOf } from '../redis/redis-client.js';

export const CONNECT_PER_IP = 'connect_per_ip';
export const SOCKETS_PER_USER = 'sockets_per_user';
export const STREAMS_PER_USER = 'streams_per_user';
export const SOCKET_EVENTS = 'socket_events';
/** Sockets disconnected for flooding (a count of sockets, not of events). */
export const SOCKET_EVENT_FLOOD = 'socket_event_flood';

export type SlotKind = typeof SOCKETS_PER_USER | typeof STREAMS_PER_USER;

export interface ConnectionLimits {
  /** The client address of a request, as Express's `req.ip` with TRUST_PROXY. */
  readonly addressOf: AddressOf;
  /** Charges one new connection to `ip`: null when admitted, else how long to wait. */
  admitConnect(ip: string): Promise<{ retryAfterMs: number } | null>;
  /** A slot for one more socket or stream of `who`; refusals are counted here. */
  acquire(kind: SlotKind, who: Principal): Promise<SlotGrant>;
  /** A fresh budget for one socket's events, or null when SOCKET_EVENTS_PER_SECOND is 0. */
  eventBudget(): EventBudget | null;
  /** Counts a refusal that the caller decided (dropped events, flood disconnects). */
  refused(limit: string, count?: number): void;
  /** Token deadlines: `set(expire, expiresAt)` calls `expire()` once the deadline passed. */
  readonly expiries: DeadlineSweep<() => void>;
  close(): Promise<void>;
}

type Settings = Pick<
  Config,
  | 'REDIS_URL'
  | 'REDIS_CLUSTER_NODES'
  | 'REDIS_KEY_PREFIX'
  | 'TRUST_PROXY'
  | 'CONNECT_RATE_PER_IP'
  | 'CONNECT_RATE_WINDOW_SECONDS'
  | 'MAX_SOCKETS_PER_USER'
  | 'MAX_STREAMS_PER_USER'
  | 'SOCKET_EVENTS_PER_SECOND'
  | 'SOCKET_EVENTS_BURST'
>;

const LOG_EVERY_MS = 60_000;

export async function createConnectionLimits(config: Settings, metrics: Metrics, logger: Logger): Promise<ConnectionLimits> {
  const shared = config.CONNECT_RATE_PER_IP > 0 || config.MAX_SOCKETS_PER_USER > 0 || config.MAX_STREAMS_PER_USER > 0;
  const store = await openLimitStore(shared ? redisTargetOf(config) : null, `${config.REDIS_KEY_PREFIX}:connlimits`, logger);
  const window = config.CONNECT_RATE_WINDOW_SECONDS;
  const connects = new WindowLimits(
    [{ name: CONNECT_PER_IP, points: config.CONNECT_RATE_PER_IP * window, windowSeconds: window }],
    store,
  );
  const slots = await ConnectionSlots.open(
    [
      { name: SOCKETS_PER_USER, max: config.MAX_SOCKETS_PER_USER },
      { name: STREAMS_PER_USER, max: config.MAX_STREAMS_PER_USER },
    ],
    store,
    { instanceId: `${hostname()}:${process.pid}:${randomBytes(4).toString('hex')}` },
  );
  const expiries = new DeadlineSweep<() => void>((expire) => expire()).start();

  const lastLogged = new Map<string, number>();
  const refused = (limit: string, count = 1, fields: Record<string, unknown> = {}) => {
    metrics.rateLimited.inc({ limit }, count);
    const now = Date.now();
    if (now - (lastLogged.get(limit) ?? 0) < LOG_EVERY_MS) return;
    lastLogged.set(limit, now);
    logger.warn({ limit, ...fields }, 'connection limit reached');
  };

  return {
    addressOf: clientAddressResolver(config.TRUST_PROXY),
    async admitConnect(ip) {
      if (config.CONNECT_RATE_PER_IP === 0) return null;
      const { refusedBy } = await connects.admit(addressSubject(ip), [{ [CONNECT_PER_IP]: 1 }]);
      if (!refusedBy) return null;
      refused(CONNECT_PER_IP, 1, { budget: refusedBy.limit, windowSeconds: refusedBy.windowSeconds });
      return { retryAfterMs: refusedBy.resetSeconds * 1000 };
    },
    async acquire(kind, who) {
      const grant = await slots.acquire(kind, `${who.tenantId}:${who.userId}`);
      if (!grant.granted) refused(kind, 1, { tenantId: who.tenantId, max: grant.max });
      return grant;
    },
    eventBudget() {
      return config.SOCKET_EVENTS_PER_SECOND > 0 ? new EventBudget(config.SOCKET_EVENTS_PER_SECOND, config.SOCKET_EVENTS_BURST, Date.now()) : null;
    },
    refused: (limit, count) => refused(limit, count),
    expiries,
    async close() {
      expiries.stop();
      await slots.close();
      await store.close();
    },
  };
}
