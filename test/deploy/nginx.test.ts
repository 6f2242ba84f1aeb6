/**
 * nginx/: `nginx -t` passes, and the site runs for real on loopback in front of four
 * Socket.IO upstreams that report what reached them — sticky routing (long-polling
 * works), WebSocket upgrade, hidden /metrics and /readyz, body limit, X-Forwarded-For
 * set by nginx only, failover, unbuffered SSE.
 */
import { rmSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server as HttpServer, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Server } from 'socket.io';
import { io, type Socket } from 'socket.io-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MAX_BODY_BYTES } from '../../src/http/app.js';
import { prepareNginx, renderSite, renderUpstream, startNginx, type RunningNginx } from './support/nginx.js';
import { freePort } from '../support/ports.js';
import { readRepoFile } from './support/repo.js';
import { fromAddress, httpFrom, loopbackAddress } from './support/source-address.js';

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
      if (req.url?.startsWith('/api/stream')) {
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
    const gateway = readRepoFile('src', 'gateway.ts');
    const ms = (name: string) => Number(gateway.match(new RegExp(`${name}:\\s*([\\d_]+)`))?.[1]?.replace(/_/g, ''));
    const heartbeatSeconds = (ms('pingInterval') + ms('pingTimeout')) / 1000;
    expect(heartbeatSeconds).toBeGreaterThan(0);
    const block = readRepoFile('nginx', 'notify-gateway.conf').match(/location \/socket\.io\/ \{([^}]*)\}/)?.[1] ?? '';
    const readTimeout = Number(block.match(/proxy_read_timeout\s+(\d+)s;/)?.[1]);
    expect(readTimeout).toBeGreaterThan(heartbeatSeconds);
  });
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
