/**
 * Room names, and the rooms a notification goes to. Rooms are per app namespace
 * (app-namespaces.ts); tenant ids contain no `:`, so names cannot collide.
 *
 * `targetRooms` is the one place that turns a target into rooms, for the relay (from the
 * stored row, with the recipients it read) and for the emits that do not wait for it
 * (urgent out of band, transient: from the POSTed input): an early or transient copy
 * never reaches more, or fewer, sockets than the in-order one would.
 */
import { deviceRooms } from '../devices/device-targets.js';
import { topicRoom } from '../topics/topic-names.js';

export const userRoom = (tenantId: string, userId: string) => `user:${tenantId}:${userId}`;
export const tenantRoom = (tenantId: string) => `tenant:${tenantId}`;
/** Every socket of an app's namespace (announcements with `scope: "app"`). */
export const APP_ROOM = 'app';

export interface RoomTarget {
  scope: string;
  /** The storage tenant key. */
  tenantKey: string;
  topics?: readonly string[] | undefined;
  devices?: readonly string[] | undefined;
  /** Scope "user": the users to reach (muted ones already left out). */
  recipients: readonly string[];
}

export function targetRooms({ scope, tenantKey, topics, devices, recipients }: RoomTarget): string[] {
  switch (scope) {
    case 'tenant':
      return [tenantRoom(tenantKey)];
    case 'app':
      return [APP_ROOM];
    case 'topic':
      return (topics ?? []).map((topic) => topicRoom(tenantKey, topic));
    default:
      return devices !== undefined ? deviceRooms(tenantKey, recipients, devices) : recipients.map((u) => userRoom(tenantKey, u));
  }
}
