/**
 * Muted inbox rows (a recipient opted out of in-app for the kind when it was written):
 * stored through the real writer, never pushed live (socket, SSE), never replayed
 * (socket, SSE, polling), not listed or counted unless asked for, while an unmuted
 * co-recipient gets the same notification as usual and the deliveries planner still
 * sees every recipient.
 */
import { afterAll, describe, expect, it } from 'vitest';
import type { NotificationInput } from '../../src/outbox/notification-writer.js';
import { SseSession } from '../http/sse-session.js';
import { notifyUser, uniqueUser, userToken } from '../support/harness.js';
import { useGateway } from '../support/gateway-suite.js';
import { flushWith } from '../support/test-client.js';

const suite = useGateway();
const sseSessions: SseSession[] = [];
afterAll(() => sseSessions.forEach((s) => s.close()));

let tenants = 0;
const freshTenant = () => `mt${Date.now()}${tenants++}`;

const input = (tenantId: string, userIds: string[], mutedUserIds: string[], title: string): NotificationInput => ({
  tenantId,
  kind: 'test:muted',
  scope: 'user',
  userIds,
  mutedUserIds,
  title,
  priority: 'medium',
});

async function writeMuted(tenantId: string, userIds: string[], mutedUserIds: string[], title: string): Promise<string> {
  const result = await suite.gw.gateway.writer.write(input(tenantId, userIds, mutedUserIds, title));
  expect(result.deduped).toBe(false);
  return result.id;
}

async function api(path: string, token: string, method: 'GET' | 'POST' = 'GET') {
  const res = await fetch(`${suite.gw.url}${path}`, { method, headers: { authorization: `Bearer ${token}` } });
  expect(res.status).toBe(200);
  return (await res.json()) as Record<string, any>;
}

async function openSse(token: string, lastEventId?: string) {
  const headers: Record<string, string> = { authorization: `Bearer ${token}`, ...(lastEventId ? { 'last-event-id': lastEventId } : {}) };
  const session = await SseSession.open(`${suite.gw.url}/api/stream`, headers);
  sseSessions.push(session);
  await session.waitFor(() => session.named('synced').length > 0, 'SSE synced');
  return session;
}

const idsOf = (items: { id: string }[]) => items.map((i) => i.id);

describe('muted rows', () => {
  it('are not pushed to the muted user, live or over SSE, while the co-recipient gets them', async () => {
    const tenant = freshTenant();
    const [alice, bob] = [uniqueUser('muted'), uniqueUser('unmuted')];
    const aliceSocket = await suite.connect(suite.gw.url, { token: userToken(alice, tenant) });
    const bobSocket = await suite.connect(suite.gw.url, { token: userToken(bob, tenant) });
    const aliceSse = await openSse(userToken(alice, tenant));

    const single = await writeMuted(tenant, [alice, bob], [alice], 'quiet for alice');
    const [batched] = await suite.gw.gateway.writer.writeBatch([input(tenant, [bob, alice], [alice], 'batched, quiet for alice')]);
    const batchedId = (batched as { ok: { id: string } }).ok.id;
    await bobSocket.waitForIds([single, batchedId]);

    // Anything sent to Alice before the marker had its chance to arrive first.
    let marker = '';
    await flushWith(aliceSocket, async () => (marker = await notifyUser(suite.gw.url, alice, 'marker', { tenantId: tenant })));
    await aliceSse.waitForIds([marker]);
    expect(aliceSocket.ids).toEqual([marker]);
    expect(aliceSse.notificationIds).toEqual([marker]);

    // Both rows are stored; the relay reads only the in-app ones, the planner all of them.
    const stream = suite.gw.gateway.store.stream;
    const all = await stream.recipientsOf([single, batchedId]);
    expect([...(all.get(single) ?? [])].sort()).toEqual([alice, bob].sort());
    expect([...(all.get(batchedId) ?? [])].sort()).toEqual([alice, bob].sort());
    expect(await stream.recipientsIfFew([single], 10)).toEqual(new Map([[single, expect.arrayContaining([alice, bob])]]));
    const inApp = await stream.recipientsOf([single, batchedId], { rows: 10, perMessage: 2 }, 'in-app');
    expect(inApp).toEqual(
      new Map([
        [single, [bob]],
        [batchedId, [bob]],
      ]),
    );
  });

  it('are not replayed on reconnect: socket, SSE and polling skip them', async () => {
    const tenant = freshTenant();
    const [alice, bob] = [uniqueUser('muted'), uniqueUser('unmuted')];
    const token = userToken(alice, tenant);
    const watcher = await suite.connect(suite.gw.url, { token: userToken(bob, tenant) });
    const anchor = await notifyUser(suite.gw.url, alice, 'anchor', { tenantId: tenant });
    const muted = await writeMuted(tenant, [alice, bob], [alice], 'missed but muted');
    const after = await notifyUser(suite.gw.url, alice, 'after', { tenantId: tenant });
    const mutedLast = await writeMuted(tenant, [alice, bob], [alice], 'muted, newest');
    // Once Bob has the newest, the relay has passed all of them.
    await watcher.waitForIds([muted, mutedLast]);

    const back = await suite.connect(suite.gw.url, { token, lastAckId: anchor });
    expect(back.synced[0]).toEqual({ replayed: 1, recovered: true });
    expect(back.ids).toEqual([after]);

    const sse = await openSse(token, anchor);
    expect(sse.notificationIds).toEqual([after]);
    expect(JSON.parse(sse.named('synced')[0]!.data)).toEqual({ replayed: 1, recovered: true });

    expect(await api(`/api/notifications?after=${anchor}`, token)).toEqual({ items: [expect.objectContaining({ id: after })], lastId: after, recovered: true });
    // The head is the newest entry Alice can receive, not a muted one.
    expect(await api('/api/notifications?after=', token)).toEqual({ items: [], lastId: after, recovered: false });
  });

  it('are not listed or counted by default, are listed with includeMuted=1, and bulk changes pass them by', async () => {
    const tenant = freshTenant();
    const [alice, bob] = [uniqueUser('muted'), uniqueUser('unmuted')];
    const watcher = await suite.connect(suite.gw.url, { token: userToken(bob, tenant) });
    const token = userToken(alice, tenant);
    const anchor = await notifyUser(suite.gw.url, alice, 'anchor', { tenantId: tenant });
    const muted = await writeMuted(tenant, [alice, bob], [alice], 'muted');
    const marker = await notifyUser(suite.gw.url, alice, 'marker', { tenantId: tenant });
    await watcher.waitForIds([muted]);

    expect(idsOf((await api('/api/notifications', token)).items)).toEqual([marker, anchor]);
    expect(await api('/api/notifications/unread-count', token)).toEqual({ count: 2, unseen: 2 });
    const withMuted = (await api('/api/notifications?includeMuted=1', token)).items;
    expect(idsOf(withMuted)).toEqual([marker, muted, anchor]);
    expect(withMuted[1]).toMatchObject({ id: muted, muted: true, read: false });
    expect(withMuted[0]).not.toHaveProperty('muted');
    // Bob's row of the same notification is an ordinary one.
    const bobView = await api('/api/notifications', userToken(bob, tenant));
    expect(bobView.items).toEqual([expect.not.objectContaining({ muted: true })]);
    expect(bobView.items[0]).toMatchObject({ id: muted });
    expect(await api('/api/notifications/unread-count', userToken(bob, tenant))).toEqual({ count: 1, unseen: 1 });

    expect((await api('/api/notifications/read-all', token, 'POST')).marked).toBe(2);
    const seen = await fetch(`${suite.gw.url}/api/notifications/seen`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ until: new Date().toISOString() }),
    });
    expect(((await seen.json()) as { ids: string[] }).ids).toEqual([]);
    expect((await api('/api/notifications?includeMuted=1&status=unread', token)).items).toEqual([
      expect.objectContaining({ id: muted, muted: true, seen: false }),
    ]);
    // Named by id, a muted row is the user's like any other.
    expect(await api(`/api/notifications/${muted}/read`, token, 'POST')).toEqual({ id: muted, read: true, changed: true });
    expect((await api('/api/notifications?includeMuted=1&status=unread', token)).items).toEqual([]);
  });
});
