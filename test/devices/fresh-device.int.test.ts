/**
 * A connection without `lastAckId` (a new device, cleared storage) is sent the user's
 * notifications that no session has acked, within the replay retention, in commit order,
 * flagged replayed, then `notify:synced { recovered: false }`. Acked ones are not sent.
 */
import { describe, expect, it } from 'vitest';
import { notifyUser, uniqueUser, userToken } from '../support/harness.js';
import { useGateway } from '../support/gateway-suite.js';
import { until } from '../support/until.js';

const suite = useGateway();

async function unackedCount(userId: string): Promise<number> {
  const rows = await suite.gw.gateway.store.db('notify_inbox').where({ tenant_id: 'default', user_id: userId }).whereNull('acked_at').select('message_id');
  return rows.length;
}

describe('fresh devices', () => {
  it('get exactly the unacked notifications once, in order, flagged replayed; after acking, none', async () => {
    const user = uniqueUser('fresh');
    const first = await suite.connect(suite.gw.url, { token: userToken(user) });
    const ids: string[] = [];
    for (let i = 0; i < 7; i += 1) ids.push(await notifyUser(suite.gw.url, user, `n${i}`, { priority: 'high' }));
    await first.waitForIds(ids);
    expect(first.ids).toEqual(ids); // commit order
    // Two are acked by the first device; five are left.
    const acked = [ids[1]!, ids[4]!];
    first.ack(acked);
    await until(async () => (await unackedCount(user)) === 5, 'two acks recorded');
    first.close();

    const fresh = await suite.connect(suite.gw.url, { token: userToken(user) });
    const unacked = ids.filter((id) => !acked.includes(id));
    expect(fresh.ids).toEqual(unacked);
    expect(fresh.received.every((n) => n.replayed === true)).toBe(true);
    expect(fresh.synced).toEqual([{ replayed: 5, recovered: false }]);

    // A live one after the sync is not flagged.
    const live = await notifyUser(suite.gw.url, user, 'live');
    await fresh.waitForIds([live]);
    expect(fresh.received.at(-1)).not.toHaveProperty('replayed');
    expect(fresh.ids).toEqual([...unacked, live]);

    fresh.ack([...unacked, live]);
    await until(async () => (await unackedCount(user)) === 0, 'all acked');
    fresh.close();
    const again = await suite.connect(suite.gw.url, { token: userToken(user) });
    expect(again.synced).toEqual([{ replayed: 0, recovered: false }]);
    expect(again.ids).toEqual([]);
  });

  it('never sends another user’s unacked rows, muted rows, or rows older than the retention', async () => {
    const [user, other] = [uniqueUser('fresh'), uniqueUser('other')];
    const old = await notifyUser(suite.gw.url, user, 'old');
    const mine = await notifyUser(suite.gw.url, user, 'mine');
    await notifyUser(suite.gw.url, other, 'not mine');
    const muted = await notifyUser(suite.gw.url, user, 'muted');
    const db = suite.gw.gateway.store.db;
    // Past the horizon (24 h by default), and one muted by the user's preferences when written.
    await db('notify_inbox').where({ message_id: old }).update({ created_at: Date.now() - 25 * 3600_000 });
    await db('notify_messages').where({ id: old }).update({ created_at: Date.now() - 25 * 3600_000 });
    await db('notify_inbox').where({ message_id: muted }).update({ muted: true });

    const fresh = await suite.connect(suite.gw.url, { token: userToken(user) });
    expect(fresh.ids).toEqual([mine]);
    expect(fresh.synced).toEqual([{ replayed: 1, recovered: false }]);
  });
});
