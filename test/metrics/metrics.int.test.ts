import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestBed, notifyUser, postNotify, uniqueUser, userToken, type RunningGateway, type TestBed } from '../support/harness.js';
import { TestClient } from '../support/test-client.js';
import { until } from '../support/until.js';

let bed: TestBed;
let gw: RunningGateway;

beforeAll(async () => {
  bed = await createTestBed();
  gw = await bed.start();
});
afterAll(() => bed.stopAll());

async function scrape(): Promise<string> {
  const res = await fetch(`${gw.url}/metrics`);
  expect(res.headers.get('content-type')).toMatch(/text\/plain/);
  return res.text();
}

const value = (text: string, series: string) => {
  const line = text.split('\n').find((l) => l.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.split(' ')[1]);
};

describe('/metrics', () => {
  it('counts connections, ingest, publish, dedupe, replay and auth failures', async () => {
    const user = uniqueUser();
    await until(() => gw.gateway.lease.isHeld(), 'relay lease');
    const client = await TestClient.connect(gw.url, { token: userToken(user) });
    const id = await notifyUser(gw.url, user, 'counted');
    await client.waitForIds([id]);
    await postNotify(gw.url, 'test:event', { userId: user, title: 'd', dedupeKey: 'k1' });
    await postNotify(gw.url, 'test:event', { userId: user, title: 'd', dedupeKey: 'k1' });
    expect(await TestClient.rejected(gw.url, { token: 'nope' })).toBe('unauthorized');
    const back = await TestClient.connect(gw.url, { token: userToken(user), lastAckId: id });

    const text = await scrape();
    expect(value(text, 'notify_connected_sockets')).toBe(2);
    // Resumed from lastAckId, but without the SDK's auth.reconnect: not a reconnect.
    expect(value(text, 'notify_connections_opened_total{reconnect="false",resumed="true"}')).toBe(1);
    expect(value(text, 'notify_connections_opened_total{reconnect="true",resumed="true"}')).toBeUndefined();
    // Labelled by the kind's family (src/metrics/kind-label.ts).
    expect(value(text, 'notify_notifications_ingested_total{kind="test"}')).toBe(2);
    expect(value(text, 'notify_dedupe_hits_total')).toBe(1);
    expect(value(text, 'notify_notifications_published_total{kind="test"}')).toBeGreaterThanOrEqual(1);
    expect(value(text, 'notify_auth_failures_total{reason="socket_invalid"}')).toBe(1);
    expect(value(text, 'notify_relay_leader')).toBe(1);
    // One live delivery of `id` plus the replay of the dedupe notification after it.
    expect(value(text, 'notify_notifications_delivered_total{kind="test"}')).toBeGreaterThanOrEqual(3);
    expect(value(text, 'notify_replay_duration_seconds_count')).toBe(2);
    expect(value(text, 'notify_outbox_backlog')).toBeGreaterThanOrEqual(0);
    expect(text).toMatch(/notify_http_request_duration_seconds_count\{method="POST",route="\/api\/notify\/:kind",status="201"\} 2/);
    client.close();
    back.close();
  });

  it('reports outbox backlog and the age of the oldest unpublished row', async () => {
    const old = Date.now() - 7000;
    // A row the relay cannot publish (no message): measured, then removed.
    await gw.gateway.store.db('notify_outbox').insert({ message_id: 'metrics-probe', seq: null, created_at: old });
    const text = await scrape();
    await gw.gateway.store.db('notify_outbox').where({ message_id: 'metrics-probe' }).delete();
    expect(value(text, 'notify_outbox_backlog')).toBeGreaterThanOrEqual(1);
    expect(value(text, 'notify_outbox_lag_seconds')).toBeGreaterThanOrEqual(7);
  });
});
