import { describe, expect, it } from 'vitest';
import { DEVICE_ID_KEY, deviceIdFor } from '../../src/client/device-id.js';
import type { CursorStorage } from '../../src/client/types.js';

function storage(initial: Record<string, string> = {}): CursorStorage & { data: Record<string, string> } {
  const data = { ...initial };
  return { data, get: (k) => data[k] ?? null, set: (k, v) => void (data[k] = v) };
}

describe('the SDK device id', () => {
  it('is generated once per storage and kept under notify:deviceId', () => {
    const store = storage();
    const first = deviceIdFor(store, undefined);
    expect(first).toMatch(/^[^\s]{1,128}$/);
    expect(store.data[DEVICE_ID_KEY]).toBe(first);
    expect(deviceIdFor(store, undefined)).toBe(first);
    expect(deviceIdFor(storage(), undefined)).not.toBe(first);
  });

  it('is replaced when the stored one is malformed, and the option overrides it', () => {
    const store = storage({ [DEVICE_ID_KEY]: 'has space' });
    expect(deviceIdFor(store, undefined)).not.toBe('has space');
    expect(deviceIdFor(store, 'kiosk-7')).toBe('kiosk-7');
    expect(() => deviceIdFor(store, 'bad id')).toThrow(/deviceId/);
  });
});
