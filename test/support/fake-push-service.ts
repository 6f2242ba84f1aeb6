/**
 * A browser push service (FCM, Mozilla autopush, …) for real: a node:http server on
 * 127.0.0.1, port 0, that hands out subscriptions as a browser would get them, checks
 * VAPID (RFC 8292) and decrypts aes128gcm (RFC 8291) with its own node:crypto code — not
 * web-push's nor http_ece's, which the gateway encrypts with — so the two can catch each other.
 *
 *   const push = await startFakePushService();
 *   const sub = push.subscribe();                        // { id, endpoint, keys: { p256dh, auth } }
 *   push.subscribe({ applicationServerKey: vapid.publicKey }) // pushes signed with another key: 403
 *   push.markGone(sub.id)                                // later pushes to it: 410 (or markGone(id, 404))
 *   push.replyNext({ status: 429, retryAfter: '7' }, 2)  // the next 2 valid pushes get this instead
 *   const [got] = await push.waitFor(1);                 // resolves when ≥ 1 push was accepted
 *   got.payload / got.ttl / got.urgency / got.vapid.subject
 *   push.received                                        // accepted pushes, in arrival order
 *   push.attempts                                        // every request: its status and why
 *   await push.close();                                  // in teardown, always
 *
 * A POST to an endpoint is answered, in this order: unknown subscription 404; gone 410 (or
 * 404); no or bad VAPID 401 (bad JWT signature, `aud` not this origin, `exp` past or more
 * than 24 h ahead, no `sub`); VAPID key not the subscription's applicationServerKey 403;
 * missing TTL, content encoding not aes128gcm or undecryptable body 400; over 4096 bytes
 * 413; then a scripted reply if one is queued; else the push is recorded and answered 201.
 * Every request lands in `attempts` before it is answered, so a sender's outcome never
 * races the record.
 */
import { createECDH, createDecipheriv, createPublicKey, hkdfSync, randomBytes, randomUUID, verify, type ECDH } from 'node:crypto';
import { createServer, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface FakeSubscription {
  id: string;
  endpoint: string;
  /** URL-safe base64, as PushSubscription.toJSON() gives them. */
  keys: { p256dh: string; auth: string };
}

export interface ReceivedPush {
  subscriptionId: string;
  /** The decrypted body, parsed; undefined when it is not JSON. */
  payload: unknown;
  rawPayload: string;
  ttl: number;
  /** `Urgency` header; null when absent. */
  urgency: string | null;
  topic: string | null;
  vapid: { subject: string; publicKey: string; audience: string; expiresAt: number };
  receivedAt: number;
}

export interface PushAttempt {
  subscriptionId: string | null;
  status: number;
  /** Why it was refused; null when accepted or answered by script. */
  reason: string | null;
  receivedAt: number;
}

export interface ScriptedPushReply {
  status: number;
  /** Sent as the `Retry-After` header. */
  retryAfter?: string;
  body?: string;
}

export interface FakePushService {
  /** `http://127.0.0.1:<port>`: the VAPID `aud` it expects. */
  readonly origin: string;
  readonly received: readonly ReceivedPush[];
  readonly attempts: readonly PushAttempt[];
  /** A new subscription; with applicationServerKey, only pushes signed with that VAPID key are accepted. */
  subscribe(options?: { applicationServerKey?: string }): FakeSubscription;
  /** Later pushes to it are answered `status` (410 Gone by default). */
  markGone(subscriptionId: string, status?: 404 | 410): void;
  /** The next `times` otherwise valid pushes get this reply instead of 201 (not recorded as received). */
  replyNext(reply: number | ScriptedPushReply, times?: number): void;
  /** Resolves with `received` once at least `count` pushes were accepted; rejects after `timeoutMs`. */
  waitFor(count: number, timeoutMs?: number): Promise<readonly ReceivedPush[]>;
  close(): Promise<void>;
}

interface Held {
  ecdh: ECDH;
  publicKey: Buffer;
  auth: Buffer;
  applicationServerKey: string | null;
  goneStatus: number | null;
}

/** RFC 8030 §7.2: a push service must take at least 4096 bytes of payload. */
const MAX_BODY_BYTES = 4096;
/** RFC 8292 §2: a VAPID JWT expires at most 24 hours ahead. */
const MAX_JWT_SECONDS = 24 * 60 * 60;

class Refusal extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

export async function startFakePushService(): Promise<FakePushService> {
  const held = new Map<string, Held>();
  const received: ReceivedPush[] = [];
  const attempts: PushAttempt[] = [];
  const script: ScriptedPushReply[] = [];
  const waiters = new Set<() => void>();
  let origin = '';

  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    // A sender that gives up mid-request is a case under test, not a crash.
    req.on('error', () => {});
    res.on('error', () => {});
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const id = /^\/push\/([\w-]+)$/.exec(req.url ?? '')?.[1] ?? null;
      const answer = (status: number, reason: string | null, headers: Record<string, string> = {}, body = reason ?? '') => {
        attempts.push({ subscriptionId: id, status, reason, receivedAt: Date.now() });
        res.writeHead(status, { 'content-type': 'text/plain', ...headers }).end(body);
      };
      try {
        const push = accept(req, id, Buffer.concat(chunks));
        const scripted = script.shift();
        if (scripted) {
          const headers: Record<string, string> = scripted.retryAfter === undefined ? {} : { 'retry-after': scripted.retryAfter };
          return answer(scripted.status, null, headers, scripted.body ?? '');
        }
        received.push(push);
        answer(201, null, { location: `/message/${randomUUID()}` });
        for (const wake of [...waiters]) wake();
      } catch (error) {
        // A bug here must show up as a status in the test, not crash the test run.
        if (error instanceof Refusal) answer(error.status, error.message);
        else answer(500, `fake push service bug: ${error instanceof Error ? error.message : String(error)}`);
      }
    });
  });

  /** Checks one push as a push service would; throws a Refusal with its status. */
  function accept(req: IncomingMessage, id: string | null, body: Buffer): ReceivedPush {
    if (req.method !== 'POST') throw new Refusal(405, 'only POST');
    const sub = id === null ? undefined : held.get(id);
    if (!sub || id === null) throw new Refusal(404, 'no such subscription');
    if (sub.goneStatus !== null) throw new Refusal(sub.goneStatus, 'subscription expired or unsubscribed');
    const vapid = checkVapid(req.headers.authorization, origin);
    if (sub.applicationServerKey !== null && vapid.publicKey !== sub.applicationServerKey) {
      throw new Refusal(403, 'VAPID key is not the one the subscription was created with');
    }
    const ttlHeader = req.headers.ttl;
    if (typeof ttlHeader !== 'string' || !/^\d+$/.test(ttlHeader)) throw new Refusal(400, 'TTL header missing or invalid');
    if (req.headers['content-encoding'] !== 'aes128gcm') throw new Refusal(400, 'content encoding must be aes128gcm');
    if (body.length > MAX_BODY_BYTES) throw new Refusal(413, `payload of ${body.length} bytes exceeds ${MAX_BODY_BYTES}`);
    const rawPayload = decrypt(body, sub).toString('utf8');
    let payload: unknown;
    try {
      payload = JSON.parse(rawPayload);
    } catch {
      payload = undefined;
    }
    const header = (name: string) => (typeof req.headers[name] === 'string' ? (req.headers[name] as string) : null);
    return { subscriptionId: id, payload, rawPayload, ttl: Number(ttlHeader), urgency: header('urgency'), topic: header('topic'), vapid, receivedAt: Date.now() };
  }

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', resolve);
  });
  const { port } = server.address() as AddressInfo;
  origin = `http://127.0.0.1:${port}`;
  let closing: Promise<void> | undefined;

  return {
    origin,
    received,
    attempts,
    subscribe(options = {}) {
      const ecdh = createECDH('prime256v1');
      const publicKey = ecdh.generateKeys();
      const auth = randomBytes(16);
      const id = randomUUID();
      held.set(id, { ecdh, publicKey, auth, applicationServerKey: options.applicationServerKey ?? null, goneStatus: null });
      return { id, endpoint: `${origin}/push/${id}`, keys: { p256dh: publicKey.toString('base64url'), auth: auth.toString('base64url') } };
    },
    markGone(subscriptionId, status = 410) {
      const sub = held.get(subscriptionId);
      if (!sub) throw new Error(`fake push service: no subscription ${subscriptionId}`);
      sub.goneStatus = status;
    },
    replyNext(reply, times = 1) {
      for (let i = 0; i < times; i++) script.push(typeof reply === 'number' ? { status: reply } : reply);
    },
    waitFor(count, timeoutMs = 10_000) {
      if (received.length >= count) return Promise.resolve(received);
      return new Promise((resolve, reject) => {
        const done = () => {
          clearTimeout(timer);
          waiters.delete(check);
        };
        const check = () => {
          if (received.length >= count) (done(), resolve(received));
        };
        const timer = setTimeout(() => {
          done();
          reject(new Error(`fake push service: ${received.length} of ${count} pushes after ${timeoutMs} ms`));
        }, timeoutMs);
        waiters.add(check);
      });
    },
    close() {
      // Idempotent, so a test may close early (connection refused) and teardown still close.
      closing ??= new Promise<void>((resolve, reject) => {
        server.close((err) => (err ? reject(err) : resolve()));
        server.closeAllConnections(); // the sender's keep-alive sockets would hold close() open
      });
      return closing;
    },
  };
}

/** RFC 8292: `vapid t=<ES256 JWT>, k=<uncompressed P-256 public key>`. */
function checkVapid(authorization: string | undefined, origin: string): ReceivedPush['vapid'] {
  const match = /^vapid\s+(.*)$/i.exec(authorization ?? '');
  if (!match) throw new Refusal(401, 'no vapid Authorization');
  const params = new Map<string, string>();
  for (const part of match[1]!.split(',')) {
    const eq = part.indexOf('=');
    if (eq > 0) params.set(part.slice(0, eq).trim().toLowerCase(), part.slice(eq + 1).trim());
  }
  const token = params.get('t');
  const k = params.get('k');
  if (!token || !k) throw new Refusal(401, 'vapid Authorization needs t= and k=');
  const key = Buffer.from(k, 'base64url');
  if (key.length !== 65 || key[0] !== 0x04) throw new Refusal(401, 'k is not an uncompressed P-256 point');
  const parts = token.split('.');
  if (parts.length !== 3) throw new Refusal(401, 't is not a JWS compact token');
  const [head, claims, signature] = parts as [string, string, string];
  const header = parseJson(head);
  if (header?.alg !== 'ES256') throw new Refusal(401, 'JWT alg must be ES256');
  const publicKey = createPublicKey({
    key: { kty: 'EC', crv: 'P-256', x: key.subarray(1, 33).toString('base64url'), y: key.subarray(33).toString('base64url') },
    format: 'jwk',
  });
  // JWS ES256 signatures are r||s (64 bytes), not DER.
  const valid = verify('sha256', Buffer.from(`${head}.${claims}`), { key: publicKey, dsaEncoding: 'ieee-p1363' }, Buffer.from(signature, 'base64url'));
  if (!valid) throw new Refusal(401, 'JWT signature does not verify with k');
  const body = parseJson(claims);
  const now = Date.now() / 1000;
  if (body?.aud !== origin) throw new Refusal(401, `JWT aud must be ${origin}`);
  if (typeof body.exp !== 'number' || body.exp <= now) throw new Refusal(401, 'JWT expired or without exp');
  if (body.exp > now + MAX_JWT_SECONDS) throw new Refusal(401, 'JWT exp more than 24 h ahead');
  if (typeof body.sub !== 'string' || !/^(mailto:|https:)/.test(body.sub)) throw new Refusal(401, 'JWT sub must be a mailto: or https: URI');
  return { subject: body.sub, publicKey: k, audience: body.aud, expiresAt: body.exp };
}

function parseJson(segment: string): Record<string, unknown> | null {
  try {
    const value: unknown = JSON.parse(Buffer.from(segment, 'base64url').toString('utf8'));
    return typeof value === 'object' && value !== null ? (value as Record<string, unknown>) : null;
  } catch {
    return null;
  }
}

/** RFC 8291 §3.4 keys, RFC 8188 aes128gcm framing; web push allows exactly one record. */
function decrypt(body: Buffer, sub: Held): Buffer {
  if (body.length < 21) throw new Refusal(400, 'aes128gcm header truncated');
  const salt = body.subarray(0, 16);
  const recordSize = body.readUInt32BE(16);
  const idLength = body[20]!;
  if (idLength !== 65) throw new Refusal(400, 'keyid must be the 65-byte sender public key');
  const senderKey = body.subarray(21, 21 + idLength);
  const record = body.subarray(21 + idLength);
  if (record.length <= 16 || record.length > recordSize) throw new Refusal(400, 'web push needs exactly one record');
  let secret: Buffer;
  try {
    secret = sub.ecdh.computeSecret(senderKey);
  } catch {
    throw new Refusal(400, 'sender key is not a P-256 point');
  }
  const info = Buffer.concat([Buffer.from('WebPush: info\0'), sub.publicKey, senderKey]);
  const ikm = Buffer.from(hkdfSync('sha256', secret, sub.auth, info, 32));
  const cek = Buffer.from(hkdfSync('sha256', ikm, salt, Buffer.from('Content-Encoding: aes128gcm\0'), 16));
  const nonce = Buffer.from(hkdfSync('sha256', ikm, salt, Buffer.from('Content-Encoding: nonce\0'), 12));
  let plain: Buffer;
  try {
    const decipher = createDecipheriv('aes-128-gcm', cek, nonce);
    decipher.setAuthTag(record.subarray(record.length - 16));
    plain = Buffer.concat([decipher.update(record.subarray(0, record.length - 16)), decipher.final()]);
  } catch {
    throw new Refusal(400, 'payload does not decrypt with the subscription keys');
  }
  // Padding is zeros after a delimiter; the last (here: only) record's delimiter is 0x02.
  let end = plain.length - 1;
  while (end >= 0 && plain[end] === 0) end--;
  if (end < 0 || plain[end] !== 0x02) throw new Refusal(400, 'last-record delimiter missing');
  return plain.subarray(0, end);
}
