/**
 * Devices: a connection names its device; a notification with `devices` reaches only
 * those devices of its one user, live and on replay, and stays in the user's inbox; state
 * echoes reach every device; the devices route lists last seen and who is connected.
 */
import { describe, expect, it } from 'vitest';
import { ACME_KEY, API_KEY, notifyUser, postNotify, uniqueUser, userToken } from '../support/harness.js';
import { useGateway } from '../support/gateway-suite.js';
import { flushWith, TestClient } from '../support/test-client.js';
import { until } from '../support/until.js';

const suite = useGateway();

async function api(method: string, path: string, headers: Record<string, string>): Promise<{ status: number; body: any }> {
  const res = await fetch(`${suite.gw.url}${path}`, { method, headers: { 'content-type': 'application/json', ...headers } });
  return { status: res.status, body: await res.json().catch(() => null) };
}

const listDevices = (user: string, key = API_KEY, query = '') =>
  api('GET', `/api/users/${encodeURIComponent(user)}/devices${query}`, { 'x-api-key': key });

describe('devices', () => {
  it('a notification for one device reaches it live and on replay, no other connection of the user', async () => {
    const user = uniqueUser('dev');
    const token = userToken(user);
    const phone = await suite.connect(suite.gw.url, { token, deviceId: 'phone-1' });
    const laptop = await suite.connect(suite.gw.url, { token, deviceId: 'laptop:1' });
    const anonymous = await suite.connect(suite.gw.url, { token });
    const before = await notifyUser(suite.gw.url, user, 'to all');
    for (const c of [phone, laptop, anonymous]) await c.waitForIds([before]);

    const forPhone = await notifyUser(suite.gw.url, user, 'phone only', { devices: ['phone-1'] });
    await phone.waitForIds([forPhone]);
    expect(phone.received.at(-1)?.devices).toEqual(['phone-1']);
    const marker = () => notifyUser(suite.gw.url, user, 'marker');
    await flushWith(laptop, marker);
    await flushWith(anonymous, marker);
    expect(laptop.ids).not.toContain(forPhone);
    expect(anonymous.ids).not.toContain(forPhone);

    // Replay after `before`, and a fresh device (no lastAckId): only the phone gets it.
    for (const [deviceId, expected] of [['phone-1', true], ['laptop:1', false], [undefined, false]] as const) {
      const resumed = await suite.connect(suite.gw.url, { token, lastAckId: before, ...(deviceId && { deviceId }) });
      const fresh = await suite.connect(suite.gw.url, { token, ...(deviceId && { deviceId }) });
      expect([deviceId, resumed.ids.includes(forPhone), fresh.ids.includes(forPhone)]).toEqual([deviceId, expected, expected]);
      expect(resumed.ids.length).toBeGreaterThan(0); // the markers were replayed to everyone
    }

    // Still one notification of the user's inbox.
    const list = await api('GET', '/api/notifications?limit=50', { authorization: `Bearer ${token}` });
    expect(list.body.items.map((n: { id: string }) => n.id)).toContain(forPhone);
  });

  it('the same device id of another user is another device', async () => {
    const [user, other] = [uniqueUser('dev'), uniqueUser('other')];
    const mine = await suite.connect(suite.gw.url, { token: userToken(user), deviceId: 'shared-name' });
    const theirs = await suite.connect(suite.gw.url, { token: userToken(other), deviceId: 'shared-name' });
    const id = await notifyUser(suite.gw.url, user, 'mine', { devices: ['shared-name'] });
    await mine.waitForIds([id]);
    await flushWith(theirs, () => notifyUser(suite.gw.url, other, 'marker'));
    expect(theirs.ids).not.toContain(id);
  });

  it('takes the device from the x-device-id header; a malformed id is refused', async () => {
    const user = uniqueUser('dev');
    const viaHeader = await suite.connect(suite.gw.url, { token: userToken(user) }, ['websocket'], { extraHeaders: { 'x-device-id': 'kiosk-7' } });
    const id = await notifyUser(suite.gw.url, user, 'kiosk', { devices: ['kiosk-7'] });
    await viaHeader.waitForIds([id]);
    for (const deviceId of ['', 'has space', 'x'.repeat(129), 42]) {
      const refused = await TestClient.refused(suite.gw.url, { token: userToken(user), deviceId });
      expect(refused.message).toBe('invalid_device_id');
    }
  });

  it('refuses devices without exactly one userId', async () => {
    for (const body of [
      { userIds: ['a', 'b'], devices: ['d'], title: 't' },
      { scope: 'tenant', devices: ['d'], title: 't' },
      { userId: 'a', devices: [], title: 't' },
      { userId: 'a', devices: ['bad id'], title: 't' },
    ]) {
      const res = await postNotify(suite.gw.url, 'test:event', body);
      expect([res.status, res.body.error?.code]).toEqual([400, 'VALIDATION_FAILED']);
    }
  });

  it('read echoes reach every device of the user', async () => {
    const user = uniqueUser('dev');
    const token = userToken(user);
    const echoes: Record<string, unknown[]> = { a: [], b: [] };
    const devices = await Promise.all(
      (['a', 'b'] as const).map(async (name) => {
        const client = await suite.connect(suite.gw.url, { token, deviceId: `device-${name}` });
        client.socket.on('notification:read', (info: unknown) => echoes[name]!.push(info));
        return client;
      }),
    );
    const id = await notifyUser(suite.gw.url, user, 'read me');
    for (const d of devices) await d.waitForIds([id]);
    expect((await api('POST', `/api/notifications/${id}/read`, { authorization: `Bearer ${token}` })).status).toBe(200);
    await until(() => echoes.a!.length === 1 && echoes.b!.length === 1, 'both devices echoed');
    expect(echoes.a).toEqual([{ ids: [id] }]);
    expect(echoes.b).toEqual([{ ids: [id] }]);
  });

  it('lists the user’s devices with last seen and whether they are connected', async () => {
    const user = uniqueUser('dev');
    const token = userToken(user);
    await suite.connect(suite.gw.url, { token, deviceId: 'desk' });
    const away = await suite.connect(suite.gw.url, { token, deviceId: 'pocket' });
    const started = Date.now();
    const listed = await listDevices(user);
    expect(listed.status).toBe(200);
    expect(listed.body.devices.map((d: { deviceId: string; connected: boolean }) => [d.deviceId, d.connected]).sort()).toEqual([
      ['desk', true],
      ['pocket', true],
    ]);

    away.close();
    await until(async () => (await listDevices(user)).body.devices.some((d: { deviceId: string; connected: boolean }) => d.deviceId === 'pocket' && !d.connected), 'pocket disconnected');
    const pocket = (await listDevices(user)).body.devices.find((d: { deviceId: string }) => d.deviceId === 'pocket');
    expect(Date.parse(pocket.lastSeen)).toBeGreaterThanOrEqual(started - 60_000);
    expect(Date.parse(pocket.lastSeen)).toBeLessThanOrEqual(Date.now());

    // Another tenant's user of the same id has no devices; a key bound to acme cannot look at default.
    expect((await listDevices(user, API_KEY, '?tenantId=acme')).body.devices).toEqual([]);
    expect((await listDevices(user, ACME_KEY, '?tenantId=default')).status).toBe(403);
    expect((await listDevices(user, 'not-a-key-0000000000')).status).toBe(401);
  });
});

