/**
 * The commit-order invariant on every driver: a notification with a LOWER id that is
 * committed AFTER a higher one was delivered and acked must still be replayed, and one
 * user's live notifications arrive in commit order. (The race with two concurrent
 * transactions is in commit-order-interleaved.mysql.test.ts.)
 */
import { v7 as uuidv7 } from 'uuid';
import { describe, expect, it } from 'vitest';
import { useGateway } from '../support/gateway-suite.js';
import { notifyUser, uniqueUser, userToken } from '../support/harness.js';

let nextId: string | null = null;
const suite = useGateway(
  {},
  {
    hooks: {
      writer: {
        newId() {
          const id = nextId ?? uuidv7();
          nextId = null;
          return id;
        },
      },
    },
  },
);

describe('replay walks commit order, not id order', () => {
  it('a row written later with a lower id is replayed after an acked higher one', async () => {
    const { url } = suite.gw;
    const user = uniqueUser();
    const client = await suite.connect(url, { token: userToken(user) });
    const lowerId = uuidv7();
    const higherId = await notifyUser(url, user, 'higher');
    expect(lowerId < higherId).toBe(true);
    await client.waitForIds([higherId]);
    client.ack([higherId]);
    client.close();

    nextId = lowerId;
    await notifyUser(url, user, 'lower, later');

    const back = await suite.connect(url, { token: userToken(user), lastAckId: higherId });
    await back.waitForIds([lowerId]);
    expect(back.ids).toEqual([lowerId]);
  });

  it('live delivery to one user follows commit order', async () => {
    const { url } = suite.gw;
    const user = uniqueUser();
    const client = await suite.connect(url, { token: userToken(user) });
    const sent: string[] = [];
    for (let i = 0; i < 20; i++) sent.push(await notifyUser(url, user, `n${i}`));
    await client.waitForCount(20);
    expect(client.ids).toEqual(sent);
  });
});
