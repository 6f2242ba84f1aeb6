/**
 * A notification committed while a reconnecting client's replay runs must arrive after
 * the replayed ones, exactly once: live broadcasts are held during replay and released
 * afterwards minus what the replay already sent.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Principal } from '../../src/auth/user-token.js';
import { deferred, type Deferred } from '../support/deferred.js';
import { createTestBed, notifyUser, uniqueUser, userToken, type RunningGateway, type TestBed } from '../support/harness.js';
import { TestClient } from '../support/test-client.js';

let bed: TestBed;
let gw: RunningGateway;
/** Parks the replay of `userId` after its first page. */
let pause: { userId: string; reached: Deferred; resume: Deferred } | null = null;

beforeAll(async () => {
  bed = await createTestBed();
  gw = await bed.start(
    { REPLAY_PAGE_SIZE: '2' },
    {
      hooks: {
        replay: {
          async afterReplayPage(who: Principal) {
            const p = pause;
            if (!p || p.userId !== who.userId) return;
            pause = null;
            p.reached.resolve();
            await p.resume.promise;
          },
        },
      },
    },
  );
});
afterAll(() => bed.stopAll());

describe('live notifications during replay', () => {
  it('are held until the replay ends, then sent once, in commit order', async () => {
    const user = uniqueUser();
    const first = await TestClient.connect(gw.url, { token: userToken(user) });
    const anchor = await notifyUser(gw.url, user, 'anchor');
    await first.waitForIds([anchor]);
    first.close();

    const missed: string[] = [];
    for (let i = 0; i < 5; i++) missed.push(await notifyUser(gw.url, user, `missed ${i}`));
    // A second session proves when the relay has emitted each notification.
    const observer = await TestClient.connect(gw.url, { token: userToken(user) });
    const settled = await notifyUser(gw.url, user, 'settled');
    await observer.waitForIds([settled]);
    missed.push(settled);

    pause = { userId: user, reached: deferred(), resume: deferred() };
    const paused = pause;
    const reconnecting = TestClient.connect(gw.url, { token: userToken(user), lastAckId: anchor });
    await paused.reached.promise; // first replay page sent, rooms joined, rest pending

    const during = await notifyUser(gw.url, user, 'committed during replay');
    await observer.waitForIds([during]); // emitted live to the user's rooms meanwhile
    paused.resume.resolve();

    const back = await reconnecting;
    await back.waitForIds([during]);
    const marker = await notifyUser(gw.url, user, 'marker');
    await back.waitForIds([marker]);
    expect(back.ids).toEqual([...missed, during, marker]);
    observer.close();
    back.close();
  });
});
