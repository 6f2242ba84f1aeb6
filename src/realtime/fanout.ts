/**
 * Fan-out across instances. One extension point: the Socket.IO adapter. Emits to rooms
 * and the relay wake-up (`serverSideEmit`) both travel through it; drivers are
 * `local-fanout.ts` (one process), `redis-fanout.ts` (REDIS_URL set) and
 * `redis-cluster-fanout.ts` (REDIS_CLUSTER_NODES set).
 */
import type { Namespace, Server } from 'socket.io';
import type { Adapter } from 'socket.io-adapter';
import type { PolicyChange } from '../policy/policy-change.js';
import type { WireNotification } from '../store/message-codec.js';

export interface Fanout {
  readonly name: 'local' | 'redis' | 'redis-cluster';
  readonly adapter: (nsp: Namespace) => Adapter;
  /** Calls `onWake` when another instance committed outbox rows, `onAdvance` when the relay published. */
  attach(io: Server, listeners: FanoutListeners): void;
  /** Tell the other instances' relays that rows were committed (coalesced). */
  wakeOthers(): void;
  /** Tell the other instances that the relay published (SSE streams re-read the store). */
  announceAdvance(): void;
  /** Tell the other instances' delivery workers that deliveries were queued. */
  announceDeliveries(): void;
  /** Tell the other instances that preferences or kind defaults changed (their policy caches drop them). */
  announcePolicyChange(change: PolicyChange): void;
  /**
   * Sends the relay's emits of one batch to the other instances as few messages (not one
   * per notification); each emits them to its own sockets (`onRelayBatch`), in order, and
   * takes the message as the relay's advance too (`onAdvance`): a batch sent this way is
   * not announced again. Unset: the relay's emits travel one by one through the adapter.
   */
  relayBatch?(emits: readonly RelayEmit[]): void;
  /**
   * Resolves once what this instance published so far has reached Redis. The relay waits
   * for it before it moves its cursor: a publish still queued in the client (auto-pipelining
   * sends on the next turn) when the process dies must not count as emitted. Resolves,
   * never rejects; an outage is handled as a link loss. Unset: publishes are not queued.
   */
  published?(): Promise<void>;
  /** Throws when the cross-instance link is down (for /readyz). */
  ping(): Promise<void>;
  close(): Promise<void>;
}

export interface FanoutListeners {
  onWake: () => void;
  onAdvance: () => void;
  onDeliveries: () => void;
  /** Another instance changed preferences or kind defaults. */
  onPolicyChange: (change: PolicyChange) => void;
  /** Broadcasts from other instances may be lost from now on. */
  onLinkLost: () => void;
  /** The cross-instance link was down and is back: broadcasts may have been lost. */
  onLinkRestored: () => void;
  /** The relay (on another instance) emitted these, in this order: emit them to the local sockets. */
  onRelayBatch: (emits: readonly RelayEmit[]) => void;
}

/** One `notification` emit of the relay: to these rooms of the tenant key's namespace. */
export interface RelayEmit {
  tenantKey: string;
  rooms: string[];
  notification: WireNotification;
}

/** A relay batch from another instance, or null when it is not one (never trusted blindly). */
export function parseRelayBatch(raw: unknown): RelayEmit[] | null {
  if (!Array.isArray(raw)) return null;
  const valid = raw.every(
    (e: Partial<RelayEmit> | null) =>
      typeof e?.tenantKey === 'string' && Array.isArray(e.rooms) && typeof e.notification === 'object' && e.notification !== null,
  );
  return valid ? (raw as RelayEmit[]) : null;
}

/** Longest the relay waits for Redis to confirm its publishes before it moves on (an outage is a link loss). */
export const PUBLISHED_TIMEOUT_MS = 2_000;

export const WAKE_EVENT = 'outbox:wake';
export const ADVANCE_EVENT = 'stream:advanced';
export const RESYNC_EVENT = 'link:restored';
export const DELIVERIES_EVENT = 'deliveries:queued';
export const POLICY_EVENT = 'policy:changed';
export const RELAY_BATCH_EVENT = 'relay:batch';
