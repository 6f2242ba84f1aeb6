/**
 * The `webpush` channel: one browser push (RFC 8030) per subscription, the payload
 * encrypted for that browser (RFC 8291, aes128gcm) and signed with the gateway's VAPID
 * key (RFC 8292). web-push builds the request; sending it is ours, through http-post's
 * guarded request, because an endpoint is whatever a browser (or anyone holding a user
 * token) registered: one pointing into our own network is refused unless allowPrivate.
 *
 * Rules:
 * - Payload: `{ id, kind, title, body, link, priority, createdAt, tenantId }` of the
 *   privacy-safe external message as given (body is null unless `external: "full"`).
 *   Push services need only accept 4096 encrypted bytes, so an over-long body is cut to
 *   fit (ending in "…") rather than sent to certain rejection.
 * - Urgency `high` for priority high/urgent, else `normal`; TTL `ttlSeconds` (24 h default).
 * - 2xx = sent. 404/410 = permanent with `subscriptionGone` (the worker removes it).
 *   408, 429, 5xx and network failures/timeouts = retry (Retry-After honoured). Every
 *   other status (400 bad request, 401/403 VAPID refused, 413 too large, …) = permanent.
 * - Error texts carry the status and a short excerpt of the answer, never the endpoint
 *   (its path is the subscription's capability) nor anything of the VAPID private key.
 */
import { STATUS_CODES } from 'node:http';
import webpush from 'web-push';
import { outcomeOfError, type ChannelDriver, type DeliveryJob, type ExternalMessage, type SendOutcome } from '../channel.js';
import { postBytes, retryAfterMs, type HttpPostResult } from '../http-post.js';

export interface WebpushChannelOptions {
  /** VAPID_PUBLIC_KEY / VAPID_PRIVATE_KEY (URL-safe base64, as web-push generates them) and VAPID_SUBJECT (mailto: or https:). */
  vapid: { publicKey: string; privateKey: string; subject: string };
  timeoutMs: number;
  /** Let subscription endpoints reach private/loopback addresses (tests, private push services). */
  allowPrivate: boolean;
  /** How long the push service keeps a message for an offline browser; 24 h by default. */
  ttlSeconds?: number;
}

const DEFAULT_TTL_SECONDS = 24 * 60 * 60;
/** 4096 bytes a push service must accept, less aes128gcm's header (86), tag (16) and delimiter (1). */
const MAX_PLAINTEXT_BYTES = 4096 - 86 - 16 - 1;
const EXCERPT_CHARS = 200;

export function createWebpushChannel(options: WebpushChannelOptions): ChannelDriver {
  const { vapid } = options;
  // Fail at start-up, not on the first delivery, when the keys or subject are unusable.
  webpush.getVapidHeaders('https://push.example', vapid.subject, vapid.publicKey, vapid.privateKey, 'aes128gcm');
  const ttl = options.ttlSeconds ?? DEFAULT_TTL_SECONDS;

  return {
    type: 'webpush',
    async send(job: DeliveryJob, signal: AbortSignal): Promise<SendOutcome> {
      if (job.config.type !== 'webpush') return { status: 'permanent', error: `not a webpush channel config (${job.config.type})` };
      const push = job.push;
      if (!push) return { status: 'permanent', error: 'no push subscription for this delivery' };
      if (!isHttpUrl(push.endpoint)) return { status: 'permanent', error: 'the subscription endpoint is not a valid http(s) URL' };
      let details: webpush.RequestDetails;
      try {
        details = webpush.generateRequestDetails({ endpoint: push.endpoint, keys: push.keys }, payloadOf(job.message), {
          vapidDetails: vapid,
          TTL: ttl,
          contentEncoding: 'aes128gcm',
          urgency: job.message.priority === 'high' || job.message.priority === 'urgent' ? 'high' : 'normal',
        });
      } catch (error) {
        // web-push validates the browser's keys here: malformed ones never get better.
        return { status: 'permanent', error: `cannot encrypt for this subscription: ${error instanceof Error ? error.message : String(error)}` };
      }
      try {
        const result = await postBytes(push.endpoint, details.body ?? Buffer.alloc(0), {
          headers: headersOf(details.headers),
          timeoutMs: options.timeoutMs,
          allowPrivate: options.allowPrivate,
          signal,
        });
        return outcomeOfStatus(result);
      } catch (error) {
        return outcomeOfError(error);
      }
    },
  };
}

/** The JSON the service worker reads (src/client/push/service-worker.js), cut to fit one push. */
function payloadOf(m: ExternalMessage): string {
  const fields = { id: m.id, kind: m.kind, title: m.title, body: m.body, link: m.link, priority: m.priority, createdAt: m.createdAt, tenantId: m.tenantId };
  const json = JSON.stringify(fields);
  if (m.body === null || Buffer.byteLength(json) <= MAX_PLAINTEXT_BYTES) return json;
  // JSON escapes each code point on its own, so summing them meets the budget exactly.
  let budget = MAX_PLAINTEXT_BYTES - Buffer.byteLength(JSON.stringify({ ...fields, body: '…' }));
  let kept = '';
  for (const char of m.body) {
    const size = Buffer.byteLength(JSON.stringify(char)) - 2;
    if (size > budget) break;
    budget -= size;
    kept += char;
  }
  return JSON.stringify({ ...fields, body: `${kept}…` });
}

/** web-push's headers, lower-cased and as strings; Content-Length is left to postBytes so it cannot disagree with the body. */
function headersOf(headers: webpush.Headers): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(headers)) {
    const lower = name.toLowerCase();
    if (lower !== 'content-length') out[lower] = String(value);
  }
  return out;
}

function outcomeOfStatus(result: HttpPostResult): SendOutcome {
  const { status } = result;
  if (status >= 200 && status <= 299) return { status: 'sent' };
  const error = describe(result);
  if (status === 404 || status === 410) return { status: 'permanent', error, subscriptionGone: true };
  if (status === 408 || status === 429 || (status >= 500 && status <= 599)) {
    const after = retryAfterMs(result.headers);
    return after === undefined ? { status: 'retry', error } : { status: 'retry', error, retryAfterMs: after };
  }
  return { status: 'permanent', error };
}

/** `push service: HTTP 410 Gone: <first ~200 chars of the answer>`, on one line. */
function describe({ status, body }: HttpPostResult): string {
  const head = `push service: HTTP ${status}${STATUS_CODES[status] ? ` ${STATUS_CODES[status]}` : ''}`;
  let text = body.replace(/[\s\u0000-\u001f\u007f]+/g, ' ').trim();
  if (text.length > EXCERPT_CHARS) text = `${text.slice(0, EXCERPT_CHARS).replace(/[\uD800-\uDBFF]$/, '')}…`;
  return text ? `${head}: ${text}` : head;
}

function isHttpUrl(raw: string): boolean {
  try {
    const { protocol, username, password } = new URL(raw);
    return (protocol === 'https:' || protocol === 'http:') && !username && !password;
  } catch {
    return false;
  }
}
