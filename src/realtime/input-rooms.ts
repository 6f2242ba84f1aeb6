/**
 * The rooms a POSTed notification goes to, for the emits that do not wait for the relay
 * (urgent out of band, transient). The relay picks the same rooms from the stored row
 * (outbox-relay.ts); keeping this the one place for inputs means an early or transient
 * copy never reaches more, or fewer, sockets than the in-order one would.
 *
 * - scope "tenant": the tenant room; scope "app": the app room;
 * - scope "topic": each topic's room;
 * - otherwise each recipient's user room, or with `devices` only those devices' rooms;
 *   recipients whose row is muted are left out either way.
 */
import { deviceRooms } from '../devices/device-targets.js';
import type { NotificationInput } from '../outbox/notification-writer.js';
import { APP_ROOM, tenantRoom, userRoom } from '../outbox/outbox-relay.js';
import { topicRoom } from '../topics/topic-names.js';

export function roomsOfInput(input: NotificationInput): string[] {
  switch (input.scope) {
    case 'tenant':
      return [tenantRoom(input.tenantId)];
    case 'app':
      return [APP_ROOM];
    case 'topic':
      return (input.topics ?? []).map((topic) => topicRoom(input.tenantId, topic));
    default: {
      const muted = new Set(input.mutedUserIds ?? []);
      const recipients = input.userIds.filter((u) => !muted.has(u));
      return input.devices !== undefined ? deviceRooms(input.tenantId, recipients, input.devices) : recipients.map((u) => userRoom(input.tenantId, u));
    }
  }
}
