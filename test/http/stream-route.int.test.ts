/**
 * GET /api/stream (SSE): authentication, live delivery with `id:` = notification id,
 * exact resume from Last-Event-ID, isolation, read echo, and cleanup on close.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestBed, notifyUser, signToken, uniqueUser, userToken, type RunningGateway, type TestBed } from '../support/harness.js';
import { until } from '../support/until.js';
import { SseSession } from './sse-session.js';

let bed: TestBed;
let gw: RunningGateway;
const sessions: SseSession[] = [];

beforeAll(async () => {
  bed = await createTestBed();
  gw = await bed.start();
});
afterAll(async () => {
  for (const s of sessions) s.close();
  await bed.stopAll();
});

async function open(query: string, headers: Record<string, string> = {}) {
  const session = await SseSession.open(`${gw.url}/api/stream${query}`, headers);
  sessions.push(session);
  return session;
}
const bearer = (token: string) => ({ authorization: `Bearer ${token}` });
const synced = (s: SseSession) => s.waitFor(() => s.named('synced').length > 0, 'synced');

describe('GET /api/stream', () => {
  it('refuses a missing or expired token with 401', async () => {
    expect((await open('')).response.status).toBe(401);
    const expired = signToken({ sub: 'x' }, { expiresIn: -5 });
    const res = await open('', bearer(expired));
    expect(res.response.status).toBe(401);
    expect(await res.response.json()).toMatchObject({ error: { code: 'UNAUTHORIZED' } });
  });

  it('streams live notifications with id = notification id, after synced (recovered:false)', async () => {
    const user = uniqueUser();
    const s = await open('', bearer(userToken(user)));
    expect(s.response.headers.get('content-type')).toMatch(/^text\/event-stream/);
    await synced(s);
    expect(JSON.parse(s.named('synced')[0]!.data)).toEqual({ replayed: 0, recovered: false });
    const ids = [await notifyUser(gw.url, user, 'one', { priority: 'high' }), await notifyUser(gw.url, user, 'two')];
    await s.waitForIds(ids);
    expect(s.notificationIds).toEqual(ids);
    const first = JSON.parse(s.named('notification')[0]!.data);
    expect(first).toMatchObject({ id: ids[0], title: 'one', priority: 'high', scope: 'user', tenantId: 'default' });
  });

  it('resumes after Last-Event-ID with exactly what was missed, in order, then live', async () => {
    const user = uniqueUser();
    const token = userToken(user);
    const first = await open('', bearer(token));
    // Stays connected: once it has the missed ones, the relay has sequenced them.
    const watcher = await open('', bearer(token));
    await Promise.all([synced(first), synced(watcher)]);
    const seen = await notifyUser(gw.url, user, 'seen');
    await first.waitForIds([seen]);
    first.close();
    const missed: string[] = [];
    for (let i = 0; i < 4; i++) missed.push(await notifyUser(gw.url, user, `missed ${i}`));
    await watcher.waitForIds(missed);

    const back = await open('', { ...bearer(token), 'last-event-id': seen });
    await synced(back);
    expect(JSON.parse(back.named('synced')[0]!.data)).toEqual({ replayed: 4, recovered: true });
    const live = await notifyUser(gw.url, user, 'live');
    await back.waitForIds([live]);
    expect(back.notificationIds).toEqual([...missed, live]);
  });

  it('accepts ?token= and ?lastEventId= for EventSource, which cannot set headers', async () => {
    const user = uniqueUser();
    const token = userToken(user);
    const live = await open('', bearer(token));
    await synced(live);
    const a = await notifyUser(gw.url, user, 'a');
    const b = await notifyUser(gw.url, user, 'b');
    await live.waitForIds([a, b]);
    const s = await open(`?token=${token}&lastEventId=${a}`);
    await s.waitForIds([b]);
    expect(s.notificationIds).toEqual([b]);
  });

  it('never resumes from another user’s id and never shows their notifications', async () => {
    const [alice, bob] = [uniqueUser(), uniqueUser()];
    const aliceStream = await open('', bearer(userToken(alice)));
    await synced(aliceStream);
    const secret = await notifyUser(gw.url, alice, 'secret');
    await aliceStream.waitForIds([secret]);
    const bobStream = await open('', { ...bearer(userToken(bob)), 'last-event-id': secret });
    await synced(bobStream);
    expect(JSON.parse(bobStream.named('synced')[0]!.data)).toEqual({ replayed: 0, recovered: false });
    await notifyUser(gw.url, alice, 'another secret');
    const marker = await notifyUser(gw.url, bob, 'marker');
    await bobStream.waitForIds([marker]);
    expect(bobStream.notificationIds).toEqual([marker]);
  });

  it('forwards read changes as `read` events without moving Last-Event-ID', async () => {
    const user = uniqueUser();
    const token = userToken(user);
    const s = await open('', bearer(token));
    await synced(s);
    const id = await notifyUser(gw.url, user, 'read me');
    await s.waitForIds([id]);
    await fetch(`${gw.url}/api/notifications/${id}/read`, { method: 'POST', headers: bearer(token) });
    await s.waitFor(() => s.named('read').length === 1, 'read event');
    const read = s.named('read')[0]!;
    expect(JSON.parse(read.data)).toEqual({ ids: [id] });
    expect(read.id).toBeUndefined();
  });

  it('drops its listeners when the client goes away, and gateway shutdown ends open streams', async () => {
    const emitter = gw.gateway.streamAdvanced;
    const baseline = emitter.listenerCount('advance');
    const s = await open('', bearer(userToken(uniqueUser())));
    await synced(s);
    expect(emitter.listenerCount('advance')).toBe(baseline + 1);
    s.close();
    await until(() => emitter.listenerCount('advance') === baseline, 'listener removal');

    const other = await bed.start();
    const held = await SseSession.open(`${other.url}/api/stream`, bearer(userToken(uniqueUser())));
    sessions.push(held);
    await synced(held);
    await other.close();
    await held.waitForEnd();
  });
});
