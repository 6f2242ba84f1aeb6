/**
 * A client that stops reading is dropped once its unsent backlog passes the limit,
 * while a healthy client keeps receiving; reconnecting, the slow one replays the gap.
 * Runs once (SQLite): the guard does not depend on the store driver.
 */
import { WebSocket } from 'ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestBed, API_KEY, uniqueUser, userToken, type RunningGateway, type TestBed } from '../support/harness.js';
import { TestClient } from '../support/test-client.js';
import { until } from '../support/until.js';

let bed: TestBed;
let gw: RunningGateway;

beforeAll(async () => {
  bed = await createTestBed();
  gw = await bed.start({ SOCKET_MAX_BUFFERED_BYTES: String(256 * 1024) });
});
afterAll(() => bed.stopAll());

/** Speaks just enough Engine.IO/Socket.IO to join, then stops reading the TCP socket. */
async function connectThenStall(baseUrl: string, token: string) {
  const ws = new WebSocket(`${baseUrl.replace('http', 'ws')}/socket.io/?EIO=4&transport=websocket`);
  await new Promise<void>((resolve, reject) => {
    setTimeout(() => reject(new Error('raw socket did not connect')), 10_000).unref();
    ws.once('error', reject);
    ws.on('message', (raw) => {
      const text = String(raw);
      if (text.startsWith('0')) ws.send(`40${JSON.stringify({ token })}`); // engine open → namespace connect
      if (text.startsWith('40')) resolve(); // connected; the replay runs next
    });
  });
  // Stop reading: the kernel buffers fill, then the server's queues grow.
  (ws as unknown as { _socket: { pause(): void } })._socket.pause();
  return { terminate: () => ws.terminate() };
}

async function postMany(user: string, count: number, dataBytes: number): Promise<string[]> {
  const ids: string[] = [];
  const filler = 'x'.repeat(dataBytes);
  for (let sent = 0; sent < count; sent += 500) {
    const notifications = Array.from({ length: Math.min(500, count - sent) }, (_, i) => ({
      kind: 'load:large', userId: user, title: `n${sent + i}`, data: { filler },
    }));
    const res = await fetch(`${gw.url}/api/notify`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-api-key': API_KEY },
      body: JSON.stringify({ notifications }),
      signal: AbortSignal.timeout(30_000),
    });
    const body = (await res.json()) as { results: { id: string; status: number }[] };
    for (const r of body.results) {
      expect(r.status).toBe(201);
      ids.push(r.id);
    }
  }
  return ids;
}

describe('slow consumers', () => {
  it('are dropped past the backlog limit; healthy sessions keep receiving; replay fills the gap', async () => {
    const user = uniqueUser();
    const healthy = await TestClient.connect(gw.url, { token: userToken(user) });
    const anchor = (await postMany(user, 1, 10))[0]!;
    await healthy.waitForIds([anchor]);
    const stalled = await connectThenStall(gw.url, userToken(user));

    const ids = await postMany(user, 1000, 7000); // ~7 MB for the stalled socket
    // A paused reader never sees the close: watch the server's side instead.
    const drops = async () => (await gw.gateway.metrics.slowConsumerDrops.get()).values[0]?.value ?? 0;
    await until(async () => (await drops()) > 0, 'the stalled socket to be dropped', 30_000);
    expect(gw.gateway.io.of('/').sockets.size).toBe(1); // only the healthy session is left
    stalled.terminate();
    await healthy.waitForIds(ids, 30_000);

    const back = await TestClient.connect(gw.url, { token: userToken(user), lastAckId: anchor });
    await back.waitForIds(ids, 30_000);
    expect([...new Set(back.ids)]).toEqual(ids);
    healthy.close();
    back.close();
  }, 90_000);
});
