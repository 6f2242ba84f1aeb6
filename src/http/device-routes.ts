/**
 * `GET /api/users/:userId/devices?tenantId=` (API key): the user's devices, most
 * recently seen first — `{ devices: [{ deviceId, lastSeen, connected }] }`. A connected
 * device's `lastSeen` is now; otherwise the stored last seen (devices/device-last-seen.ts).
 */
import { Router } from 'express';
import type { ConnectedDevices } from '../devices/connected-devices.js';
import type { DeviceRepository } from '../store/device-repository.js';
import { tenantOf, type AdminAuthDeps } from './admin-auth.js';
import { HttpError } from './errors.js';

export interface DeviceRouteDeps extends AdminAuthDeps {
  devices: DeviceRepository;
  connectedDevices: ConnectedDevices;
}

const USER_ID = /^[^\s\u0000-\u001f]{1,128}$/u;

export function deviceRoutes(deps: DeviceRouteDeps): Router {
  const router = Router();
  router.get('/api/users/:userId/devices', async (req, res) => {
    const tenantId = tenantOf(deps, req);
    const userId = req.params.userId;
    if (typeof userId !== 'string' || !USER_ID.test(userId)) throw new HttpError('VALIDATION_FAILED', 'userId: 1..128 characters, no whitespace');
    const [stored, connected] = await Promise.all([deps.devices.list(tenantId, userId), deps.connectedDevices(tenantId, userId)]);
    const now = new Date().toISOString();
    // A device connected before its first last-seen write landed is listed too.
    const unstored = [...connected].filter((id) => !stored.some((d) => d.deviceId === id));
    res.json({
      devices: [
        ...unstored.map((deviceId) => ({ deviceId, lastSeen: now, connected: true })),
        ...stored.map((d) => ({
          deviceId: d.deviceId,
          lastSeen: connected.has(d.deviceId) ? now : new Date(d.lastSeenAt).toISOString(),
          connected: connected.has(d.deviceId),
        })),
      ],
    });
  });
  return router;
}
