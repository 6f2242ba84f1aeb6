/**
 * attachNotifyGateway: the gateway's routes on a host's Express 5 app and its Socket.IO
 * on the host's HTTP server. The host's own routes, 404 and errors answer as before;
 * notify, live delivery and exact replay work as standalone; close() leaves the host
 * serving, with its server's listeners as they were.
 */
import { createServer, type Server } from 'node:http';
import express from 'express';
import { io as connectSocket } from 'socket.io-client';
import { Server as SocketIoServer } from 'socket.io';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConfigError, attachNotifyGateway } from '../../src/index.js';
import { createTestDatabase, type TestDatabase } from '../support/drivers.js';
import { API_KEY, notifyUser, postNotify, uniqueUser, userToken } from '../support/harness.js';
import { TestClient } from '../support/test-client.js';
import { HOST_NOT_FOUND, gatewaySettings, hostApp, startHost, type Host } from './embedding-host.js';

let db: TestDatabase;

beforeAll(async () => {
  db = await createTestDatabase();
});
afterAll(() => db.drop());

async function get(url: string): Promise<{ status: number; type: string; text: string; headers: Headers }> {
  const response = await fetch(url);
  return { status: response.status, type: response.headers.get('content-type') ?? '', text: await response.text(), headers: response.headers };
}

describe('a gateway attached to a host app and server', () => {
  let host: Host;
  beforeAll(async () => {
    host = await startHost(db);
  });
  afterAll(() => host.close());

  it("leaves the host's routes, parser, 404 and error shape as they were", async () => {
    const hello = await get(`${host.url}/host/hello`);
    expect([hello.status, JSON.parse(hello.text)]).toEqual([200, { hello: 'from the host' }]);
    // The gateway's security headers stay on the gateway's responses.
    expect(hello.headers.get('x-content-type-options')).toBeNull();

    const echoed = await fetch(`${host.url}/host/echo`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"a":[1,2]}' });
    expect([echoed.status, await echoed.json()]).toEqual([201, { echoed: { a: [1, 2] } }]);

    // Registered after the gateway, under /api: still the host's.
    const hostApi = await get(`${host.url}/api/host-users/me`);
    expect([hostApi.status, JSON.parse(hostApi.text)]).toEqual([200, { user: 'host user' }]);
    const hostPost = await fetch(`${host.url}/api/host-users`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"name":"n"}' });
    expect([hostPost.status, await hostPost.json()]).toEqual([201, { created: { name: 'n' } }]);

    for (const path of ['/nothing-here', '/api/not-a-gateway-route', '/api/notifications/unread-count/extra']) {
      const missing = await get(`${host.url}${path}`);
      expect([missing.status, missing.text], path).toEqual([404, HOST_NOT_FOUND]);
    }
    // A method the gateway's path does not serve is the host's too.
    const wrongMethod = await fetch(`${host.url}/healthz`, { method: 'DELETE' });
    expect([wrongMethod.status, await wrongMethod.text()]).toEqual([404, HOST_NOT_FOUND]);

    const failed = await get(`${host.url}/host/fail`);
    expect([failed.status, JSON.parse(failed.text)]).toEqual([500, { hostError: 'host route failed' }]);
  });

  it("serves the gateway's routes with the gateway's headers and error shape", async () => {
    const health = await get(`${host.url}/healthz`);
    expect([health.status, JSON.parse(health.text)]).toEqual([200, { status: 'ok' }]);
    expect(health.headers.get('x-content-type-options')).toBe('nosniff');
    expect((await get(`${host.url}/readyz`)).status).toBe(200);

    const unauthorized = await postNotify(host.url, 'test:event', { userId: 'u1', title: 'x' }, { key: null });
    expect(unauthorized.status).toBe(401);
    expect(unauthorized.body.error?.code).toBe('UNAUTHORIZED');

    const invalid = await postNotify(host.url, 'test:event', { userId: 'u1', title: 'x' }, { raw: '{"title":' });
    expect([invalid.status, invalid.body.error?.code]).toEqual([400, 'INVALID_JSON']);
  });

  it("parses its own bodies: the host's app-wide 1 kb parser mounted after it does not apply, the gateway's limits do", async () => {
    const body = { userId: uniqueUser(), title: 'large', body: 'x'.repeat(3 * 1024) };
    const large = await postNotify(host.url, 'test:event', body);
    expect(large.status).toBe(201);

    const tooLarge = await postNotify(host.url, 'test:event', { ...body, body: 'x'.repeat(70 * 1024) });
    expect([tooLarge.status, tooLarge.body.error?.code]).toEqual([413, 'PAYLOAD_TOO_LARGE']);

    const batch = await fetch(`${host.url}/api/notify`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-api-key': API_KEY },
      body: JSON.stringify({ notifications: [{ kind: 'test:event', ...body }, { kind: 'test:event', ...body, title: 'second' }] }),
    });
    expect(batch.status).toBe(200);
    const { results } = (await batch.json()) as { results: { status: number }[] };
    expect(results.map((r) => r.status)).toEqual([201, 201]);
  });

  it('delivers a notification posted with an API key to a socket.io-client session, over WebSocket and long-polling', async () => {
    const user = uniqueUser();
    const overWebSocket = await TestClient.connect(host.url, { token: userToken(user) });
    const overPolling = await TestClient.connect(host.url, { token: userToken(user) }, ['polling']);
    try {
      const id = await notifyUser(host.url, user, 'hello from the embedded gateway');
      await overWebSocket.waitForIds([id]);
      await overPolling.waitForIds([id]);
      expect(overWebSocket.received.map((n) => n.title)).toEqual(['hello from the embedded gateway']);
    } finally {
      overWebSocket.close();
      overPolling.close();
    }
  });

  it('replays exactly what a client missed while it was away', async () => {
    const user = uniqueUser();
    const first = await TestClient.connect(host.url, { token: userToken(user) });
    const seen = await notifyUser(host.url, user, 'seen');
    await first.waitForIds([seen]);
    first.close();

    const missed = [await notifyUser(host.url, user, 'missed 1'), await notifyUser(host.url, user, 'missed 2')];
    const back = await TestClient.connect(host.url, { token: userToken(user), lastAckId: seen });
    try {
      await back.waitForIds(missed);
      expect(back.ids).toEqual(missed);
      expect(back.received.every((n) => n.replayed === true)).toBe(true);
      expect(back.synced).toEqual([expect.objectContaining({ replayed: 2 })]);
    } finally {
      back.close();
    }
  });

  it('refuses sockets without a valid token', async () => {
    expect(await TestClient.rejected(host.url, { token: 'not-a-token' })).toBe('unauthorized');
  });
});

describe('close()', () => {
  it("stops the gateway's part only: the host keeps serving, its server's listeners are as before attaching", async () => {
    const events = ['request', 'upgrade', 'listening', 'close'] as const;
    const listenersOf = (server: Server) => Object.fromEntries(events.map((event) => [event, server.listeners(event)]));
    let before: ReturnType<typeof listenersOf> = {};
    const host = await startHost(db, {}, (httpServer) => {
      before = listenersOf(httpServer);
    });
    try {
      const user = uniqueUser();
      const client = await TestClient.connect(host.url, { token: userToken(user) });
      const disconnected = client.waitForDisconnect();
      await host.gateway.close();
      expect(await disconnected).toBe('transport close');

      expect((await get(`${host.url}/host/hello`)).status).toBe(200);
      // The gateway's paths are the host's now.
      for (const path of ['/healthz', '/api/notifications?limit=1', '/socket.io/?EIO=4&transport=polling']) {
        const after = await get(`${host.url}${path}`);
        expect([after.status, after.text], path).toEqual([404, HOST_NOT_FOUND]);
      }
      expect(host.httpServer.listening).toBe(true);
      expect(listenersOf(host.httpServer)).toEqual(before);
      expect(before.request).toEqual([host.app]);
    } finally {
      await host.close();
    }
  });
});

describe("next to the host's own Socket.IO server", () => {
  it('keeps the host namespace /chat free of the gateway token, on its own path', async () => {
    let chat!: SocketIoServer;
    const host = await startHost(db, { socketPath: '/notify/socket.io' }, (httpServer) => {
      chat = new SocketIoServer(httpServer, { serveClient: false });
      chat.of('/chat').on('connection', (socket) => {
        socket.on('say', (text: string, ack: (reply: string) => void) => ack(`echo: ${text}`));
      });
    });
    const say = async () => {
      const socket = connectSocket(`${host.url}/chat`, { transports: ['websocket'], reconnection: false, forceNew: true });
      try {
        return await socket.timeout(5000).emitWithAck('say', 'hi');
      } finally {
        socket.close();
      }
    };
    try {
      expect(await say()).toBe('echo: hi');

      const user = uniqueUser();
      const client = await TestClient.connect(host.url, { token: userToken(user) }, ['websocket'], { path: '/notify/socket.io' });
      const id = await notifyUser(host.url, user, 'next to chat');
      await client.waitForIds([id]);
      client.close();

      await host.gateway.close();
      expect(await say()).toBe('echo: hi');
    } finally {
      await host.close();
      await new Promise<void>((resolve) => chat.close(() => resolve())); // its server is closed already
    }
  });
});

describe('refusals at attach time', () => {
  it('names an app-wide body parser that would read the gateway bodies first', async () => {
    const app = hostApp();
    app.use(express.json());
    const attempt = attachNotifyGateway({ app, httpServer: createServer(app), ...gatewaySettings(db) });
    await expect(attempt).rejects.toThrow(ConfigError);
    await expect(attempt).rejects.toThrow(/express\.json\(\) is mounted for every path before the gateway/);
  });

  it('names a bad socketPath and a missing app', async () => {
    const app = hostApp();
    const httpServer = createServer(app);
    await expect(attachNotifyGateway({ app, httpServer, socketPath: 'socket.io', ...gatewaySettings(db) })).rejects.toThrow(/^socketPath: /);
    await expect(attachNotifyGateway({ app: undefined as never, httpServer, ...gatewaySettings(db) })).rejects.toThrow(/^app: /);
  });
});
