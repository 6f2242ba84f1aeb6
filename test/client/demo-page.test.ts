/**
 * The /demo notification center in real Chromium: live delivery and the badge, an
 * offline gap, a reload, two tabs agreeing on read state, and isolation between users.
 */
import { describe, expect, it, onTestFinished } from 'vitest';
import { notifyUser, uniqueUser, userToken } from '../support/harness.js';
import { TestClient } from '../support/test-client.js';
import {
  delivered,
  demoUrl,
  listedIds,
  openBell,
  openDemo,
  readFlags,
  screenshot,
  useBrowserBed,
  toasted,
  waitForBadge,
  waitForListed,
  waitForState,
} from './browser-bed.js';

const bed = useBrowserBed();

describe('demo page', () => {
  it('shows live notifications newest first, counts them on the badge and toasts high priority', async () => {
    const user = uniqueUser();
    const page = await openDemo(await bed().newContext(), demoUrl(bed().gw, user));
    await waitForBadge(page, 0);
    const first = await notifyUser(bed().gw.url, user, 'Build finished', { body: 'main is green' });
    const urgent = await notifyUser(bed().gw.url, user, 'Disk almost full', { priority: 'high' });
    await waitForListed(page, [first, urgent]);
    await waitForBadge(page, 2);
    expect(await listedIds(page)).toEqual([urgent, first]);
    await page.locator(`[data-testid="toast"][data-id="${urgent}"]`).waitFor();
    expect(await toasted(page)).toEqual([urgent]);
    await screenshot(page, 'demo-live');
  });

  it('after an offline gap shows each missed notification once, in order, with the right badge', async () => {
    const user = uniqueUser();
    const context = await bed().newContext();
    const page = await openDemo(context, demoUrl(bed().gw, user));
    const watcher = await TestClient.connect(bed().gw.url, { token: userToken(user) });
    onTestFinished(() => watcher.close());
    const seen = await notifyUser(bed().gw.url, user, 'before the gap');
    await waitForListed(page, [seen]);

    await context.setOffline(true);
    await waitForState(page, 'offline');
    const missed: string[] = [];
    for (let i = 1; i <= 3; i++) missed.push(await notifyUser(bed().gw.url, user, `missed ${i}`));
    // A second session that stayed connected has them: the relay has sequenced them, so
    // the page can only get them from its reconnect replay.
    await watcher.waitForIds(missed);
    await screenshot(page, 'demo-offline');
    await context.setOffline(false);

    await waitForState(page, 'live');
    await waitForListed(page, missed);
    await waitForBadge(page, 4);
    const marker = await notifyUser(bed().gw.url, user, 'after the gap');
    await waitForListed(page, [marker]);
    const log = await delivered(page);
    expect(log.map((d) => d.id)).toEqual([seen, ...missed, marker]);
    // They came back through the reconnect replay, not through a socket that stayed open.
    expect(log.filter((d) => missed.includes(d.id)).every((d) => d.replayed)).toBe(true);
    expect(await listedIds(page)).toEqual([marker, ...[...missed].reverse(), seen]);
    await waitForBadge(page, 5);
    await screenshot(page, 'demo-back-online');
  });

  it('after a reload re-toasts nothing and misses nothing', async () => {
    const user = uniqueUser();
    const page = await openDemo(await bed().newContext(), demoUrl(bed().gw, user));
    const ids = [await notifyUser(bed().gw.url, user, 'urgent one', { priority: 'high' }), await notifyUser(bed().gw.url, user, 'plain one')];
    await waitForListed(page, ids);
    expect(await toasted(page)).toEqual([ids[0]]);

    await page.reload();
    await waitForState(page, 'live');
    await openBell(page);
    const marker = await notifyUser(bed().gw.url, user, 'after reload', { priority: 'high' });
    await waitForListed(page, [...ids, marker]);
    await waitForBadge(page, 3);
    expect(await toasted(page)).toEqual([marker]);
    expect((await delivered(page)).map((d) => d.id)).toEqual([marker]);
    expect(await listedIds(page)).toEqual([marker, ids[1], ids[0]]);
    await screenshot(page, 'demo-after-reload');
  });

  it('two tabs of one user: marking read in one updates the other', async () => {
    const user = uniqueUser();
    // Separate contexts share no storage or BroadcastChannel: only the gateway's echo can carry it.
    const tabA = await openDemo(await bed().newContext(), demoUrl(bed().gw, user));
    const tabB = await openDemo(await bed().newContext(), demoUrl(bed().gw, user));
    const ids = [await notifyUser(bed().gw.url, user, 'one'), await notifyUser(bed().gw.url, user, 'two'), await notifyUser(bed().gw.url, user, 'three')];
    await Promise.all([waitForListed(tabA, ids), waitForListed(tabB, ids)]);
    await Promise.all([waitForBadge(tabA, 3), waitForBadge(tabB, 3)]);

    await tabA.locator(`[data-testid="notification"][data-id="${ids[1]}"] [data-testid="mark-read"]`).click();
    await waitForBadge(tabB, 2);
    await tabB.waitForFunction((id) => document.querySelector(`[data-id="${id}"]`)?.getAttribute('data-read') === 'true', ids[1]);
    await screenshot(tabB, 'demo-tab-b-after-read-in-a');

    await tabB.locator('[data-testid="mark-all-read"]').click();
    await waitForBadge(tabA, 0);
    await tabA.waitForFunction(() => [...document.querySelectorAll('[data-testid="notification"]')].every((e) => e.getAttribute('data-read') === 'true'));
    expect(Object.values(await readFlags(tabA))).toEqual(['true', 'true', 'true']);
  });

  it('two tabs in one browser agree as well', async () => {
    const user = uniqueUser();
    const context = await bed().newContext();
    const [tabA, tabB] = [await openDemo(context, demoUrl(bed().gw, user)), await openDemo(context, demoUrl(bed().gw, user))];
    const id = await notifyUser(bed().gw.url, user, 'shared tab');
    await Promise.all([waitForListed(tabA, [id]), waitForListed(tabB, [id])]);
    await tabB.locator(`[data-id="${id}"] [data-testid="mark-read"]`).click();
    await waitForBadge(tabA, 0);
  });

  it('never shows one user another user’s notifications', async () => {
    const [alice, bob] = [uniqueUser('alice'), uniqueUser('bob')];
    const alicePage = await openDemo(await bed().newContext(), demoUrl(bed().gw, alice));
    const bobPage = await openDemo(await bed().newContext(), demoUrl(bed().gw, bob));
    const aliceIds = [await notifyUser(bed().gw.url, alice, 'for alice'), await notifyUser(bed().gw.url, alice, 'alice again')];
    // Same user id, other tenant: a different user.
    const otherTenant = await notifyUser(bed().gw.url, bob, 'for the other bob', { tenantId: 'elsewhere' });
    const bobMarker = await notifyUser(bed().gw.url, bob, 'for bob');
    await waitForListed(alicePage, aliceIds);
    await waitForListed(bobPage, [bobMarker]);
    expect(await listedIds(bobPage)).toEqual([bobMarker]);
    expect((await delivered(bobPage)).map((d) => d.id)).toEqual([bobMarker]);
    expect(await listedIds(alicePage)).not.toContain(otherTenant);

    await bobPage.reload();
    await waitForState(bobPage, 'live');
    await openBell(bobPage);
    await waitForListed(bobPage, [bobMarker]);
    expect(await listedIds(bobPage)).toEqual([bobMarker]);
    await screenshot(bobPage, 'demo-isolation-bob');
  });
});
