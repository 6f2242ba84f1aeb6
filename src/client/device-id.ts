/**
 * The device id a browser sends in the handshake (`auth.deviceId`): generated once and
 * kept in the client's storage (localStorage by default) under `notify:deviceId`, so
 * every tab and reload of one browser is one device. The `deviceId` option overrides it.
 */
import type { CursorStorage } from './types.js';

export const DEVICE_ID_KEY = 'notify:deviceId';
/** What the gateway accepts: 1..128 printable characters, no whitespace. */
const DEVICE_ID = /^[^\s\u0000-\u001f\u007f]{1,128}$/u;

export function deviceIdFor(storage: CursorStorage, override: string | undefined): string {
  if (override !== undefined) {
    if (!DEVICE_ID.test(override)) throw new Error('deviceId: 1..128 printable characters, no whitespace');
    return override;
  }
  const stored = storage.get(DEVICE_ID_KEY);
  if (stored !== null && DEVICE_ID.test(stored)) return stored;
  const fresh = newDeviceId();
  storage.set(DEVICE_ID_KEY, fresh);
  return fresh;
}

function newDeviceId(): string {
  if (typeof globalThis.crypto?.randomUUID === 'function') return globalThis.crypto.randomUUID();
  return `d-${Date.now().toString(36)}-${Math.random().toString(36).slice(2)}`;
}
