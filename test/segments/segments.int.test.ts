/**
 * Segments: named member lists managed over the API, a notification target expanded when
 * the relay delivers it, not when it is written. Covers the management API, live
 * delivery to exactly the members, expansion with the members at delivery, replay merged
 * by position, the notification center with per-user state, a 100,000-member segment
 * (emitted in bounded pages), validation and app isolation.
 */
import { describe, expect, it } from 'vitest';
import type { Publication } from '../../src/outbox/outbox-relay.js';
import { MEMBERS_PER_EMIT } from '../../src/segments/segment-expansion.js';
import { api } from '../support/admin-api.js';
import { RelayParking } from '../support/relay-parking.js';
import { useGateway } from '../support/gateway-suite.js';
import { ACME_KEY, API_KEY, notifyUser, postNotify, signToken, uniqueUser, userToken } from '../support/harness.js';
import { flushWith, type TestClient } from '../support/test-client.js';
import { Conditions } from '../support/conditions.js';

const CRM_KEY = 'test-key-app-crm-any-tenant';

/** The relay parks on the batch it has just read while a test asks it to. */
const parking = new RelayParking();
/** Every publication the relay emitted, for the tests that count emits. */
const published: Publication[] = [];
const emitted = new Conditions(() => `${published.length} publications`);

const suite = useGateway(
  { NOTIFY_API_KEYS: `${API_KEY},${ACME_KEY}:acme,${CRM_KEY}::crm`, NOTIFY_RATE_PER_KEY: '0', NOTIFY_RECIPIENTS_PER_KEY: '0' },
  {
    hooks: {
      relay: {
        beforeEmit: parking.beforeEmit,
        async afterEmit(batch) {
          published.push(...batch);
          emitted.changed();
        },
      },
    },
  },
);


const segmentName = (label = 'seg') => uniqueUser(label);

async function putSegment(name: string, userIds: string[], key = API_KEY, query = ''): Promise<{ status: number; body: Record<string, unknown> }> {
  return api(suite.gw.url, 'PUT', `/api/segments/${name}${query}`, { userIds }, key);
}

async function notifySegments(segments: string[], title: string, extra: Record<string, unknown> = {}, key = API_KEY): Promise<string> {
  const res = await postNotify(suite.gw.url, 'segment:news', { segments, title, ...extra }, { key });
  if (res.status !== 201) throw new Error(`segment notify failed: ${res.status} ${JSON.stringify(res.body)}`);
  expect(res.body).toMatchObject({ deduped: false, recipients: 0 });
  return res.body.id as string;
}

/** Everything sent before the marker (to the client's own user) had its chance to arrive. */
const flush = (client: TestClient, userId: string, tenantId = 'default') => flushWith(client, () => notifyUser(suite.gw.url, userId, 'marker', { tenantId }));

async function inbox(token: string, path = '/api/notifications'): Promise<any> {
  const res = await fetch(`${suite.gw.url}${path}`, { headers: { authorization: `Bearer ${token}` } });
  expect(res.status).toBe(200);
  return res.json();
}

describe('managing segments', () => {
  it('PUT replaces, POST members adds and removes, GET pages members, DELETE removes; changes are audited', async () => {
    const name = segmentName();
    const first = await putSegment(name, ['ada', 'grace', 'ada']);
    expect(first.status).toBe(201);
    expect(first.body).toMatchObject({ name, members: 2 });
    expect(Date.parse(first.body.updatedAt as string)).toBeGreaterThan(0);

    const replaced = await putSegment(name, ['linus', 'grace', 'ken']);
    expect(replaced.status).toBe(200);
    expect(replaced.body).toMatchObject({ name, members: 3 });

    const changed = await api(suite.gw.url, 'POST', `/api/segments/${name}/members`, { add: ['dennis', 'ken'], remove: ['grace', 'nobody'] });
    expect(changed).toMatchObject({ status: 200, body: { name, members: 3 } });

    const firstPage = await api<{ userIds: string[]; nextCursor: string | null }>(suite.gw.url, 'GET', `/api/segments/${name}?members=1&limit=2`);
    expect(firstPage.body).toMatchObject({ name, members: 3, userIds: ['dennis', 'ken'] });
    const secondPage = await api<{ userIds: string[]; nextCursor: string | null }>(
      suite.gw.url,
      'GET',
      `/api/segments/${name}?members=1&limit=2&cursor=${firstPage.body.nextCursor}`,
    );
    expect(secondPage.body).toMatchObject({ userIds: ['linus'], nextCursor: null });
    expect((await api(suite.gw.url, 'GET', `/api/segments/${name}`)).body).toEqual({ name, members: 3, updatedAt: expect.any(String) });

    const listed = await api<{ segments: { name: string }[] }>(suite.gw.url, 'GET', '/api/segments?limit=1000');
    expect(listed.body.segments.map((s) => s.name)).toContain(name);

    expect((await api(suite.gw.url, 'DELETE', `/api/segments/${name}`)).status).toBe(204);
    expect((await api(suite.gw.url, 'GET', `/api/segments/${name}`)).status).toBe(404);
    expect((await api(suite.gw.url, 'DELETE', `/api/segments/${name}`)).status).toBe(404);

    const audit = await api<{ entries: { action: string; target: string; details: unknown }[] }>(suite.gw.url, 'GET', '/api/audit?tenantId=default&limit=500');
    const mine = audit.body.entries.filter((e) => e.target === name).map((e) => [e.action, e.details]);
    expect(mine).toEqual([
      ['segment.delete', null],
      ['segment.members', { added: 2, removed: 2, members: 3, created: false }],
      ['segment.put', { members: 3, created: false }],
      ['segment.put', { members: 2, created: true }],
    ]);
  });

  it('refuses bad names, bodies and lists over the bounds', async () => {
    const refusals = [
      await api(suite.gw.url, 'PUT', '/api/segments/-bad', { userIds: ['a'] }),
      await api(suite.gw.url, 'PUT', `/api/segments/${'x'.repeat(65)}`, { userIds: ['a'] }),
      await api(suite.gw.url, 'PUT', '/api/segments/ok', { members: ['a'] }),
      await api(suite.gw.url, 'PUT', '/api/segments/ok', { userIds: ['has space'] }),
      await api(suite.gw.url, 'PUT', '/api/segments/ok', { userIds: Array.from({ length: 100_001 }, (_, i) => `u${i}`) }),
      await api(suite.gw.url, 'POST', '/api/segments/ok/members', {}),
      await api(suite.gw.url, 'POST', '/api/segments/ok/members', { add: [], remove: [] }),
      await api(suite.gw.url, 'GET', '/api/segments/ok?members=1&cursor=%%%'),
    ];
    for (const res of refusals) expect([res.status, res.body.error?.code]).toEqual([400, 'VALIDATION_FAILED']);
    expect((await api(suite.gw.url, 'GET', '/api/segments/ok')).status).toBe(404);
    // A bound key manages its own tenant only.
    expect((await putSegment('ok', ['a'], ACME_KEY, '?tenantId=beta')).status).toBe(403);
    expect((await api(suite.gw.url, 'PUT', '/api/segments/ok', { userIds: ['a'] }, null)).status).toBe(401);
    // Over the route's body limit.
    const huge = await fetch(`${suite.gw.url}/api/segments/ok`, {
      method: 'PUT',
      headers: { 'content-type': 'application/json', 'x-api-key': API_KEY },
      body: JSON.stringify({ userIds: Array.from({ length: 40_000 }, (_, i) => `${'u'.repeat(100)}${i}`) }),
    });
    expect(huge.status).toBe(413);
  });

  it('refuses segment notifications with another target, channels or transient', async () => {
    const bad = [
      { segments: ['s'], userId: 'u', title: 't' },
      { segments: ['s'], userIds: ['u'], title: 't' },
      { segments: ['s'], scope: 'tenant', title: 't' },
      { segments: ['s'], scope: 'app', title: 't' },
      { segments: ['s'], topics: ['x'], title: 't' },
      { segments: ['s'], channels: ['mail'], title: 't' },
      { segments: ['s'], link: 'https://example.com', title: 't' },
      { segments: ['s'], digestKey: 'd', title: 't' },
      { segments: ['s'], transient: true, title: 't' },
      { segments: [], title: 't' },
      { segments: ['bad name'], title: 't' },
      { segments: Array.from({ length: 11 }, (_, i) => `s${i}`), title: 't' },
    ];
    for (const body of bad) {
      const res = await postNotify(suite.gw.url, 'a:b', body);
      expect([JSON.stringify(body), res.status, res.body.error?.code]).toEqual([JSON.stringify(body), 400, 'VALIDATION_FAILED']);
    }
    const batch = await fetch(`${suite.gw.url}/api/notify`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-api-key': API_KEY },
      body: JSON.stringify({ notifications: [{ kind: 'a:b', segments: ['s'], title: 'ok' }, { kind: 'a:b', segments: ['s'], userId: 'u', title: 'bad' }] }),
    });
    const { results } = (await batch.json()) as { results: { status: number }[] };
    expect(results.map((r) => r.status)).toEqual([201, 400]);
  });
});

describe('segment notifications are expanded at delivery', () => {
  it('reach exactly the members, once each; stored once, without inbox rows', async () => {
    const [a, b, outsider] = [uniqueUser('a'), uniqueUser('b'), uniqueUser('out')];
    const [one, two] = [segmentName(), segmentName()];
    await putSegment(one, [a, b]);
    await putSegment(two, [b]);
    const clients = {
      a: await suite.connect(suite.gw.url, { token: userToken(a) }),
      b: await suite.connect(suite.gw.url, { token: userToken(b) }),
      outsider: await suite.connect(suite.gw.url, { token: userToken(outsider) }),
    };
    const id = await notifySegments([one, two], 'for both');
    await clients.a.waitForIds([id]);
    await clients.b.waitForIds([id]);
    expect(clients.a.received.find((n) => n.id === id)).toMatchObject({ scope: 'segment', segments: [one, two], title: 'for both', tenantId: 'default' });
    await flush(clients.b, b);
    expect(clients.b.ids.filter((i) => i === id)).toHaveLength(1);
    await flush(clients.outsider, outsider);
    expect(clients.outsider.ids).not.toContain(id);

    const db = suite.gw.gateway.store.db;
    expect(await db('notify_inbox').where({ message_id: id }).count({ n: '*' }).first()).toMatchObject({ n: 0 });
    const rows = await db('notify_segment_messages').where({ message_id: id }).orderBy('segment').select('tenant_id', 'segment');
    expect(rows).toEqual([one, two].sort().map((segment) => ({ tenant_id: 'default', segment })));
  });

  it('membership changed after the POST and before delivery: the members at delivery get it', async () => {
    const [before, after, marker] = [uniqueUser('before'), uniqueUser('after'), uniqueUser('marker')];
    const name = segmentName();
    await putSegment(name, [before]);
    const clients = {
      before: await suite.connect(suite.gw.url, { token: userToken(before) }),
      after: await suite.connect(suite.gw.url, { token: userToken(after) }),
    };
    const park = parking.park();
    try {
      await notifyUser(suite.gw.url, marker, 'holds the relay');
      await park.reached;
      // Committed while the relay is parked on an earlier batch: not expanded yet.
      const id = await notifySegments([name], 'who is in it now');
      expect((await putSegment(name, [after])).status).toBe(200);
      park.release();
      await clients.after.waitForIds([id]);
      await flush(clients.before, before);
      expect(clients.before.ids).not.toContain(id);
    } finally {
      park.release();
    }
  });

  it('replays segment messages of the member’s segments, merged by position with their own', async () => {
    const user = uniqueUser('replay');
    const [mine, other] = [segmentName(), segmentName()];
    await putSegment(mine, [user]);
    await putSegment(other, [uniqueUser('someone')]);
    const first = await suite.connect(suite.gw.url, { token: userToken(user) });
    const seen = await notifyUser(suite.gw.url, user, 'seen');
    await first.waitForIds([seen]);
    first.close();

    const missed = [
      await notifySegments([mine], 's1'),
      await notifyUser(suite.gw.url, user, 'u1'),
      await notifySegments([mine, other], 's2'),
    ];
    await notifySegments([other], 'not a member');
    missed.push(await notifyUser(suite.gw.url, user, 'u2'));
    // Let the relay emit them all first, so that the replay below is all the resumed socket gets.
    await emitted.waitFor(() => published.some((p) => p.notification.id === missed[3]), 'the relay emitted the last one');

    const again = await suite.connect(suite.gw.url, { token: userToken(user), lastAckId: seen });
    expect(again.synced[0]).toMatchObject({ replayed: 4, recovered: true });
    expect(again.ids).toEqual(missed);

    // A segment message is a valid lastAckId; the polling stream carries segment messages too.
    const fromSegment = await suite.connect(suite.gw.url, { token: userToken(user), lastAckId: missed[0]! });
    expect(fromSegment.ids).toEqual(missed.slice(1));
    const polled = await inbox(userToken(user), `/api/notifications?after=${seen}`);
    expect(polled.items.map((n: { id: string }) => n.id)).toEqual(missed);

    // Membership is read at replay time: once removed, the segment's messages are not replayed.
    await api(suite.gw.url, 'POST', `/api/segments/${mine}/members`, { remove: [user] });
    const removed = await suite.connect(suite.gw.url, { token: userToken(user), lastAckId: seen });
    expect(removed.ids).toEqual([missed[1], missed[3]]);
  });

  it('are listed in members’ notification centers with per-user read state', async () => {
    const [a, b, outsider] = [uniqueUser('a'), uniqueUser('b'), uniqueUser('out')];
    const name = segmentName();
    await putSegment(name, [a, b]);
    const id = await notifySegments([name], 'listed');
    const listed = (user: string) => inbox(userToken(user)).then((body) => body.items.find((n: { id: string }) => n.id === id));

    expect(await listed(a)).toMatchObject({ id, scope: 'segment', segments: [name], read: false, seen: false });
    expect(await listed(outsider)).toBeUndefined();
    expect((await inbox(userToken(a), '/api/notifications/unread-count')).count).toBe(1);

    const read = await fetch(`${suite.gw.url}/api/notifications/${id}/read`, { method: 'POST', headers: { authorization: `Bearer ${userToken(a)}` } });
    expect(await read.json()).toEqual({ id, read: true, changed: true });
    expect(await listed(a)).toMatchObject({ read: true, seen: true });
    expect(await listed(b)).toMatchObject({ read: false });
    expect((await inbox(userToken(a), '/api/notifications/unread-count')).count).toBe(0);
    expect((await inbox(userToken(b), '/api/notifications/unread-count')).count).toBe(1);

    // Not a member: the id is not theirs.
    const foreign = await fetch(`${suite.gw.url}/api/notifications/${id}/read`, { method: 'POST', headers: { authorization: `Bearer ${userToken(outsider)}` } });
    expect(foreign.status).toBe(404);
    // read-all covers segment messages too.
    const all = await fetch(`${suite.gw.url}/api/notifications/read-all`, { method: 'POST', headers: { authorization: `Bearer ${userToken(b)}` } });
    expect(all.status).toBe(200);
    expect(await listed(b)).toMatchObject({ read: true });
  });

  it('a 100,000-member segment: the PUT completes and a notification goes out in bounded emits', async () => {
    const name = segmentName('big');
    const members = Array.from({ length: 100_000 }, (_, i) => `big-${String(i).padStart(6, '0')}`);
    const started = performance.now();
    const put = await putSegment(name, members);
    const putMs = Math.round(performance.now() - started);
    console.log(`PUT /api/segments with 100,000 members (${process.env.TEST_DRIVER ?? 'driver'}): ${putMs} ms`);
    expect(put).toMatchObject({ status: 201, body: { members: 100_000 } });

    const member = await suite.connect(suite.gw.url, { token: userToken(members[54_321]!) });
    const emitStarted = performance.now();
    const id = await notifySegments([name], 'to everyone in it');
    await member.waitForIds([id], 60_000);
    const ofIt = () => published.filter((p) => p.notification.id === id);
    await emitted.waitFor(() => ofIt().length > 0, 'the relay finished the batch');
    console.log(`segment notification to 100,000 members emitted after ${Math.round(performance.now() - emitStarted)} ms`);
    const emits = ofIt();
    expect(emits.length).toBe(100_000 / MEMBERS_PER_EMIT);
    expect(Math.max(...emits.map((p) => p.rooms.length))).toBe(MEMBERS_PER_EMIT);
    const rooms = new Set(emits.flatMap((p) => p.rooms));
    expect(rooms.size).toBe(100_000);
    expect(rooms.has(`user:default:${members[0]}`) && rooms.has(`user:default:${members[99_999]}`)).toBe(true);
  }, 180_000);
});

describe('segments are per tenant and per app', () => {
  it('the same segment name in another tenant or app is another segment', async () => {
    const user = uniqueUser('iso');
    const name = segmentName('iso');
    expect((await putSegment(name, [user])).status).toBe(201);
    expect((await putSegment(name, [user], ACME_KEY)).status).toBe(201); // acme's, not default's
    expect((await putSegment(name, ['someone-else'], CRM_KEY, '?tenantId=default')).status).toBe(201); // crm's default tenant
    expect((await api(suite.gw.url, 'GET', `/api/segments/${name}?members=1`, undefined, CRM_KEY)).body).toMatchObject({ userIds: ['someone-else'] });

    const inDefault = await suite.connect(suite.gw.url, { token: userToken(user) });
    const inAcme = await suite.connect(suite.gw.url, { token: userToken(user, 'acme') });
    const inCrm = await suite.connect(`${suite.gw.url}/crm`, { token: signToken({ sub: user, tid: 'default', app: 'crm' }) });

    const forCrm = await notifySegments([name], 'crm only', {}, CRM_KEY);
    const forAcme = await notifySegments([name], 'acme only', {}, ACME_KEY);
    await inAcme.waitForIds([forAcme]);
    await flush(inDefault, user);
    expect(inDefault.ids).not.toContain(forCrm);
    expect(inDefault.ids).not.toContain(forAcme);
    await flushWith(inCrm, async () => {
      const res = await postNotify(suite.gw.url, 'test:event', { userId: user, title: 'crm marker' }, { key: CRM_KEY });
      return res.body.id as string;
    });
    expect(inCrm.ids).not.toContain(forCrm); // crm's segment holds someone else
    expect(inAcme.ids).not.toContain(forCrm);

    // Deleting crm's segment leaves the default app's alone.
    expect((await api(suite.gw.url, 'DELETE', `/api/segments/${name}?tenantId=default`, undefined, CRM_KEY)).status).toBe(204);
    expect((await api(suite.gw.url, 'GET', `/api/segments/${name}`)).body).toMatchObject({ members: 1 });
  });
});
