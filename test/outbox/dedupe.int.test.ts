/**
 * A repeated notification (same dedupeKey / Idempotency-Key in one tenant) returns the
 * first id, writes nothing and is delivered once — also when the repeats race.
 */
import { describe, expect, it } from 'vitest';
import {
  notifyUser,
  postNotify,
  uniqueUser,
  userToken,
  type NotifyResponse,
} from '../support/harness.js';
import { randomName } from '../support/drivers.js';
import { TestClient, flushWith } from '../support/test-client.js';
import { useGateway } from '../support/gateway-suite.js';

const suite = useGateway();
const connect = suite.connect;

async function rowsFor(tenantId: string, dedupeKey: string) {
  const db = suite.gw.gateway.store.db;
  const messages: { id: string }[] = await db('notify_messages').where({ tenant_id: tenantId, dedupe_key: dedupeKey }).select('id');
  const inbox = await db('notify_inbox').whereIn('message_id', messages.map((m) => m.id)).select('message_id');
  return { ids: messages.map((m) => m.id), inbox: inbox.length };
}

/** After a marker has arrived, how often `id` reached the client. */
async function deliveriesOf(client: TestClient, user: string, id: string, tenantId = 'default'): Promise<number> {
  await flushWith(client, () => notifyUser(suite.gw.url, user, 'marker', { tenantId }));
  return client.ids.filter((received) => received === id).length;
}

describe('dedupe', () => {
  it('the same dedupeKey twice: 201, then 200 with the first id; one row; one delivery', async () => {
    const user = uniqueUser();
    const client = await connect(suite.gw.url, { token: userToken(user) });
    const dedupeKey = randomName('order-');
    const body = { userId: user, title: 'Order shipped', dedupeKey };

    const first = await postNotify(suite.gw.url, 'order:shipped', body);
    expect(first.status).toBe(201);
    expect(first.body).toEqual({ id: expect.any(String), deduped: false, recipients: 1 });
    await client.waitForIds([first.body.id!]);

    const again = await postNotify(suite.gw.url, 'order:shipped', { ...body, title: 'Order shipped (retry)' });
    expect(again.status).toBe(200);
    expect(again.body).toEqual({ id: first.body.id, deduped: true });

    expect(await rowsFor('default', dedupeKey)).toEqual({ ids: [first.body.id], inbox: 1 });
    expect(await deliveriesOf(client, user, first.body.id!)).toBe(1);
  });

  it('the Idempotency-Key header dedupes the same way, and matches a body dedupeKey', async () => {
    const user = uniqueUser();
    const client = await connect(suite.gw.url, { token: userToken(user) });
    const key = randomName('idem-');
    const headers = { 'idempotency-key': key };

    const first = await postNotify(suite.gw.url, 'order:paid', { userId: user, title: 'Paid' }, { headers });
    expect(first.status).toBe(201);
    const byHeader = await postNotify(suite.gw.url, 'order:paid', { userId: user, title: 'Paid' }, { headers });
    expect(byHeader.status).toBe(200);
    expect(byHeader.body).toEqual({ id: first.body.id, deduped: true });
    // The header is the dedupeKey: a body-only retry with the same key is the same notification.
    const byBody = await postNotify(suite.gw.url, 'order:paid', { userId: user, title: 'Paid', dedupeKey: key });
    expect(byBody.body).toEqual({ id: first.body.id, deduped: true });

    expect(await rowsFor('default', key)).toEqual({ ids: [first.body.id], inbox: 1 });
    expect(await deliveriesOf(client, user, first.body.id!)).toBe(1);
  });

  it('10 concurrent POSTs with one dedupeKey: one 201, nine 200 with its id; one row; one delivery', async () => {
    const users = [uniqueUser(), uniqueUser()];
    const [a, b] = await Promise.all(users.map((u) => connect(suite.gw.url, { token: userToken(u) })));
    const dedupeKey = randomName('race-');
    const responses: NotifyResponse[] = await Promise.all(
      Array.from({ length: 10 }, (_, i) => postNotify(suite.gw.url, 'invoice:ready', { userIds: users, title: `Invoice ${i}`, dedupeKey })),
    );

    const created = responses.filter((r) => r.status === 201);
    expect(responses.map((r) => r.status).sort()).toEqual([200, 200, 200, 200, 200, 200, 200, 200, 200, 201]);
    const id = created[0]!.body.id!;
    for (const r of responses.filter((res) => res.status === 200)) expect(r.body).toEqual({ id, deduped: true });

    expect(await rowsFor('default', dedupeKey)).toEqual({ ids: [id], inbox: 2 });
    expect(await suite.gw.gateway.store.db('notify_outbox').whereNotIn('message_id', suite.gw.gateway.store.db('notify_messages').select('id'))).toEqual([]);
    expect(await deliveriesOf(a!, users[0]!, id)).toBe(1);
    expect(await deliveriesOf(b!, users[1]!, id)).toBe(1);
  });

  it('dedupe keys are per tenant: one key in two tenants is two notifications', async () => {
    const user = uniqueUser();
    const [acme, globex] = ['acme', 'globex'];
    const inAcme = await connect(suite.gw.url, { token: userToken(user, acme) });
    const inGlobex = await connect(suite.gw.url, { token: userToken(user, globex) });
    const dedupeKey = randomName('shared-');

    const one = await postNotify(suite.gw.url, 'plan:renewed', { userId: user, tenantId: acme, title: 'Renewed', dedupeKey });
    const two = await postNotify(suite.gw.url, 'plan:renewed', { userId: user, tenantId: globex, title: 'Renewed', dedupeKey });
    expect([one.status, two.status]).toEqual([201, 201]);
    expect(one.body.id).not.toBe(two.body.id);
    expect(await rowsFor(acme, dedupeKey)).toEqual({ ids: [one.body.id], inbox: 1 });
    expect(await rowsFor(globex, dedupeKey)).toEqual({ ids: [two.body.id], inbox: 1 });

    // Each tenant's copy is still deduped within its tenant.
    const repeat = await postNotify(suite.gw.url, 'plan:renewed', { userId: user, tenantId: globex, title: 'Renewed', dedupeKey });
    expect(repeat.body).toEqual({ id: two.body.id, deduped: true });

    expect(await deliveriesOf(inAcme, user, one.body.id!, acme)).toBe(1);
    expect(await deliveriesOf(inGlobex, user, two.body.id!, globex)).toBe(1);
    expect(inAcme.ids).not.toContain(two.body.id);
    expect(inGlobex.ids).not.toContain(one.body.id);
  });
});
