/**
 * Helpers for driving <NotificationCenter /> on the /demo page: opening it without the
 * bell, reading its data-testids, calling the gateway as the user or as a service, and
 * writing screenshots (docs/screenshots/ with UPDATE_SCREENSHOTS=1, else test-results/).
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { BrowserContext, Page } from 'playwright-core';
import { API_KEY, userToken } from '../support/harness.js';
import { waitForState } from './browser-bed.js';

const ROOT = join(import.meta.dirname, '..', '..');

/** Opens the demo and waits for the connection state; the bell stays closed. */
export async function openClosed(context: BrowserContext, url: string, state = 'live'): Promise<Page> {
  const page = await context.newPage();
  await page.goto(url);
  await waitForState(page, state);
  return page;
}

export const item = (id: string) => `[data-testid="notification"][data-id="${id}"]`;

export async function waitForBellBadge(page: Page, count: number): Promise<void> {
  await page.waitForFunction(
    (n) => document.querySelector('[data-testid="bell-badge"]')?.getAttribute('data-count') === String(n),
    count,
    { timeout: 10_000 },
  );
}

/** Waits until the list shows exactly these ids, in this order. */
export async function waitForList(page: Page, ids: readonly string[]): Promise<void> {
  await page.waitForFunction(
    (wanted) => {
      const shown = [...document.querySelectorAll('[data-testid="notification"]')].map((e) => e.getAttribute('data-id'));
      return JSON.stringify(shown) === JSON.stringify(wanted);
    },
    ids,
    { timeout: 10_000 },
  );
}

export function shownIds(page: Page): Promise<string[]> {
  return page.locator('[data-testid="notification"]').evaluateAll((els) => els.map((e) => e.getAttribute('data-id')!));
}

export async function selectTab(page: Page, tab: 'unread' | 'all' | 'archived'): Promise<void> {
  await page.locator(`[data-testid="tab-${tab}"]`).click();
  await page.locator(`[data-testid="tab-${tab}"][aria-selected="true"]`).waitFor();
}

/** The test id of the focused element. */
export function focused(page: Page): Promise<string | null> {
  return page.evaluate(() => document.activeElement?.getAttribute('data-testid') ?? null);
}

export interface DemoProbe {
  delivered: { id: string }[];
  toasted: string[];
  desktop: { id: string; outcome: string }[];
}

export function probe(page: Page): Promise<DemoProbe> {
  return page.evaluate(() => (globalThis as unknown as { notifyDemo: DemoProbe }).notifyDemo);
}

export async function waitForDelivered(page: Page, ids: readonly string[]): Promise<void> {
  await page.waitForFunction(
    (wanted) => {
      const got = (globalThis as unknown as { notifyDemo: DemoProbe }).notifyDemo.delivered.map((d) => d.id);
      return wanted.every((id) => got.includes(id));
    },
    ids,
    { timeout: 10_000 },
  );
}

/** A REST call with the user's token. */
export async function asUser(baseUrl: string, user: string, method: string, path: string, body?: unknown) {
  const response = await fetch(`${baseUrl}${path}`, {
    method,
    headers: { authorization: `Bearer ${userToken(user)}`, 'content-type': 'application/json' },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  const json = response.status === 204 ? null : ((await response.json()) as Record<string, unknown>);
  return { status: response.status, body: json };
}

/** One batch POST; returns the ids in order. */
export async function notifyMany(baseUrl: string, items: { userId: string; title: string; kind?: string; priority?: string }[]): Promise<string[]> {
  const response = await fetch(`${baseUrl}/api/notify`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-api-key': API_KEY },
    body: JSON.stringify({ notifications: items.map(({ kind = 'test:event', ...rest }) => ({ kind, ...rest })) }),
  });
  const body = (await response.json()) as { results: { status: number; id?: string }[] };
  if (response.status !== 200 || body.results.some((r) => r.status !== 201)) throw new Error(`batch failed: ${JSON.stringify(body)}`);
  return body.results.map((r) => r.id!);
}

/** docs/screenshots/ (committed, linked from the README) when UPDATE_SCREENSHOTS=1; test-results/screenshots/ otherwise. */
export async function saveScreenshot(page: Page, name: string): Promise<string> {
  const dir = process.env.UPDATE_SCREENSHOTS === '1' ? join(ROOT, 'docs', 'screenshots') : join(ROOT, 'test-results', 'screenshots');
  mkdirSync(dir, { recursive: true });
  const path = join(dir, `${name}.png`);
  await page.screenshot({ path });
  return path;
}

/**
 * Headless Chromium never hides a page (a second tab, a minimised window: still
 * "visible"), so the test controls `document.visibilityState` and fires the real
 * `visibilitychange` event. `Notification` is wrapped, not replaced: the real
 * constructor runs, and each call is recorded in `__notificationsShown`.
 */
export const PAGE_HOOKS = `(() => {
  let state = 'visible';
  Object.defineProperty(Document.prototype, 'visibilityState', { configurable: true, get: () => state });
  Object.defineProperty(Document.prototype, 'hidden', { configurable: true, get: () => state === 'hidden' });
  window.__setVisibility = (next) => { state = next; document.dispatchEvent(new Event('visibilitychange')); };
  const Real = window.Notification;
  if (!Real) return;
  window.__notificationsShown = [];
  class Observed extends Real {
    constructor(title, options) {
      const entry = { title, tag: options && options.tag, requireInteraction: Boolean(options && options.requireInteraction), constructed: false };
      window.__notificationsShown.push(entry);
      super(title, options);
      entry.constructed = true;
    }
  }
  Object.defineProperty(Observed, 'permission', { get: () => Real.permission });
  Observed.requestPermission = (...args) => Real.requestPermission(...args);
  window.Notification = Observed;
})();`;

export interface ShownNotification {
  title: string;
  tag: string;
  requireInteraction: boolean;
  constructed: boolean;
}

export function notificationsShown(page: Page): Promise<ShownNotification[]> {
  return page.evaluate(() => (globalThis as unknown as { __notificationsShown: ShownNotification[] }).__notificationsShown);
}

export async function setVisibility(page: Page, state: 'visible' | 'hidden'): Promise<void> {
  await page.evaluate((s) => (globalThis as unknown as { __setVisibility(s: string): void }).__setVisibility(s), state);
}
