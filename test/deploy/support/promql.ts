/**
 * Metric names in PromQL expressions, and metric names a /metrics page exports — enough
 * to prove that the dashboard and the alert rules only query what the gateway exports.
 */

const LABEL_LIST = /\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)/g;
const KEYWORDS = new Set(['by', 'without', 'on', 'ignoring', 'group_left', 'group_right', 'bool', 'and', 'or', 'unless', 'offset', 'inf', 'nan']);

export interface GrafanaDurations {
  rate_interval?: string;
  interval?: string;
  range?: string;
}

/**
 * A panel query as Grafana sends it: its interval variables as concrete durations (5m
 * unless told), and dashboard variables (`$instance`, `${host}`) as their "All" value `.*`
 * (they are only used in `=~` matchers).
 */
export const withoutGrafanaVariables = (expr: string, durations: GrafanaDurations = {}) =>
  expr
    .replace(/\$__(rate_interval|interval|range)\b/g, (_, name: keyof GrafanaDurations) => durations[name] ?? '5m')
    .replace(/\$\{?[A-Za-z_]\w*\}?/g, '.*');

/** The dashboard variables a query uses, and how: `instance=~"$instance"` gives `=~`. */
export const dashboardVariableUses = (expr: string) =>
  [...expr.matchAll(/\b\w+\s*(=~|!~|!=|=)\s*"[^"]*\$\{?(?!__)[A-Za-z_]\w*\}?[^"]*"/g)].map((m) => m[1]!);

export function metricNames(expr: string): string[] {
  const stripped = withoutGrafanaVariables(expr)
    .replace(/"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'|`[^`]*`/g, '""')
    .replace(/\{[^}]*\}/g, ' ')
    .replace(/\[[^\]]*\]/g, ' ')
    .replace(LABEL_LIST, ' ');
  const names = new Set<string>();
  for (const match of stripped.matchAll(/[A-Za-z_:][A-Za-z0-9_:]*/g)) {
    const token = match[0];
    const before = stripped[match.index - 1] ?? ' ';
    const after = stripped.slice(match.index + token.length).trimStart()[0];
    if (/[0-9.]/.test(before)) continue; // exponent or duration unit of a number: 1e3, 5m
    if (after === '(' || KEYWORDS.has(token.toLowerCase())) continue; // function or operator
    names.add(token);
  }
  return [...names];
}

/** Every series name a Prometheus text exposition can produce, by its # TYPE lines. */
export function exportedNames(exposition: string): Set<string> {
  const names = new Set<string>();
  for (const [, name, type] of exposition.matchAll(/^# TYPE (\S+) (\S+)$/gm)) {
    names.add(name!);
    if (type === 'histogram') for (const suffix of ['_bucket', '_sum', '_count']) names.add(`${name}${suffix}`);
    if (type === 'summary') for (const suffix of ['_sum', '_count']) names.add(`${name}${suffix}`);
  }
  for (const [, name] of exposition.matchAll(/^([A-Za-z_:][A-Za-z0-9_:]*)[{ ]/gm)) names.add(name!);
  return names;
}

/** Series Prometheus adds itself for every target. */
export const SCRAPE_SERIES = new Set(['up', 'scrape_duration_seconds', 'scrape_samples_scraped']);
