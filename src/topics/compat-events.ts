/**
 * Compatibility with clients written against the common `subscribe` / `subscribeCount` /
 * `dataUpdate` protocol (README "Compatibility: subscribe / subscribeCount / dataUpdate").
 *
 * - A socket speaks it when its handshake says `auth.compat: true` or `?compat=1`, or
 *   from its first `subscribeCount` on. Such a socket gets everything a socket gets, and
 *   in addition `dataUpdate`:
 *   - `{ type: "count", topic, count }` for each `presence` update (count = connections);
 *   - `{ type: "data", topic, id, kind, data }` for each live topic message, once per
 *     topic of the message that the socket holds; `{ type: "data", id, kind, data }` for
 *     each live message sent to this socket's device (`devices`).
 * - Made per socket, from what is written to it (`onAnyOutgoing` sees room broadcasts
 *   too, after the replay hold): nothing changes for other sockets, the relay and the
 *   adapter carry nothing more, and a copy follows exactly the notifications this socket
 *   was sent. Replayed notifications (`replayed: true`) and out-of-band copies get none:
 *   such clients have no resume position, and the in-order copy follows anyway.
 */
import type { Socket } from 'socket.io';
import type { Notification } from '../client/types.js';
import { PRESENCE_EVENT, type PresenceUpdate } from '../presence/presence-watchers.js';

export const DATA_UPDATE_EVENT = 'dataUpdate';

export type DataUpdate =
  | { type: 'count'; topic: string; count: number }
  | { type: 'data'; topic?: string; id: string; kind: string; data: Record<string, unknown> };

type CompatSocket = Pick<Socket, 'emit' | 'onAnyOutgoing' | 'handshake'> & { data: { topics: Set<string>; compat: boolean } };

/** Whether the handshake opts into `dataUpdate` (`auth.compat: true`, or `compat=1` / `compat=true` in the query). */
export function wantsCompat(handshake: Socket['handshake']): boolean {
  if ((handshake.auth as { compat?: unknown } | undefined)?.compat === true) return true;
  const query = handshake.query?.compat;
  return query === '1' || query === 'true';
}

/** Starts the `dataUpdate` copies for a socket (once; later calls change nothing). */
export function speakCompat(socket: CompatSocket): void {
  if (socket.data.compat) return;
  socket.data.compat = true;
  socket.onAnyOutgoing((event: string, payload: unknown) => {
    for (const update of dataUpdatesOf(event, payload, socket.data.topics)) socket.emit(DATA_UPDATE_EVENT, update);
  });
}

/** The `dataUpdate` copies of one event written to a socket holding `held`. */
export function dataUpdatesOf(event: string, payload: unknown, held: ReadonlySet<string>): DataUpdate[] {
  if (event === PRESENCE_EVENT) {
    const { topic, connections } = payload as PresenceUpdate;
    return [{ type: 'count', topic, count: connections }];
  }
  if (event !== 'notification') return [];
  const n = payload as Notification;
  if (n.replayed === true) return [];
  const base = { type: 'data' as const, id: n.id, kind: n.kind, data: n.data ?? {} };
  if (n.topics !== undefined) return n.topics.filter((topic) => held.has(topic)).map((topic) => ({ ...base, topic }));
  return n.devices !== undefined ? [base] : [];
}
