/**
 * The Socket.IO heartbeat follows SOCKET_PING_INTERVAL_MS / SOCKET_PING_TIMEOUT_MS: the
 * handshake announces them, a real client sees a ping every interval, and a client that
 * stops answering pings is dropped by the gateway after interval + timeout.
 * Runs once (SQLite): the heartbeat does not depend on the store driver.
 */
import { io, type Socket } from 'socket.io-client';
import { WebSocket } from 'ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestBed, uniqueUser, userToken, type RunningGateway, type TestBed } from '../support/harness.js';

const INTERVAL_MS = 1000;
const TIMEOUT_MS = 1000;
/** Timers and the event loop of a shared box: how far a ping or a drop may be late. */
const LATE_MS = 700;

let bed: TestBed;
let gw: RunningGateway;
const sockets: Socket[] = [];

beforeAll(async () => {
  bed = await createTestBed();
  gw = await bed.start({ SOCKET_PING_INTERVAL_MS: String(INTERVAL_MS), SOCKET_PING_TIMEOUT_MS: String(TIMEOUT_MS) });
});
afterAll(async () => {
  for (const socket of sockets) socket.close();
  await bed.stopAll();
});

describe('socket heartbeat', () => {
  it('pings a connected client every SOCKET_PING_INTERVAL_MS', async () => {
    const socket = io(gw.url, { auth: { token: userToken(uniqueUser()) }, transports: ['websocket'], reconnection: false });
    sockets.push(socket);
    const pings: number[] = [];
    const threePings = new Promise<void>((resolve, reject) => {
      socket.on('connect_error', reject);
      socket.io.engine.on('ping', () => {
        pings.push(performance.now());
        if (pings.length === 3) resolve();
      });
    });
    await threePings;
    const gaps = pings.slice(1).map((at, i) => at - pings[i]!);
    for (const gap of gaps) {
      expect(gap).toBeGreaterThan(INTERVAL_MS - 50);
      expect(gap).toBeLessThan(INTERVAL_MS + LATE_MS);
    }
    expect(socket.connected).toBe(true); // it answered every ping, so it stays
  });

  it('announces the settings in the handshake and drops a client that stops answering pings', async () => {
    // The only socket connecting from here on is the raw one below.
    const serverSide = new Promise<string>((resolve) => {
      gw.gateway.io.once('connection', (socket) => socket.on('disconnect', (reason) => resolve(reason)));
    });
    const token = userToken(uniqueUser());
    // Speaks just enough Engine.IO/Socket.IO to join, and never answers a ping ("2") with a pong ("3").
    const ws = new WebSocket(`${gw.url.replace('http', 'ws')}/socket.io/?EIO=4&transport=websocket`);
    let handshake: { pingInterval?: number; pingTimeout?: number } = {};
    let joinedAt = 0;
    let pinged = 0;
    const closed = new Promise<number>((resolve, reject) => {
      ws.once('error', reject);
      ws.once('close', () => resolve(performance.now()));
      ws.on('message', (raw) => {
        const text = String(raw);
        if (text.startsWith('0')) {
          handshake = JSON.parse(text.slice(1)) as typeof handshake;
          joinedAt = performance.now();
          ws.send(`40${JSON.stringify({ token })}`);
        }
        if (text === '2') pinged++;
      });
    });
    const closedAt = await closed;
    expect(handshake).toMatchObject({ pingInterval: INTERVAL_MS, pingTimeout: TIMEOUT_MS });
    expect(pinged).toBe(1);
    const lifetime = closedAt - joinedAt;
    expect(lifetime).toBeGreaterThan(INTERVAL_MS + TIMEOUT_MS - 50);
    expect(lifetime).toBeLessThan(INTERVAL_MS + TIMEOUT_MS + LATE_MS);
    expect(await serverSide).toBe('ping timeout');
  });
});
