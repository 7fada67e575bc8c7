/**
 * How Prometheus-style series become Graphite paths (the carbon plaintext protocol's names).
 *
 *   per model version:  <prefix>.<node>.<model>.<version>.<metric>[.<label value>...][.sum|.count]
 *   everything else:    <prefix>.<node>.<metric>[.<label value>...][.sum|.count]
 *
 * `<metric>` is the Prometheus name without its `cranberries_` prefix; the remaining labels'
 * values follow in label-name order; histograms give their `_sum` and `_count` (buckets are left
 * out: Graphite cannot add them up into quantiles and they would multiply the series by 20).
 * Every segment is escaped: anything but letters, digits, `_` and `-` (dots and spaces included)
 * becomes `_`, so a model named `resnet.v2` cannot add a level to the tree.
 */
import type { Registry } from 'prom-client';

/** One metric as `Registry.getMetricsAsJSON()` gives it. */
export type CollectedMetric = Awaited<ReturnType<Registry['getMetricsAsJSON']>>[number];

export interface GraphitePoint {
  readonly path: string;
  readonly value: number;
}

const UNSAFE = /[^A-Za-z0-9_-]/g;

export function graphiteSegment(text: string): string {
  return text === '' ? '_' : text.replace(UNSAFE, '_');
}

/** A dotted prefix keeps its dots (it is meant to be a hierarchy); each part is escaped. */
export function graphitePrefix(prefix: string): string {
  return prefix
    .split('.')
    .filter((part) => part !== '')
    .map(graphiteSegment)
    .join('.');
}

const CRANBERRIES = 'cranberries_';

/** The points of one collected metric; `base` is `<prefix>.<node>` (already escaped). */
export function graphitePoints(base: string, metric: CollectedMetric): GraphitePoint[] {
  const points: GraphitePoint[] = [];
  const name = metric.name.startsWith(CRANBERRIES) ? metric.name.slice(CRANBERRIES.length) : metric.name;
  const histogram = String(metric.type) === 'histogram' || String(metric.type) === 'summary';
  for (const sample of metric.values) {
    if (!Number.isFinite(sample.value)) continue;
    let suffix = '';
    if (histogram) {
      // The registry's JSON names each histogram sample (`_bucket`, `_sum`, `_count`); its typings omit it.
      const sampleName = (sample as { metricName?: string }).metricName ?? metric.name;
      if (sampleName.endsWith('_sum')) suffix = '.sum';
      else if (sampleName.endsWith('_count')) suffix = '.count';
      else continue; // buckets and quantiles
    }
    points.push({ path: pathOf(base, name, sample.labels) + suffix, value: sample.value });
  }
  return points;
}

function pathOf(base: string, name: string, labels: Partial<Record<string, string | number>>): string {
  const { model, version, ...rest } = labels;
  const head = model !== undefined ? `${base}.${graphiteSegment(String(model))}.${graphiteSegment(String(version ?? 'unknown'))}` : base;
  const tail = Object.keys(rest)
    .sort()
    .map((label) => `.${graphiteSegment(String(rest[label]))}`)
    .join('');
  return `${head}.${graphiteSegment(name)}${tail}`;
}
