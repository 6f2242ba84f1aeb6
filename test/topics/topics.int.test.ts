/**
 * Topics: who may subscribe (the token's `topics` claim), what a subscriber gets and an
 * unsubscribed socket does not, tenant scoping, the per-socket limit, transient
 * notifications, and resuming with topics (replay merged with the user's own stream).
 */
import { describe, expect, it } from 'vitest';
import { useGateway } from '../support/gateway-suite.js';
import { ACME_KEY, notifyUser, postNotify, signToken, uniqueUser } from '../support/harness.js';
import { flushWith, type TestClient } from '../support/test-client.js';
import { subscribe, unsubscribe } from '../support/topic-client.js';

const suite = useGateway({ MAX_TOPICS_PER_SOCKET: '3' });

const tokenFor = (userId: string, topics: string[], tenantId = 'default') => signToken({ sub: userId, tid: tenantId, topics });

async function postTopic(topics: string[], title: string, extra: Record<string, unknown> = {}, key?: string): Promise<string> {
  const res = await postNotify(suite.gw.url, 'order:updated', { topics, title, ...extra }, key ? { key } : {});
  if (res.status !== 201) throw new Error(`topic notify failed: ${res.status} ${JSON.stringify(res.body)}`);
  return res.body.id as string;
}

/** Everything sent before the marker (to the client's own user) had its chance to arrive. */
const flush = (client: TestClient, userId: string, tenantId = 'default') =>
  flushWith(client, () => notifyUser(suite.gw.url, userId, 'marker', { tenantId, ...(tenantId === 'acme' ? {} : {}) }));

describe('subscribe is authorised by the token’s topics claim', () => {
  it('grants matching patterns, denies the rest with a reason', async () => {
    const user = uniqueUser();
    const client = await suite.connect(suite.gw.url, { token: tokenFor(user, ['order:*', 'chat:room-1']) });
    const ack = await subscribe(client, ['order:42', 'chat:room-1', 'chat:room-2', 'bad topic']);
    expect(ack.granted).toEqual(['order:42', 'chat:room-1']);
    expect(ack.denied).toEqual([
      { topic: 'chat:room-2', reason: 'forbidden' },
      { topic: 'bad topic', reason: 'invalid_topic' },
    ]);
  });

  it('a token without the claim gets nothing', async () => {
    const client = await suite.connect(suite.gw.url, { token: signToken({ sub: uniqueUser() }) });
    expect(await subscribe(client, ['order:1'])).toEqual({ granted: [], denied: [{ topic: 'order:1', reason: 'forbidden' }] });
  });

  it('a malformed payload is refused; unknown events are still UNKNOWN_EVENT', async () => {
    const client = await suite.connect(suite.gw.url, { token: tokenFor(uniqueUser(), ['*']) });
    const refused = (await client.socket.timeout(5000).emitWithAck('subscribe', { topics: 'order:1' })) as { error: { code: string } };
    expect(refused.error.code).toBe('VALIDATION_FAILED');
    client.socket.emit('subscribes', { topics: ['x'] });
    await client.waitFor(() => client.errors.some((e) => e.code === 'UNKNOWN_EVENT'), 'UNKNOWN_EVENT');
  });
});

describe('topic messages reach subscribers only', () => {
  it('a subscriber gets it once (several of its topics named), an unsubscribed socket nothing', async () => {
    const [sub, other] = [uniqueUser('sub'), uniqueUser('other')];
    const subscriber = await suite.connect(suite.gw.url, { token: tokenFor(sub, ['order:*']) });
    const bystander = await suite.connect(suite.gw.url, { token: tokenFor(other, ['order:*']) });
    expect((await subscribe(subscriber, ['order:7', 'order:8'])).granted).toEqual(['order:7', 'order:8']);

    const id = await postTopic(['order:7', 'order:8'], 'shipped');
    await subscriber.waitForIds([id]);
    const got = subscriber.received.find((n) => n.id === id)!;
    expect(got).toMatchObject({ scope: 'topic', topics: ['order:7', 'order:8'], title: 'shipped' });
    await flush(subscriber, sub);
    expect(subscriber.ids.filter((i) => i === id)).toHaveLength(1);
    await flush(bystander, other);
    expect(bystander.ids).not.toContain(id);
  });

  it('after unsubscribe, nothing more arrives; the message is stored once, without inbox rows', async () => {
    const user = uniqueUser();
    const client = await suite.connect(suite.gw.url, { token: tokenFor(user, ['order:*']) });
    await subscribe(client, ['order:9']);
    const first = await postTopic(['order:9'], 'one');
    await client.waitForIds([first]);
    expect(await unsubscribe(client, ['order:9', 'order:10'])).toEqual({ unsubscribed: ['order:9'] });
    const second = await postTopic(['order:9'], 'two');
    await flush(client, user);
    expect(client.ids).not.toContain(second);

    const db = suite.gw.gateway.store.db;
    expect(await db('notify_inbox').where({ message_id: first }).count({ n: '*' }).first()).toMatchObject({ n: 0 });
    const rows = await db('notify_topic_messages').where({ message_id: first }).select('tenant_id', 'topic');
    expect(rows).toEqual([{ tenant_id: 'default', topic: 'order:9' }]);
  });

  it('topics are per tenant: acme’s order:1 is not default’s order:1', async () => {
    const [inDefault, inAcme] = [uniqueUser('d'), uniqueUser('a')];
    const defaultClient = await suite.connect(suite.gw.url, { token: tokenFor(inDefault, ['order:*']) });
    const acmeClient = await suite.connect(suite.gw.url, { token: tokenFor(inAcme, ['order:*'], 'acme') });
    await subscribe(defaultClient, ['order:1']);
    await subscribe(acmeClient, ['order:1']);
    const forAcme = await postTopic(['order:1'], 'acme only', {}, ACME_KEY);
    await acmeClient.waitForIds([forAcme]);
    await flush(defaultClient, inDefault);
    expect(defaultClient.ids).not.toContain(forAcme);
  });
});

describe('at most MAX_TOPICS_PER_SOCKET topics per socket', () => {
  it('the topics over the limit are denied too_many_topics; held ones are granted again', async () => {
    const client = await suite.connect(suite.gw.url, { token: tokenFor(uniqueUser(), ['t:*']) });
    const ack = await subscribe(client, ['t:1', 't:2', 't:3', 't:4', 't:5']);
    expect(ack.granted).toEqual(['t:1', 't:2', 't:3']);
    expect(ack.denied).toEqual([
      { topic: 't:4', reason: 'too_many_topics' },
      { topic: 't:5', reason: 'too_many_topics' },
    ]);
    expect(await subscribe(client, ['t:1', 't:6'])).toEqual({ granted: ['t:1'], denied: [{ topic: 't:6', reason: 'too_many_topics' }] });
    // Concurrent subscribes cannot pass the limit together.
    const fresh = await suite.connect(suite.gw.url, { token: tokenFor(uniqueUser(), ['t:*']) });
    const acks = await Promise.all([subscribe(fresh, ['t:a', 't:b']), subscribe(fresh, ['t:c', 't:d'])]);
    expect(acks.flatMap((a) => a.granted)).toHaveLength(3);
  });
});

describe('transient notifications', () => {
  it('reach live subscribers and users at once, flagged, never stored', async () => {
    const user = uniqueUser();
    const client = await suite.connect(suite.gw.url, { token: tokenFor(user, ['job:*']) });
    await subscribe(client, ['job:1']);
    const toTopic = await postNotify(suite.gw.url, 'job:progress', { topics: ['job:1'], title: '40 %', transient: true, data: { pct: 40 } });
    expect(toTopic.status).toBe(202);
    expect(toTopic.body).toEqual({ transient: true, recipients: 0 });
    const toUser = await postNotify(suite.gw.url, 'chat:typing', { userId: user, title: 'typing…', transient: true });
    expect(toUser.body).toEqual({ transient: true, recipients: 1 });
    await client.waitFor(() => client.received.filter((n) => n.transient).length === 2, 'two transient notifications');
    const [progress, typing] = client.received.filter((n) => n.transient);
    expect(progress).toMatchObject({ kind: 'job:progress', scope: 'topic', topics: ['job:1'], transient: true, data: { pct: 40 } });
    expect(typing).toMatchObject({ kind: 'chat:typing', scope: 'user', transient: true });

    const db = suite.gw.gateway.store.db;
    for (const n of [progress!, typing!]) {
      expect(await db('notify_messages').where({ id: n.id }).count({ n: '*' }).first()).toMatchObject({ n: 0 });
    }
    expect(await db('notify_messages').whereIn('kind', ['job:progress', 'chat:typing']).count({ n: '*' }).first()).toMatchObject({ n: 0 });
  });

  it('in a batch: a 202 item beside stored ones', async () => {
    const user = uniqueUser();
    const res = await fetch(`${suite.gw.url}/api/notify`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-api-key': 'test-key-any-tenant-0001' },
      body: JSON.stringify({ notifications: [
        { kind: 'a:b', userId: user, title: 'stored' },
        { kind: 'a:b', userId: user, title: 'live only', transient: true },
      ] }),
    });
    const { results } = (await res.json()) as { results: Record<string, unknown>[] };
    expect(results[0]).toMatchObject({ status: 201, deduped: false, recipients: 1 });
    expect(results[1]).toEqual({ status: 202, transient: true, recipients: 1 });
  });

  it('what needs storage is refused with transient; one target only', async () => {
    const bad = [
      { userId: 'u', title: 't', transient: true, dedupeKey: 'k' },
      { userId: 'u', title: 't', transient: true, ttlSeconds: 5 },
      { userId: 'u', title: 't', transient: true, channels: ['mail'] },
      { userId: 'u', topics: ['x'], title: 't' },
      { scope: 'tenant', topics: ['x'], title: 't' },
      { topics: ['x'], title: 't', channels: ['mail'] },
      { topics: ['bad topic'], title: 't' },
    ];
    for (const body of bad) {
      const res = await postNotify(suite.gw.url, 'a:b', body);
      expect(res.status, JSON.stringify(body)).toBe(400);
      expect(res.body.error?.code).toBe('VALIDATION_FAILED');
    }
    const header = await postNotify(suite.gw.url, 'a:b', { userId: 'u', title: 't', transient: true }, { headers: { 'idempotency-key': 'k1' } });
    expect(header.status).toBe(400);
  });
});

describe('resuming with topics', () => {
  it('replays missed topic messages merged with the user’s own, in commit order; never transient ones', async () => {
    const user = uniqueUser();
    const token = tokenFor(user, ['feed:*']);
    const first = await suite.connect(suite.gw.url, { token, topics: ['feed:1'] });
    expect(first.synced[0]).toMatchObject({ topics: { granted: ['feed:1'], denied: [] } });
    const seen = await notifyUser(suite.gw.url, user, 'seen');
    await first.waitForIds([seen]);
    first.close();

    const missed = [
      await postTopic(['feed:1'], 't1'),
      await notifyUser(suite.gw.url, user, 'u1'),
      await postTopic(['feed:1', 'feed:2'], 't2'),
    ];
    await postTopic(['feed:2'], 'not held');
    const transient = await postNotify(suite.gw.url, 'feed:typing', { topics: ['feed:1'], title: 'typing', transient: true });
    expect(transient.status).toBe(202);
    missed.push(await notifyUser(suite.gw.url, user, 'u2'));
    // Each id is committed; wait until the relay has positioned them all.
    await (await suite.connect(suite.gw.url, { token, topics: ['feed:1'] })).waitForIds(missed.slice(3));

    const again = await suite.connect(suite.gw.url, { token, lastAckId: seen, topics: ['feed:1', 'other:secret', 'nope nope'] });
    expect(again.synced[0]).toEqual({
      replayed: 4,
      recovered: true,
      topics: { granted: ['feed:1'], denied: [{ topic: 'other:secret', reason: 'forbidden' }, { topic: 'nope nope', reason: 'invalid_topic' }] },
    });
    expect(again.ids).toEqual(missed);
    expect(again.received.some((n) => n.transient)).toBe(false);
  });

  it('a topic message is a valid lastAckId', async () => {
    const user = uniqueUser();
    const token = tokenFor(user, ['feed:*']);
    const client = await suite.connect(suite.gw.url, { token, topics: ['feed:9'] });
    const topicId = await postTopic(['feed:9'], 'x');
    await client.waitForIds([topicId]);
    client.close();
    const after = await notifyUser(suite.gw.url, user, 'after');
    const resumed = await suite.connect(suite.gw.url, { token, lastAckId: topicId, topics: ['feed:9'] });
    expect(resumed.synced[0]).toMatchObject({ replayed: 1, recovered: true });
    expect(resumed.ids).toEqual([after]);
  });
});
