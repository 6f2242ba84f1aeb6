/**
 * Devices' last-seen times (`notify_devices`, migrations/…_007_devices.ts), per
 * (tenant, user, device). Written by devices/device-last-seen.ts, listed by
 * `GET /api/users/:userId/devices`.
 */
import type { Knex } from 'knex';
import { toNumber } from './message-codec.js';

export interface DeviceSeen {
  deviceId: string;
  /** Epoch ms. */
  lastSeenAt: number;
}

/** Most devices listed per user: the most recently seen. */
export const MAX_LISTED_DEVICES = 100;

export class DeviceRepository {
  constructor(private readonly db: Knex) {}

  /** Records that the device was seen at `at`; an earlier time never replaces a later one. */
  async touch(tenantId: string, userId: string, deviceId: string, at: number): Promise<void> {
    await this.db('notify_devices')
      .insert({ tenant_id: tenantId, user_id: userId, device_id: deviceId, last_seen_at: at })
      .onConflict(['tenant_id', 'user_id', 'device_id'])
      .merge({ last_seen_at: this.db.raw('CASE WHEN ? > last_seen_at THEN ? ELSE last_seen_at END', [at, at]) });
  }

  /** The user's devices, most recently seen first. */
  async list(tenantId: string, userId: string): Promise<DeviceSeen[]> {
    const rows: { device_id: string; last_seen_at: number | string }[] = await this.db('notify_devices')
      .where({ tenant_id: tenantId, user_id: userId })
      .orderBy('last_seen_at', 'desc')
      .limit(MAX_LISTED_DEVICES)
      .select('device_id', 'last_seen_at');
    return rows.map((r) => ({ deviceId: r.device_id, lastSeenAt: toNumber(r.last_seen_at) ?? 0 }));
  }
}
