/**
 * Which devices of a user are connected right now, on any instance: the sockets in the
 * user's room, through the adapter (with Redis, every instance answers, within the
 * adapter's request timeout), and the device each named.
 */
import { userRoom } from '../realtime/rooms.js';
import type { AppNamespaces } from '../realtime/app-namespaces.js';

export type ConnectedDevices = (tenantId: string, userId: string) => Promise<Set<string>>;

export function connectedDevicesOf(namespaces: AppNamespaces): ConnectedDevices {
  return async (tenantId, userId) => {
    const nsp = namespaces.ofTenant(tenantId);
    if (!nsp) return new Set();
    const sockets = await nsp.in(userRoom(tenantId, userId)).fetchSockets();
    return new Set(sockets.flatMap((socket) => (socket.data.deviceId ? [socket.data.deviceId] : [])));
  };
}
