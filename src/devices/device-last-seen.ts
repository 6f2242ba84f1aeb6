/**
 * Per-device last seen, written on connect and on disconnect, throttled: a device is
 * written at most once per LAST_SEEN_THROTTLE_MS by this instance, so a reconnect storm
 * costs one write per device, not one per connection. While a device is connected,
 * "last seen" is now (the devices route says `connected`); the stored time is at most the
 * throttle behind its last disconnect. A failed write is logged and dropped: last seen is
 * advisory, never a reason to refuse a connection.
 */
import type { Logger } from '../logger.js';
import type { DeviceRepository } from '../store/device-repository.js';

export const LAST_SEEN_THROTTLE_MS = 30_000;
/** Devices remembered for the throttle; the oldest are forgotten first (then written again sooner). */
const REMEMBERED = 100_000;

export interface DeviceOwner {
  tenantId: string;
  userId: string;
}

export class DeviceLastSeen {
  private readonly written = new Map<string, number>();

  constructor(
    private readonly devices: DeviceRepository,
    private readonly logger: Logger,
    private readonly throttleMs = LAST_SEEN_THROTTLE_MS,
  ) {}

  /** The device was seen now (connected or disconnected). */
  seen(who: DeviceOwner, deviceId: string, now = Date.now()): void {
    const key = JSON.stringify([who.tenantId, who.userId, deviceId]);
    const last = this.written.get(key);
    if (last !== undefined && now - last < this.throttleMs) return;
    this.written.delete(key); // re-inserted last: the map stays in write order
    this.written.set(key, now);
    if (this.written.size > REMEMBERED) this.written.delete(this.written.keys().next().value!);
    this.devices.touch(who.tenantId, who.userId, deviceId, now).catch((error: unknown) => {
      this.logger.warn({ err: error, tenantId: who.tenantId }, 'device last-seen write failed');
    });
  }
}
