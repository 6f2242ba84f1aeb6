/**
 * The rooms a POSTed notification goes to, for the emits that do not wait for the relay
 * (urgent out of band, transient), by the same rules as the relay (rooms.ts): each
 * recipient's user room (or with `devices` those devices' rooms), the tenant room, the
 * app room, or each topic's room; recipients whose row is muted are left out.
 */
import type { NotificationInput } from '../outbox/notification-writer.js';
import { targetRooms } from './rooms.js';

export function roomsOfInput(input: NotificationInput): string[] {
  const muted = new Set(input.mutedUserIds ?? []);
  return targetRooms({
    scope: input.scope,
    tenantKey: input.tenantId,
    topics: input.topics,
    devices: input.devices,
    recipients: muted.size > 0 ? input.userIds.filter((u) => !muted.has(u)) : input.userIds,
  });
}
