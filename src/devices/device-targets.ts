/**
 * Devices: a connection names its device, and a notification may be sent to some devices
 * of its one recipient only.
 *
 * Rules:
 * - A device id is 1..128 printable characters without whitespace, taken from the
 *   handshake's `auth.deviceId`, else the `x-device-id` header (clients that cannot set
 *   auth). A malformed one refuses the handshake (`invalid_device_id`); none at all is
 *   a connection of no particular device.
 * - A device is (tenant, user, device): the same device id of another user is another
 *   device. Its room is `device:<tenant>:<length of user id>:<user id>:<device id>`; the
 *   length makes the name unambiguous whatever the user id contains.
 * - `devices` on notify goes with `userId` (one user), never with `userIds`, a tenant
 *   broadcast or topics. Live (transient too) it is emitted to those devices' rooms only; a
 *   replay skips it on every other connection of the user (one without a device id
 *   included). It is still one notification of the user's inbox (REST list, counts).
 */
import { z } from 'zod';

export const DEVICE_ID = /^[^\s\u0000-\u001f\u007f]{1,128}$/u;
/** Most devices one notification may name. */
export const MAX_DEVICES_PER_NOTIFICATION = 20;

export const devicesField = z
  .array(z.string().regex(DEVICE_ID, 'a device id: 1..128 printable characters, no whitespace'))
  .min(1)
  .max(MAX_DEVICES_PER_NOTIFICATION);

export const deviceRoom = (tenantId: string, userId: string, deviceId: string) => `device:${tenantId}:${userId.length}:${userId}:${deviceId}`;

/** The rooms a notification for `devices` of `userIds` goes to (its recipients that are not muted). */
export function deviceRooms(tenantId: string, userIds: readonly string[], devices: readonly string[]): string[] {
  return userIds.flatMap((userId) => devices.map((deviceId) => deviceRoom(tenantId, userId, deviceId)));
}

/** Whether a connection of `deviceId` (null: no device named) may be sent `notification`. */
export function reachesDevice(notification: { devices?: readonly string[] }, deviceId: string | null): boolean {
  return notification.devices === undefined || (deviceId !== null && notification.devices.includes(deviceId));
}

/** The device a handshake names: `auth.deviceId`, else the `x-device-id` header; `invalid` when malformed. */
export function handshakeDevice(auth: unknown, headers: Record<string, string | string[] | undefined>): string | null | 'invalid' {
  const fromAuth = (auth as { deviceId?: unknown } | null | undefined)?.deviceId;
  const raw = fromAuth !== undefined ? fromAuth : headers['x-device-id'];
  if (raw === undefined) return null;
  return typeof raw === 'string' && DEVICE_ID.test(raw) ? raw : 'invalid';
}

/** What is wrong with a notify body's `devices` (schema rules above), as zod issues. */
export function deviceIssues(body: {
  devices?: readonly string[] | undefined;
  userId?: string | undefined;
  userIds?: readonly string[] | undefined;
  scope?: string;
  topics?: readonly string[] | undefined;
}): { path: string[]; message: string }[] {
  if (body.devices === undefined) return [];
  const fits = body.userId !== undefined && body.userIds === undefined && body.scope !== 'tenant' && body.topics === undefined;
  return fits ? [] : [{ path: ['devices'], message: 'devices go with userId (one user): not with userIds, scope "tenant" or topics' }];
}
