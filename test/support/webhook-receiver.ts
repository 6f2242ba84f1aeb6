/**
 * A partner's webhook endpoint, for real: a node:http server on 127.0.0.1, port 0, that
 * checks Standard Webhooks signatures with its own code (not the gateway's) and answers
 * what the test scripts.
 *
 *   const receiver = await startWebhookReceiver();        // secret: a fresh whsec_ one
 *   receiver.url                                          // http://127.0.0.1:<port>/hook
 *   receiver.secret / receiver.setSecret(s)               // the secret it verifies with
 *   receiver.enqueue(503, { status: 429, retryAfter: '7' }, { status: 200, delayMs: 500 })
 *   receiver.setDefault(200)                              // once the queue is empty (default 200)
 *   const [first] = await receiver.waitFor(1);            // resolves when ≥ 1 request arrived
 *   receiver.requests                                     // every request, in arrival order
 *   await receiver.close();                               // in teardown, always
 *
 * Every request is recorded when its body has arrived, before the (possibly delayed)
 * reply, whatever its signature: `signatureValid` says whether one `v1,` entry of
 * `webhook-signature` matches the HMAC of `${id}.${timestamp}.${raw body}` and the
 * timestamp is within 5 minutes of now. The reply does not depend on it: the script decides.
 */
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface ReceivedWebhook {
  /** `webhook-id`; null when absent. */
  id: string | null;
  /** `webhook-timestamp` (unix seconds); null when absent or not a number. */
  timestamp: number | null;
  signatureValid: boolean;
  /** The JSON body, parsed; undefined when it is not JSON. */
  body: unknown;
  rawBody: string;
  headers: IncomingHttpHeaders;
  /** Date.now() when the body had arrived. */
  receivedAt: number;
}

export interface ScriptedReply {
  status: number;
  /** Sent as the `Retry-After` header (seconds or an HTTP date). */
  retryAfter?: string;
  /** Wait this long before answering (to outlast a sender's timeout). */
  delayMs?: number;
  body?: string;
}

export interface WebhookReceiverOptions {
  /** `whsec_` secret to verify with; a fresh one when omitted. */
  secret?: string;
  /** How far `webhook-timestamp` may be from now; 300 s as the spec's libraries use. */
  toleranceSeconds?: number;
}

export interface WebhookReceiver {
  readonly url: string;
  readonly secret: string;
  readonly requests: readonly ReceivedWebhook[];
  setSecret(secret: string): void;
  /** Replies for the next requests, in order; a number is a bare status. */
  enqueue(...replies: (number | ScriptedReply)[]): void;
  /** The reply once the queue is empty (initially 200). */
  setDefault(reply: number | ScriptedReply): void;
  /** Resolves with `requests` once at least `count` have arrived; rejects after `timeoutMs`. */
  waitFor(count: number, timeoutMs?: number): Promise<readonly ReceivedWebhook[]>;
  close(): Promise<void>;
}

export async function startWebhookReceiver(options: WebhookReceiverOptions = {}): Promise<WebhookReceiver> {
  let secret = options.secret ?? `whsec_${randomBytes(24).toString('base64')}`;
  const tolerance = options.toleranceSeconds ?? 300;
  const requests: ReceivedWebhook[] = [];
  const queue: ScriptedReply[] = [];
  let fallback: ScriptedReply = { status: 200 };
  const waiters = new Set<() => void>();
  const timers = new Set<NodeJS.Timeout>();
  const asReply = (r: number | ScriptedReply): ScriptedReply => (typeof r === 'number' ? { status: r } : r);

  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    // A sender that gives up mid-request is a case under test, not a crash.
    req.on('error', () => {});
    res.on('error', () => {});
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const rawBody = Buffer.concat(chunks).toString('utf8');
      requests.push(inspect(req.headers, rawBody, secret, tolerance));
      for (const wake of [...waiters]) wake();
      const reply = queue.shift() ?? fallback;
      const answer = () => {
        if (res.destroyed) return; // the sender gave up (its timeout): nothing to answer
        const headers: Record<string, string> = { 'content-type': 'text/plain' };
        if (reply.retryAfter !== undefined) headers['retry-after'] = reply.retryAfter;
        res.writeHead(reply.status, headers).end(reply.body ?? '');
      };
      if (!reply.delayMs) return answer();
      const timer = setTimeout(() => (timers.delete(timer), answer()), reply.delayMs);
      timers.add(timer);
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', resolve);
  });
  const { port } = server.address() as AddressInfo;
  let closing: Promise<void> | undefined;

  return {
    url: `http://127.0.0.1:${port}/hook`,
    get secret() {
      return secret;
    },
    requests,
    setSecret(next) {
      secret = next;
    },
    enqueue(...replies) {
      queue.push(...replies.map(asReply));
    },
    setDefault(reply) {
      fallback = asReply(reply);
    },
    waitFor(count, timeoutMs = 10_000) {
      if (requests.length >= count) return Promise.resolve(requests);
      return new Promise((resolve, reject) => {
        const done = () => {
          clearTimeout(timer);
          waiters.delete(check);
        };
        const check = () => {
          if (requests.length >= count) (done(), resolve(requests));
        };
        const timer = setTimeout(() => {
          done();
          reject(new Error(`webhook receiver: ${requests.length} of ${count} requests after ${timeoutMs} ms`));
        }, timeoutMs);
        waiters.add(check);
      });
    },
    close() {
      for (const timer of timers) clearTimeout(timer);
      timers.clear();
      // Idempotent, so a test may close early (connection refused) and teardown still close.
      closing ??= new Promise<void>((resolve, reject) => {
        server.close((err) => (err ? reject(err) : resolve()));
        server.closeAllConnections(); // the sender's keep-alive sockets would hold close() open
      });
      return closing;
    },
  };
}

/** Standard Webhooks verification, written apart from src/ so the two can catch each other. */
function inspect(headers: IncomingHttpHeaders, rawBody: string, secret: string, toleranceSeconds: number): ReceivedWebhook {
  const id = single(headers['webhook-id']);
  const stamp = single(headers['webhook-timestamp']);
  const timestamp = stamp !== null && /^\d+$/.test(stamp) ? Number(stamp) : null;
  let body: unknown;
  try {
    body = JSON.parse(rawBody);
  } catch {
    body = undefined;
  }
  let signatureValid = false;
  const fresh = timestamp !== null && Math.abs(Date.now() / 1000 - timestamp) <= toleranceSeconds;
  if (id !== null && timestamp !== null && fresh && secret.startsWith('whsec_')) {
    const key = Buffer.from(secret.slice('whsec_'.length), 'base64');
    const expected = Buffer.from(createHmac('sha256', key).update(`${id}.${stamp}.${rawBody}`).digest('base64'));
    for (const entry of (single(headers['webhook-signature']) ?? '').split(' ')) {
      const [version, value] = entry.split(',', 2);
      if (version !== 'v1' || !value) continue;
      // The base64 text itself, not its lenient decoding: a sloppy encoding is a sender bug.
      const given = Buffer.from(value);
      if (given.length === expected.length && timingSafeEqual(given, expected)) signatureValid = true;
    }
  }
  return { id, timestamp, signatureValid, body, rawBody, headers, receivedAt: Date.now() };
}

function single(value: string | string[] | undefined): string | null {
  return typeof value === 'string' ? value : null;
}
