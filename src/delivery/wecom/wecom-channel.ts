/**
 * The `wecom` channel: a WeCom group robot, `POST …/cgi-bin/webhook/send?key=KEY`.
 *
 * Rules, and why:
 * - The robot's own limit (20 a minute) is kept before sending: a send the limiter does
 *   not admit is answered `deferred` without touching the robot, because the robot
 *   punishes the excess with 45009 and a minute of refusals for everything.
 * - The robot answers HTTP 200 for its errors too; `errcode` decides:
 *   0 sent; 45009 (frequency limit) retry after at least a minute; -1 (system busy) and
 *   45033 (concurrent calls over the limit, WeCom's global error codes) retry; 93000
 *   (invalid webhook URL/key) and every other errcode permanent: they describe the
 *   request (content, size, type), which a retry would send again unchanged.
 *   A 2xx reply without a readable errcode is retried: it is not the robot's answer
 *   (a proxy or a captive page), and a later attempt may reach the robot.
 * - HTTP 5xx and network failures retry; 408 and 429 retry too (they say "later" by
 *   definition, honouring Retry-After); any other non-2xx is permanent.
 * - The robot key is the robot's only credential: it never appears in an outcome's
 *   error text (every text passes through redactKey), and the limiter only ever sees
 *   its SHA-256.
 */
import { createHash } from 'node:crypto';
import { outcomeOfError, type ChannelDriver, type DeliveryJob, type SendOutcome } from '../channel.js';
import { postJson, retryAfterMs, type HttpPostResult } from '../http-post.js';
import type { RobotRateLimit } from './robot-rate-limit.js';
import { buildWecomBody } from './wecom-message.js';

export interface WecomChannelOptions {
  timeoutMs: number;
  allowPrivate: boolean;
  rateLimit: RobotRateLimit;
}

/** After 45009 the robot refuses for the rest of its minute. */
export const RATE_LIMITED_RETRY_MS = 60_000;
/** How soon to look again when the shared limiter (Redis) cannot be asked. */
export const LIMITER_UNAVAILABLE_RETRY_MS = 5_000;

const ERRCODE_RETRY = new Set([-1, 45033]);
const ERROR_MAX_CHARS = 300;

export function createWecomChannel(options: WecomChannelOptions): ChannelDriver {
  return {
    type: 'wecom',
    async send(job: DeliveryJob, signal: AbortSignal): Promise<SendOutcome> {
      if (job.config.type !== 'wecom') return { status: 'permanent', error: `not a wecom channel config (${job.config.type})` };
      const target = robotTarget(job.config.url);
      if (typeof target === 'string') return { status: 'permanent', error: target };
      const { url, key } = target;
      const body = JSON.stringify(buildWecomBody(job.message));

      let waitMs: number;
      try {
        waitMs = await options.rateLimit.reserve(robotIdentity(key));
      } catch (error) {
        // Not sending unchecked (a burst would earn a minute of 45009), and not counting
        // an attempt either: a Redis outage must not use up a delivery's attempts.
        const reason = error instanceof Error ? error.message : String(error);
        return { status: 'deferred', retryAfterMs: LIMITER_UNAVAILABLE_RETRY_MS, error: redactKey(`robot rate limit unavailable: ${reason}`, key) };
      }
      if (waitMs > 0) return { status: 'deferred', retryAfterMs: waitMs, error: `robot rate limit reached: waiting ${Math.ceil(waitMs / 1000)} s for a slot` };

      let reply: HttpPostResult;
      try {
        reply = await postJson(url, body, { timeoutMs: options.timeoutMs, allowPrivate: options.allowPrivate, signal });
      } catch (error) {
        return redactOutcome(outcomeOfError(error), key);
      }
      return redactOutcome(outcomeOfReply(reply), key);
    },
  };
}

/** What the limiter (and Redis) sees of a robot: never the key itself. */
export function robotIdentity(key: string): string {
  return createHash('sha256').update(key).digest('hex');
}

/** The outcome a robot reply means (see the rules above). */
export function outcomeOfReply(reply: HttpPostResult): SendOutcome {
  const { status } = reply;
  if (status === 408 || status === 429) {
    const after = retryAfterMs(reply.headers);
    return after === undefined ? { status: 'retry', error: `HTTP ${status}` } : { status: 'retry', error: `HTTP ${status}`, retryAfterMs: after };
  }
  if (status >= 500) return { status: 'retry', error: `HTTP ${status}` };
  if (status < 200 || status > 299) return { status: 'permanent', error: `HTTP ${status}` };

  const answer = parseAnswer(reply.body);
  if (answer === null) return { status: 'retry', error: `HTTP ${status} without a WeCom errcode` };
  const { errcode, errmsg } = answer;
  if (errcode === 0) return { status: 'sent' };
  const error = `wecom errcode ${errcode}: ${errmsg}`;
  if (errcode === 45009) return { status: 'retry', error, retryAfterMs: RATE_LIMITED_RETRY_MS };
  if (ERRCODE_RETRY.has(errcode)) return { status: 'retry', error };
  return { status: 'permanent', error };
}

/** Removes the robot key, as given and URL-encoded, and any `key=` parameter, from a text. */
export function redactKey(text: string, key: string): string {
  let out = text;
  for (const form of new Set([key, encodeURIComponent(key)])) if (form !== '') out = out.split(form).join('***');
  return out.replace(/([?&]key=)[^&\s"'#]*/gi, '$1***');
}

function redactOutcome(outcome: SendOutcome, key: string): SendOutcome {
  // Redact before cutting: a cut through the key would leave part of it behind.
  return outcome.status === 'sent' ? outcome : { ...outcome, error: redactKey(outcome.error, key).slice(0, ERROR_MAX_CHARS) };
}

function robotTarget(raw: string): { url: string; key: string } | string {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    return 'the robot URL is not a valid URL'; // the text is not repeated: it holds the key
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') return 'the robot URL must be http(s)';
  const key = url.searchParams.get('key');
  if (key === null || key === '') return 'the robot URL has no key parameter';
  return { url: url.toString(), key };
}

function parseAnswer(body: string): { errcode: number; errmsg: string } | null {
  let parsed: unknown;
  try {
    parsed = JSON.parse(body);
  } catch {
    return null;
  }
  if (typeof parsed !== 'object' || parsed === null) return null;
  const { errcode, errmsg } = parsed as { errcode?: unknown; errmsg?: unknown };
  if (typeof errcode !== 'number' || !Number.isInteger(errcode)) return null;
  return { errcode, errmsg: typeof errmsg === 'string' ? errmsg : '' };
}
