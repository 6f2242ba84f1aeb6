/**
 * Policies acting on real deliveries, end to end on both drivers: preferences through the
 * HTTP API → POST /api/notify → the planner's decision recorded on each delivery row →
 * what a real SMTP server and a real socket receive.
 *
 * Proves:
 * - a user's email opt-out suppresses their delivery with reason `preference` (nothing
 *   sent), while `priority: "urgent"` and a `critical` kind bypass it;
 * - a tenant default turns a kind pattern off; the user's own rule for the pattern wins
 *   over it;
 * - a kind's default channels apply when the POST names none;
 * - in-app opt-out for a kind pattern: the row is stored but not pushed live (the socket
 *   gets the next notification, posted after it, and never it), not listed by default,
 *   not counted; `includeMuted=1` lists it;
 * - a digest window (kind default `digestMinutes`): 12 events → exactly one mail that
 *   counts 12 and lists the latest titles with one link; every member row is
 *   `suppressed`/`digested` pointing at the one digest row, which ends `sent`;
 * - per-recipient limit (5 per window): 20 emails → 5 mails on their own and the other 15
 *   folded (`rate_limited_folded`) into one digest mail that counts 15; nothing dropped.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { api, deliveriesOf, putChannel, putRecipient, settledDeliveries, type DeliveryItem } from '../support/admin-api.js';
import { createTestBed, postNotify, uniqueUser, userToken, type RunningGateway, type TestBed } from '../support/harness.js';
import { startSmtpReceiver, type ReceivedMail, type SmtpReceiver } from '../support/smtp-receiver.js';
import { TestClient } from '../support/test-client.js';
import { until } from '../support/until.js';

const CHANNEL = 'mail';
const LIMIT = 5;
const WINDOW_SECONDS = 3;

let receiver: SmtpReceiver;
let bed: TestBed;
let gw: RunningGateway;
const clients: TestClient[] = [];

beforeAll(async () => {
  receiver = await startSmtpReceiver();
  bed = await createTestBed();
  gw = await bed.start({
    SMTP_URL: receiver.url,
    EMAIL_FROM: 'Notify <notify@example.com>',
    SMTP_TIMEOUT_MS: '2000',
    WEBHOOK_TIMEOUT_MS: '1000',
    DELIVERY_POLL_MS: '50',
    DELIVERY_VISIBILITY_TIMEOUT_MS: '5000',
    EMAIL_LIMIT_PER_RECIPIENT: String(LIMIT),
    RECIPIENT_LIMIT_WINDOW_SECONDS: String(WINDOW_SECONDS),
  });
  await putChannel(gw.url, CHANNEL, { type: 'email' });
});
afterAll(async () => {
  for (const client of clients) client.close();
  await bed?.stopAll();
  await receiver?.close();
});

const addressOf = (user: string) => `${user}@example.test`;
const mailsTo = (user: string): ReceivedMail[] => receiver.messages.filter((m) => m.to.includes(addressOf(user)));

async function userWithAddress(): Promise<string> {
  const user = uniqueUser();
  await putRecipient(gw.url, user, { email: addressOf(user) });
  return user;
}

async function putPreferences(user: string, document: unknown): Promise<void> {
  const res = await fetch(`${gw.url}/api/preferences`, {
    method: 'PUT',
    headers: { authorization: `Bearer ${userToken(user)}`, 'content-type': 'application/json' },
    body: JSON.stringify(document),
  });
  expect(res.status, await res.text()).toBe(200);
}

async function putKind(kind: string, defaults: unknown): Promise<void> {
  const res = await api(gw.url, 'PUT', `/api/kinds/${kind}`, defaults);
  expect([200, 201], JSON.stringify(res.body)).toContain(res.status);
}

async function notify(kind: string, body: Record<string, unknown>): Promise<string> {
  const res = await postNotify(gw.url, kind, body);
  expect(res.status, JSON.stringify(res.body)).toBe(201);
  return res.body.id!;
}

async function emailRowOf(messageId: string): Promise<DeliveryItem> {
  const [row] = await settledDeliveries(gw.url, messageId, 1);
  return row!;
}

describe('preferences decide external deliveries', () => {
  it('an email opt-out suppresses with reason "preference"; urgent and critical kinds bypass it', async () => {
    const user = await userWithAddress();
    await putPreferences(user, { channels: { email: false } });
    await putKind('security:alert', { critical: true });

    const plain = await notify('task:done', { userId: user, title: 'plain', channels: [CHANNEL] });
    const urgent = await notify('task:done', { userId: user, title: 'urgent one', priority: 'urgent', channels: [CHANNEL] });
    const critical = await notify('security:alert', { userId: user, title: 'critical one', channels: [CHANNEL] });

    expect(await emailRowOf(plain)).toMatchObject({ status: 'suppressed', reason: 'preference' });
    expect(await emailRowOf(urgent)).toMatchObject({ status: 'sent' });
    expect(await emailRowOf(critical)).toMatchObject({ status: 'sent' });
    expect(mailsTo(user).map((m) => m.subject).sort()).toEqual(['critical one', 'urgent one']);
  });

  it("a tenant default turns a pattern off; the user's own rule for it wins", async () => {
    const res = await api(gw.url, 'PUT', '/api/tenants/default/preferences', { kinds: { 'promo:*': { email: false } } });
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    const quiet = await userWithAddress();
    const keen = await userWithAddress();
    await putPreferences(keen, { kinds: { 'promo:*': { email: true } } });

    const toQuiet = await notify('promo:spring', { userId: quiet, title: 'sale', channels: [CHANNEL] });
    const toKeen = await notify('promo:spring', { userId: keen, title: 'sale', channels: [CHANNEL] });
    expect(await emailRowOf(toQuiet)).toMatchObject({ status: 'suppressed', reason: 'preference' });
    expect(await emailRowOf(toKeen)).toMatchObject({ status: 'sent' });
    await api(gw.url, 'PUT', '/api/tenants/default/preferences', {});
  });

  it("a kind's default channels apply when the POST names none", async () => {
    const user = await userWithAddress();
    await putKind('invoice:due', { channels: [CHANNEL] });
    const id = await notify('invoice:due', { userId: user, title: 'invoice due', link: 'https://app.example.com/invoices/7' });
    const row = await emailRowOf(id);
    expect(row).toMatchObject({ channel: CHANNEL, status: 'sent' });
    const [mail] = mailsTo(user);
    expect(mail?.subject).toBe('invoice due');
    expect(mail?.text).toContain('https://app.example.com/invoices/7');
  });
});

describe('in-app opt-out', () => {
  it('stores the row but does not push, list or count it', async () => {
    const user = uniqueUser();
    const token = userToken(user);
    await putPreferences(user, { kinds: { 'marketing:*': { in_app: false } } });
    const client = await TestClient.connect(gw.url, { token });
    clients.push(client);

    const muted = await notify('marketing:weekly', { userId: user, title: 'weekly offers' });
    const shown = await notify('task:done', { userId: user, title: 'your export is ready' });
    // One user's notifications arrive in commit order: had the muted one been pushed, it
    // would have come before this one.
    await client.waitForIds([shown]);
    expect(client.ids).toEqual([shown]);

    const auth = { authorization: `Bearer ${token}` };
    const list = (await (await fetch(`${gw.url}/api/notifications`, { headers: auth })).json()) as { items: { id: string }[] };
    expect(list.items.map((i) => i.id)).toEqual([shown]);
    const count = (await (await fetch(`${gw.url}/api/notifications/unread-count`, { headers: auth })).json()) as { count: number };
    expect(count.count).toBe(1);
    const all = (await (await fetch(`${gw.url}/api/notifications?includeMuted=1`, { headers: auth })).json()) as { items: { id: string }[] };
    expect(all.items.map((i) => i.id).sort()).toEqual([muted, shown].sort());
  });
});

describe('digests', () => {
  it('12 events in one window → exactly one mail counting 12, members pointing at one digest row', async () => {
    const user = await userWithAddress();
    // 4 s: long enough for 12 POSTs to land in it, short for a test.
    await putKind('comment:new', { digestMinutes: 4 / 60 });
    const ids: string[] = [];
    for (let i = 1; i <= 12; i++) {
      ids.push(await notify('comment:new', { userId: user, title: `comment ${i}`, channels: [CHANNEL], link: `https://app.example.com/c/${i}` }));
    }
    const [mail] = await receiverWaitForUser(user, 1);
    expect(mail!.subject).toBe('12 new notifications: comment 12');
    for (const i of [12, 11, 10, 9, 8]) expect(mail!.text).toContain(`comment ${i}`);
    expect(mail!.text).toContain('and 7 more');
    expect(mail!.text).toContain('https://app.example.com/c/12');

    const rows = (await Promise.all(ids.map((id) => deliveriesOf(gw.url, id)))).flat();
    const members = rows.filter((r) => r.reason === 'digested');
    expect(members).toHaveLength(12);
    expect(members.every((m) => m.status === 'suppressed')).toBe(true);
    const digestIds = new Set(members.map((m) => (m as DeliveryItem & { digestId: string }).digestId));
    expect(digestIds.size).toBe(1);
    const digest = rows.find((r) => digestIds.has(r.id)) as DeliveryItem & { digest: { count: number } };
    await until(async () => (await deliveriesOf(gw.url, ids[0]!)).some((r) => r.id === digest.id && r.status === 'sent'), 'the digest row sent');
    expect(digest.digest.count).toBe(12);
    expect(mailsTo(user)).toHaveLength(1);
  });
});

describe('per-recipient limits', () => {
  it(`20 emails with a limit of ${LIMIT} → ${LIMIT} sent, the other 15 folded into one digest, nothing dropped`, async () => {
    const user = await userWithAddress();
    const ids: string[] = [];
    for (let i = 1; i <= 20; i++) ids.push(await notify('task:update', { userId: user, title: `update ${i}`, channels: [CHANNEL] }));
    const mails = await receiverWaitForUser(user, LIMIT + 1, 20_000);
    const digestMail = mails.find((m) => m.subject.startsWith('15 new notifications'));
    expect(digestMail, mails.map((m) => m.subject).join(' | ')).toBeDefined();
    expect(mails.filter((m) => m !== digestMail)).toHaveLength(LIMIT);

    type Row = DeliveryItem & { digest: { count: number } | null; digestId: string | null };
    const rows = (await Promise.all(ids.map((id) => deliveriesOf(gw.url, id)))).flat() as Row[];
    const own = rows.filter((r) => r.digest === null);
    expect(own).toHaveLength(20);
    expect(own.filter((r) => r.status === 'sent')).toHaveLength(LIMIT);
    const folded = own.filter((r) => r.reason === 'rate_limited_folded');
    expect(folded).toHaveLength(20 - LIMIT);
    const digestIds = new Set(folded.map((r) => r.digestId));
    expect(digestIds.size).toBe(1);
    const digestRow = rows.find((r) => digestIds.has(r.id));
    expect(digestRow?.digest?.count).toBe(20 - LIMIT);
    expect(mailsTo(user)).toHaveLength(LIMIT + 1);
  });
});

async function receiverWaitForUser(user: string, count: number, timeoutMs = 15_000): Promise<ReceivedMail[]> {
  await until(() => mailsTo(user).length >= count, `${count} mails to ${user}`, timeoutMs);
  return mailsTo(user);
}
