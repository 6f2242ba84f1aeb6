/**
 * grafana/: provisioning points at the datasource the dashboard uses, every dashboard
 * query is valid PromQL (promtool), and every metric the dashboard and the alert rules
 * query is exported by a real gateway's /metrics. dashboard-queries.test.ts runs the same
 * queries on a real Prometheus.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestBed, type TestBed } from '../support/harness.js';
import { SCRAPE_SERIES, exportedNames, metricNames, withoutGrafanaVariables } from './support/promql.js';
import { loadYaml, readRepoFile, run } from './support/repo.js';

interface Target {
  expr: string;
  refId: string;
  datasource?: { uid: string };
}
interface Panel {
  id: number;
  title: string;
  type: string;
  gridPos: { x: number; y: number; w: number; h: number };
  datasource?: { type: string; uid: string };
  targets?: Target[];
}

const dashboard = JSON.parse(readRepoFile('grafana', 'dashboards', 'notify-gateway.json')) as {
  uid: string;
  title: string;
  panels: Panel[];
  templating: { list: { name: string; datasource?: { type: string; uid: string } }[] };
};
/** Row headers group the panels below them; they have no query of their own. */
const queryPanels = dashboard.panels.filter((panel) => panel.type !== 'row');
const targets = dashboard.panels.flatMap((panel) => (panel.targets ?? []).map((target) => ({ panel, target })));
const dashboardExprs = targets.map(({ target }) => target.expr);
const ruleExprs = loadYaml<{ groups: { rules: { expr: string }[] }[] }>('prometheus', 'notify-alerts.yml').groups.flatMap((g) =>
  g.rules.map((r) => r.expr),
);

describe('grafana provisioning', () => {
  it('provisions the Prometheus datasource every panel queries', () => {
    const provisioned = loadYaml<{ datasources: { uid: string; type: string; url: string }[] }>(
      'grafana',
      'provisioning',
      'datasources',
      'prometheus.yml',
    ).datasources;
    expect(provisioned).toHaveLength(1);
    expect(provisioned[0]).toMatchObject({ type: 'prometheus', url: 'http://prometheus:9090' });
    for (const { panel, target } of targets) {
      expect(panel.datasource, panel.title).toEqual({ type: 'prometheus', uid: provisioned[0]!.uid });
      expect(target.datasource?.uid ?? provisioned[0]!.uid, panel.title).toBe(provisioned[0]!.uid);
    }
    for (const variable of dashboard.templating.list) expect(variable.datasource, variable.name).toEqual({ type: 'prometheus', uid: provisioned[0]!.uid });
  });

  it('has the panels ops asked for, each with a query, unique ids', () => {
    expect(dashboard.uid).toBe('notify-gateway');
    expect(new Set(dashboard.panels.map((p) => p.id)).size).toBe(dashboard.panels.length);
    for (const panel of queryPanels) expect(panel.targets?.length, panel.title).toBeGreaterThan(0);
    for (const row of dashboard.panels.filter((panel) => panel.type === 'row')) expect(row.targets ?? [], row.title).toEqual([]);
    const used = new Set(dashboardExprs.flatMap(metricNames));
    for (const name of [
      'notify_connected_sockets', // connections per instance
      'notify_notifications_ingested_total', // messages per second, share by kind
      'notify_notifications_published_total',
      'notify_outbox_lag_seconds', // outbox lag
      'notify_replay_duration_seconds_bucket', // replay latency
      'notify_http_request_duration_seconds_count', // error rate
      'notify_auth_failures_total', // auth-failure rate
      'notify_relay_leader', // relay leader
    ]) {
      expect(used, name).toContain(name);
    }
    expect(dashboardExprs.some((e) => /by \(instance\) \(notify_connected_sockets[{)]/.test(e))).toBe(true);
  });

  it('shows connections per host, messages by kind and real reconnects, recognisably titled', () => {
    const exprsOf = (title: string) => {
      const panel = queryPanels.find((p) => p.title === title);
      expect(panel, title).toBeDefined();
      return panel!.targets!.map((t) => t.expr);
    };
    // Per machine, as the connection alert counts: sockets joined to notify_instance_info{host}.
    expect(exprsOf('Connected sockets per host')).toEqual([
      expect.stringMatching(/^sum by \(host\) \(notify_connected_sockets \* on \(job, instance\) group_left \(host\) notify_instance_info/),
    ]);
    expect(exprsOf('Messages sent per second by kind')).toEqual([expect.stringMatching(/^sum by \(kind\) \(rate\(notify_notifications_delivered_total\[/)]);
    const pie = queryPanels.find((p) => p.title === 'Messages sent by kind');
    expect(pie?.type).toBe('piechart');
    expect(exprsOf('Messages sent by kind')).toEqual(['sum by (kind) (increase(notify_notifications_delivered_total[$__range]))']);
    // Reconnects from the SDK's flag, never from `resumed` alone (page loads resume too).
    for (const title of ['Reconnects (share of connections opened)', 'Reconnect rate']) {
      expect(exprsOf(title).join(' '), title).toMatch(/notify_connections_opened_total\{reconnect="true"\}/);
    }
    expect(exprsOf('Connections opened per second: new vs reconnect').join(' ')).toMatch(/reconnect="false"[\s\S]*reconnect="true"/);
  });

  it('has a Deliveries row with the delivery panels below it', () => {
    const row = dashboard.panels.find((panel) => panel.type === 'row' && panel.title === 'Deliveries');
    expect(row).toBeDefined();
    const below = queryPanels.filter((panel) => panel.gridPos.y > row!.gridPos.y);
    const exprs = below.flatMap((panel) => (panel.targets ?? []).map((target) => target.expr));
    for (const pattern of [
      /sum by \(channel_type, outcome\) \(rate\(notify_deliveries_total\[/, // deliveries/s by channel type and outcome
      /sum by \(channel_type\) \(rate\(notify_delivery_attempts_total\[/, // attempts/s
      /histogram_quantile\(0\.95, sum by \(le, channel_type\) \(rate\(notify_delivery_send_duration_seconds_bucket\[/, // send p95
      // The queue gauges read the shared database: every instance reports the same value.
      /^max by \(status\) \(notify_delivery_queue_depth\)$/,
      /^max\(notify_delivery_oldest_pending_seconds\)$/,
      /^max by \(channel_type\) \(notify_delivery_throttled\)$/,
    ]) {
      expect(exprs.some((e) => pattern.test(e)), String(pattern)).toBe(true);
    }
    for (const e of dashboardExprs.filter((e) => /notify_delivery_(queue_depth|oldest_pending_seconds)/.test(e))) {
      expect(e).not.toMatch(/\bsum\b/);
    }
  });

  it('has only valid PromQL (promtool parses every query as a recording rule)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'notify-grafana-'));
    try {
      const rules = targets.map(({ panel, target }, i) => ({
        record: `dashboard:panel_${panel.id}_${target.refId}_${i}`,
        expr: withoutGrafanaVariables(target.expr),
      }));
      // JSON is valid YAML, so promtool reads this without a YAML writer.
      writeFileSync(join(dir, 'dashboard-rules.yml'), JSON.stringify({ groups: [{ name: 'dashboard', rules }] }));
      const result = await run('promtool', ['check', 'rules', join(dir, 'dashboard-rules.yml')]);
      expect(result.code, result.stdout + result.stderr).toBe(0);
      expect(result.stdout).toContain(`SUCCESS: ${rules.length} rules found`);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('is loaded from the directory docker-compose.yml mounts', () => {
    const provider = loadYaml<{ providers: { type: string; options: { path: string } }[] }>(
      'grafana',
      'provisioning',
      'dashboards',
      'notify.yml',
    ).providers[0]!;
    const mounts = loadYaml<{ services: { grafana: { volumes: string[] } } }>('docker-compose.yml').services.grafana.volumes;
    expect(provider.type).toBe('file');
    expect(mounts).toContain(`./grafana/dashboards:${provider.options.path}:ro`);
  });
});

describe('metric names against a running gateway', () => {
  let bed: TestBed;
  let exported: Set<string>;
  beforeAll(async () => {
    bed = await createTestBed();
    const gw = await bed.start({}, { defaultMetrics: true });
    const res = await fetch(`${gw.url}/metrics`);
    expect(res.status).toBe(200);
    exported = exportedNames(await res.text());
  });
  afterAll(async () => {
    await bed?.stopAll();
  });

  it('exports every metric the dashboard and the alert rules query', () => {
    const queried = new Set([...dashboardExprs, ...ruleExprs].flatMap(metricNames));
    const missing = [...queried].filter((name) => !exported.has(name) && !SCRAPE_SERIES.has(name));
    expect(missing).toEqual([]);
    // The outbox gauges are what the lag alert and panel rest on.
    expect(exported).toContain('notify_outbox_lag_seconds');
    expect(exported).toContain('notify_outbox_backlog');
  });

  it('counts labelled delivery metrics as exported before any delivery happened', () => {
    // prom-client prints only # HELP / # TYPE for a labelled counter, histogram or gauge
    // without a value yet; exportedNames reads the TYPE lines (and a histogram's series).
    for (const name of [
      'notify_deliveries_total',
      'notify_delivery_attempts_total',
      'notify_delivery_send_duration_seconds_bucket',
      'notify_delivery_throttled',
      'notify_delivery_queue_depth',
      'notify_delivery_oldest_pending_seconds',
    ]) {
      expect(exported, name).toContain(name);
    }
  });

  it('counts default process metrics as exported (the dashboard plots memory and event-loop lag)', () => {
    expect(exported).toContain('process_resident_memory_bytes');
    expect(exported).toContain('nodejs_eventloop_lag_p99_seconds');
    expect(exported).toContain('notify_replay_duration_seconds_bucket');
  });
});
