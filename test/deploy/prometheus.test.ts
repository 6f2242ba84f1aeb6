/**
 * prometheus/: the scrape config and alert rules pass promtool (Debian package
 * "prometheus"), the rule unit tests in notify-alerts.test.yml pass, and the scrape
 * targets are the ecosystem's instance ports.
 */
import { describe, expect, it } from 'vitest';
import { metricNames } from './support/promql.js';
import { loadEcosystem, loadYaml, repoPath, run } from './support/repo.js';

interface Rule {
  alert: string;
  expr: string;
  for?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
}

const rules = () => loadYaml<{ groups: { rules: Rule[] }[] }>('prometheus', 'notify-alerts.yml').groups.flatMap((g) => g.rules);
const rule = (name: string) => {
  const found = rules().find((r) => r.alert === name);
  if (!found) throw new Error(`no alert ${name} in prometheus/notify-alerts.yml`);
  return found;
};
const promtool = (...args: string[]) => run('promtool', args, { cwd: repoPath('prometheus') });

describe('promtool', () => {
  it('accepts the alert rules', async () => {
    const result = await promtool('check', 'rules', 'notify-alerts.yml');
    expect(result.code, result.stdout + result.stderr).toBe(0);
    expect(result.stdout).toContain(`SUCCESS: ${rules().length} rules found`);
  });

  it('accepts the scrape config with its rule file', async () => {
    const result = await promtool('check', 'config', 'prometheus.yml');
    expect(result.code, result.stdout + result.stderr).toBe(0);
    expect(result.stdout).toContain('SUCCESS: 1 rule files found');
  });

  it('passes the rule unit tests (no leader, connections, outbox lag, reconnect rate, deliveries)', async () => {
    const result = await promtool('test', 'rules', 'notify-alerts.test.yml');
    expect(result.code, result.stdout + result.stderr).toBe(0);
    const tested = loadYaml<{ tests: { alert_rule_test: { alertname: string }[] }[] }>('prometheus', 'notify-alerts.test.yml')
      .tests.flatMap((t) => t.alert_rule_test.map((a) => a.alertname));
    expect(new Set(tested)).toEqual(
      new Set([
        'NotifyNoRelayLeader',
        'NotifyTooManyConnections',
        'NotifyOutboxLag',
        'NotifyHighReconnectRate',
        'NotifyDeliveriesDead',
        'NotifyDeliveryBacklog',
        'NotifyWecomRobotThrottled',
      ]),
    );
  });
});

describe('alert rules', () => {
  it('cover the alerts ops asked for, on the gateway metric names', () => {
    // Per machine: each instance's sockets joined to its host (notify_instance_info), summed.
    expect(rule('NotifyTooManyConnections').expr).toMatch(
      /^sum by \(host\) \(\s*notify_connected_sockets \* on \(job, instance\) group_left \(host\) notify_instance_info\s*\) > 2000\s*$/,
    );
    // Real reconnects only (the SDK's auth.reconnect), never `resumed` (page loads resume too).
    expect(rule('NotifyHighReconnectRate').expr).toMatch(/sum by \(job\) \(rate\(notify_connections_opened_total\{reconnect="true"\}\[5m\]\)\)[\s\S]*> 0\.3/);
    expect(rule('NotifyHighReconnectRate').expr).not.toContain('resumed');
    expect(rule('NotifyOutboxLag').expr).toMatch(/notify_outbox_lag_seconds\) > 5$/);
    expect(rule('NotifyNoRelayLeader')).toMatchObject({ for: '30s' });
    expect(rule('NotifyNoRelayLeader').expr).toContain('sum(notify_relay_leader) == 0');
    expect(rule('NotifyHttpErrors').expr).toContain('status=~"5.."');
    expect(metricNames(rule('NotifyAuthFailures').expr)).toEqual(['notify_auth_failures_total']);
    // Delivery counters are per instance (sum); the queue gauges read the shared
    // database, so every instance reports the same value (max, never sum).
    expect(rule('NotifyDeliveriesDead').expr).toMatch(/^sum by \(channel_type\) \(increase\(notify_deliveries_total\{outcome="dead"\}\[10m\]\)\) > \d+$/);
    expect(rule('NotifyDeliveryBacklog').expr).toBe('max(notify_delivery_oldest_pending_seconds) > 300');
    expect(rule('NotifyWecomRobotThrottled')).toMatchObject({ expr: 'max(notify_delivery_throttled{channel_type="wecom"}) > 0', for: '10m' });
    for (const r of rules()) {
      expect(r.labels?.severity, r.alert).toMatch(/^(warning|critical)$/);
      expect(r.annotations?.summary, r.alert).toBeTruthy();
      if (/notify_delivery_(queue_depth|oldest_pending_seconds)/.test(r.expr)) expect(r.expr, r.alert).not.toMatch(/\bsum\b/);
    }
  });

  it('extracts metric names from PromQL the way the dashboard check relies on', () => {
    expect(
      metricNames('histogram_quantile(0.95, sum by (le) (rate(notify_replay_duration_seconds_bucket{job="x"}[$__rate_interval])))'),
    ).toEqual(['notify_replay_duration_seconds_bucket']);
    expect(metricNames('sum(a_total{status=~"5.."}[5m]) / sum(b_total) > 1e3 and on() absent(c) offset 5m')).toEqual([
      'a_total',
      'b_total',
      'c',
    ]);
  });
});

describe('scrape config', () => {
  it('scrapes every ecosystem instance port on the compose gateway service', async () => {
    const config = loadYaml<{ scrape_configs: { job_name: string; static_configs: { targets: string[] }[] }[] }>(
      'prometheus',
      'prometheus.yml',
    );
    const job = config.scrape_configs.find((c) => c.job_name === 'notify-gateway');
    const targets = job!.static_configs.flatMap((s) => s.targets);
    const ports = (await loadEcosystem()).map((a) => a.env.PORT);
    expect(targets).toEqual(ports.map((port) => `gateway:${port}`));
    // The alert rules select this job by name.
    expect(rule('NotifyInstanceDown').expr).toContain(`job="${job!.job_name}"`);
  });
});
