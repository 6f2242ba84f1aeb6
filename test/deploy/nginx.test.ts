/**
 * nginx/: `nginx -t` passes, and the site runs for real on loopback in front of four
 * Socket.IO upstreams that report what reached them — sticky routing (long-polling
 * works), WebSocket upgrade, hidden /metrics and /readyz, body limit, X-Forwarded-For
 * set by nginx only, failover, unbuffered SSE, and the limits per client address
 * (request rate on the notify API, new realtime sessions, connections at once) refusing
 * with 429 while other addresses pass.
 */
import { rmSync } from 'node:fs';
import { Agent, createServer, request, type ClientRequest, type IncomingMessage, type Server as HttpServer, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Server } from 'socket.io';
import { io, type Socket } from 'socket.io-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/config/config.js';
import { MAX_BODY_BYTES } from '../../src/http/app.js';
import { prepareNginx, renderSite, renderUpstream, startNginx, type RunningNginx } from './support/nginx.js';
import { freePort } from '../support/ports.js';
import { readRepoFile } from './support/repo.js';
import { fromAddress, httpFrom, loopbackAddress, type SimpleResponse } from './support/source-address.js';

interface Upstream {
  port: number;
  seen: { path: string; headers: IncomingMessage['headers']; bodyBytes: number }[];
  close(): Promise<void>;
}

/** An upstream that answers HTTP with what it received and echoes Socket.IO events. */
async function startUpstream(): Promise<Upstream> {
  const seen: Upstream['seen'] = [];
  const handler = (req: IncomingMessage, res: ServerResponse) => {
    let bodyBytes = 0;
    req.on('data', (chunk: Buffer) => (bodyBytes += chunk.length));
    req.on('end', () => {
      seen.push({ path: req.url ?? '', headers: req.headers, bodyBytes });
      if (req.url?.startsWith('/api/stream') || req.url?.startsWith('/hold')) {
        res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
        res.write('id: 1\ndata: first\n\n'); // and then nothing: the connection stays open
        return;
      }
      res.setHeader('content-type', 'application/json');
      res.end(
        JSON.stringify({ port, path: req.url, xff: req.headers['x-forwarded-for'] ?? null, connection: req.headers.connection, bodyBytes }),
      );
    });
  };
  // The handler is registered before Socket.IO attaches, so Socket.IO keeps /socket.io/.
  const http: HttpServer = createServer(handler);
  const sio = new Server(http, { pingInterval: 25_000, pingTimeout: 20_000 });
  sio.on('connection', (socket) => {
    socket.emit('hello', { port, xff: socket.handshake.headers['x-forwarded-for'] ?? null });
    socket.on('echo', (msg: unknown, ack: (reply: unknown) => void) => ack({ port, msg }));
  });
  await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
  const port = (http.address() as AddressInfo).port;
  return {
    port,
    seen,
    async close() {
      sio.close();
      http.closeAllConnections();
      await new Promise<void>((resolve) => http.close(() => resolve()));
    },
  };
}

let upstreams: Upstream[];
let nginx: RunningNginx;
const sockets: Socket[] = [];

const portOf = (body: string) => (JSON.parse(body) as { port: number }).port;

function connect(url: string, transport: 'websocket' | 'polling', address: string): Promise<{ socket: Socket; hello: { port: number; xff: string | null } }> {
  const socket = io(url, { transports: [transport], forceNew: true, reconnection: false, ...fromAddress(address) });
  sockets.push(socket);
  return new Promise((resolve, reject) => {
    socket.once('connect_error', reject);
    socket.once('hello', (hello: { port: number; xff: string | null }) => resolve({ socket, hello }));
  });
}

async function echoes(socket: Socket, count: number): Promise<number[]> {
  const ports: number[] = [];
  for (let i = 0; i < count; i++) {
    const reply = (await socket.timeout(5000).emitWithAck('echo', i)) as { port: number; msg: number };
    expect(reply.msg).toBe(i);
    ports.push(reply.port);
  }
  return ports;
}

beforeAll(async () => {
  upstreams = await Promise.all([1, 2, 3, 4].map(() => startUpstream()));
  const port = await freePort();
  nginx = await startNginx(renderSite(port), renderUpstream(upstreams.map((u) => `127.0.0.1:${u.port}`)), port);
});

afterAll(async () => {
  for (const socket of sockets) socket.close();
  await nginx?.stop();
  await Promise.all((upstreams ?? []).map((u) => u.close()));
});

describe('nginx config', () => {
  it('passes nginx -t with the repository files', async () => {
    const { prefix, test } = await prepareNginx(renderSite(8080), readRepoFile('nginx', 'upstream.conf'));
    rmSync(prefix, { recursive: true, force: true });
    expect(test).toContain('test is successful');
  });

  it('keeps Socket.IO connections longer than pingInterval + pingTimeout', () => {
    // The defaults the gateway passes to Socket.IO (SOCKET_PING_INTERVAL_MS / _TIMEOUT_MS).
    const defaults = parseConfig({});
    const heartbeatSeconds = (defaults.SOCKET_PING_INTERVAL_MS + defaults.SOCKET_PING_TIMEOUT_MS) / 1000;
    expect(heartbeatSeconds).toBeGreaterThan(0);
    const block = readRepoFile('nginx', 'notify-gateway.conf').match(/location \/socket\.io\/ \{([^}]*)\}/)?.[1] ?? '';
    const readTimeout = Number(block.match(/proxy_read_timeout\s+(\d+)s;/)?.[1]);
    expect(readTimeout).toBeGreaterThan(heartbeatSeconds);
  });
});

/** `count` requests, `concurrency` at a time; the statuses, and how long it took. */
async function flood(count: number, concurrency: number, send: (i: number) => Promise<SimpleResponse>) {
  const responses: SimpleResponse[] = [];
  const started = Date.now();
  let next = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < count) responses.push(await send(next++));
    }),
  );
  return { responses, seconds: (Date.now() - started) / 1000, statuses: countStatuses(responses) };
}

function countStatuses(responses: readonly SimpleResponse[]): Record<number, number> {
  const counts: Record<number, number> = {};
  for (const r of responses) counts[r.status] = (counts[r.status] ?? 0) + 1;
  return counts;
}

function expectProxyRefusal(res: SimpleResponse) {
  expect(res.status).toBe(429);
  expect(res.headers['retry-after']).toBe('1');
  expect(JSON.parse(res.body)).toMatchObject({ error: { code: 'RATE_LIMITED', details: { limit: 'proxy' } } });
}

/** Opens a request that the upstream answers at once and then holds open; resolves on its status. */
function hold(address: string, agent: Agent, opened: ClientRequest[], path = '/hold'): Promise<SimpleResponse> {
  return new Promise((resolve, reject) => {
    const req = request(`${nginx.url}${path}`, { localAddress: address, agent }, (res) => {
      const chunks: Buffer[] = [];
      if (res.statusCode !== 200) {
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString() }));
      } else {
        resolve({ status: 200, headers: res.headers, body: '' }); // and the response stays open
      }
    });
    req.on('error', reject);
    opened.push(req);
    req.end();
  });
}

describe('nginx limits per client address', () => {
  it('sets the client timeouts, each with a comment, and refuses with 429', () => {
    const site = readRepoFile('nginx', 'notify-gateway.conf');
    for (const directive of ['client_header_timeout', 'client_body_timeout', 'keepalive_timeout', 'send_timeout']) {
      expect(site, directive).toMatch(new RegExp(String.raw`#[^\n]*\n\s*${directive}\s+\d+s;`));
    }
    expect(site).toMatch(/limit_req_status 429;/);
    expect(site).toMatch(/limit_conn_status 429;/);
  });

  it('refuses a burst on the notify API past 2,000 requests plus 200/s with 429, and only that address', async () => {
    const address = loopbackAddress(201);
    const before = upstreams.reduce((n, u) => n + u.seen.filter((s) => s.path === '/api/notify/burst').length, 0);
    const post = () => httpFrom(address, `${nginx.url}/api/notify/burst`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' });
    const { responses, seconds, statuses } = await flood(3500, 64, post);
    const passed = statuses[200] ?? 0;
    expect(Object.keys(statuses).sort(), JSON.stringify(statuses)).toEqual(['200', '429']);
    expect(passed).toBeGreaterThanOrEqual(2000);
    expect(passed).toBeLessThanOrEqual(2000 + Math.ceil(200 * seconds) + 50);
    expectProxyRefusal(responses.find((r) => r.status === 429)!);
    // What nginx refused never reached an instance.
    const reached = upstreams.reduce((n, u) => n + u.seen.filter((s) => s.path === '/api/notify/burst').length, 0) - before;
    expect(reached).toBe(passed);
    // Another address is not affected.
    const other = await httpFrom(loopbackAddress(202), `${nginx.url}/api/notify/burst`, { method: 'POST', body: '{}' });
    expect(other.status).toBe(200);
  }, 60_000);

  it('counts new realtime sessions (handshakes, SSE) at 20/s with 40 at once; polls of an open session are not counted', async () => {
    const address = loopbackAddress(203);
    const handshake = () => httpFrom(address, `${nginx.url}/socket.io/?EIO=4&transport=polling`);
    const { statuses, seconds } = await flood(120, 20, handshake);
    expect(statuses[429], JSON.stringify(statuses)).toBeGreaterThan(0);
    expect(statuses[200]).toBeGreaterThanOrEqual(40);
    expect(statuses[200]).toBeLessThanOrEqual(40 + Math.ceil(20 * seconds) + 5);
    // Requests of an open session (they carry its sid) pass: Socket.IO answers them itself.
    const polls = await flood(60, 20, () => httpFrom(address, `${nginx.url}/socket.io/?EIO=4&transport=polling&sid=unknown`));
    expect(polls.statuses[429] ?? 0).toBe(0);
  }, 60_000);

  it('counts SSE requests as new sessions too', async () => {
    const agent = new Agent({ keepAlive: false, maxSockets: Infinity });
    const opened: ClientRequest[] = [];
    try {
      const streams = countStatuses(await Promise.all(Array.from({ length: 60 }, () => hold(loopbackAddress(206), agent, opened, '/api/stream'))));
      expect(streams[200]).toBeGreaterThanOrEqual(40);
      expect(streams[200]).toBeLessThan(50);
      expect(streams[429]).toBe(60 - streams[200]!);
    } finally {
      for (const req of opened) req.destroy();
      agent.destroy();
    }
  });

  it('refuses the 201st connection held open at once from one address, and takes new ones as others close', async () => {
    const address = loopbackAddress(204);
    const agent = new Agent({ keepAlive: false, maxSockets: Infinity });
    const opened: ClientRequest[] = [];
    try {
      const held = await Promise.all(Array.from({ length: 200 }, () => hold(address, agent, opened)));
      expect(countStatuses(held)).toEqual({ 200: 200 });
      expectProxyRefusal(await hold(address, agent, opened));
      // Another address still gets through meanwhile.
      expect((await httpFrom(loopbackAddress(205), `${nginx.url}/healthz`)).status).toBe(200);
      opened.splice(0, 10).forEach((req) => req.destroy());
      await new Promise((resolve) => setTimeout(resolve, 200));
      expect((await hold(address, agent, opened)).status).toBe(200);
    } finally {
      for (const req of opened) req.destroy();
      agent.destroy();
    }
  }, 60_000);
});

describe('nginx running on loopback', () => {
  it('pins one client address to one instance and spreads different addresses', async () => {
    const address = loopbackAddress(5);
    const ports = new Set<number>();
    for (let i = 0; i < 8; i++) ports.add(portOf((await httpFrom(address, `${nginx.url}/healthz`)).body));
    expect(ports.size).toBe(1);

    const spread = new Set<number>();
    for (let n = 10; n < 42; n++) spread.add(portOf((await httpFrom(loopbackAddress(n), `${nginx.url}/healthz`)).body));
    expect(spread.size).toBeGreaterThanOrEqual(3);
  });

  it('serves a polling-only Socket.IO session through one instance', async () => {
    const { socket, hello } = await connect(nginx.url, 'polling', loopbackAddress(60));
    expect(socket.io.engine.transport.name).toBe('polling');
    expect(new Set(await echoes(socket, 10))).toEqual(new Set([hello.port]));
  });

  it('upgrades /socket.io/ to a WebSocket', async () => {
    const { socket, hello } = await connect(nginx.url, 'websocket', loopbackAddress(61));
    expect(socket.io.engine.transport.name).toBe('websocket');
    expect(await echoes(socket, 3)).toEqual([hello.port, hello.port, hello.port]);
  });

  it('sets X-Forwarded-For to the client address and drops what the client sent', async () => {
    const address = loopbackAddress(62);
    const res = await httpFrom(address, `${nginx.url}/anything`, { headers: { 'x-forwarded-for': '6.6.6.6' } });
    // One request per upstream connection, so a draining instance is not kept busy.
    expect(JSON.parse(res.body)).toMatchObject({ xff: address, connection: 'close' });
    const socket = io(nginx.url, {
      transports: ['polling'],
      forceNew: true,
      reconnection: false,
      extraHeaders: { 'x-forwarded-for': '6.6.6.6' },
      ...fromAddress(address),
    });
    sockets.push(socket);
    const hello = await new Promise<{ xff: string | null }>((resolve) => socket.once('hello', resolve));
    expect(hello.xff).toBe(address);
  });

  it('does not expose /metrics or /readyz, in any spelling the gateway would route', async () => {
    const before = upstreams.reduce((n, u) => n + u.seen.length, 0);
    for (const path of ['/metrics', '/METRICS', '/metrics/', '/readyz', '/ReadyZ//', '/metrics?format=json']) {
      const res = await httpFrom(loopbackAddress(63), `${nginx.url}${path}`);
      expect(res.status, path).toBe(404);
      expect(JSON.parse(res.body)).toMatchObject({ error: { code: 'NOT_FOUND' } });
    }
    expect(upstreams.reduce((n, u) => n + u.seen.length, 0)).toBe(before);
    expect((await httpFrom(loopbackAddress(63), `${nginx.url}/healthz`)).status).toBe(200);
  });

  it('passes bodies up to the gateway limit and refuses clearly larger ones with JSON 413', async () => {
    const post = (bytes: number) =>
      httpFrom(loopbackAddress(64), `${nginx.url}/api/notify/x`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: Buffer.alloc(bytes, 0x20),
      });
    const atLimit = await post(MAX_BODY_BYTES + 1);
    expect(atLimit.status).toBe(200); // reaches the gateway, which answers with its own 413
    expect(JSON.parse(atLimit.body)).toMatchObject({ bodyBytes: MAX_BODY_BYTES + 1 });
    const tooLarge = await post(2 * MAX_BODY_BYTES);
    expect(tooLarge.status).toBe(413);
    expect(JSON.parse(tooLarge.body)).toMatchObject({ error: { code: 'PAYLOAD_TOO_LARGE' } });
  });

  it('streams /api/stream events as they are written', async () => {
    // nginx 1.22 forwarded this first event even with buffering on, so the directive
    // itself is checked statically: buffering delays events once upstream output
    // outpaces the client or fills a buffer, which a loopback test cannot force.
    const block = readRepoFile('nginx', 'notify-gateway.conf').match(/location \/api\/stream \{([^}]*)\}/)?.[1] ?? '';
    expect(block).toMatch(/proxy_buffering off;/);
    const controller = new AbortController();
    const res = await fetch(`${nginx.url}/api/stream`, { signal: controller.signal });
    expect(res.headers.get('content-type')).toContain('text/event-stream');
    const reader = res.body!.getReader();
    const first = await Promise.race([
      reader.read(),
      new Promise<never>((_, reject) => setTimeout(() => reject(new Error('first SSE event was held back')), 3000)),
    ]);
    expect(Buffer.from(first.value!).toString()).toContain('data: first');
    controller.abort();
  });

  it('moves the clients of a dead instance to another one, POSTs included', async () => {
    const address = loopbackAddress(5);
    const pinned = portOf((await httpFrom(address, `${nginx.url}/healthz`)).body);
    await upstreams.find((u) => u.port === pinned)!.close();
    const get = await httpFrom(address, `${nginx.url}/healthz`);
    expect(get.status).toBe(200);
    expect(portOf(get.body)).not.toBe(pinned);
    const post = await httpFrom(address, `${nginx.url}/api/notify/x`, { method: 'POST', body: '{}' });
    expect(post.status).toBe(200);
    expect(portOf(post.body)).not.toBe(pinned);
  });
});

describe('negative control', () => {
  it('without the sticky hash, long-polling through nginx breaks (so the test above means something)', async () => {
    const fresh = await Promise.all([1, 2, 3, 4].map(() => startUpstream()));
    const port = await freePort();
    const roundRobin = renderUpstream(fresh.map((u) => `127.0.0.1:${u.port}`)).replace(/^\s*hash .*$/m, '');
    const plain = await startNginx(renderSite(port), roundRobin, port);
    try {
      const socket = io(plain.url, { transports: ['polling'], forceNew: true, reconnection: false, ...fromAddress(loopbackAddress(70)) });
      sockets.push(socket);
      const outcome = await new Promise<string>((resolve) => {
        socket.once('connect_error', (error) => resolve(`connect_error: ${error.message}`));
        socket.once('disconnect', (reason) => resolve(`disconnect: ${reason}`));
        socket.once('hello', () => {
          echoes(socket, 10).then(
            () => resolve('worked'),
            (error: Error) => resolve(`echo failed: ${error.message}`),
          );
        });
      });
      expect(outcome).not.toBe('worked');
    } finally {
      await plain.stop();
      await Promise.all(fresh.map((u) => u.close()));
    }
  });
});
