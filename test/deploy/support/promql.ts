/**
 * Metric names in PromQL expressions, and metric names a /metrics page exports — enough
 * to prove that the dashboard and the alert rules only query what the gateway exports.
 */

const LABEL_LIST = /\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)/g;
const KEYWORDS = new Set(['by', 'without', 'on', 'ignoring', 'group_left', 'group_right', 'bool', 'and', 'or', 'unless', 'offset', 'inf', 'nan']);

/** Grafana's interval variables as a concrete duration, so promtool can parse the rest. */
export const withoutGrafanaVariables = (expr: string) => expr.replace(/\$__(rate_interval|interval|range)\b/g, '5m');

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
