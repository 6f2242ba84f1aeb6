/**
 * Holding live broadcasts while a socket replays.
 *
 * A reconnecting socket joins its rooms before replay starts (so nothing published
 * during replay is missed) but must not see a live notification overtake older
 * replayed ones: a client advancing `lastAckId` on the newer one would skip the older
 * ones on its next reconnect. So every adapter broadcast that targets a socket in
 * replay is queued per socket and delivered after the replay, skipping ids the
 * replay already sent.
 *
 * Mechanism: every broadcast, local or arriving from Redis, ends in the in-memory
 * adapter's `broadcast`, which encodes the packet once (`_encode`) and then calls
 * `apply(opts, writeToSocket)` synchronously. We wrap both on the adapter instance:
 * `_encode` remembers the packet, `apply` defers `writeToSocket` for held sockets.
 * Those two methods are internal to socket.io-adapter 2.5; test/realtime covers the
 * behaviour, so an upgrade that changes them fails loudly.
 *
 * The same spot records the last notification id written to each socket: after a
 * Redis outage (broadcasts lost between instances) a socket resumes from there.
 *
 * Out-of-band emits (out-of-band.ts) are never held: they are not resume positions, so
 * they cannot make a client skip anything, and holding them would delay exactly the
 * notifications meant to overtake a backlog.
 */
import type { Namespace, Socket } from 'socket.io';
import type { Adapter } from 'socket.io-adapter';
import { OUT_OF_BAND_EVENT } from './out-of-band.js';

interface HeldWrite {
  notificationId: string | null;
  deliver: () => void;
}

interface Packet {
  data?: unknown[];
}

type ApplyFn = (opts: unknown, callback: (socket: Socket) => void) => void;
type EncodeFn = (packet: Packet, opts: unknown) => unknown;

const holds = new WeakMap<Socket, HeldWrite[]>();
const lastWritten = new WeakMap<Socket, string>();
/**
 * The relay commits a position, then emits. A replay can read the row in between, so
 * the live copy may arrive just after the replay ended. Ids a replay sent are skipped
 * for a short while after it, which removes that duplicate in practice (clients still
 * dedupe by id: delivery is at-least-once).
 */
const recentlyReplayed = new WeakMap<Socket, { ids: Set<string>; until: number }>();
const RECENT_REPLAY_WINDOW_MS = 5000;
/** A hold that outgrows this (a long outage) ends with the connection: it reconnects and replays. */
const MAX_HELD_WRITES = 10_000;

/** The newest notification id written to this socket (live or replayed), if any. */
export function lastDeliveredId(socket: Socket): string | undefined {
  return lastWritten.get(socket);
}

export function recordDelivered(socket: Socket, notificationId: string): void {
  lastWritten.set(socket, notificationId);
}

/** Starts holding live broadcasts for `socket` (a hold already running is kept). */
export function startHold(socket: Socket): void {
  if (!holds.has(socket)) holds.set(socket, []);
}

/** Delivers what was held, in arrival order, except notifications already replayed. */
export function releaseHold(socket: Socket, alreadySent: ReadonlySet<string>): number {
  const held = holds.get(socket) ?? [];
  holds.delete(socket);
  if (alreadySent.size > 0) {
    recentlyReplayed.set(socket, { ids: new Set(alreadySent), until: Date.now() + RECENT_REPLAY_WINDOW_MS });
  }
  let delivered = 0;
  for (const write of held) {
    if (write.notificationId !== null && alreadySent.has(write.notificationId)) continue;
    write.deliver();
    if (write.notificationId !== null) lastWritten.set(socket, write.notificationId);
    delivered += 1;
  }
  return delivered;
}

/** `onDelivered(kind, sockets)` counts notification writes: once per broadcast, not per socket. */
export function withReplayHold(
  makeAdapter: (nsp: Namespace) => Adapter,
  onDelivered: (kind: string, sockets: number) => void = () => undefined,
): (nsp: Namespace) => Adapter {
  // A plain function, not an arrow: socket.io calls the adapter factory with `new`.
  return function holdingAdapter(nsp: Namespace) {
    const adapter = makeAdapter(nsp) as unknown as { _encode: EncodeFn; apply: ApplyFn };
    const encode = adapter._encode.bind(adapter);
    const apply = adapter.apply.bind(adapter);
    if (typeof encode !== 'function' || typeof apply !== 'function') {
      throw new Error('socket.io-adapter internals changed: replay hold cannot be installed');
    }
    let encoding: Packet | null = null;
    adapter._encode = (packet, opts) => {
      encoding = packet;
      return encode(packet, opts);
    };
    adapter.apply = (opts, callback) => {
      const packet = encoding;
      encoding = null;
      // Not a broadcast (socketsJoin, disconnectSockets, …), or out of band: never held.
      if (packet === null || packet.data?.[0] === OUT_OF_BAND_EVENT) return apply(opts, callback);
      const notificationId = notificationIdOf(packet);
      const kind = notificationId === null ? null : kindOf(packet);
      let written = 0;
      apply(opts, (socket) => {
        const held = holds.get(socket);
        if (held) {
          held.push({
            notificationId,
            deliver: () => {
              callback(socket);
              if (kind !== null) onDelivered(kind, 1);
            },
          });
          if (held.length > MAX_HELD_WRITES) {
            holds.delete(socket);
            setImmediate(() => socket.conn.close(true));
          }
          return;
        }
        if (notificationId !== null && wasJustReplayed(socket, notificationId)) return;
        callback(socket);
        written += 1;
        if (notificationId !== null) lastWritten.set(socket, notificationId);
      });
      if (kind !== null && written > 0) onDelivered(kind, written);
    };
    return adapter as unknown as Adapter;
  };
}

function wasJustReplayed(socket: Socket, notificationId: string): boolean {
  const recent = recentlyReplayed.get(socket);
  if (!recent) return false;
  if (Date.now() > recent.until) {
    recentlyReplayed.delete(socket);
    return false;
  }
  return recent.ids.delete(notificationId);
}

function kindOf(packet: Packet): string {
  const kind = (packet.data?.[1] as { kind?: unknown } | undefined)?.kind;
  return typeof kind === 'string' ? kind : 'unknown';
}

function notificationIdOf(packet: Packet): string | null {
  const [event, payload] = packet.data ?? [];
  if (event !== 'notification' || !payload || typeof payload !== 'object') return null;
  // A transient notification's id is in no stream: never a position to resume from.
  if ((payload as { transient?: unknown }).transient === true) return null;
  const id = (payload as { id?: unknown }).id;
  return typeof id === 'string' ? id : null;
}
