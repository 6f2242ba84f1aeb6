/**
 * Out-of-band emits: an urgent notification reaches its recipients' sockets right after
 * its write commits, from the instance that took the POST, instead of queueing behind
 * whatever the relay has not emitted yet.
 *
 * Rules:
 * - Only `priority: "urgent"`, and only new notifications (a dedupe hit sends nothing).
 * - The event is `notification:out-of-band` with the payload of `notification`. The relay
 *   still emits the same notification as `notification` later, in commit order; that copy
 *   is the one that moves a client's resume position. A separate event rather than a flag
 *   on `notification`: a client that knows nothing of it must never take an out-of-band
 *   id for its `lastAckId`, which would skip every earlier position not yet emitted.
 * - To the rooms the relay uses (input-rooms.ts): recipients' user or device rooms (not
 *   muted ones), the tenant or app room, or the topic rooms of a topic message. The adapter
 *   carries the emit to the other instances like any other.
 * - Never held back by a replay (replay-hold.ts), and it moves no socket's resume position.
 * - Best effort: an emit lost on the way (Redis down) costs only the head start; the
 *   in-order copy and replay deliver it as before.
 */
import type { CommittedWrite } from '../outbox/notification-writer.js';
import type { WireNotification } from '../store/message-codec.js';
import { roomsOfInput } from './input-rooms.js';
import { wireOfInput } from './input-wire.js';

export const OUT_OF_BAND_EVENT = 'notification:out-of-band';

export interface OutOfBandEmit {
  /** The storage tenant key: the emit goes to its app's namespace (room names like `app` repeat across apps). */
  tenantKey: string;
  rooms: string[];
  notification: WireNotification;
}

/** What to emit out of band for one committed write, in position order. */
export function outOfBandEmits({ notifications, createdAt }: CommittedWrite): OutOfBandEmit[] {
  const emits: OutOfBandEmit[] = [];
  for (const { id, input } of notifications) {
    if (input.priority !== 'urgent') continue;
    const rooms = roomsOfInput(input);
    if (rooms.length === 0) continue;
    const notification = wireOfInput(input, id, createdAt);
    emits.push({ tenantKey: input.tenantId, rooms, notification });
  }
  return emits;
}
