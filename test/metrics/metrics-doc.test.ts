/**
 * docs/metrics.md is the metrics reference: checked against the live registry of a
 * started gateway (every metric it exports is documented with its type and labels, and
 * nothing documented is missing from it), and against the dashboard and alert files (every
 * panel query and alert expression is quoted as it is).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestBed, type RunningGateway, type TestBed } from '../support/harness.js';
import { loadYaml, readRepoFile } from '../deploy/support/repo.js';

interface Documented {
  type: string;
  labels: string[];
}

const doc = readRepoFile('docs', 'metrics.md');

/** Rows of the metric tables: | `name` | type | `label`, `label` or — | meaning |. */
function documentedMetrics(): Map<string, Documented> {
  const rows = new Map<string, Documented>();
  for (const [, name, type, labels] of doc.matchAll(/^\| `([a-z_:][a-z0-9_:]*)` \| (counter|gauge|histogram|summary) \| ([^|]*) \|/gm)) {
    expect(rows.has(name!), `${name} is documented twice`).toBe(false);
    rows.set(name!, { type: type!, labels: [...labels!.matchAll(/`([a-z_]+)`/g)].map((m) => m[1]!) });
  }
  return rows;
}

const oneLine = (text: string) => text.replace(/\s+/g, ' ').trim();

let bed: TestBed;
let gw: RunningGateway;
let exposition: string;

beforeAll(async () => {
  bed = await createTestBed();
  gw = await bed.start({}, { defaultMetrics: true });
  const res = await fetch(`${gw.url}/metrics`);
  expect(res.status).toBe(200);
  exposition = await res.text();
});
afterAll(() => bed?.stopAll());

describe('docs/metrics.md', () => {
  it('documents every metric the live /metrics exports, with its type, and nothing else', () => {
    const exported = new Map([...exposition.matchAll(/^# TYPE (\S+) (\S+)$/gm)].map(([, name, type]) => [name!, type!]));
    const documented = documentedMetrics();
    expect(exported.size).toBeGreaterThan(40);
    expect([...exported.keys()].filter((name) => !documented.has(name)), 'exported, not documented').toEqual([]);
    expect([...documented.keys()].filter((name) => !exported.has(name)), 'documented, not exported').toEqual([]);
    for (const [name, type] of exported) expect(documented.get(name)?.type, name).toBe(type);
  });

  it('lists the labels of every metric as the registry declares them', () => {
    const documented = documentedMetrics();
    for (const metric of gw.gateway.metrics.registry.getMetricsAsArray()) {
      // prom-client keeps the declared label names on the metric (not in its typings).
      const declared = (metric as unknown as { name: string; labelNames?: string[] }).labelNames ?? [];
      const name = (metric as unknown as { name: string }).name;
      expect(documented.get(name)?.labels, name).toEqual(declared);
    }
  });

  it('quotes every dashboard panel query as the dashboard has it', () => {
    const dashboard = JSON.parse(readRepoFile('grafana', 'dashboards', 'notify-gateway.json')) as {
      panels: { title: string; type: string; targets?: { expr: string }[] }[];
    };
    const quoted = new Set([...doc.matchAll(/^\| ([^|]+) \([a-z]+\) \| [^|]* \| `([^`]+)` \|$/gm)].map(([, title, expr]) => `${title} ${expr}`));
    const missing = dashboard.panels.flatMap((panel) =>
      (panel.targets ?? []).map((t) => `${panel.title} ${t.expr}`).filter((entry) => !quoted.has(entry)),
    );
    expect(missing).toEqual([]);
    // …and no stale query of a panel that changed or went away.
    const current = new Set(dashboard.panels.flatMap((p) => (p.targets ?? []).map((t) => `${p.title} ${t.expr}`)));
    expect([...quoted].filter((entry) => !current.has(entry))).toEqual([]);
  });

  it('quotes every alert rule with its expression', () => {
    const rules = loadYaml<{ groups: { rules: { alert: string; expr: string }[] }[] }>('prometheus', 'notify-alerts.yml').groups.flatMap((g) => g.rules);
    const quoted = new Map([...doc.matchAll(/^\*\*(\w+)\*\* .*\n\n```promql\n([\s\S]*?)\n```/gm)].map(([, name, expr]) => [name!, oneLine(expr!)]));
    expect(Object.fromEntries(quoted)).toEqual(Object.fromEntries(rules.map((r) => [r.alert, oneLine(r.expr)])));
  });
});
