/**
 * HTTP server timeouts against clients that hold connections, over raw TCP sockets:
 * a client that connects and sends nothing, one that trickles its headers a byte a
 * second, and one that trickles its body are each answered 408 and closed by the
 * configured timeout, while well-behaved clients on the same instance (requests, an SSE
 * stream, Socket.IO over WebSocket and polling) keep working past those timeouts.
 * Timeouts are short here; waiting for them to fire is the point of the test.
 */
import { connect, type Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { useGateway } from '../support/gateway-suite.js';
import { API_KEY, notifyUser, uniqueUser, userToken } from '../support/harness.js';
import { SseSession } from './sse-session.js';

const HEADERS_MS = 2000;
const REQUEST_MS = 3000;
const KEEP_ALIVE_MS = 1000;
/** Node checks expiry every HEADERS_MS / 10; this covers that and a loaded machine. */
const SLACK_MS = 1500;

const suite = useGateway({
  HTTP_HEADERS_TIMEOUT_MS: String(HEADERS_MS),
  HTTP_REQUEST_TIMEOUT_MS: String(REQUEST_MS),
  HTTP_KEEP_ALIVE_TIMEOUT_MS: String(KEEP_ALIVE_MS),
});

interface RawClient {
  socket: Socket;
  /** Everything the server sent so far. */
  received(): string;
  isClosed(): boolean;
  /** Milliseconds from connect to close. */
  closed: Promise<number>;
}

const raws: RawClient[] = [];
const timers: NodeJS.Timeout[] = [];
afterEach(() => {
  for (const timer of timers.splice(0)) clearInterval(timer);
  for (const raw of raws.splice(0)) raw.socket.destroy();
});

async function openRaw(): Promise<RawClient> {
  const { port } = new URL(suite.gw.url);
  const socket = connect(Number(port), '127.0.0.1');
  await new Promise<void>((resolve, reject) => socket.once('connect', resolve).once('error', reject));
  const started = performance.now();
  let text = '';
  let closed = false;
  socket.setEncoding('utf8');
  socket.on('data', (chunk: string) => (text += chunk));
  socket.on('error', () => undefined);
  const raw: RawClient = {
    socket,
    received: () => text,
    isClosed: () => closed,
    closed: new Promise((resolve) =>
      socket.once('close', () => {
        closed = true;
        resolve(performance.now() - started);
      }),
    ),
  };
  raws.push(raw);
  return raw;
}

/** Writes `text` one byte per `everyMs`, starting now; returns how many bytes went out. */
function trickle(raw: RawClient, text: string, everyMs: number): () => number {
  let sent = 0;
  const send = () => {
    if (raw.isClosed() || sent >= text.length) return;
    raw.socket.write(text[sent]!);
    sent += 1;
  };
  send();
  timers.push(setInterval(send, everyMs));
  return () => sent;
}

const expect408 = (raw: RawClient) => expect(raw.received()).toMatch(/^HTTP\/1\.1 408 Request Timeout\r\n/);

describe('HTTP server timeouts', () => {
  it('cuts silent, header-trickling and body-trickling clients; well-behaved ones keep working', async () => {
    const user = uniqueUser();
    const sse = await SseSession.open(`${suite.gw.url}/api/stream?token=${userToken(user)}`);
    const websocket = await suite.connect(suite.gw.url, { token: userToken(user) });
    const polling = await suite.connect(suite.gw.url, { token: userToken(user) }, ['polling']);

    const silent = await openRaw();
    const slowHeaders = await openRaw();
    const request = `GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Padding: ${'x'.repeat(64)}\r\n\r\n`;
    const headerBytes = trickle(slowHeaders, request, 1000);
    const slowBody = await openRaw();
    slowBody.socket.write(
      `POST /api/notify/task:done HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nX-API-Key: ${API_KEY}\r\nContent-Length: 200\r\n\r\n{`,
    );
    trickle(slowBody, `"userId":"${user}","title":"slow"`, 1000);

    // Meanwhile the instance serves everyone else.
    for (let i = 0; i < 3; i++) expect((await fetch(`${suite.gw.url}/healthz`)).status).toBe(200);
    const early = await notifyUser(suite.gw.url, user, 'while slow clients hang');
    expect(silent.isClosed() || slowHeaders.isClosed() || slowBody.isClosed()).toBe(false);

    const [silentMs, headersMs] = await Promise.all([silent.closed, slowHeaders.closed]);
    expect408(silent);
    expect(silentMs).toBeGreaterThanOrEqual(HEADERS_MS - 100);
    expect(silentMs).toBeLessThan(HEADERS_MS + SLACK_MS);
    expect408(slowHeaders);
    expect(headersMs).toBeGreaterThanOrEqual(HEADERS_MS - 100);
    expect(headersMs).toBeLessThan(HEADERS_MS + SLACK_MS);
    expect(headerBytes()).toBeLessThan(request.length);

    const bodyMs = await slowBody.closed;
    expect408(slowBody);
    expect(bodyMs).toBeGreaterThanOrEqual(REQUEST_MS - 100);
    expect(bodyMs).toBeLessThan(REQUEST_MS + SLACK_MS);
    expect((await suite.gw.gateway.store.db('notify_messages').where({ title: 'slow' })).length).toBe(0);

    // The long-lived connections, open since before all this, outlived both timeouts.
    const late = await notifyUser(suite.gw.url, user, 'after the timeouts');
    await sse.waitForIds([early, late]);
    await websocket.waitForIds([early, late]);
    await polling.waitForIds([early, late]);
    expect(websocket.socket.connected && polling.socket.connected).toBe(true);
    sse.close();
  });

  it('closes an idle keep-alive connection after HTTP_KEEP_ALIVE_TIMEOUT_MS', async () => {
    const raw = await openRaw();
    raw.socket.write('GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n');
    const answered = await new Promise<number>((resolve) => {
      const started = performance.now();
      raw.socket.on('data', () => {
        if (raw.received().includes('\r\n\r\n')) resolve(performance.now() - started);
      });
    });
    expect(raw.received()).toMatch(/^HTTP\/1\.1 200 OK\r\n/);
    expect(raw.received()).toMatch(/\r\nKeep-Alive: timeout=1\r\n/i);
    const idleMs = (await raw.closed) - answered;
    expect(idleMs).toBeGreaterThanOrEqual(KEEP_ALIVE_MS - 100);
    // Node keeps the socket up to a second longer than it advertises.
    expect(idleMs).toBeLessThan(KEEP_ALIVE_MS + 1000 + SLACK_MS);
    expect(raw.received()).not.toMatch(/408/);
  });
});
