/**
 * The wecom driver against a real (fake) robot over HTTP: pacing by the sliding limiter,
 * errcode mapping, and the robot key kept out of every error text. Also the in-memory
 * limiter's sliding-window semantics, on a fake clock.
 */
import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DeliveryJob, ExternalMessage, SendOutcome } from '../../../src/delivery/channel.js';
import { createMemoryRobotRateLimit, type RobotRateLimit } from '../../../src/delivery/wecom/robot-rate-limit.js';
import { LIMITER_UNAVAILABLE_RETRY_MS, createWecomChannel } from '../../../src/delivery/wecom/wecom-channel.js';
import { FakeWecomRobot } from '../../support/fake-wecom-robot.js';
import { freePort } from '../../support/ports.js';

const KEY = 'c0ffee00-secret-robot-key-4f1c';
const BURST_KEY = 'burst-robot-key-77aa';
const WINDOW_MS = 1_500;
// The limiter counts a send when it is reserved, the robot when it arrives; the margin
// covers the difference in latency between the first and the later requests.
const LIMITER_WINDOW_MS = WINDOW_MS + 200;

let robot: FakeWecomRobot;
let burstRobot: FakeWecomRobot;

beforeAll(async () => {
  robot = await FakeWecomRobot.start({ keys: [KEY] });
  burstRobot = await FakeWecomRobot.start({ keys: [BURST_KEY], limit: 20, windowMs: WINDOW_MS });
});
afterAll(async () => {
  await robot.close();
  await burstRobot.close();
});

let sequence = 0;
function job(url: string, over: Partial<ExternalMessage> = {}): DeliveryJob {
  const id = `n${++sequence}`;
  return {
    deliveryId: `d-${id}`,
    attempt: 1,
    tenantId: 't1',
    channelName: 'ops-robot',
    config: { type: 'wecom', url },
    message: {
      id,
      kind: 'build.failed',
      tenantId: 't1',
      title: `Build failed ${id}`,
      body: null,
      data: null,
      link: null,
      priority: 'normal',
      createdAt: new Date().toISOString(),
      mentions: null,
      ...over,
    },
    recipient: null,
    push: null,
  };
}

const unlimited = (): RobotRateLimit => createMemoryRobotRateLimit({ limit: 1_000, windowMs: 60_000 });
const channel = (rateLimit: RobotRateLimit = unlimited(), allowPrivate = true) => createWecomChannel({ timeoutMs: 2_000, allowPrivate, rateLimit });
const send = (j: DeliveryJob, driver = channel()) => driver.send(j, new AbortController().signal);
const errorOf = (outcome: SendOutcome) => ('error' in outcome ? outcome.error : '');

describe('wecom channel', () => {
  it('sends text with mentions, as the robot protocol wants', async () => {
    const before = robot.messages.length;
    const outcome = await send(
      job(robot.url(KEY), { body: 'job 42 failed', link: 'https://app.example/n/42', mentions: { userIds: ['zhangsan'], mobiles: ['13800001111'], all: false } }),
    );
    expect(outcome).toEqual({ status: 'sent' });
    const [received] = await robot.waitFor(before + 1).then((all) => all.slice(before));
    expect(received).toMatchObject({
      msgtype: 'text',
      content: expect.stringMatching(/^Build failed n\d+\njob 42 failed\nhttps:\/\/app\.example\/n\/42$/),
      mentionedList: ['zhangsan'],
      mentionedMobileList: ['13800001111'],
    });
  });

  it('a long Chinese markdown body is cut so that the robot accepts it', async () => {
    const before = robot.messages.length;
    const outcome = await send(job(robot.url(KEY), { body: `**${'企业微信🚀'.repeat(2_000)}**` }));
    expect(outcome).toEqual({ status: 'sent' });
    const [received] = (await robot.waitFor(before + 1)).slice(before);
    expect(received?.msgtype).toBe('markdown');
    expect(Buffer.byteLength(received?.content ?? '')).toBeLessThanOrEqual(4096);
  });

  it('a burst of 30 with 20 per window: the excess is deferred unsent, and the robot never sees 21 in a window', async () => {
    const driver = channel(createMemoryRobotRateLimit({ limit: 20, windowMs: LIMITER_WINDOW_MS }));
    const jobs = Array.from({ length: 30 }, () => job(burstRobot.url(BURST_KEY)));
    const first = await Promise.all(jobs.map((j) => send(j, driver)));

    const deferred = first.filter((o) => o.status === 'deferred');
    expect(first.filter((o) => o.status === 'sent')).toHaveLength(20);
    expect(deferred).toHaveLength(10);
    for (const o of deferred) {
      expect(o).toEqual({ status: 'deferred', retryAfterMs: expect.any(Number), error: expect.stringMatching(/^robot rate limit reached: waiting \d+ s for a slot$/) });
      expect(o.retryAfterMs).toBeGreaterThan(0);
      expect(o.retryAfterMs).toBeLessThanOrEqual(LIMITER_WINDOW_MS);
    }
    expect(burstRobot.replies).toHaveLength(20); // the deferred ones never reached the robot

    // As the worker would: try each deferred one again once its wait is over.
    const again = await Promise.all(jobs.map((j, i) => (first[i]!.status === 'deferred' ? untilNotDeferred(j, first[i]!, driver) : first[i]!)));
    expect(again.every((o) => o.status === 'sent')).toBe(true);

    const times = (await burstRobot.waitFor(30)).map((m) => m.receivedAt).sort((a, b) => a - b);
    expect(times).toHaveLength(30);
    // Sliding check: any 21 consecutive arrivals span at least a whole window.
    for (let i = 20; i < times.length; i++) expect(times[i]! - times[i - 20]!).toBeGreaterThanOrEqual(WINDOW_MS);
    expect(burstRobot.replies.filter((r) => r.errcode === 45009)).toEqual([]);
  });

  it('93000 (unknown key) is permanent, and the error does not show the key', async () => {
    const wrongKey = 'wrong-secret-key-0d15ea5e';
    const outcome = await send(job(robot.url(KEY).replace(encodeURIComponent(KEY), wrongKey)));
    expect(outcome.status).toBe('permanent');
    expect(errorOf(outcome)).toContain('93000');
    expect(errorOf(outcome)).not.toContain(wrongKey);
  });

  it('45009 is retried no sooner than a minute later', async () => {
    robot.script(1, { errcode: 45009, errmsg: 'api freq out of limit' });
    const outcome = await send(job(robot.url(KEY)));
    expect(outcome.status).toBe('retry');
    expect(outcome.status === 'retry' && outcome.retryAfterMs).toBeGreaterThanOrEqual(60_000);
  });

  it('-1 (system busy) is retried, and the retry gets through', async () => {
    robot.script(2, { errcode: -1, errmsg: 'system busy' });
    const j = job(robot.url(KEY));
    expect(await send(j)).toMatchObject({ status: 'retry', error: expect.stringContaining('-1') });
    expect(await send({ ...j, attempt: 2 })).toMatchObject({ status: 'retry' });
    expect(await send({ ...j, attempt: 3 })).toEqual({ status: 'sent' });
    expect(robot.messages.filter((m) => m.content.startsWith(j.message.title))).toHaveLength(1);
  });

  it('other errcodes (bad request content) are permanent', async () => {
    robot.script(1, { errcode: 40058, errmsg: 'invalid Request Parameter' });
    expect(await send(job(robot.url(KEY)))).toMatchObject({ status: 'permanent', error: expect.stringContaining('40058') });
  });

  it('HTTP 5xx is retried, another HTTP 4xx is permanent', async () => {
    robot.script(1, { httpStatus: 502 });
    expect(await send(job(robot.url(KEY)))).toMatchObject({ status: 'retry', error: 'HTTP 502' });
    const wrongPath = robot.url(KEY).replace('/cgi-bin/webhook/send', '/cgi-bin/webhook/nope');
    expect(await send(job(wrongPath))).toMatchObject({ status: 'permanent', error: 'HTTP 404' });
  });

  it('the robot key never appears in an error, even when the far side echoes it', async () => {
    robot.script(1, { errcode: 40058, errmsg: `bad request to ${robot.url(KEY)} (key ${KEY})` });
    const echoed = await send(job(robot.url(KEY)));
    expect(echoed.status).toBe('permanent');
    expect(errorOf(echoed)).not.toContain(KEY);
    expect(errorOf(echoed)).toContain('key=***');

    const closed = await send(job(`http://127.0.0.1:${await freePort()}/cgi-bin/webhook/send?key=${KEY}`));
    expect(closed.status).toBe('retry');
    expect(errorOf(closed)).not.toContain(KEY);

    const invalid = await send(job(`not a url ?key=${KEY}`));
    expect(invalid.status).toBe('permanent');
    expect(errorOf(invalid)).not.toContain(KEY);
  });

  it('a loopback robot URL with allowPrivate false is permanent, and nothing is sent', async () => {
    const before = robot.replies.length;
    const outcome = await send(job(robot.url(KEY)), channel(unlimited(), false));
    expect(outcome.status).toBe('permanent');
    expect(errorOf(outcome)).toContain('private address');
    expect(errorOf(outcome)).not.toContain(KEY);
    expect(robot.replies.length).toBe(before);
  });

  it('the limiter sees a SHA-256 of the key, never the key', async () => {
    const seen: string[] = [];
    const spy: RobotRateLimit = { reserve: async (r) => (seen.push(r), 0) };
    await send(job(robot.url(KEY)), channel(spy));
    expect(seen).toEqual([createHash('sha256').update(KEY).digest('hex')]);
  });

  it('a limiter that cannot answer (Redis down) defers without sending', async () => {
    const before = robot.replies.length;
    const down: RobotRateLimit = { reserve: async () => Promise.reject(new Error(`connection lost (${KEY})`)) };
    const outcome = await send(job(robot.url(KEY)), channel(down));
    expect(outcome).toMatchObject({ status: 'deferred', retryAfterMs: LIMITER_UNAVAILABLE_RETRY_MS });
    expect(errorOf(outcome)).not.toContain(KEY);
    expect(robot.replies.length).toBe(before);
  });
});

describe('memory robot rate limit (fake clock)', () => {
  it('admits N in any window, and answers the wait until the oldest leaves', async () => {
    let now = 0;
    const limit = createMemoryRobotRateLimit({ limit: 3, windowMs: 1_000, now: () => now });
    for (const t of [900, 950, 999]) {
      now = t;
      expect(await limit.reserve('r')).toBe(0);
    }
    // A fixed window would start afresh at 1000 and admit 3 more within milliseconds.
    now = 1_001;
    expect(await limit.reserve('r')).toBe(899);
    expect(await limit.reserve('r')).toBe(899); // a refusal counts nothing
    now = 1_900; // the send at 900 has left the window
    expect(await limit.reserve('r')).toBe(0);
    expect(await limit.reserve('r')).toBe(50);
  });

  it('keeps robots apart', async () => {
    const limit = createMemoryRobotRateLimit({ limit: 1, windowMs: 1_000, now: () => 0 });
    expect(await limit.reserve('a')).toBe(0);
    expect(await limit.reserve('b')).toBe(0);
    expect(await limit.reserve('a')).toBe(1_000);
  });
});

async function untilNotDeferred(j: DeliveryJob, outcome: SendOutcome, driver: ReturnType<typeof channel>): Promise<SendOutcome> {
  let last = outcome;
  while (last.status === 'deferred') {
    // Waiting out the rate window is the point here: there is no event to await.
    await new Promise((resolve) => setTimeout(resolve, last.status === 'deferred' ? last.retryAfterMs : 0));
    last = await send(j, driver);
  }
  return last;
}
