/**
 * <NotificationCenter /> on /demo in real Chromium against a real gateway: the unseen
 * badge and seen-on-open, the tabs, archive and unarchive, mark all read, infinite
 * scroll, preferences saved through the panel and applied by the gateway, the keyboard,
 * and two sessions of one user agreeing through the gateway's echoes.
 */
import { describe, expect, it } from 'vitest';
import { notifyUser, postNotify, uniqueUser, userToken } from '../support/harness.js';
import { TestClient } from '../support/test-client.js';
import { until } from '../support/until.js';
import { demoUrl, openBell, openDemo, useBrowserBed, waitForBadge, waitForState } from './browser-bed.js';
import { asUser, focused, item, notifyMany, openClosed, selectTab, shownIds, waitForBellBadge, waitForList } from './center-page.js';

const bed = useBrowserBed();

describe('notification center', () => {
  it('counts unseen notifications on the bell and marks them seen when it opens', async () => {
    const user = uniqueUser();
    const page = await openClosed(await bed().newContext(), demoUrl(bed().gw, user));
    await notifyUser(bed().gw.url, user, 'first');
    await notifyUser(bed().gw.url, user, 'second');
    await waitForBellBadge(page, 2);
    expect(await page.locator('[data-testid="notify-bell"]').getAttribute('aria-label')).toBe('Notifications, 2 new');

    await openBell(page);
    await waitForBellBadge(page, 0);
    await waitForBadge(page, 2); // seen is not read
    await page.waitForFunction(() => [...document.querySelectorAll('[data-testid="notification"]')].every((e) => e.getAttribute('data-seen') === 'true'));
    const counts = await asUser(bed().gw.url, user, 'GET', '/api/notifications/unread-count');
    expect(counts.body).toMatchObject({ count: 2, unseen: 0 });

    // Closed again, a new one counts; while open, an arrival is seen at once.
    await page.keyboard.press('Escape');
    await notifyUser(bed().gw.url, user, 'third');
    await waitForBellBadge(page, 1);
    await openBell(page);
    await waitForBellBadge(page, 0);
    const fourth = await notifyUser(bed().gw.url, user, 'fourth');
    await page.locator(item(fourth)).waitFor();
    await waitForBellBadge(page, 0);

    await page.reload();
    await waitForState(page, 'live');
    await waitForBadge(page, 4);
    await waitForBellBadge(page, 0);
  });

  it('tabs: unread, all and archived; archive and unarchive move an item; mark all read empties Unread', async () => {
    const user = uniqueUser();
    const page = await openDemo(await bed().newContext(), demoUrl(bed().gw, user));
    const [a, b, c] = [await notifyUser(bed().gw.url, user, 'a'), await notifyUser(bed().gw.url, user, 'b'), await notifyUser(bed().gw.url, user, 'c')];
    await waitForList(page, [c, b, a]);

    await page.locator(`${item(b)} [data-testid="mark-read"]`).click();
    await selectTab(page, 'unread');
    await waitForList(page, [c, a]);
    await selectTab(page, 'all');
    await waitForList(page, [c, b, a]);
    expect(await page.locator(item(b)).getAttribute('data-read')).toBe('true');

    await page.locator(`${item(c)} [data-testid="archive"]`).click();
    await waitForList(page, [b, a]);
    await waitForBadge(page, 1); // an archived notification is not unread any more
    await selectTab(page, 'archived');
    await waitForList(page, [c]);
    const archived = await asUser(bed().gw.url, user, 'GET', '/api/notifications?status=archived');
    expect((archived.body!.items as { id: string; archived: boolean }[]).map((i) => [i.id, i.archived])).toEqual([[c, true]]);

    await page.locator(`${item(c)} [data-testid="unarchive"]`).click();
    await page.locator('[data-testid="empty-state"]').waitFor();
    await selectTab(page, 'all');
    await waitForList(page, [c, b, a]);
    await waitForBadge(page, 2);

    await page.locator('[data-testid="mark-all-read"]').click();
    await waitForBadge(page, 0);
    await selectTab(page, 'unread');
    await waitForList(page, []);
    await page.locator('[data-testid="empty-state"]').waitFor();
    const counts = await asUser(bed().gw.url, user, 'GET', '/api/notifications/unread-count');
    expect(counts.body).toMatchObject({ count: 0 });
  });

  it('infinite scroll loads the next page when the list is scrolled near its end', async () => {
    const user = uniqueUser();
    const ids = await notifyMany(bed().gw.url, Array.from({ length: 35 }, (_, i) => ({ userId: user, title: `item ${i + 1}` })));
    // One batch shares a millisecond: the history's order is the gateway's (time, then id).
    const history = await asUser(bed().gw.url, user, 'GET', '/api/notifications?limit=100');
    const newestFirst = (history.body!.items as { id: string }[]).map((i) => i.id);
    expect([...newestFirst].sort()).toEqual([...ids].sort());
    // Acked by another device, so the page's fresh connection replays none of them: all it
    // lists comes from history pages.
    const device = await TestClient.connect(bed().gw.url, { token: userToken(user) });
    await device.waitForIds(ids);
    device.ack(ids);
    await until(async () => {
      const probe = await TestClient.connect(bed().gw.url, { token: userToken(user) });
      probe.close();
      return probe.synced[0]?.replayed === 0;
    }, 'the acks to be recorded');
    device.close();
    const page = await openDemo(await bed().newContext(), demoUrl(bed().gw, user, '&pageSize=15'));
    await waitForList(page, newestFirst.slice(0, 15));
    const scroll = page.locator('[data-testid="notification-scroll"]');
    await scroll.evaluate((el) => el.scrollTo(0, el.scrollHeight));
    await waitForList(page, newestFirst.slice(0, 30));
    await scroll.evaluate((el) => el.scrollTo(0, el.scrollHeight));
    await waitForList(page, newestFirst);
    await page.locator('[data-testid="load-more-sentinel"]').waitFor({ state: 'detached' });
  });

  it('preferences saved in the panel reach the gateway, and a kind switched off in-app no longer shows', async () => {
    const user = uniqueUser();
    const page = await openDemo(await bed().newContext(), demoUrl(bed().gw, user));
    const promo = await postNotify(bed().gw.url, 'promo:weekly', { userId: user, title: 'Weekly deals' });
    const first = await notifyUser(bed().gw.url, user, 'a task event');
    await waitForList(page, [first, promo.body.id!]);

    await page.locator('[data-testid="preferences-toggle"]').click();
    await page.locator('[data-testid="preferences-panel"][data-status="ready"]').waitFor();
    const promoInApp = page.locator('[data-testid="pref-kind"][data-kind="promo:weekly"][data-channel="in_app"]');
    expect(await promoInApp.isChecked()).toBe(true);
    await promoInApp.click();
    await page.locator('[data-testid="pref-channel"][data-channel="email"]').click();
    await page.locator('[data-testid="preferences-save"]').click();
    await page.locator('[data-testid="preferences-panel"][data-status="saved"]').waitFor();

    const saved = await asUser(bed().gw.url, user, 'GET', '/api/preferences');
    expect(saved.body).toMatchObject({ channels: { email: false }, kinds: { 'promo:weekly': { in_app: false } } });

    // The gateway applies it: the next promo is not shown in-app, a task event still is.
    const muted = await postNotify(bed().gw.url, 'promo:weekly', { userId: user, title: 'More deals' });
    const marker = await notifyUser(bed().gw.url, user, 'another task event');
    await page.locator('[data-testid="preferences-back"]').click();
    await page.locator(item(marker)).waitFor();
    expect(await shownIds(page)).not.toContain(muted.body.id);
    await page.reload();
    await waitForState(page, 'live');
    await openBell(page);
    await waitForList(page, [marker, first, promo.body.id!]);

    // Back to the defaults: the switch shows on again.
    await page.locator('[data-testid="preferences-toggle"]').click();
    await page.locator('[data-testid="preferences-reset"]').click();
    await page.waitForFunction(() => {
      const s = document.querySelector<HTMLInputElement>('[data-testid="pref-kind"][data-kind="promo:weekly"][data-channel="in_app"]');
      return s?.checked === true && document.querySelector('[data-testid="preferences-panel"]')?.getAttribute('data-status') === 'ready';
    });
    expect((await asUser(bed().gw.url, user, 'GET', '/api/preferences')).body).toMatchObject({ kinds: {} });
  });

  it('works from the keyboard: Tab to the bell, Enter opens, arrows switch tabs, Escape closes and focus returns', async () => {
    const user = uniqueUser();
    const page = await openClosed(await bed().newContext(), demoUrl(bed().gw, user));
    await notifyUser(bed().gw.url, user, 'keyboard');
    await page.keyboard.press('Tab');
    expect(await focused(page)).toBe('notify-bell');
    await page.keyboard.press('Enter');
    await page.locator('[data-testid="notify-popover"]').waitFor();
    expect(await focused(page)).toBe('tab-all');
    await page.keyboard.press('ArrowLeft');
    expect(await focused(page)).toBe('tab-unread');
    await page.locator('[data-testid="tab-unread"][aria-selected="true"]').waitFor();
    await page.keyboard.press('Tab');
    expect(await focused(page)).toBe('mark-read');
    await page.keyboard.press('Escape');
    await page.locator('[data-testid="notify-popover"]').waitFor({ state: 'detached' });
    expect(await focused(page)).toBe('notify-bell');
    expect(await page.locator('[data-testid="notify-bell"]').getAttribute('aria-expanded')).toBe('false');
  });

  it('two sessions of one user: archive and seen in one reach the other through the gateway', async () => {
    const user = uniqueUser();
    // Separate contexts share no storage or BroadcastChannel: only the gateway's echo can carry it.
    const pageA = await openClosed(await bed().newContext(), demoUrl(bed().gw, user));
    const pageB = await openClosed(await bed().newContext(), demoUrl(bed().gw, user));
    const [x, y] = [await notifyUser(bed().gw.url, user, 'x'), await notifyUser(bed().gw.url, user, 'y')];
    await Promise.all([waitForBellBadge(pageA, 2), waitForBellBadge(pageB, 2)]);

    // Opening the bell in A is seen in B too.
    await openBell(pageA);
    await waitForList(pageA, [y, x]);
    await waitForBellBadge(pageB, 0);

    await pageA.locator(`${item(y)} [data-testid="archive"]`).click();
    await openBell(pageB);
    await waitForList(pageB, [x]);
    await selectTab(pageB, 'archived');
    await waitForList(pageB, [y]);
  });
});
