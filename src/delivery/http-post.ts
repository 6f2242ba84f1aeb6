/**
 * POSTs a body to a tenant- or browser-chosen URL for the HTTP channel drivers (webhook
 * and wecom: JSON; webpush: encrypted bytes): keep-alive agents, a hard timeout, a bounded
 * response body, and the SSRF guard on the connected address (address-guard.ts). Network
 * failures and timeouts throw RetryableDeliveryError; a refused address throws
 * PermanentDeliveryError. HTTP statuses are returned as they are: what a status means is
 * the driver's business.
 */
import { Agent as HttpAgent, request as httpRequest, type IncomingHttpHeaders } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';
import { isIP } from 'node:net';
import { guardedLookup, isPrivateAddress } from './address-guard.js';
import { PermanentDeliveryError, RetryableDeliveryError } from './channel.js';

export interface HttpPostOptions {
  headers?: Record<string, string>;
  timeoutMs: number;
  allowPrivate: boolean;
  signal?: AbortSignal;
}

export interface HttpPostResult {
  status: number;
  headers: IncomingHttpHeaders;
  /** At most MAX_RESPONSE_BYTES of the response, as UTF-8. */
  body: string;
}

/** Receivers answer with a status and a short body; anything longer is not read. */
const MAX_RESPONSE_BYTES = 64 * 1024;

const agents = {
  http: new HttpAgent({ keepAlive: true, maxSockets: 64, maxFreeSockets: 64 }),
  https: new HttpsAgent({ keepAlive: true, maxSockets: 64, maxFreeSockets: 64 }),
};

export function postJson(target: string, body: string, options: HttpPostOptions): Promise<HttpPostResult> {
  return post(target, Buffer.from(body, 'utf8'), 'application/json', options);
}

/** Like postJson, for a binary body (`application/octet-stream` unless options.headers says otherwise). */
export function postBytes(target: string, body: Buffer, options: HttpPostOptions): Promise<HttpPostResult> {
  return post(target, body, 'application/octet-stream', options);
}

/** The one request path both share, so the SSRF guard, timeouts and limits cannot drift apart. */
function post(target: string, body: Buffer, contentType: string, options: HttpPostOptions): Promise<HttpPostResult> {
  const url = new URL(target);
  const host = url.hostname.replace(/^\[|\]$/g, '');
  // A literal address skips DNS (and so the lookup hook): check it here.
  if (!options.allowPrivate && isIP(host) && isPrivateAddress(host)) {
    return Promise.reject(new PermanentDeliveryError(`${host} is a private address (set ALLOW_PRIVATE_WEBHOOKS=true to allow it)`));
  }
  const secure = url.protocol === 'https:';
  const send = secure ? httpsRequest : httpRequest;
  return new Promise((resolve, reject) => {
    const req = send(
      url,
      {
        method: 'POST',
        agent: secure ? agents.https : agents.http,
        lookup: guardedLookup(options.allowPrivate),
        headers: {
          'content-type': contentType,
          'content-length': String(body.length),
          'user-agent': 'notify-gateway',
          ...options.headers,
        },
        timeout: options.timeoutMs,
        ...(options.signal ? { signal: options.signal } : {}),
      },
      (res) => {
        const chunks: Buffer[] = [];
        let size = 0;
        res.on('data', (chunk: Buffer) => {
          if (size >= MAX_RESPONSE_BYTES) return;
          chunks.push(chunk);
          size += chunk.length;
        });
        res.on('end', () => {
          clearTimeout(overall);
          resolve({
            status: res.statusCode ?? 0,
            headers: res.headers,
            body: Buffer.concat(chunks).subarray(0, MAX_RESPONSE_BYTES).toString('utf8'),
          });
        });
        res.on('error', fail);
      },
    );
    // `timeout` above is socket inactivity; this bounds the whole exchange.
    const overall = setTimeout(() => req.destroy(new RetryableDeliveryError(`no answer within ${options.timeoutMs} ms`)), options.timeoutMs);
    req.on('timeout', () => req.destroy(new RetryableDeliveryError(`no answer within ${options.timeoutMs} ms`)));
    req.on('error', fail);
    req.end(body);

    function fail(error: Error & { code?: string }) {
      clearTimeout(overall);
      if (error instanceof RetryableDeliveryError || error instanceof PermanentDeliveryError) return reject(error);
      if (error.code === 'EADDRBLOCKED') {
        return reject(new PermanentDeliveryError(`${error.message} (set ALLOW_PRIVATE_WEBHOOKS=true to allow it)`));
      }
      reject(new RetryableDeliveryError(`${error.code ?? error.name}: ${error.message}`));
    }
  });
}

/** `Retry-After` as milliseconds (seconds or an HTTP date); undefined when absent or unreadable. */
export function retryAfterMs(headers: IncomingHttpHeaders, now = Date.now()): number | undefined {
  const raw = headers['retry-after'];
  if (typeof raw !== 'string' || raw.trim() === '') return undefined;
  // https://www.rfc-editor.org/rfc/rfc9110#field.retry-after
  if (/^\d+$/.test(raw.trim())) return Number(raw.trim()) * 1000;
  const date = Date.parse(raw);
  return Number.isNaN(date) ? undefined : Math.max(0, date - now);
}
