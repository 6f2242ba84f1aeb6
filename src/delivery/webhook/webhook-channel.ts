/**
 * The `webhook` channel: POSTs a notification as a Standard Webhooks event to the URL a
 * tenant configured, signed with the channel's `whsec_` secret (standard-webhooks.ts).
 *
 * Rules:
 * - Body: `{ type: kind, timestamp: ISO now, data: { id, kind, tenantId, title, body, data,
 *   link, priority, createdAt } }`. body/data arrive already nulled unless the notification
 *   is `external: "full"`; they are passed through as they are, never dropped. A digest
 *   adds `digest: { key, count, latest: [{ id, kind, title, createdAt }] }` to `data`.
 * - `webhook-id` is the delivery id, the same on every attempt, so receivers dedupe;
 *   `webhook-timestamp` is this attempt's time (the spec's replay guard), and the payload
 *   `timestamp` uses the same instant.
 * - 2xx = sent. 408, 429, 5xx and network failures/timeouts = retry (Retry-After honoured).
 *   Every other status (3xx: redirects are not followed; 4xx) = permanent.
 * - Error texts carry the status and at most ~200 characters of the response body, with
 *   the secret redacted, because a receiver may echo anything back. No URL either: a
 *   tenant's URL can hold its own tokens.
 */
import { STATUS_CODES } from 'node:http';
import { outcomeOfError, type ChannelDriver, type DeliveryJob, type ExternalMessage, type SendOutcome } from '../channel.js';
import { postJson, retryAfterMs, type HttpPostResult } from '../http-post.js';
import { isWebhookSecret, signWebhook } from './standard-webhooks.js';

export interface WebhookChannelOptions {
  timeoutMs: number;
  /** ALLOW_PRIVATE_WEBHOOKS: let tenant URLs reach private/loopback addresses. */
  allowPrivate: boolean;
}

const EXCERPT_CHARS = 200;

export function createWebhookChannel(options: WebhookChannelOptions): ChannelDriver {
  return {
    type: 'webhook',
    async send(job: DeliveryJob, signal: AbortSignal): Promise<SendOutcome> {
      const config = job.config;
      if (config.type !== 'webhook') return { status: 'permanent', error: `not a webhook channel config (${config.type})` };
      const secret = config.secret;
      if (!isWebhookSecret(secret)) return { status: 'permanent', error: 'the channel secret is not a valid whsec_ secret' };
      if (!isHttpUrl(config.url)) return { status: 'permanent', error: 'the channel URL is not a valid http(s) URL' };
      try {
        const now = Date.now();
        const timestamp = Math.floor(now / 1000);
        const body = JSON.stringify(eventOf(job.message, new Date(now)));
        const result = await postJson(config.url, body, {
          headers: {
            'webhook-id': job.deliveryId,
            'webhook-timestamp': String(timestamp),
            'webhook-signature': signWebhook(secret, job.deliveryId, timestamp, body),
          },
          timeoutMs: options.timeoutMs,
          allowPrivate: options.allowPrivate,
          signal,
        });
        return outcomeOfStatus(result, secret);
      } catch (error) {
        const outcome = outcomeOfError(error);
        return outcome.status === 'sent' ? outcome : { ...outcome, error: redact(outcome.error, secret) };
      }
    },
  };
}

function eventOf(m: ExternalMessage, now: Date) {
  return {
    type: m.kind,
    timestamp: now.toISOString(),
    data: {
      id: m.id,
      kind: m.kind,
      tenantId: m.tenantId,
      title: m.title,
      body: m.body,
      data: m.data,
      link: m.link,
      priority: m.priority,
      createdAt: m.createdAt,
      ...(m.digest && { digest: m.digest }),
    },
  };
}

function outcomeOfStatus(result: HttpPostResult, secret: string): SendOutcome {
  const { status } = result;
  if (status >= 200 && status <= 299) return { status: 'sent' };
  const error = describe(result, secret);
  if (status === 408 || status === 429 || (status >= 500 && status <= 599)) {
    const after = retryAfterMs(result.headers);
    return after === undefined ? { status: 'retry', error } : { status: 'retry', error, retryAfterMs: after };
  }
  return { status: 'permanent', error };
}

/** `HTTP 503 Service Unavailable: <first ~200 chars of the body>`, on one line. */
function describe({ status, body }: HttpPostResult, secret: string): string {
  const head = `HTTP ${status}${STATUS_CODES[status] ? ` ${STATUS_CODES[status]}` : ''}`;
  // Redact before cutting, so a secret straddling the cut cannot leave a readable half.
  let text = redact(body, secret).replace(/[\s\u0000-\u001f\u007f]+/g, ' ').trim();
  if (text.length > EXCERPT_CHARS) text = `${text.slice(0, EXCERPT_CHARS).replace(/[\uD800-\uDBFF]$/, '')}…`;
  return text ? `${head}: ${text}` : head;
}

/** Removes the secret, with or without its `whsec_` prefix (the key part alone is just as secret). */
function redact(text: string, secret: string): string {
  const key = secret.slice('whsec_'.length);
  return text.split(secret).join('[secret]').split(key).join('[secret]');
}

function isHttpUrl(raw: string): boolean {
  try {
    const { protocol } = new URL(raw);
    return protocol === 'http:' || protocol === 'https:';
  } catch {
    return false;
  }
}
