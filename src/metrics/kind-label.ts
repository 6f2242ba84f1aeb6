/**
 * `kind` is chosen by clients, so it cannot be a metric label as it comes: every invented
 * kind would add a series to ingested, published and delivered. The label of a kind is:
 * 1. the kind itself when METRIC_KINDS lists it;
 * 2. else its family (the part before the first `:`; the kind when it has none), always
 *    when METRIC_KINDS lists the family;
 * 3. else the family while this process has seen fewer than METRIC_KIND_LIMIT such
 *    unlisted families, and `other` past that.
 * So a process exports at most |METRIC_KINDS| + METRIC_KIND_LIMIT + 1 values per metric.
 */
import type { Counter, LabelValues } from 'prom-client';

export const OTHER_KIND = 'other';
export const DEFAULT_KIND_LIMIT = 50;

export interface KindLabelOptions {
  /** METRIC_KINDS: kinds or families kept as labels (not counted against the limit). */
  registered?: readonly string[];
  /** METRIC_KIND_LIMIT. */
  limit?: number;
}

export type KindLabel = (kind: string) => string;

export function createKindLabel(options: KindLabelOptions = {}): KindLabel {
  const registered = new Set(options.registered ?? []);
  const limit = options.limit ?? DEFAULT_KIND_LIMIT;
  const seen = new Set<string>();
  return (kind) => {
    if (registered.has(kind)) return kind;
    const colon = kind.indexOf(':');
    const family = colon === -1 ? kind : kind.slice(0, colon);
    if (registered.has(family) || seen.has(family)) return family;
    if (seen.size >= limit) return OTHER_KIND;
    seen.add(family);
    return family;
  };
}

/**
 * Every `inc({ kind })` of this counter goes through `kindLabel`, whichever module makes
 * it. (prom-client sets `inc` on the instance in its constructor, so it is wrapped there.)
 */
export function withKindLabel<C extends Counter<'kind'>>(kindLabel: KindLabel, counter: C): C {
  const inc = counter.inc.bind(counter) as (labels?: LabelValues<'kind'> | number, value?: number) => void;
  counter.inc = ((labels?: LabelValues<'kind'> | number, value?: number) => {
    if (typeof labels === 'object' && labels !== null && labels.kind !== undefined) {
      inc({ ...labels, kind: kindLabel(String(labels.kind)) }, value);
    } else {
      inc(labels, value);
    }
  }) as C['inc'];
  return counter;
}
