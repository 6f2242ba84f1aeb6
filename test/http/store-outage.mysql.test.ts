/**
 * Storage down → 503 STORE_UNAVAILABLE with Retry-After, promptly, and nothing partially
 * written; when the link comes back the same gateway accepts and delivers again.
 * The gateway reaches MariaDB through a TCP proxy that the test cuts; rows are counted
 * on the real database, beside the proxy. MySQL only: an embedded SQLite file cannot be
 * cut off from its process this way.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createStore, type Store } from '../../src/store/store.js';
import { createTestBed, notifyUser, postNotify, uniqueUser, userToken, type RunningGateway, type TestBed } from '../support/harness.js';
import { countRows } from '../support/store-probe.js';
import { until } from '../support/until.js';
import { startTcpProxy, type TcpProxy } from '../support/tcp-proxy.js';
import { TestClient } from '../support/test-client.js';

const ACQUIRE_TIMEOUT_MS = 1500;

describe('store outage', () => {
  let bed: TestBed;
  let proxy: TcpProxy;
  let gw: RunningGateway;
  let real: Store;
  let cutBeforeCommit = false;
  let doomed: string | undefined;
  const clients: TestClient[] = [];

  beforeAll(async () => {
    bed = await createTestBed();
    const target = new URL(bed.db.url);
    proxy = await startTcpProxy(target.hostname, Number(target.port || 3306));
    const viaProxy = new URL(bed.db.url);
    viaProxy.hostname = '127.0.0.1';
    viaProxy.port = String(proxy.port);
    const writer = {
      // Cuts the link inside the writer's transaction, after every INSERT and before COMMIT.
      beforeCommit: async (id: string) => {
        if (!cutBeforeCommit) return;
        cutBeforeCommit = false;
        doomed = id;
        proxy.cut();
      },
    };
    gw = await bed.start({ DATABASE_URL: viaProxy.toString(), DB_ACQUIRE_TIMEOUT_MS: String(ACQUIRE_TIMEOUT_MS) }, { hooks: { writer } });
    real = createStore(bed.db.url, { poolMax: 2, acquireTimeoutMs: 5000 });
  });
  afterAll(async () => {
    for (const c of clients) c.close();
    await bed?.stopAll();
    await proxy?.close();
    await real?.close();
  });

  const readyz = async () => {
    const res = await fetch(`${gw.url}/readyz`);
    return { status: res.status, body: (await res.json()) as { status: string; checks: Record<string, string> } };
  };

  /** Restores the link and proves the gateway writes and delivers again. */
  async function recovers(): Promise<void> {
    proxy.restore();
    const user = uniqueUser();
    const res = await postNotify(gw.url, 'store:back', { userId: user, title: 'back' });
    expect(res.status).toBe(201);
    const client = await TestClient.connect(gw.url, { token: userToken(user) });
    clients.push(client);
    const live = await notifyUser(gw.url, user, 'live again');
    await client.waitForIds([live]);
    expect((await readyz()).status).toBe(200);
  }

  /** Outbox rows are deleted by the relay after emit: wait for it so counts stand still. */
  const relayIdle = () => until(async () => (await countRows(real.db)).outbox === 0, 'the relay to drain the outbox');

  it('answers 201 and /readyz 200 through the proxy (control)', async () => {
    const res = await postNotify(gw.url, 'store:ok', { userId: uniqueUser(), title: 'ok' });
    expect(res.status).toBe(201);
    expect(await readyz()).toEqual({ status: 200, body: { status: 'ready', checks: { store: 'up', redis: 'up' } } });
  });

  it('link cut: POST → 503 STORE_UNAVAILABLE with Retry-After, /readyz → 503, nothing written', async () => {
    await relayIdle();
    proxy.cut();
    const before = await countRows(real.db);

    const started = Date.now();
    const res = await postNotify(gw.url, 'store:down', { userIds: [uniqueUser(), uniqueUser()], title: 'lost?' });
    const tookMs = Date.now() - started;
    expect(res.status).toBe(503);
    expect(res.body.error?.code).toBe('STORE_UNAVAILABLE');
    expect(Number(res.headers.get('retry-after'))).toBeGreaterThan(0);
    expect(tookMs).toBeLessThan(ACQUIRE_TIMEOUT_MS + 3000);

    const ready = await readyz();
    expect(ready.status).toBe(503);
    expect(ready.body.checks.store).toBe('down');

    // A repeat with a dedupe key is refused too, rather than answered from a guess.
    const keyed = await postNotify(gw.url, 'store:down', { userId: uniqueUser(), title: 'keyed', dedupeKey: 'outage-1' });
    expect(keyed.status).toBe(503);

    expect(await countRows(real.db)).toEqual(before);
    await recovers();
    expect(await real.db('notify_messages').where({ dedupe_key: 'outage-1' }).first()).toBeUndefined();
  });

  it('link cut inside the transaction, before COMMIT: 503 and the notification is not there at all', async () => {
    await relayIdle();
    const before = await countRows(real.db);
    cutBeforeCommit = true;
    const users = [uniqueUser(), uniqueUser(), uniqueUser()];
    const res = await postNotify(gw.url, 'store:midway', { userIds: users, title: 'half?' });
    expect(doomed).toEqual(expect.any(String));
    expect(res.status).toBe(503);
    expect(res.body.error?.code).toBe('STORE_UNAVAILABLE');
    expect(res.headers.get('retry-after')).not.toBeNull();

    expect(await real.db('notify_messages').where({ id: doomed! }).first()).toBeUndefined();
    expect(await real.db('notify_inbox').where({ message_id: doomed! }).first()).toBeUndefined();
    expect(await real.db('notify_outbox').where({ message_id: doomed! }).first()).toBeUndefined();
    expect(await countRows(real.db)).toEqual(before);
    await recovers();
  });
});
