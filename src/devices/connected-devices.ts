/**
 * Which devices of a user are connected right now, on any instance: the sockets in the
 * user's room, through the adapter (with Redis, every instance answers, within the
 * adapter's request timeout), and the device each named.
 */
import { userRoom } from '../outbox/outbox-relay.js';
import type { GatewayServer } from '../realtime/socket-gateway.js';

export type ConnectedDevices = (tenantId: string, userId: string) => Promise<Set<string>>;

export function connectedDevicesOf(io: GatewayServer): ConnectedDevices {
  return async (tenantId, userId) => {
    const sockets = await io.in(userRoom(tenantId, userId)).fetchSockets();
    return new Set(sockets.flatMap((socket) => (socket.data.deviceId ? [socket.data.deviceId] : [])));
  };
}
