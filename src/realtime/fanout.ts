/**
 * Fan-out across instances. One extension point: the Socket.IO adapter. Emits to rooms
 * and the relay wake-up (`serverSideEmit`) both travel through it; drivers are
 * `local-fanout.ts` (one process) and `redis-fanout.ts` (REDIS_URL set).
 */
import type { Namespace, Server } from 'socket.io';
import type { Adapter } from 'socket.io-adapter';

export interface Fanout {
  readonly name: 'local' | 'redis';
  readonly adapter: (nsp: Namespace) => Adapter;
  /** Calls `onWake` when another instance committed outbox rows. */
  attach(io: Server, onWake: () => void): void;
  /** Tell the other instances' relays that rows were committed (coalesced). */
  wakeOthers(): void;
  /** Throws when the cross-instance link is down (for /readyz). */
  ping(): Promise<void>;
  close(): Promise<void>;
}

export const WAKE_EVENT = 'outbox:wake';
