/**
 * Shutdown (SIGTERM, pm2 reload) must not hang on busy keep-alive connections, and must
 * leave clients free to reconnect elsewhere: their transport closes, the lease is freed.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestBed, notifyUser, uniqueUser, userToken, type TestBed } from '../support/harness.js';
import { TestClient } from '../support/test-client.js';

let bed: TestBed;

beforeAll(async () => {
  bed = await createTestBed();
});
afterAll(() => bed.stopAll());

describe('graceful close', () => {
  it('finishes promptly while a keep-alive client keeps sending, and closes sockets so they reconnect', async () => {
    const gw = await bed.start();
    const user = uniqueUser();
    const client = await TestClient.connect(gw.url, { token: userToken(user) });
    const id = await notifyUser(gw.url, user, 'before close');
    await client.waitForIds([id]);
    const disconnected = new Promise<string>((resolve) => client.socket.once('disconnect', resolve));

    let closing = false;
    let served = 0;
    const hammer = (async () => {
      while (!closing) {
        const res = await fetch(`${gw.url}/healthz`).catch(() => null); // keep-alive by default
        if (!res) break;
        await res.arrayBuffer();
        served += 1;
      }
    })();
    while (served < 5) await new Promise((resolve) => setImmediate(resolve));

    const started = Date.now();
    await gw.close();
    const tookMs = Date.now() - started;
    closing = true;
    await hammer;
    expect(tookMs).toBeLessThan(6000); // without the drain it waits forever (pm2 then SIGKILLs)
    expect(await disconnected).toBe('transport close'); // socket.io-client reconnects on this
    expect(gw.gateway.lease.isHeld()).toBe(false);
  });
});
