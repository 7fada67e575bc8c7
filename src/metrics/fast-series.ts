/**
 * Counters and histograms for hot paths. prom-client hashes and validates the label set on every
 * `inc`/`observe` (about a microsecond each); a request updates half a dozen series, which at tens
 * of thousands of requests per second is a visible share of a core. Here a caller looks a series
 * up once (by its label values) and keeps it: an update is then an addition, and a histogram
 * observation a short scan of the bucket bounds. The families register in a prom-client
 * `Registry` like any metric, so `/metrics`, `getMetricsAsJSON()` and the Graphite reporter see
 * them unchanged.
 *
 * Single-threaded by design (the main event loop is the only writer and reader).
 */
import type { Metric, Registry } from 'prom-client';

type Labels = Readonly<Record<string, string>>;

/** The shape prom-client's registry reads from a metric (`get()`), written out here. */
interface MetricSnapshot {
  readonly name: string;
  readonly help: string;
  readonly type: 'counter' | 'histogram';
  readonly aggregator: 'sum';
  readonly values: readonly { readonly value: number; readonly labels: Labels; readonly metricName?: string }[];
}

abstract class Family<S extends { readonly labels: Labels }> {
  protected readonly series = new Map<string, S>();

  constructor(
    registry: Registry,
    readonly name: string,
    readonly help: string,
    private readonly labelNames: readonly string[],
  ) {
    // The registry duck-types its metrics (name, get, reset); prom-client's typings list only its own classes.
    registry.registerMetric(this as unknown as Metric);
  }

  /** The series of these label values (created at zero); keep it rather than looking it up per update. */
  labels(values: Labels): S {
    const key = this.labelNames.map((n) => values[n] ?? '').join('\u0000');
    let found = this.series.get(key);
    if (!found) {
      const labels: Record<string, string> = {};
      for (const n of this.labelNames) labels[n] = values[n] ?? '';
      found = this.create(labels);
      this.series.set(key, found);
    }
    return found;
  }

  reset(): void {
    this.series.clear();
  }

  abstract get(): Promise<MetricSnapshot>;
  protected abstract create(labels: Labels): S;
}

export class CounterSeries {
  value = 0;
  constructor(readonly labels: Labels) {}
  inc(amount = 1): void {
    this.value += amount;
  }
}

export class CounterFamily extends Family<CounterSeries> {
  readonly type = 'counter';

  get(): Promise<MetricSnapshot> {
    const values = [...this.series.values()].map((s) => ({ value: s.value, labels: s.labels }));
    return Promise.resolve({ name: this.name, help: this.help, type: 'counter', aggregator: 'sum', values });
  }

  protected create(labels: Labels): CounterSeries {
    return new CounterSeries(labels);
  }
}

export class HistogramSeries {
  /** Observations per bucket (not cumulative); the last slot is +Inf. */
  readonly counts: Float64Array;
  sum = 0;
  count = 0;

  constructor(
    readonly labels: Labels,
    private readonly bounds: readonly number[],
  ) {
    this.counts = new Float64Array(bounds.length + 1);
  }

  observe(value: number): void {
    const bounds = this.bounds;
    let i = 0;
    while (i < bounds.length && value > bounds[i]!) i++;
    this.counts[i]!++;
    this.sum += value;
    this.count++;
  }
}

export class HistogramFamily extends Family<HistogramSeries> {
  readonly type = 'histogram';

  constructor(
    registry: Registry,
    name: string,
    help: string,
    labelNames: readonly string[],
    private readonly bounds: readonly number[],
  ) {
    super(registry, name, help, labelNames);
  }

  get(): Promise<MetricSnapshot> {
    const values: { value: number; labels: Labels; metricName: string }[] = [];
    for (const s of this.series.values()) {
      let cumulative = 0;
      for (let i = 0; i <= this.bounds.length; i++) {
        cumulative += s.counts[i]!;
        const le = i < this.bounds.length ? String(this.bounds[i]) : '+Inf';
        values.push({ value: cumulative, labels: { ...s.labels, le }, metricName: `${this.name}_bucket` });
      }
      values.push({ value: s.sum, labels: s.labels, metricName: `${this.name}_sum` });
      values.push({ value: s.count, labels: s.labels, metricName: `${this.name}_count` });
    }
    return Promise.resolve({ name: this.name, help: this.help, type: 'histogram', aggregator: 'sum', values });
  }

  protected create(labels: Labels): HistogramSeries {
    return new HistogramSeries(labels, this.bounds);
  }
}
