/**
 * Transient notifications (`transient: true`): progress, typing, "someone is viewing".
 *
 * Rules:
 * - Emitted at once, from the instance that took the POST, through the adapter (every
 *   instance's sockets in the target rooms get it), to the rooms a stored one would reach
 *   (realtime/input-rooms.ts): user rooms (minus users who muted the kind in-app), or only
 *   the named devices' rooms, the tenant room, or topic rooms.
 * - Never stored: no message, inbox, outbox or topic row; not listed, not replayed, not
 *   delivered through channels. A socket that is offline at that moment never gets it.
 * - It carries `transient: true` and a fresh id that is in no stream: clients must
 *   neither make it their resume position (`lastAckId`) nor ack it. The replay hold
 *   (realtime/replay-hold.ts) does not record it as a socket's last delivered id.
 * - Answered `202 { transient: true, recipients }` (distinct users, 0 for tenant and topics).
 */
import { HttpError } from '../http/errors.js';
import type { NotificationInput } from '../outbox/notification-writer.js';
import { newMessageId } from '../outbox/message-id.js';
import type { WireNotification } from '../store/message-codec.js';
import { roomsOfInput } from '../realtime/input-rooms.js';
import { wireOfInput } from '../realtime/input-wire.js';

export interface TransientAnswer {
  transient: true;
  recipients: number;
}

export type TransientEmitter = (input: NotificationInput) => TransientAnswer;

/** What a gateway hands the emitter: an emit through its adapter (in the namespace of the tenant key's app), and a count per target. */
export interface TransientSink {
  emit(tenantKey: string, rooms: string[], notification: WireNotification): void;
  counted(target: NotificationInput['scope']): void;
}

export function createTransientEmitter(sink: TransientSink): TransientEmitter {
  return (input) => {
    const rooms = roomsOfInput(input);
    if (rooms.length > 0) sink.emit(input.tenantId, rooms, transientNotification(input));
    sink.counted(input.scope);
    return { transient: true, recipients: input.userIds.length };
  };
}

/** For the routes: the answer to a transient item, or a refusal when the gateway has no emitter. */
export function sendTransient(emit: TransientEmitter | undefined, input: NotificationInput): { status: 202; body: TransientAnswer } {
  if (!emit) throw new HttpError('VALIDATION_FAILED', 'transient notifications are not available here');
  return { status: 202, body: emit(input) };
}

function transientNotification(input: NotificationInput): WireNotification {
  // The shape of a stored one, plus the flag.
  return { ...wireOfInput(input, newMessageId(), Date.now()), transient: true };
}
