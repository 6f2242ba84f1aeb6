/**
 * The Grafana dashboard and the alert rules against a real Prometheus (Grafana itself is
 * not run: its queries are what can break). A gateway serves traffic — sockets,
 * notifications of three kinds, one reconnect made by the SDK after the gateway dropped it,
 * webhook deliveries that are sent, retried and dead-lettered, a refused token — while
 * Prometheus scrapes it every second with notify-alerts.yml loaded. Then every panel
 * query of the dashboard, as Grafana would send it, is evaluated through
 * `/api/v1/query`: each must parse and evaluate, and each must return data except the few
 * listed below with the reason this traffic leaves them empty. The key panels are checked
 * for their values, the variables for their options, and every alert rule for a healthy
 * evaluation.
 */
import { hostname } from 'node:os';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createNotificationClient, type NotificationClient } from '../../src/client/index.js';
import { putChannel, settledDeliveries } from '../support/admin-api.js';
import { Conditions } from '../support/conditions.js';
import { createTestBed, postNotify, uniqueUser, userToken, type RunningGateway, type TestBed } from '../support/harness.js';
import { TestClient } from '../support/test-client.js';
import { startWebhookReceiver, type WebhookReceiver } from '../support/webhook-receiver.js';
import { dashboardVariableUses, withoutGrafanaVariables } from './support/promql.js';
import { SCRAPE_JOB, startPrometheus, type PromSample, type PrometheusServer } from './support/prometheus-server.js';
import { readRepoFile, repoPath } from './support/repo.js';

interface Target {
  expr: string;
  refId: string;
  legendFormat?: string;
}
interface Panel {
  id: number;
  title: string;
  type: string;
  targets?: Target[];
}
interface Variable {
  name: string;
  query: { query: string };
  allValue?: string;
}

const dashboard = JSON.parse(readRepoFile('grafana', 'dashboards', 'notify-gateway.json')) as {
  panels: Panel[];
  templating: { list: Variable[] };
};
const targets = dashboard.panels.flatMap((panel) => (panel.targets ?? []).map((target) => ({ panel, target, key: `${panel.title} / ${target.legendFormat ?? target.refId}` })));

/**
 * As Grafana would send them at a 1 s scrape interval: $__rate_interval is at least four
 * scrape intervals; $__range is the time range (here: longer than the test ran).
 */
const DURATIONS = { rate_interval: '1m', interval: '15s', range: '5m' };

/** Queries this traffic cannot give data to, and why. Anything else must return data. */
const EMPTY_HERE: Record<string, string> = {
  'HTTP 5xx error rate / 5xx share': 'no request failed with 5xx',
  'Refused by limits / {{limit}}': 'no limit was hit',
  'External deliveries: sent, failed, dead, suppressed / suppressed': 'every delivery had something to send',
  'Throttled channel types / {{channel_type}}': 'no channel has a rate limit of its own here',
};

let bed: TestBed;
let gw: RunningGateway;
let prometheus: PrometheusServer;
let receiver: WebhookReceiver;
const sockets: TestClient[] = [];
let sdk: NotificationClient | undefined;

/** The SDK in Node (no stored position: a first page load), counting its syncs and deliveries. */
function sdkClient(userId: string) {
  const client = createNotificationClient({
    url: gw.url,
    token: userToken(userId),
    storage: null,
    transports: ['websocket'],
    reconnect: { initialDelayMs: 20, maxDelayMs: 200 },
  });
  let synced = 0;
  const ids: string[] = [];
  const conditions = new Conditions(() => JSON.stringify({ synced, ids }));
  client.on('synced', () => (synced++, conditions.changed()));
  client.on('notification', (n) => (ids.push(n.id), conditions.changed()));
  return {
    client,
    userId,
    syncedTimes: (n: number) => conditions.waitFor(() => synced >= n, `the SDK synced ${n} time(s)`, 15_000),
    received: (id: string) => conditions.waitFor(() => ids.includes(id), `notification ${id} on the SDK`, 15_000),
  };
}

async function notify(kind: string, userId: string, extra: Record<string, unknown> = {}): Promise<string> {
  const res = await postNotify(gw.url, kind, { userId, title: kind, ...extra });
  expect(res.status, JSON.stringify(res.body)).toBe(201);
  return res.body.id!;
}

/**
 * One round: three new sockets and notifications of three kinds (labelled by family:
 * order, chat, billing); the SDK dropped by the gateway and reconnecting (resuming from the
 * notification it got first); a webhook delivery sent after one retry and one
 * dead-lettered (a 400 is permanent); a refused token and a refused API key.
 */
async function traffic(round: number, page: ReturnType<typeof sdkClient>) {
  for (const kinds of [['order:shipped', 'chat:message', 'billing:invoice'], ['order:shipped', 'chat:message'], ['chat:message']]) {
    const user = uniqueUser();
    const socket = await TestClient.connect(gw.url, { token: userToken(user) });
    sockets.push(socket);
    const ids = [];
    for (const kind of kinds) ids.push(await notify(kind, user));
    await socket.waitForIds(ids);
  }

  await page.received(await notify('chat:message', page.userId));
  const mine = (await gw.gateway.io.fetchSockets()).filter((s) => s.data.principal?.userId === page.userId);
  expect(mine).toHaveLength(1);
  mine[0]!.disconnect(true);
  await page.syncedTimes(round + 1);

  receiver.enqueue(503);
  const retried = await notify('order:paid', page.userId, { channels: ['partner'] });
  expect((await settledDeliveries(gw.url, retried, 1))[0]).toMatchObject({ status: 'sent', attempts: 2 });
  receiver.enqueue(400);
  const dead = await notify('order:paid', page.userId, { channels: ['partner'] });
  expect((await settledDeliveries(gw.url, dead, 1))[0]).toMatchObject({ status: 'dead' });

  expect(await TestClient.rejected(gw.url, { token: 'not-a-jwt' })).toBe('unauthorized');
  expect((await postNotify(gw.url, 'order:shipped', { userId: page.userId, title: 'x' }, { key: 'wrong-key' })).status).toBe(401);
}

const results = new Map<string, { ok: true; result: PromSample[] } | { ok: false; error: string }>();
const numbers = (key: string) => {
  const answer = results.get(key);
  if (!answer?.ok) throw new Error(`${key}: ${answer ? answer.error : 'not evaluated'}`);
  return answer.result.map((sample) => Number(sample.value[1]));
};

beforeAll(async () => {
  bed = await createTestBed();
  gw = await bed.start(
    { ALLOW_PRIVATE_WEBHOOKS: 'true', DELIVERY_POLL_MS: '50', DELIVERY_BACKOFF_BASE_MS: '50', DELIVERY_MAX_ATTEMPTS: '3' },
    { defaultMetrics: true },
  );
  receiver = await startWebhookReceiver();
  prometheus = await startPrometheus({ targets: [new URL(gw.url).host], ruleFiles: [repoPath('prometheus', 'notify-alerts.yml')] });
  // A first scrape before the traffic, so that rates over the traffic are not zero.
  await prometheus.scrapedAfterNow();

  // Two rounds of traffic with a scrape between them: a series that first appears in a
  // scrape has no earlier sample, so only what grows after it shows in rate() and increase().
  const page = sdkClient(uniqueUser());
  sdk = page.client;
  await page.syncedTimes(1);
  await putChannel(gw.url, 'partner', { type: 'webhook', url: receiver.url, secret: receiver.secret });
  for (const round of [1, 2]) {
    await traffic(round, page);
    await prometheus.scrapedAfterNow();
  }
  // One more scrape, so that every rate has a sample on each side of the second round.
  await prometheus.scrapedAfterNow();
  for (const { target, key } of targets) results.set(key, await prometheus.query(withoutGrafanaVariables(target.expr, DURATIONS)));
}, 120_000);

afterAll(async () => {
  sdk?.close();
  for (const socket of sockets) socket.close();
  await prometheus?.close();
  await receiver?.close();
  await bed?.stopAll();
});

describe('dashboard queries on a real Prometheus', () => {
  it('names every panel query uniquely (title / legend), so a failure says which one', () => {
    expect(new Set(targets.map((t) => t.key)).size).toBe(targets.length);
    for (const key of Object.keys(EMPTY_HERE)) expect(targets.map((t) => t.key), key).toContain(key);
  });

  it('evaluates every panel query without an error', () => {
    const failed = targets.flatMap(({ key }) => {
      const answer = results.get(key)!;
      return answer.ok ? [] : [`${key}: ${answer.error}`];
    });
    expect(failed).toEqual([]);
    expect(results.size).toBe(targets.length);
  });

  it('gets data for every panel query this traffic feeds', () => {
    const empty = targets.filter(({ key }) => !(key in EMPTY_HERE) && numbers(key).length === 0).map(({ key }) => key);
    expect(empty).toEqual([]);
  });

  it('shows the sockets, per host and per instance', () => {
    // Three sockets per round and the SDK's restored connection.
    expect(numbers('Connected sockets / sockets')).toEqual([7]);
    const perHost = results.get('Connected sockets per host / {{host}}');
    expect(perHost?.ok && perHost.result.map((s) => [s.metric.host, Number(s.value[1])])).toEqual([[hostname(), 7]]);
    expect(numbers('Connected sockets per instance / {{instance}}')).toEqual([7]);
    expect(numbers('Instances up / up')).toEqual([1]);
  });

  it('shows the real reconnect, apart from new connections', () => {
    const [reconnectRate] = numbers('Connections opened per second: new vs reconnect / reconnects (after a lost connection)');
    const [newRate] = numbers('Connections opened per second: new vs reconnect / new (page loads, new tabs)');
    expect(reconnectRate).toBeGreaterThan(0);
    expect(newRate).toBeGreaterThan(reconnectRate!);
    // The SDK's reconnect resumed from the notification it had: resumed counts it too.
    expect(numbers('Connections opened per second: new vs reconnect / resumed from lastAckId (reconnects and reloads)')[0]).toBeGreaterThan(0);
    // One reconnect per three new sockets in the second round (rate() sees that round).
    for (const key of ['Reconnects (share of connections opened) / reconnects', 'Reconnect rate / reconnects / connections opened']) {
      const [share] = numbers(key);
      expect(share, key).toBeGreaterThan(0.1);
      expect(share, key).toBeLessThan(0.5);
    }
  });

  it('shows messages sent per second and by kind', () => {
    expect(numbers('Messages sent per second / messages/s')[0]).toBeGreaterThan(0);
    const byKind = results.get('Messages sent by kind / {{kind}}');
    expect(byKind?.ok && new Set(byKind.result.map((s) => s.metric.kind))).toEqual(new Set(['order', 'chat', 'billing']));
    const perSecond = results.get('Messages sent per second by kind / {{kind}}');
    expect(perSecond?.ok && perSecond.result.every((s) => Number(s.value[1]) > 0)).toBe(true);
  });

  it('shows external deliveries by channel and outcome', () => {
    expect(numbers('External deliveries: sent, failed, dead, suppressed / sent')[0]).toBeGreaterThan(0);
    expect(numbers('External deliveries: sent, failed, dead, suppressed / failed (retried)')[0]).toBeGreaterThan(0);
    expect(numbers('External deliveries: sent, failed, dead, suppressed / dead')[0]).toBeGreaterThan(0);
    const byChannel = results.get('External deliveries by channel type / {{channel_type}}');
    expect(byChannel?.ok && byChannel.result.map((s) => s.metric.channel_type)).toEqual(['webhook']);
    const byOutcome = results.get('Deliveries per second by channel type and outcome / {{channel_type}} {{outcome}}');
    expect(byOutcome?.ok && new Set(byOutcome.result.map((s) => s.metric.outcome))).toEqual(new Set(['sent', 'retry', 'dead']));
  });
});

describe('dashboard variables on a real Prometheus', () => {
  it('are used only as regex matchers (their All value is .*) and list the scraped instance and host', async () => {
    for (const { target } of targets) for (const op of dashboardVariableUses(target.expr)) expect(op, target.expr).toBe('=~');
    const byName = Object.fromEntries(dashboard.templating.list.map((v) => [v.name, v]));
    expect(Object.keys(byName).sort()).toEqual(['host', 'instance']);
    for (const variable of dashboard.templating.list) expect(variable.allValue).toBe('.*');
    // label_values(<selector>, <label>) is what Grafana asks /api/v1/label/<label>/values.
    const values = async (query: string) => {
      const [, selector, label] = /^label_values\((.+), (\w+)\)$/.exec(query)!;
      return prometheus.labelValues(label!, selector!);
    };
    expect(await values(byName.instance!.query.query)).toEqual([new URL(gw.url).host]);
    expect(await values(byName.host!.query.query)).toEqual([hostname()]);
  });
});

describe('alert rules on a real Prometheus', () => {
  it('loads every rule of notify-alerts.yml and evaluates each without an error', async () => {
    await prometheus.scrapedAfterNow();
    const rules = await prometheus.rules();
    expect(rules.length).toBeGreaterThan(0);
    expect(rules.map((r) => r.type)).toEqual(rules.map(() => 'alerting'));
    expect(rules.filter((r) => r.health !== 'ok').map((r) => `${r.name}: ${r.health} ${r.lastError ?? ''}`)).toEqual([]);
    expect(rules.map((r) => r.name)).toContain('NotifyTooManyConnections');
    expect(rules.map((r) => r.name)).toContain('NotifyHighReconnectRate');
  });

  it('computes the per-host socket count the connection alert compares with 2000', async () => {
    const answer = await prometheus.query(
      `sum by (host) (notify_connected_sockets{job="${SCRAPE_JOB}"} * on (job, instance) group_left (host) notify_instance_info)`,
    );
    expect(answer.ok && answer.result.map((s) => [s.metric.host, Number(s.value[1])])).toEqual([[hostname(), 7]]);
  });
});
