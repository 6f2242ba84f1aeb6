/**
 * What interrupts the user, in real Chromium: in-page toasts (high and urgent only,
 * dismissable, keyboard reachable, Escape), desktop notifications through the real
 * Notification API (opt-in, only while hidden, one per id across tabs), and the
 * screenshots the README shows (desktop 1280×800, mobile 390×844).
 */
import { describe, expect, it } from 'vitest';
import { notifyUser, postNotify, uniqueUser } from '../support/harness.js';
import { demoUrl, openBell, useBrowserBed } from './browser-bed.js';
import {
  focused,
  item,
  notificationsShown,
  openClosed,
  PAGE_HOOKS,
  probe,
  saveScreenshot,
  setVisibility,
  waitForBellBadge,
  waitForDelivered,
  waitForList,
} from './center-page.js';

const bed = useBrowserBed();

const toastIds = (page: import('playwright-core').Page) =>
  page.locator('[data-testid="toast"]').evaluateAll((els) => els.map((e) => e.getAttribute('data-id')!));

describe('toasts', () => {
  it('pop up for high and urgent notifications only, and go away with their button or Escape', async () => {
    const user = uniqueUser();
    const page = await openClosed(await bed().newContext(), demoUrl(bed().gw, user));
    const low = await notifyUser(bed().gw.url, user, 'low one', { priority: 'low' });
    const medium = await notifyUser(bed().gw.url, user, 'medium one', { priority: 'medium' });
    const high = await notifyUser(bed().gw.url, user, 'high one', { priority: 'high' });
    const urgent = await notifyUser(bed().gw.url, user, 'urgent one', { priority: 'urgent', body: 'act now' });
    await waitForDelivered(page, [low, medium, high, urgent]);
    await page.locator(`[data-testid="toast"][data-id="${urgent}"]`).waitFor();
    expect(await toastIds(page)).toEqual([urgent, high]);
    expect((await probe(page)).toasted).toEqual([high, urgent]);
    expect(await page.locator('[data-testid="toast-stack"]').getAttribute('aria-live')).toBe('polite');
    expect(await page.locator(`[data-testid="toast"][data-id="${urgent}"]`).getAttribute('role')).toBe('alert');
    expect(await page.locator(`[data-testid="toast"][data-id="${high}"]`).getAttribute('role')).toBe('status');

    // Keyboard: from the bell, Tab reaches the toasts' buttons; dismissing returns focus to the bell.
    await page.locator('[data-testid="notify-bell"]').focus();
    await page.keyboard.press('Tab');
    expect(await page.evaluate(() => document.activeElement?.closest('[data-testid="toast"]')?.getAttribute('data-id'))).toBe(urgent);
    await page.keyboard.press('Enter');
    await page.locator(`[data-testid="toast"][data-id="${urgent}"]`).waitFor({ state: 'detached' });
    expect(await focused(page)).toBe('notify-bell');
    expect(await toastIds(page)).toEqual([high]);

    await page.keyboard.press('Escape');
    await page.locator('[data-testid="toast"]').waitFor({ state: 'detached' });
    expect(await focused(page)).toBe('notify-bell');
  });
});

describe('desktop notifications', () => {
  it('are offered after opt-in: the button asks for permission', async () => {
    const user = uniqueUser();
    const context = await bed().newContext();
    const page = await openClosed(context, demoUrl(bed().gw, user));
    await openBell(page);
    await page.locator('[data-testid="desktop-status"][data-permission="default"]').waitFor();
    await context.grantPermissions(['notifications'], { origin: bed().gw.url });
    await page.locator('[data-testid="desktop-enable"]').click();
    await page.locator('[data-testid="desktop-status"][data-permission="granted"]').waitFor();
  });

  it('show high and urgent ones while the tab is hidden, once across the tabs, and none while it is visible', async () => {
    const user = uniqueUser();
    const context = await bed().newContext();
    await context.grantPermissions(['notifications'], { origin: bed().gw.url });
    await context.addInitScript(PAGE_HOOKS);
    const tabs = [await openClosed(context, demoUrl(bed().gw, user)), await openClosed(context, demoUrl(bed().gw, user))];
    for (const tab of tabs) await setVisibility(tab, 'hidden');

    const urgent = await notifyUser(bed().gw.url, user, 'Server down', { priority: 'urgent', body: 'api-1 stopped answering' });
    const high = await notifyUser(bed().gw.url, user, 'Deploy failed', { priority: 'high' });
    const medium = await notifyUser(bed().gw.url, user, 'Weekly report', { priority: 'medium' });
    for (const tab of tabs) await waitForDelivered(tab, [urgent, high, medium]);
    // Each tab reports what became of each offer; both tabs must have decided.
    for (const tab of tabs) {
      await tab.waitForFunction(
        (ids) => ids.every((id) => (globalThis as unknown as { notifyDemo: { desktop: { id: string }[] } }).notifyDemo.desktop.some((d) => d.id === id)),
        [urgent, high],
      );
    }
    const outcomes = (await Promise.all(tabs.map(probe))).flatMap((p) => p.desktop);
    expect(outcomes.filter((o) => o.id === urgent).map((o) => o.outcome).sort()).toEqual(['shown', 'shown-elsewhere']);
    expect(outcomes.filter((o) => o.id === high).map((o) => o.outcome).sort()).toEqual(['shown', 'shown-elsewhere']);
    expect(outcomes.some((o) => o.id === medium)).toBe(false);

    const shown = (await Promise.all(tabs.map(notificationsShown))).flat();
    expect(shown.map((n) => n.tag).sort()).toEqual([urgent, high].sort());
    expect(shown.every((n) => n.constructed)).toBe(true);
    expect(shown.find((n) => n.tag === urgent)).toMatchObject({ title: 'Server down', requireInteraction: true });

    // Visible again: the toast is the notification, nothing is shown by the system.
    for (const tab of tabs) await setVisibility(tab, 'visible');
    const later = await notifyUser(bed().gw.url, user, 'Visible now', { priority: 'high' });
    for (const tab of tabs) {
      await tab.locator(`[data-testid="toast"][data-id="${later}"]`).waitFor();
      await tab.waitForFunction((id) => (globalThis as unknown as { notifyDemo: { desktop: { id: string }[] } }).notifyDemo.desktop.some((d) => d.id === id), later);
    }
    const laterOutcomes = (await Promise.all(tabs.map(probe))).flatMap((p) => p.desktop).filter((o) => o.id === later);
    expect(laterOutcomes.map((o) => o.outcome)).toEqual(['page-visible', 'page-visible']);
    expect((await Promise.all(tabs.map(notificationsShown))).flat()).toHaveLength(2);
  });
});

describe('screenshots', () => {
  it('desktop (1280×800) and mobile (390×844)', async () => {
    const user = uniqueUser();
    const seed = async () => {
      const ids = [
        await postNotify(bed().gw.url, 'billing:invoice', { userId: user, title: 'Invoice #1042 paid', body: 'ACME Corp paid $4,200.00.', priority: 'low' }),
        await postNotify(bed().gw.url, 'task:assigned', { userId: user, title: 'You were assigned “Q3 roadmap review”', body: 'by Li Lei, due Friday' }),
        await postNotify(bed().gw.url, 'deploy:finished', { userId: user, title: 'Deploy #318 finished', body: 'api, web and worker are on v2.14.0' }),
        await postNotify(bed().gw.url, 'security:login', { userId: user, title: 'New sign-in from Berlin', body: 'Chrome on macOS. Not you? Reset your password.', priority: 'high' }),
        await postNotify(bed().gw.url, 'incident:opened', { userId: user, title: 'Checkout error rate above 5 %', body: 'Incident INC-77 opened, on-call paged.', priority: 'urgent' }),
      ];
      return ids.map((r) => r.body.id!);
    };

    const desktop = await openClosed(await bed().newContext({ viewport: { width: 1280, height: 800 } }), demoUrl(bed().gw, user));
    const ids = await seed();
    await waitForBellBadge(desktop, 5);
    await desktop.locator(`[data-testid="toast"][data-id="${ids[4]}"]`).waitFor();
    await saveScreenshot(desktop, 'notification-center-bell-desktop');
    await openBell(desktop);
    await waitForList(desktop, [...ids].reverse());
    await desktop.locator(`${item(ids[1]!)} [data-testid="mark-read"]`).click();
    await saveScreenshot(desktop, 'notification-center-desktop');
    await desktop.locator('[data-testid="preferences-toggle"]').click();
    await desktop.locator('[data-testid="preferences-panel"][data-status="ready"]').waitFor();
    await saveScreenshot(desktop, 'notification-center-preferences-desktop');

    const mobile = await openClosed(await bed().newContext({ viewport: { width: 390, height: 844 }, isMobile: true, hasTouch: true }), demoUrl(bed().gw, user));
    await openBell(mobile);
    await waitForList(mobile, [...ids].reverse());
    const late = await notifyUser(bed().gw.url, user, 'Build #912 failed on main', { priority: 'high', body: 'test/outbox failed' });
    await mobile.locator(`[data-testid="toast"][data-id="${late}"]`).waitFor();
    // Nothing sticks out sideways at 390 px.
    expect(await mobile.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(390);
    const box = await mobile.locator('[data-testid="notify-popover"]').boundingBox();
    expect(box!.x).toBeGreaterThanOrEqual(0);
    expect(box!.x + box!.width).toBeLessThanOrEqual(390);
    await saveScreenshot(mobile, 'notification-center-mobile');
  });
});
