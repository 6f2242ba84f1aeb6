/**
 * WeCom group robot deliveries end to end: POST /api/notify with `channels` naming a
 * `wecom` channel → the deliveries consumer queues a row → a worker sends it to a real
 * local robot (fake-wecom-robot.ts: the documented protocol, its content rules and its
 * own limit of 20 per window, answering the excess with 45009).
 *
 * Proves, on both drivers (the robot limiter is Redis on the mysql run, memory on sqlite):
 * - a burst of 30 to one robot is paced by the gateway: all 30 sent once (attempts 1),
 *   none lost, the robot never over its limit in any window and never answering 45009;
 *   the excess was deferred by the gateway's limiter (the `deferred` outcome counter)
 *   without touching the robot or using attempts; an operator lists them by channel and
 *   status;
 * - mentions: text carries `mentioned_list` / `mentioned_mobile_list` ("@all" for
 *   `all`); a markdown body with `external: "full"` goes as markdown with `<@userid>`;
 * - privacy: without `external: "full"` the robot sees the title and link, not the body;
 * - a long Chinese body is cut within the robot's 2048-byte text limit, between
 *   characters, with the link kept whole;
 * - an unknown robot key (93000) is dead after one attempt (`permanent_error`), and the
 *   key shows neither in the delivery's `lastError` nor in the channel listing.
 */
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { api, putChannel, settledDeliveries, type DeliveryItem } from '../support/admin-api.js';
import { FakeWecomRobot, type ReceivedWecomMessage } from '../support/fake-wecom-robot.js';
import { useGateway } from '../support/gateway-suite.js';
import { postNotify, uniqueUser } from '../support/harness.js';
import { until } from '../support/until.js';

const ROBOT_LIMIT = 20;
const ROBOT_WINDOW_MS = 1_500;
// The gateway counts a send when it reserves it, the robot when it arrives: the gateway's
// window is the robot's plus a margin for the difference in request latency.
const GATEWAY_WINDOW_MS = ROBOT_WINDOW_MS + 200;

const suite = useGateway({
  ALLOW_PRIVATE_WEBHOOKS: 'true',
  DELIVERY_POLL_MS: '50',
  WECOM_ROBOT_LIMIT: String(ROBOT_LIMIT),
  WECOM_ROBOT_WINDOW_MS: String(GATEWAY_WINDOW_MS),
});

/** One robot key per test, so no test shares another's rate window. */
const run = randomBytes(6).toString('hex');
const keyOf = (label: string) => `${label}-robot-key-${run}`;
const LABELS = ['burst', 'mentions', 'markdown', 'privacy', 'long'] as const;
/** Never registered with the robot: it answers 93000. */
const UNKNOWN_KEY = `revoked-robot-key-${randomBytes(12).toString('hex')}`;

let robot: FakeWecomRobot;

beforeAll(async () => {
  robot = await FakeWecomRobot.start({ keys: LABELS.map(keyOf), limit: ROBOT_LIMIT, windowMs: ROBOT_WINDOW_MS });
});
afterAll(async () => {
  await robot.close();
});

const tag = () => randomBytes(4).toString('hex');

async function robotChannel(label: (typeof LABELS)[number], name = `${label}-robot`): Promise<string> {
  await putChannel(suite.gw.url, name, { type: 'wecom', url: robot.url(keyOf(label)) });
  return name;
}

async function notify(channel: string, fields: Record<string, unknown>): Promise<string> {
  const res = await postNotify(suite.gw.url, 'deal:won', { userId: uniqueUser(), channels: [channel], ...fields });
  expect(res.status, JSON.stringify(res.body)).toBe(201);
  return res.body.id!;
}

/**
 * Waits for the notification's one delivery to be sent, then returns what the robot
 * accepted for it. The robot records a message before it answers, and the row is `sent`
 * only after that answer, so the message is there once the row is.
 */
async function received(label: (typeof LABELS)[number], id: string, title: string): Promise<ReceivedWecomMessage> {
  const [delivery] = await settledDeliveries(suite.gw.url, id, 1);
  expect(delivery).toMatchObject({ channelType: 'wecom', status: 'sent', attempts: 1, lastError: null });
  const got = robot.messages.filter((m) => m.key === keyOf(label) && m.content.startsWith(title));
  expect(got).toHaveLength(1);
  return got[0]!;
}

async function listDeliveries(query: string): Promise<DeliveryItem[]> {
  const res = await api<{ deliveries: DeliveryItem[] }>(suite.gw.url, 'GET', `/api/deliveries?${query}`);
  expect(res.status).toBe(200);
  return res.body.deliveries;
}

/** One series of /metrics, 0 while it has not been written yet. */
async function metric(name: string, labels: Record<string, string>): Promise<number> {
  const text = await (await fetch(`${suite.gw.url}/metrics`)).text();
  const line = text
    .split('\n')
    .find((l) => l.startsWith(`${name}{`) && Object.entries(labels).every(([k, v]) => l.includes(`${k}="${v}"`)));
  return line === undefined ? 0 : Number(line.slice(line.lastIndexOf(' ') + 1));
}

/** The most arrivals within any `windowMs` (the robot's rule: more than `limit` in (t - window, t] is refused). */
function busiestWindow(times: number[], windowMs: number): number {
  const sorted = [...times].sort((a, b) => a - b);
  let most = 0;
  for (let end = 0, start = 0; end < sorted.length; end++) {
    while (sorted[start]! <= sorted[end]! - windowMs) start++;
    most = Math.max(most, end - start + 1);
  }
  return most;
}

describe('wecom channel, end to end', () => {
  it('paces a burst of 30 to one robot: all sent once, the excess deferred, the robot never over its limit', async () => {
    await putChannel(suite.gw.url, 'crm-robot', { type: 'wecom', url: robot.url(keyOf('burst')) });
    const deferredBefore = await metric('notify_deliveries_total', { channel_type: 'wecom', outcome: 'deferred' });
    const burst = tag();
    const titles = Array.from({ length: 30 }, (_, i) => `Lead ${i + 1} assigned (${burst})`);
    // Concurrently: a real burst, well inside one window.
    const ids = await Promise.all(titles.map((title) => notify('crm-robot', { title })));

    let rows: DeliveryItem[] = [];
    await until(
      async () => {
        rows = await listDeliveries('channel=crm-robot&limit=500');
        return rows.length === 30 && rows.every((r) => r.status === 'sent');
      },
      '30 robot deliveries sent',
      15_000,
      50,
    ).catch((error: Error) => {
      throw new Error(`${error.message}; last seen: ${JSON.stringify(rows.map((r) => [r.status, r.attempts, r.lastError]))}`);
    });

    // None lost, none twice: the robot holds exactly the 30 titles (summary = title only).
    const accepted = robot.messages.filter((m) => m.key === keyOf('burst'));
    expect(accepted.map((m) => m.content).sort()).toEqual([...titles].sort());
    // Every request reached the robot within its limit: 30 requests, 30 errcode 0, no 45009.
    const answers = robot.replies.filter((r) => r.key === keyOf('burst'));
    expect(answers.map((r) => r.errcode)).toEqual(Array.from({ length: 30 }, () => 0));
    // The limit was used in full, never exceeded, in any sliding window of arrivals.
    expect(busiestWindow(accepted.map((m) => m.receivedAt), ROBOT_WINDOW_MS)).toBe(ROBOT_LIMIT);

    // The 10 over the limit were deferred by the gateway (not sent, not refused) and
    // waited for the window, without using an attempt.
    const deferred = (await metric('notify_deliveries_total', { channel_type: 'wecom', outcome: 'deferred' })) - deferredBefore;
    expect(deferred).toBeGreaterThanOrEqual(30 - ROBOT_LIMIT);
    expect(await metric('notify_delivery_throttled', { channel_type: 'wecom' })).toBe(1);
    expect(rows.every((r) => r.attempts === 1 && r.lastError === null && r.reason === null)).toBe(true);

    // The operator's view: by channel and status.
    const sent = await listDeliveries('channel=crm-robot&status=sent&limit=500');
    expect(sent.map((d) => d.messageId).sort()).toEqual([...ids].sort());
    expect(sent.every((d) => d.channel === 'crm-robot' && d.channelType === 'wecom' && d.recipient === null)).toBe(true);
    expect(await listDeliveries('channel=crm-robot&status=pending')).toEqual([]);
  });

  it('mentions user ids and mobiles in the text fields, and everyone as "@all"', async () => {
    const channel = await robotChannel('mentions');
    const title = `Contract expiring (${tag()})`;
    const id = await notify(channel, { title, mentions: { userIds: ['zhangsan'], mobiles: ['13800001111'] } });
    const message = await received('mentions', id, title);
    expect(message).toMatchObject({ msgtype: 'text', content: title, mentionedList: ['zhangsan'], mentionedMobileList: ['13800001111'] });

    const allTitle = `Office closed today (${tag()})`;
    const all = await received('mentions', await notify(channel, { title: allTitle, mentions: { all: true } }), allTitle);
    expect(all).toMatchObject({ msgtype: 'text', content: allTitle, mentionedList: ['@all'], mentionedMobileList: [] });
  });

  it('sends a markdown body (external: "full") as markdown, mentioning user ids as <@userid>', async () => {
    const channel = await robotChannel('markdown');
    const title = `Deal won (${tag()})`;
    const body = '**ACME** signed for `3 years`';
    const link = 'https://crm.example.com/deals/7';
    const id = await notify(channel, { title, body, link, external: 'full', mentions: { userIds: ['zhangsan', 'lisi'] } });
    const message = await received('markdown', id, title);
    expect(message.msgtype).toBe('markdown');
    expect(message.content).toBe(`${title}\n${body}\n[${link}](${link})\n<@zhangsan> <@lisi>`);
    expect(message.body.markdown).not.toHaveProperty('mentioned_list');

    // Markdown cannot mention a mobile number: the same body then goes as text, mention kept.
    const textTitle = `Deal won, call back (${tag()})`;
    const text = await received(
      'markdown',
      await notify(channel, { title: textTitle, body, external: 'full', mentions: { mobiles: ['13800001111'] } }),
      textTitle,
    );
    expect(text).toMatchObject({ msgtype: 'text', content: `${textTitle}\n${body}`, mentionedMobileList: ['13800001111'] });
  });

  it('shows the robot the title and link but not the body unless external is "full"', async () => {
    const channel = await robotChannel('privacy');
    const body = 'Salary review: 18% raise for the whole team';
    const link = 'https://hr.example.com/reviews/42';
    for (const external of [undefined, 'summary'] as const) {
      const title = `Review ready (${tag()})`;
      const id = await notify(channel, { title, body, link, data: { raise: 18 }, ...(external && { external }) });
      const message = await received('privacy', id, title);
      expect(message).toMatchObject({ msgtype: 'text', content: `${title}\n${link}` });
      expect(JSON.stringify(message.body)).not.toContain('Salary');
    }
    const fullTitle = `Review ready (${tag()})`;
    const full = await received('privacy', await notify(channel, { title: fullTitle, body, link, external: 'full' }), fullTitle);
    expect(full.content).toBe(`${fullTitle}\n${body}\n${link}`);
  });

  it('cuts a long Chinese body within the 2048-byte text limit, between characters, keeping the link', async () => {
    const channel = await robotChannel('long');
    const title = `Weekly report (${tag()})`;
    // 3-byte CJK characters and a 4-byte one (a surrogate pair in UTF-16): ~3.3 kB.
    const body = '本周客户跟进情况汇总𠮷'.repeat(100);
    const link = 'https://crm.example.com/reports/week-12';
    expect(Buffer.byteLength(body)).toBeGreaterThan(2048);
    const message = await received('long', await notify(channel, { title, body, link, external: 'full' }), title);

    const { content } = message;
    expect(message.msgtype).toBe('text');
    const bytes = Buffer.byteLength(content);
    expect(bytes).toBeLessThanOrEqual(2048);
    expect(bytes).toBeGreaterThan(2048 - 8); // cut at the limit, not far before it
    // Well-formed: no split character survives the UTF-8 round trip or shows as U+FFFD.
    expect(Buffer.from(content, 'utf8').toString('utf8')).toBe(content);
    expect(content).not.toContain('\uFFFD');
    // The body is what was cut: title whole, a prefix of the body, "…", the link whole.
    expect(content.startsWith(`${title}\n`)).toBe(true);
    expect(content.endsWith(`…\n${link}`)).toBe(true);
    const kept = content.slice(title.length + 1, content.length - link.length - 2);
    expect(kept.length).toBeGreaterThan(500);
    expect(body.startsWith(kept)).toBe(true);
  });

  it('dead-letters an unknown robot key (93000) after one attempt, never showing the key', async () => {
    const created = await putChannel(suite.gw.url, 'stale-robot', { type: 'wecom', url: robot.url(UNKNOWN_KEY) });
    expect(JSON.stringify(created)).not.toContain(UNKNOWN_KEY);
    const id = await notify('stale-robot', { title: `Stock low (${tag()})` });
    const [dead] = await settledDeliveries(suite.gw.url, id, 1);
    expect(dead).toMatchObject({ channel: 'stale-robot', channelType: 'wecom', status: 'dead', attempts: 1, reason: 'permanent_error' });
    expect(dead!.lastError).toContain('93000');
    expect(dead!.lastError).not.toContain(UNKNOWN_KEY);
    // One request only: a permanent error is not retried.
    expect(robot.replies.filter((r) => r.key === UNKNOWN_KEY).map((r) => r.errcode)).toEqual([93000]);

    const listed = await api<{ channels: { name: string; url?: string }[] }>(suite.gw.url, 'GET', '/api/channels');
    expect(listed.status).toBe(200);
    const text = JSON.stringify(listed.body);
    expect(text).not.toContain(UNKNOWN_KEY);
    for (const label of LABELS) expect(text).not.toContain(keyOf(label));
    const stale = listed.body.channels.find((c) => c.name === 'stale-robot')!;
    // Masked to its last 4 characters: enough for an operator to tell robots apart.
    expect(new URL(stale.url!).searchParams.get('key')).toBe(`…${UNKNOWN_KEY.slice(-4)}`);
    const one = await api(suite.gw.url, 'GET', '/api/channels/stale-robot');
    expect(JSON.stringify(one.body)).not.toContain(UNKNOWN_KEY);
    expect(JSON.stringify(await listDeliveries('channel=stale-robot'))).not.toContain(UNKNOWN_KEY);
  });
});
