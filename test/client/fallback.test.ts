/**
 * The SDK's fallback chain and token refresh in real Chromium: WebSocket refused →
 * Socket.IO long-polling; long-polling refused too → SSE; SSE alone, resuming from
 * Last-Event-ID; REST short polling alone; an expired token renewed through getToken.
 */
import type { Page, Request } from 'playwright-core';
import { describe, expect, it } from 'vitest';
import { notifyUser, signToken, uniqueUser, userToken } from '../support/harness.js';
import { TestClient } from '../support/test-client.js';
import {
  blockWebSocketUpgrades,
  delivered,
  demoUrl,
  listedIds,
  openDemo,
  screenshot,
  useBrowserBed,
  waitForBadge,
  waitForListed,
  waitForState,
} from './browser-bed.js';

const bed = useBrowserBed();

const transportsOf = async (page: Page) => new Set((await delivered(page)).map((d) => d.transport));

describe('fallback chain', () => {
  it('WebSocket refused: falls back to Socket.IO long-polling and still delivers', async () => {
    const restore = blockWebSocketUpgrades(bed().gw.gateway.httpServer);
    try {
      const user = uniqueUser();
      const page = await openDemo(await bed().newContext(), demoUrl(bed().gw, user), 'fallback');
      const ids = [await notifyUser(bed().gw.url, user, 'over polling 1'), await notifyUser(bed().gw.url, user, 'over polling 2')];
      await waitForListed(page, ids);
      await waitForBadge(page, 2);
      expect(await transportsOf(page)).toEqual(new Set(['long-polling']));
      await screenshot(page, 'fallback-long-polling');
    } finally {
      restore();
    }
  });

  it('WebSocket and long-polling refused: falls back to SSE and still delivers', async () => {
    const restore = blockWebSocketUpgrades(bed().gw.gateway.httpServer);
    try {
      const user = uniqueUser();
      const context = await bed().newContext();
      await context.route('**/socket.io/**', (route) => route.abort('connectionrefused'));
      const page = await openDemo(context, demoUrl(bed().gw, user), 'fallback');
      const id = await notifyUser(bed().gw.url, user, 'over SSE');
      await waitForListed(page, [id]);
      expect(await transportsOf(page)).toEqual(new Set(['sse']));
    } finally {
      restore();
    }
  });

  it('SSE alone delivers, and after a gap resumes from Last-Event-ID with each missed one once', async () => {
    const user = uniqueUser();
    const context = await bed().newContext();
    const streamRequests: Request[] = [];
    context.on('request', (r) => r.url().includes('/api/stream') && streamRequests.push(r));
    const page = await openDemo(context, demoUrl(bed().gw, user, '&transports=sse'), 'fallback');
    const watcher = await TestClient.connect(bed().gw.url, { token: userToken(user) });
    try {
      const seen = await notifyUser(bed().gw.url, user, 'sse 1');
      await waitForListed(page, [seen]);

      await context.setOffline(true);
      await waitForState(page, 'offline');
      const missed = [await notifyUser(bed().gw.url, user, 'sse missed 1'), await notifyUser(bed().gw.url, user, 'sse missed 2')];
      await watcher.waitForIds(missed); // sequenced by the relay before the page reconnects
      await context.setOffline(false);

      await waitForListed(page, missed);
      await waitForBadge(page, 3);
      const log = await delivered(page);
      expect(log.map((d) => d.id)).toEqual([seen, ...missed]);
      expect(log.every((d) => d.transport === 'sse')).toBe(true);
      const resumed = streamRequests.at(-1)!;
      expect(await resumed.headerValue('last-event-id')).toBe(seen);
      expect(await resumed.headerValue('authorization')).toMatch(/^Bearer /);
      expect(resumed.url()).not.toContain('token=');
      await screenshot(page, 'fallback-sse');
    } finally {
      watcher.close();
    }
  });

  it('REST short polling alone delivers in commit order', async () => {
    const user = uniqueUser();
    const page = await openDemo(await bed().newContext(), demoUrl(bed().gw, user, '&transports=rest-polling&pollMs=200'), 'fallback');
    const ids = [await notifyUser(bed().gw.url, user, 'polled 1'), await notifyUser(bed().gw.url, user, 'polled 2', { priority: 'high' })];
    await waitForListed(page, ids);
    await waitForBadge(page, 2);
    expect((await delivered(page)).map((d) => [d.id, d.transport])).toEqual(ids.map((id) => [id, 'rest-polling']));
    expect(await listedIds(page)).toEqual([ids[1], ids[0]]);
  });
});

describe('token refresh', () => {
  it('an expired token is replaced through getToken and delivery continues (plain page, served SDK)', async () => {
    const user = uniqueUser();
    const expired = signToken({ sub: user }, { expiresIn: -30 });
    // The host page borrows the gateway's origin (below), whose API responses carry a
    // strict CSP meant for them, not for this test's inline script.
    const context = await bed().newContext({ bypassCSP: true });
    let issued = 0;
    await context.route(`${bed().gw.url}/test/token`, (route) => {
      issued += 1;
      return route.fulfill({ contentType: 'application/json', body: JSON.stringify({ token: userToken(user) }) });
    });
    const page = await context.newPage();
    // The page must come from the gateway itself: a page fulfilled by the test has no
    // address space and Chromium's local-network checks would refuse its WebSocket.
    await page.goto(`${bed().gw.url}/healthz`);
    await page.setContent(plainPage(expired));
    // `states` exists once the page's module has run; until then keep waiting.
    await page.waitForFunction(() => (globalThis as unknown as { states?: string[] }).states?.includes('live') ?? false);
    const id = await notifyUser(bed().gw.url, user, 'after refresh');
    await page.waitForFunction((want) => (globalThis as unknown as { received: string[] }).received.includes(want), id);
    const reasons = await page.evaluate(() => (globalThis as unknown as { reasons: string[] }).reasons);
    expect(reasons).toEqual(['expired']);
    expect(issued).toBe(1);
    expect(await page.evaluate(() => (globalThis as unknown as { errors: unknown[] }).errors)).toEqual([]);
  });
});

/** A page that knows nothing but the served ESM file, as a plain site would use it. */
function plainPage(token: string): string {
  return `<!doctype html><meta charset="utf-8"><title>plain</title>
<script type="module">
  import { createNotificationClient } from '/sdk/notify-client.js';
  Object.assign(globalThis, { states: [], received: [], reasons: [], errors: [] });
  const client = createNotificationClient({
    token: ${JSON.stringify(token)},
    storage: null,
    async getToken(reason) {
      reasons.push(reason);
      const res = await fetch('/test/token');
      return (await res.json()).token;
    },
  });
  client.on('state', (s) => states.push(s));
  client.on('error', (e) => errors.push(e));
  client.on('notification', (n) => received.push(n.id));
</script>`;
}
