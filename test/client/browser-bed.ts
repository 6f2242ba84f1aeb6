/**
 * Real Chromium (Debian package) against a real gateway on port 0: builds the client
 * bundle, starts the gateway, launches the browser, and closes everything in teardown.
 * Page helpers wait on DOM conditions (no sleeps) and read the demo's data-testids.
 */
import { mkdirSync } from 'node:fs';
import type { Server } from 'node:http';
import { join } from 'node:path';
import { chromium, type Browser, type BrowserContext, type BrowserContextOptions, type Page } from 'playwright-core';
import { afterAll, beforeAll } from 'vitest';
import { buildClient } from '../../scripts/build-client.mjs';
import { createTestBed, userToken, type RunningGateway, type TestBed } from '../support/harness.js';

export const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const ARTIFACTS = join(import.meta.dirname, '..', '..', 'test-artifacts');

export interface BrowserBed {
  bed: TestBed;
  gw: RunningGateway;
  browser: Browser;
  contexts: BrowserContext[];
  newContext(options?: BrowserContextOptions): Promise<BrowserContext>;
  close(): Promise<void>;
}

export async function startBrowserBed(): Promise<BrowserBed> {
  await buildClient({ types: false });
  const bed = await createTestBed();
  const contexts: BrowserContext[] = [];
  let browser: Browser | undefined;
  try {
    const gw = await bed.start();
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-quic', '--no-first-run', '--disable-component-update', '--disable-sync'],
    });
    const launched = browser;
    return {
      bed,
      gw,
      browser: launched,
      contexts,
      async newContext(options = {}) {
        const context = await launched.newContext({ viewport: { width: 900, height: 640 }, ...options });
        contexts.push(context);
        return context;
      },
      async close() {
        await launched.close();
        await bed.stopAll();
      },
    };
  } catch (error) {
    await browser?.close();
    await bed.stopAll();
    throw error;
  }
}

export function demoUrl(gw: RunningGateway, user: string, query = '', tenant = 'default'): string {
  return `${gw.url}/demo?token=${userToken(user, tenant)}${query}`;
}

/** Opens the demo for a user, waits for the wanted connection state and opens the bell (the list lives in its popover). */
export async function openDemo(context: BrowserContext, url: string, state = 'live'): Promise<Page> {
  const page = await context.newPage();
  await page.goto(url);
  await waitForState(page, state);
  await openBell(page);
  return page;
}

/** Clicks the bell unless its popover is already open, and waits for the popover. */
export async function openBell(page: Page): Promise<void> {
  const bell = page.locator('[data-testid="notify-bell"]');
  if ((await bell.getAttribute('aria-expanded')) !== 'true') await bell.click();
  await page.locator('[data-testid="notify-popover"]').waitFor();
}

export async function waitForState(page: Page, state: string): Promise<void> {
  await page.locator(`[data-testid="connection-state"]:text-is("${state}")`).waitFor({ timeout: 15_000 });
}

export async function waitForBadge(page: Page, count: number): Promise<void> {
  await page.waitForFunction(
    (n) => document.querySelector('[data-testid="unread-count"]')?.textContent === String(n),
    count,
    { timeout: 10_000 },
  );
}

/** Waits until every id is listed. */
export async function waitForListed(page: Page, ids: readonly string[]): Promise<void> {
  await page.waitForFunction(
    (wanted) => wanted.every((id) => document.querySelector(`[data-testid="notification"][data-id="${id}"]`)),
    ids,
    { timeout: 10_000 },
  );
}

export function listedIds(page: Page): Promise<string[]> {
  return page.locator('[data-testid="notification"]').evaluateAll((els) => els.map((e) => e.getAttribute('data-id')!));
}

export function readFlags(page: Page): Promise<Record<string, string>> {
  return page
    .locator('[data-testid="notification"]')
    .evaluateAll((els) => Object.fromEntries(els.map((e) => [e.getAttribute('data-id')!, e.getAttribute('data-read')!])));
}

/** What the demo's SDK delivered, in arrival order. */
export function delivered(page: Page): Promise<{ id: string; transport: string; replayed: boolean }[]> {
  return page.evaluate(() => (globalThis as unknown as { notifyDemo: { delivered: never[] } }).notifyDemo.delivered);
}

export function toasted(page: Page): Promise<string[]> {
  return page.evaluate(() => (globalThis as unknown as { notifyDemo: { toasted: string[] } }).notifyDemo.toasted);
}

export async function screenshot(page: Page, name: string): Promise<void> {
  mkdirSync(ARTIFACTS, { recursive: true });
  await page.screenshot({ path: join(ARTIFACTS, `${name}.png`), fullPage: true });
}

/**
 * Makes the gateway refuse WebSocket upgrades the way a proxy that strips them does
 * (HTTP 403 on the upgrade request); long-polling and plain HTTP keep working.
 * Returns the function that restores them.
 */
export function blockWebSocketUpgrades(server: Server): () => void {
  const original = server.listeners('upgrade') as ((...args: unknown[]) => void)[];
  server.removeAllListeners('upgrade');
  server.on('upgrade', (_req, socket: import('node:net').Socket) => {
    socket.end('HTTP/1.1 403 Forbidden\r\nConnection: close\r\nContent-Length: 0\r\n\r\n');
  });
  return () => {
    server.removeAllListeners('upgrade');
    for (const listener of original) server.on('upgrade', listener);
  };
}

/** One browser bed per test file: started before its tests, closed after them. */
export function useBrowserBed(): () => BrowserBed {
  let started: BrowserBed | undefined;
  beforeAll(async () => {
    started = await startBrowserBed();
  });
  afterAll(async () => {
    await started?.close();
  });
  return () => {
    if (!started) throw new Error('the browser bed has not started');
    return started;
  };
}
