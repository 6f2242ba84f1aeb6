/**
 * A fake WeCom group robot: a real HTTP server on 127.0.0.1 (port 0) speaking the robot
 * webhook protocol, for driver tests and whole-gateway tests.
 *
 *   const robot = await FakeWecomRobot.start({ keys: ['k1'], limit: 20, windowMs: 60_000 });
 *   robot.url('k1')            // http://127.0.0.1:PORT/cgi-bin/webhook/send?key=k1
 *   robot.messages             // accepted messages, in order, each with `receivedAt` (Date.now())
 *   robot.replies              // every request answered: { key, status, errcode, at }
 *   robot.script(2, { errcode: -1 })       // the next 2 requests with a known key get -1
 *   robot.script(1, { httpStatus: 502 })   // ... or a bare HTTP status
 *   await robot.waitFor(3, 5000)           // resolves once 3 messages were accepted
 *   await robot.close()                    // in teardown; drops keep-alive connections too
 *
 * The protocol, as the real robot answers (always HTTP 200 with `{ errcode, errmsg }`,
 * except for a wrong path or method, which get 404/405), checked in this order:
 * 1. `key` query parameter not among `keys` → 93000 (invalid webhook url).
 * 2. A scripted reply, when one is pending (so scripts never hide a bad key).
 * 3. Body not JSON → 40058; `msgtype` other than text/markdown → 40008; `content`
 *    missing or empty → 40058; content over its byte limit (UTF-8: text 2048,
 *    markdown 4096) → 40058; `mentioned_list` / `mentioned_mobile_list` not string
 *    arrays → 40058. Stricter than the real robot on purpose: a markdown body carrying
 *    `mentioned_list` is refused with 40058, where WeCom silently ignores it (the
 *    mention would be lost without anyone noticing).
 * 4. More than `limit` accepted messages for this key in any `windowMs` (sliding, by
 *    arrival) → 45009 (api freq out of limit). Refused requests do not count.
 * 5. Otherwise the message is recorded and `{ errcode: 0, errmsg: "ok" }` answered.
 */
import { EventEmitter } from 'node:events';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface FakeWecomRobotOptions {
  /** The robot keys this server knows; any other key gets 93000. */
  keys: string[];
  /** Accepted messages per key in any `windowMs`; default 20. */
  limit?: number;
  /** Default 60 000. */
  windowMs?: number;
}

export interface ReceivedWecomMessage {
  key: string;
  msgtype: 'text' | 'markdown';
  content: string;
  /** text only; [] when absent. */
  mentionedList: string[];
  /** text only; [] when absent. */
  mentionedMobileList: string[];
  /** The request body as parsed. */
  body: Record<string, unknown>;
  receivedAt: number;
}

export interface WecomReplyRecord {
  key: string | null;
  status: number;
  /** null when the reply was a scripted bare HTTP status. */
  errcode: number | null;
  at: number;
}

export type ScriptedReply = { errcode: number; errmsg?: string } | { httpStatus: number };

const TEXT_LIMIT_BYTES = 2048;
const MARKDOWN_LIMIT_BYTES = 4096;
const MAX_REQUEST_BYTES = 1024 * 1024;

export class FakeWecomRobot {
  readonly messages: ReceivedWecomMessage[] = [];
  readonly replies: WecomReplyRecord[] = [];
  private readonly events = new EventEmitter();
  private readonly scripted: { reply: ScriptedReply; remaining: number }[] = [];
  private readonly keys: Set<string>;
  private readonly limit: number;
  private readonly windowMs: number;

  private constructor(
    private readonly server: Server,
    private readonly port: number,
    options: FakeWecomRobotOptions,
  ) {
    this.keys = new Set(options.keys);
    this.limit = options.limit ?? 20;
    this.windowMs = options.windowMs ?? 60_000;
  }

  static async start(options: FakeWecomRobotOptions): Promise<FakeWecomRobot> {
    const server = createServer();
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(0, '127.0.0.1', () => resolve());
    });
    const robot = new FakeWecomRobot(server, (server.address() as AddressInfo).port, options);
    server.on('request', (req: IncomingMessage, res: ServerResponse) => robot.handle(req, res));
    return robot;
  }

  url(key: string): string {
    return `http://127.0.0.1:${this.port}/cgi-bin/webhook/send?key=${encodeURIComponent(key)}`;
  }

  /** The next `times` requests carrying a known key get `reply` instead of being processed. */
  script(times: number, reply: ScriptedReply): void {
    this.scripted.push({ reply, remaining: times });
  }

  /** Resolves with the messages once at least `count` were accepted. */
  waitFor(count: number, timeoutMs = 5_000): Promise<ReceivedWecomMessage[]> {
    if (this.messages.length >= count) return Promise.resolve(this.messages);
    return new Promise((resolve, reject) => {
      const onMessage = () => {
        if (this.messages.length < count) return;
        clearTimeout(timer);
        this.events.off('message', onMessage);
        resolve(this.messages);
      };
      const timer = setTimeout(() => {
        this.events.off('message', onMessage);
        reject(new Error(`fake robot: ${this.messages.length} of ${count} messages after ${timeoutMs} ms`));
      }, timeoutMs);
      this.events.on('message', onMessage);
    });
  }

  async close(): Promise<void> {
    const closed = new Promise<void>((resolve) => this.server.close(() => resolve()));
    this.server.closeAllConnections(); // the driver's keep-alive sockets would hold close() open
    await closed;
  }

  private handle(req: IncomingMessage, res: ServerResponse): void {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size <= MAX_REQUEST_BYTES) chunks.push(chunk);
    });
    req.on('end', () => this.answer(req, Buffer.concat(chunks).toString('utf8'), res));
  }

  private answer(req: IncomingMessage, raw: string, res: ServerResponse): void {
    const url = new URL(req.url ?? '/', 'http://robot');
    const key = url.searchParams.get('key');
    if (url.pathname !== '/cgi-bin/webhook/send') return this.reply(res, key, 404, { errcode: 404, errmsg: 'not found' });
    if (req.method !== 'POST') return this.reply(res, key, 405, { errcode: 405, errmsg: 'method not allowed' });
    if (key === null || !this.keys.has(key)) {
      return this.refuse(res, key, 93000, 'invalid webhook url, hint: [fake-robot], more info at https://open.work.weixin.qq.com/devtool/query?e=93000');
    }
    const next = this.scripted[0];
    if (next) {
      if (--next.remaining <= 0) this.scripted.shift();
      if ('httpStatus' in next.reply) return this.reply(res, key, next.reply.httpStatus, null);
      return this.refuse(res, key, next.reply.errcode, next.reply.errmsg ?? `scripted errcode ${next.reply.errcode}`);
    }
    const parsed = parseMessage(raw);
    if ('errcode' in parsed) return this.refuse(res, key, parsed.errcode, parsed.errmsg);
    const now = Date.now();
    const inWindow = this.messages.filter((m) => m.key === key && m.receivedAt > now - this.windowMs).length;
    if (inWindow >= this.limit) {
      return this.refuse(res, key, 45009, 'api freq out of limit, hint: [fake-robot], more info at https://open.work.weixin.qq.com/devtool/query?e=45009');
    }
    this.messages.push({ key, ...parsed, receivedAt: now });
    this.reply(res, key, 200, { errcode: 0, errmsg: 'ok' });
    this.events.emit('message');
  }

  private refuse(res: ServerResponse, key: string | null, errcode: number, errmsg: string): void {
    this.reply(res, key, 200, { errcode, errmsg });
  }

  private reply(res: ServerResponse, key: string | null, status: number, answer: { errcode: number; errmsg: string } | null): void {
    this.replies.push({ key, status, errcode: answer?.errcode ?? null, at: Date.now() });
    res.writeHead(status, { 'content-type': 'application/json; charset=UTF-8' });
    res.end(answer === null ? '' : JSON.stringify(answer));
  }
}

type Parsed = Omit<ReceivedWecomMessage, 'key' | 'receivedAt'> | { errcode: number; errmsg: string };

function parseMessage(raw: string): Parsed {
  let body: unknown;
  try {
    body = JSON.parse(raw);
  } catch {
    return { errcode: 40058, errmsg: 'invalid Request Parameter, Warning: wrong json format.' };
  }
  if (typeof body !== 'object' || body === null || Array.isArray(body)) return { errcode: 40058, errmsg: 'invalid Request Parameter' };
  const record = body as Record<string, unknown>;
  const msgtype = record.msgtype;
  if (msgtype !== 'text' && msgtype !== 'markdown') return { errcode: 40008, errmsg: `invalid message type: ${String(msgtype)}` };
  const part = record[msgtype];
  if (typeof part !== 'object' || part === null) return { errcode: 40058, errmsg: `missing ${msgtype} object` };
  const fields = part as Record<string, unknown>;
  const content = fields.content;
  if (typeof content !== 'string' || content === '') return { errcode: 40058, errmsg: `missing ${msgtype}.content` };
  const limit = msgtype === 'text' ? TEXT_LIMIT_BYTES : MARKDOWN_LIMIT_BYTES;
  const bytes = Buffer.byteLength(content);
  if (bytes > limit) return { errcode: 40058, errmsg: `content exceed max length ${limit} bytes (got ${bytes})` };
  if (msgtype === 'markdown') {
    if ('mentioned_list' in fields || 'mentioned_mobile_list' in fields) {
      return { errcode: 40058, errmsg: 'markdown takes no mentioned_list / mentioned_mobile_list (use <@userid> in content)' };
    }
    return { msgtype, content, mentionedList: [], mentionedMobileList: [], body: record };
  }
  const mentionedList = stringList(fields.mentioned_list);
  const mentionedMobileList = stringList(fields.mentioned_mobile_list);
  if (mentionedList === null || mentionedMobileList === null) return { errcode: 40058, errmsg: 'mentioned lists must be arrays of strings' };
  return { msgtype, content, mentionedList, mentionedMobileList, body: record };
}

function stringList(value: unknown): string[] | null {
  if (value === undefined) return [];
  return Array.isArray(value) && value.every((item) => typeof item === 'string') ? (value as string[]) : null;
}
