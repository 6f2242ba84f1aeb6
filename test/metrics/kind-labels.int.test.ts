/**
 * `kind` is client-chosen: as a metric label it is bounded. 200 invented kinds give at
 * most METRIC_KIND_LIMIT family labels plus `other` on ingested, published and delivered;
 * kinds and families listed in METRIC_KINDS keep their own label.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createKindLabel } from '../../src/metrics/kind-label.js';
import { API_KEY, createTestBed, uniqueUser, userToken, type RunningGateway, type TestBed } from '../support/harness.js';
import { TestClient } from '../support/test-client.js';

const CAP = 10;
let bed: TestBed;
let gw: RunningGateway;

beforeAll(async () => {
  bed = await createTestBed();
  gw = await bed.start({ METRIC_KIND_LIMIT: String(CAP), METRIC_KINDS: 'billing:failed,security' });
});
afterAll(() => bed.stopAll());

/** The `kind` label values of one metric, from a scrape. */
function kindsOf(text: string, metric: string): string[] {
  return text
    .split('\n')
    .filter((line) => line.startsWith(`${metric}{`))
    .map((line) => /kind="([^"]*)"/.exec(line)![1]!);
}

describe('kind labels', () => {
  it('maps kinds to registered kinds, families, and "other" past the cap', () => {
    const label = createKindLabel({ registered: ['billing:failed', 'security'], limit: 2 });
    expect(label('billing:failed')).toBe('billing:failed');
    expect(label('security:login')).toBe('security');
    expect(label('task:done')).toBe('task');
    expect(label('task:started')).toBe('task');
    expect(label('plain')).toBe('plain');
    expect(label('deal:won')).toBe('other');
    expect(label('billing:paid')).toBe('other'); // the family `billing` is not registered
    expect(label('task:x')).toBe('task');
  });

  it('keeps 200 invented kinds to at most the cap + 1 series per metric', async () => {
    const user = uniqueUser();
    const client = await TestClient.connect(gw.url, { token: userToken(user) });
    const kinds = ['billing:failed', 'security:login', ...Array.from({ length: 200 }, (_, i) => `invented${i}:event`)];
    const res = await fetch(`${gw.url}/api/notify`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-api-key': API_KEY },
      body: JSON.stringify({ notifications: kinds.map((kind) => ({ kind, userId: user, title: kind })) }),
    });
    const { results } = (await res.json()) as { results: { status: number; id: string }[] };
    expect(results.every((r) => r.status === 201)).toBe(true);
    await client.waitForIds(results.map((r) => r.id));

    const text = await (await fetch(`${gw.url}/metrics`)).text();
    for (const metric of ['notify_notifications_ingested_total', 'notify_notifications_published_total', 'notify_notifications_delivered_total']) {
      const labels = kindsOf(text, metric);
      const invented = labels.filter((l) => l !== 'billing:failed' && l !== 'security');
      expect(labels).toEqual(expect.arrayContaining(['billing:failed', 'security', 'other']));
      expect(invented.length).toBeLessThanOrEqual(CAP + 1);
      expect(labels.some((l) => l.includes(':event'))).toBe(false);
    }
    client.close();
  });
});
