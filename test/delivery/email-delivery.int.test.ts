/**
 * Email deliveries end to end: addresses stored through the recipients API → POST
 * /api/notify with an `email` channel → the deliveries consumer queues one row per
 * recipient → a worker sends each over SMTP to a real local mail server
 * (smtp-receiver.ts), which parses what arrived.
 *
 * Proves, on both drivers:
 * - one mail per recipient with an address, none for the rest: a notification to three
 *   users, two with an email → two mails, each to its own envelope address, subject =
 *   title, a text and an HTML part, the link as a button, `X-Notify-Delivery-Id` = that
 *   delivery's id; the third user's delivery is `suppressed` / `no_address`; nothing else
 *   reaches the server;
 * - privacy: the body is in the mail only with `external: "full"` (HTML-escaped there);
 * - SMTP reply classes: a recipient greylisted twice (451 on RCPT TO) is retried with
 *   growing gaps and ends `sent` after 3 attempts, one mail; a 550 is `dead` after one
 *   attempt (`permanent_error`), with no mail and no address in the error text;
 * - a tenant broadcast reaches exactly the tenant's recipients that have an address
 *   (not those without one, not a deleted one, not another tenant's);
 * - the recipients API: validation (400 VALIDATION_FAILED), GET returns what PUT stored,
 *   PUT replaces the whole record, DELETE → 204 then 404; a tenant-bound key cannot read
 *   another tenant's recipient (403 when it names the tenant, 404 in its own);
 * - a gateway without SMTP_URL refuses to create an email channel, naming SMTP_URL.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { api, putChannel, putRecipient, settledDeliveries, type DeliveryItem } from '../support/admin-api.js';
import { randomName } from '../support/drivers.js';
import { ACME_KEY, createTestBed, postNotify, uniqueUser, type RunningGateway, type TestBed } from '../support/harness.js';
import { startSmtpReceiver, type ReceivedMail, type SmtpReceiver } from '../support/smtp-receiver.js';

const CHANNEL = 'mail';

let receiver: SmtpReceiver;
let bed: TestBed;
let gw: RunningGateway;

beforeAll(async () => {
  // The mail server first: its URL is part of the gateway's configuration.
  receiver = await startSmtpReceiver();
  bed = await createTestBed();
  gw = await bed.start({
    SMTP_URL: receiver.url,
    EMAIL_FROM: 'Notify <notify@example.com>',
    SMTP_TIMEOUT_MS: '2000',
    // The visibility timeout must exceed every send timeout, the webhook one included.
    WEBHOOK_TIMEOUT_MS: '1000',
    DELIVERY_POLL_MS: '50',
    DELIVERY_BACKOFF_BASE_MS: '200',
    DELIVERY_VISIBILITY_TIMEOUT_MS: '5000',
  });
  await putChannel(gw.url, CHANNEL, { type: 'email' });
});
afterAll(async () => {
  // Gateways first: their workers close the pooled SMTP connections on the way out.
  await bed?.stopAll();
  await receiver?.close();
});

const addressOf = (user: string) => `${user}@example.test`;
const byRecipient = (rows: readonly DeliveryItem[]) => new Map(rows.map((r) => [r.recipient, r]));
const deliveryIdOf = (mail: ReceivedMail) => mail.headers.get('x-notify-delivery-id');

async function notify(body: Record<string, unknown>): Promise<string> {
  const res = await postNotify(gw.url, 'deal:won', { channels: [CHANNEL], ...body });
  expect(res.status, JSON.stringify(res.body)).toBe(201);
  return res.body.id!;
}

describe('email channel', () => {
  it('sends one mail per recipient with an address and records the one without as suppressed', async () => {
    const [alice, bob, carol] = [uniqueUser('alice'), uniqueUser('bob'), uniqueUser('carol')];
    await putRecipient(gw.url, alice, { email: addressOf(alice) });
    await putRecipient(gw.url, bob, { email: addressOf(bob), locale: 'de-DE' });
    await putRecipient(gw.url, carol, { mobile: '+8613800000000' }); // known, but no email
    const before = { messages: receiver.messages.length, refusals: receiver.refusals.length };

    const id = await notify({
      userIds: [alice, bob, carol],
      title: 'Deal won: ACME',
      body: 'ACME signed for 3 years',
      link: 'https://crm.example.com/deals/7?tab=notes&from=mail',
    });
    await receiver.waitFor(before.messages + 2);
    const rows = byRecipient(await settledDeliveries(gw.url, id, 3));
    for (const user of [alice, bob]) {
      expect(rows.get(user)).toMatchObject({ channel: CHANNEL, channelType: 'email', status: 'sent', attempts: 1, reason: null });
    }
    expect(rows.get(carol)).toMatchObject({ channel: CHANNEL, channelType: 'email', status: 'suppressed', reason: 'no_address', attempts: 0 });

    // Nothing else reached the server: exactly these two mails, no refused recipient.
    const mails = receiver.messages.slice(before.messages);
    expect(mails).toHaveLength(2);
    expect(receiver.refusals).toHaveLength(before.refusals);
    for (const user of [alice, bob]) {
      const mail = mails.find((m) => m.to.includes(addressOf(user)));
      expect(mail, `a mail to ${user}`).toBeDefined();
      expect(mail!.to).toEqual([addressOf(user)]);
      expect(mail!.from).toBe('notify@example.com');
      expect(mail!.headers.get('from')).toContain('Notify');
      expect(mail!.headers.get('to')).toBe(addressOf(user));
      expect(mail!.subject).toBe('Deal won: ACME');
      expect(deliveryIdOf(mail!)).toBe(rows.get(user)!.id);
      expect(mail!.headers.get('x-notify-kind')).toBe('deal:won');
      expect(mail!.headers.get('auto-submitted')).toBe('auto-generated');
      expect(mail!.text).toContain('Deal won: ACME');
      expect(mail!.text).toContain('Open: https://crm.example.com/deals/7?tab=notes&from=mail');
      expect(mail!.html).toContain('Deal won: ACME');
      expect(mail!.html).toMatch(/<a href="https:\/\/crm\.example\.com\/deals\/7\?tab=notes&amp;from=mail"[^>]*>Open<\/a>/);
      // Privacy-safe by default: the body stays in the app.
      expect(mail!.text).not.toContain('ACME signed');
      expect(mail!.html).not.toContain('ACME signed');
    }
    expect(mails.find((m) => m.to.includes(addressOf(bob)))!.html).toContain('<html lang="de-DE">');
  });

  it('carries the body only when the notification asks for external: "full"', async () => {
    const user = uniqueUser();
    await putRecipient(gw.url, user, { email: addressOf(user) });
    const body = 'Renewal <3 years> & counting';
    const summary = await notify({ userId: user, title: 'Summary', body, external: 'summary' });
    const full = await notify({ userId: user, title: 'Full', body, external: 'full' });
    const [summaryRow] = await settledDeliveries(gw.url, summary, 1);
    const [fullRow] = await settledDeliveries(gw.url, full, 1);
    expect([summaryRow!.status, fullRow!.status]).toEqual(['sent', 'sent']);

    const mailOf = (row: DeliveryItem) => receiver.messages.find((m) => deliveryIdOf(m) === row.id)!;
    const [summaryMail, fullMail] = [mailOf(summaryRow!), mailOf(fullRow!)];
    expect(summaryMail.subject).toBe('Summary');
    expect(summaryMail.text).not.toContain('Renewal');
    expect(summaryMail.html).not.toContain('Renewal');
    expect(fullMail.subject).toBe('Full');
    expect(fullMail.text).toContain(body);
    expect(fullMail.html).toContain('Renewal &lt;3 years&gt; &amp; counting');
  });

  it('retries a recipient greylisted twice (451) with growing gaps, then sends it once', async () => {
    const user = uniqueUser('grey');
    const address = addressOf(user);
    await putRecipient(gw.url, user, { email: address });
    receiver.failRecipient(address, 451, 'Greylisted, try again later', 2);

    const id = await notify({ userId: user, title: 'Greylisted' });
    const [row] = await settledDeliveries(gw.url, id, 1);
    expect(row).toMatchObject({ status: 'sent', attempts: 3 });
    const refused = receiver.refusals.filter((r) => r.address.toLowerCase() === address);
    expect(refused.map((r) => r.code)).toEqual([451, 451]);
    const mails = receiver.messages.filter((m) => m.to.includes(address));
    expect(mails).toHaveLength(1);
    expect(deliveryIdOf(mails[0]!)).toBe(row!.id);
    // Equal jitter over 200 ms · 2^(n-1): after attempt 1 it waits 100–200 ms, after attempt 2 200–400 ms.
    expect(refused[1]!.at - refused[0]!.at).toBeGreaterThanOrEqual(95);
    expect(mails[0]!.receivedAt - refused[1]!.at).toBeGreaterThanOrEqual(195);
  });

  it('dead-letters a recipient the server refuses for good (550) after one attempt', async () => {
    const user = uniqueUser('gone');
    const address = addressOf(user);
    await putRecipient(gw.url, user, { email: address });
    receiver.failRecipient(address, 550, 'No such user here');

    const id = await notify({ userId: user, title: 'Gone' });
    const [row] = await settledDeliveries(gw.url, id, 1);
    expect(row).toMatchObject({ status: 'dead', attempts: 1, reason: 'permanent_error' });
    expect(row!.lastError).toContain('550');
    expect(row!.lastError).not.toContain(address);
    expect(receiver.refusals.filter((r) => r.address.toLowerCase() === address)).toHaveLength(1);
    expect(receiver.messages.filter((m) => m.to.includes(address))).toHaveLength(0);
  });

  it("reaches exactly the tenant's recipients with an address on a tenant broadcast", async () => {
    const tenant = randomName('mailtenant-');
    await putChannel(gw.url, CHANNEL, { type: 'email' }, tenant);
    const [ann, ben, cyd, dee] = [uniqueUser('ann'), uniqueUser('ben'), uniqueUser('cyd'), uniqueUser('dee')];
    await putRecipient(gw.url, ann, { email: addressOf(ann) }, tenant);
    await putRecipient(gw.url, ben, { email: addressOf(ben) }, tenant);
    await putRecipient(gw.url, cyd, { locale: 'en' }, tenant); // no address: not reached, not listed
    await putRecipient(gw.url, dee, { email: addressOf(dee) }, tenant);
    expect((await api(gw.url, 'DELETE', `/api/recipients/${dee}?tenantId=${tenant}`)).status).toBe(204);
    const outsider = uniqueUser('outsider'); // same user id space, another tenant
    await putRecipient(gw.url, outsider, { email: addressOf(outsider) });
    const before = receiver.messages.length;

    const id = await notify({ tenantId: tenant, scope: 'tenant', title: 'Maintenance tonight' });
    await receiver.waitFor(before + 2);
    const rows = await settledDeliveries(gw.url, id, 2);
    expect(rows.map((r) => r.recipient).sort()).toEqual([ann, ben].sort());
    expect(rows.every((r) => r.status === 'sent' && (r as DeliveryItem & { tenantId: string }).tenantId === tenant)).toBe(true);
    const mails = receiver.messages.slice(before);
    expect(mails.map((m) => m.to).sort()).toEqual([[addressOf(ann)], [addressOf(ben)]].sort());
    expect(mails.map(deliveryIdOf).sort()).toEqual(rows.map((r) => r.id).sort());
    expect(mails.every((m) => m.subject === 'Maintenance tonight')).toBe(true);
  });

  describe('recipients API', () => {
    const path = (user: string, query = '') => `/api/recipients/${encodeURIComponent(user)}${query}`;

    it('validates a PUT, returns what was stored, replaces on PUT and forgets on DELETE', async () => {
      const user = uniqueUser();
      for (const bad of [
        { email: 'not-an-email' },
        { email: 'a@b.test, c@d.test' },
        { email: addressOf(user), timezone: 'Mars/Olympus' },
        { email: addressOf(user), nickname: 'x' },
      ]) {
        const res = await api(gw.url, 'PUT', path(user), bad);
        expect(res.status, JSON.stringify(bad)).toBe(400);
        expect(res.body.error?.code).toBe('VALIDATION_FAILED');
      }
      const badEmail = await api(gw.url, 'PUT', path(user), { email: 'not-an-email' });
      expect(badEmail.body.error?.details).toEqual(expect.arrayContaining([expect.objectContaining({ path: 'email' })]));
      expect((await api(gw.url, 'GET', path(user))).status).toBe(404);

      const fields = { email: addressOf(user), mobile: '+8613800000001', wecomUserId: 'ZhangSan', locale: 'zh-CN', timezone: 'Asia/Shanghai' };
      const created = await api<{ recipient: Record<string, unknown> }>(gw.url, 'PUT', path(user), fields);
      expect(created.status).toBe(201);
      const got = await api<{ recipient: Record<string, unknown> }>(gw.url, 'GET', path(user));
      expect(got.status).toBe(200);
      expect(got.body.recipient).toEqual({ tenantId: 'default', userId: user, ...fields, updatedAt: expect.any(String) });
      expect(created.body.recipient).toEqual(got.body.recipient);

      const replaced = await api<{ recipient: Record<string, unknown> }>(gw.url, 'PUT', path(user), { email: addressOf(`${user}-new`) });
      expect(replaced.status).toBe(200);
      expect((await api<{ recipient: Record<string, unknown> }>(gw.url, 'GET', path(user))).body.recipient).toMatchObject({
        email: addressOf(`${user}-new`),
        mobile: null,
        wecomUserId: null,
        locale: null,
        timezone: null,
      });

      expect((await api(gw.url, 'DELETE', path(user))).status).toBe(204);
      const gone = await api(gw.url, 'GET', path(user));
      expect(gone.status).toBe(404);
      expect(gone.body.error?.code).toBe('NOT_FOUND');
      expect((await api(gw.url, 'DELETE', path(user))).status).toBe(404);
    });

    it("keeps tenants apart: a tenant-bound key cannot read another tenant's recipient", async () => {
      const user = uniqueUser();
      await putRecipient(gw.url, user, { email: addressOf(user) }); // tenant "default"

      const named = await api(gw.url, 'GET', path(user, '?tenantId=default'), undefined, ACME_KEY);
      expect(named.status).toBe(403);
      expect(named.body.error?.code).toBe('FORBIDDEN_TENANT');
      const own = await api(gw.url, 'GET', path(user), undefined, ACME_KEY);
      expect(own.status).toBe(404);
      expect((await api(gw.url, 'DELETE', path(user, '?tenantId=default'), undefined, ACME_KEY)).status).toBe(403);
      expect((await api(gw.url, 'DELETE', path(user), undefined, ACME_KEY)).status).toBe(404);
      // Untouched by any of that.
      expect((await api(gw.url, 'GET', path(user))).status).toBe(200);

      // The same user id in the key's own tenant is a separate record.
      const acme = await api<{ recipient: Record<string, unknown> }>(gw.url, 'PUT', path(user), { email: addressOf(`${user}-acme`) }, ACME_KEY);
      expect(acme.status).toBe(201);
      expect(acme.body.recipient).toMatchObject({ tenantId: 'acme', email: addressOf(`${user}-acme`) });
      expect((await api<{ recipient: { email: string } }>(gw.url, 'GET', path(user))).body.recipient.email).toBe(addressOf(user));
      expect((await api<{ recipient: { email: string } }>(gw.url, 'GET', path(user, '?tenantId=acme'))).body.recipient.email).toBe(
        addressOf(`${user}-acme`),
      );
    });
  });

  it('is refused by a gateway without SMTP_URL, naming what is missing', async () => {
    // Same database, no SMTP and no worker: it must not pick up another gateway's deliveries.
    const plain = await bed.start({ DELIVERY_WORKER: 'false' });
    try {
      const res = await api(plain.url, 'PUT', '/api/channels/x', { type: 'email' });
      expect(res.status).toBe(400);
      expect(res.body.error?.code).toBe('VALIDATION_FAILED');
      expect(res.body.error?.message).toContain('SMTP_URL');
      expect((await api(plain.url, 'GET', '/api/channels/x')).status).toBe(404);
      // The gateway with SMTP_URL takes the same request.
      expect((await api(gw.url, 'PUT', '/api/channels/x', { type: 'email' })).status).toBe(201);
    } finally {
      await plain.close();
    }
  });
});
