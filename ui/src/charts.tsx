import { useEffect, useRef, useState } from 'preact/hooks';
import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';
import { call, fetchText } from './api';

/** One line chart over time: `series` are [label, color]; `data` is [times (s), ...values]. */
export function LineChart({ title, unit, series, data }: { title: string; unit: string; series: readonly (readonly [string, string])[]; data: readonly (readonly (number | null)[])[] }) {
  const host = useRef<HTMLDivElement>(null);
  const plot = useRef<uPlot | undefined>(undefined);
  useEffect(() => {
    if (!host.current) return undefined;
    const width = Math.max(240, Math.min(560, host.current.clientWidth || 480));
    plot.current = new uPlot(
      {
        width,
        height: 180,
        series: [{}, ...series.map(([label, stroke]) => ({ label, stroke, width: 2, spanGaps: true }))],
        axes: [{}, { label: unit, size: 60 }],
        scales: { x: { time: true } },
        legend: { live: false },
      },
      data as uPlot.AlignedData,
      host.current,
    );
    return () => plot.current?.destroy();
  }, []);
  useEffect(() => plot.current?.setData(data as uPlot.AlignedData), [data]);
  const last = series.map(([label], i) => `${label}: ${formatValue(data[i + 1]?.at(-1))}`).join(', ');
  return (
    <figure class="chart card">
      <figcaption>
        <strong>{title}</strong> <span class="muted">({unit})</span>
      </figcaption>
      <div ref={host} role="img" aria-label={`${title}, latest: ${last}`} />
    </figure>
  );
}

function formatValue(value: number | null | undefined): string {
  if (value === null || value === undefined || !Number.isFinite(value)) return 'no data';
  return value >= 100 ? value.toFixed(0) : value.toPrecision(3);
}

/** Horizontal bars with labels (batch sizes, class probabilities): plain HTML, readable by screen readers. */
export function Bars({ label, bars, highlight }: { label: string; bars: readonly { name: string; value: number; text?: string }[]; highlight?: string }) {
  const max = Math.max(1e-12, ...bars.map((b) => b.value));
  return (
    <ul class="bars" aria-label={label}>
      {bars.map((b) => (
        <li key={b.name} class={b.name === highlight ? 'highlight' : ''}>
          <span class="bar-name">{b.name}</span>
          <span class="bar-track" aria-hidden="true">
            <span class="bar-fill" style={{ width: `${(100 * b.value) / max}%` }} />
          </span>
          <span class="bar-value">{b.text ?? String(b.value)}</span>
        </li>
      ))}
    </ul>
  );
}

// --- Sampling the statistics and metrics the server already exposes --------------------------------

interface Duration {
  count: number;
  ns: number;
}
interface ModelStats {
  version: string;
  inference_stats: Record<'success' | 'fail' | 'queue' | 'compute_input' | 'compute_infer' | 'compute_output' | 'cache_hit' | 'cache_miss', Duration>;
  batch_stats: { batch_size: number; compute_infer: Duration }[];
}

interface Totals {
  time: number;
  success: number;
  fail: number;
  successNs: number;
  queueNs: number;
  queueCount: number;
  computeNs: number;
  computeCount: number;
  cacheHit: number;
  cacheMiss: number;
  batches: Map<number, number>;
  /** Request-duration histogram (Prometheus, seconds): upper bound → cumulative count. */
  buckets: Map<number, number> | undefined;
  failures: Map<string, number> | undefined;
}

export interface Sample {
  readonly time: number;
  readonly requestsPerSecond: number;
  readonly failuresPerSecond: number;
  readonly averageMs: number | null;
  readonly p50Ms: number | null;
  readonly p99Ms: number | null;
  readonly queueMs: number | null;
  readonly computeMs: number | null;
  readonly cacheHitRate: number | null;
}

export interface LiveStats {
  readonly samples: readonly Sample[];
  readonly batches: readonly { size: number; count: number }[];
  readonly failures: readonly { reason: string; count: number }[];
  readonly error: string | undefined;
}

const POLL_MS = 2000;
const KEEP_SAMPLES = 150;

/** Polls `/v2/models/{m}/stats` (and the metrics, when available) and turns counters into rates. */
export function useLiveStats(model: string): LiveStats {
  const [stats, setStats] = useState<LiveStats>({ samples: [], batches: [], failures: [], error: undefined });
  useEffect(() => {
    let previous: Totals | undefined;
    let stopped = false;
    let metricsAvailable = true;
    const poll = async (): Promise<void> => {
      try {
        const body = await call<{ model_stats: ModelStats[] }>('GET', `/v2/models/${encodeURIComponent(model)}/stats`);
        let metrics: string | undefined;
        if (metricsAvailable) metrics = await fetchText('/v2/cluster/metrics').catch(() => ((metricsAvailable = false), undefined));
        if (stopped) return;
        const totals = sumTotals(body.model_stats, metrics === undefined ? undefined : parseMetrics(metrics, model));
        const sample = previous ? rates(previous, totals) : undefined;
        previous = totals;
        setStats((s) => ({
          samples: sample ? [...s.samples, sample].slice(-KEEP_SAMPLES) : s.samples,
          batches: [...totals.batches].sort((a, b) => a[0] - b[0]).map(([size, count]) => ({ size, count })),
          failures: [...(totals.failures ?? [])].map(([reason, count]) => ({ reason, count })),
          error: undefined,
        }));
      } catch (error) {
        if (!stopped) setStats((s) => ({ ...s, error: error instanceof Error ? error.message : String(error) }));
      }
    };
    void poll();
    const timer = setInterval(() => void poll(), POLL_MS);
    return () => {
      stopped = true;
      clearInterval(timer);
    };
  }, [model]);
  return stats;
}

function sumTotals(stats: readonly ModelStats[], metrics: { buckets: Map<number, number>; failures: Map<string, number> } | undefined): Totals {
  const totals: Totals = {
    time: Date.now() / 1000,
    success: 0,
    fail: 0,
    successNs: 0,
    queueNs: 0,
    queueCount: 0,
    computeNs: 0,
    computeCount: 0,
    cacheHit: 0,
    cacheMiss: 0,
    batches: new Map(),
    buckets: metrics?.buckets,
    failures: metrics?.failures,
  };
  for (const s of stats) {
    const i = s.inference_stats;
    totals.success += i.success.count;
    totals.successNs += i.success.ns;
    totals.fail += i.fail.count;
    totals.queueNs += i.queue.ns;
    totals.queueCount += i.queue.count;
    totals.computeNs += i.compute_input.ns + i.compute_infer.ns + i.compute_output.ns;
    totals.computeCount += i.compute_infer.count;
    totals.cacheHit += i.cache_hit.count;
    totals.cacheMiss += i.cache_miss.count;
    for (const b of s.batch_stats) totals.batches.set(b.batch_size, (totals.batches.get(b.batch_size) ?? 0) + b.compute_infer.count);
  }
  return totals;
}

function rates(a: Totals, b: Totals): Sample {
  const seconds = Math.max(0.001, b.time - a.time);
  const requests = b.success - a.success;
  const perRequest = (ns: number, count: number): number | null => (count > 0 ? ns / count / 1e6 : null);
  const lookups = b.cacheHit - a.cacheHit + (b.cacheMiss - a.cacheMiss);
  return {
    time: b.time,
    requestsPerSecond: requests / seconds,
    failuresPerSecond: (b.fail - a.fail) / seconds,
    averageMs: perRequest(b.successNs - a.successNs, requests),
    p50Ms: quantileMs(a.buckets, b.buckets, 0.5),
    p99Ms: quantileMs(a.buckets, b.buckets, 0.99),
    queueMs: perRequest(b.queueNs - a.queueNs, b.queueCount - a.queueCount),
    computeMs: perRequest(b.computeNs - a.computeNs, b.computeCount - a.computeCount),
    cacheHitRate: lookups > 0 ? (b.cacheHit - a.cacheHit) / lookups : null,
  };
}

/** A quantile of the requests between two histogram readings, interpolated within its bucket (as Prometheus' histogram_quantile). */
function quantileMs(before: Map<number, number> | undefined, after: Map<number, number> | undefined, q: number): number | null {
  if (!before || !after) return null;
  const bounds = [...after.keys()].sort((x, y) => x - y);
  const counts = bounds.map((bound) => (after.get(bound) ?? 0) - (before.get(bound) ?? 0));
  const total = counts.at(-1) ?? 0;
  if (total <= 0) return null;
  const rank = q * total;
  for (let i = 0; i < bounds.length; i++) {
    const count = counts[i] ?? 0;
    if (count >= rank) {
      const upper = bounds[i] ?? 0;
      const lower = i === 0 ? 0 : (bounds[i - 1] ?? 0);
      const below = i === 0 ? 0 : (counts[i - 1] ?? 0);
      if (!Number.isFinite(upper)) return lower * 1000;
      return (lower + ((upper - lower) * (rank - below)) / Math.max(1, count - below)) * 1000;
    }
  }
  return null;
}

/** The request-duration histogram and failure counters of one model, from the Prometheus text. */
export function parseMetrics(text: string, model: string): { buckets: Map<number, number>; failures: Map<string, number> } {
  const buckets = new Map<number, number>();
  const failures = new Map<string, number>();
  for (const line of text.split('\n')) {
    if (line.startsWith('#') || !line.includes(`model="${model}"`)) continue;
    const value = Number(line.slice(line.lastIndexOf(' ') + 1));
    if (!Number.isFinite(value)) continue;
    if (line.startsWith('cranberries_request_duration_seconds_bucket{')) {
      const le = /le="([^"]+)"/.exec(line)?.[1];
      if (le !== undefined) {
        const bound = le === '+Inf' ? Infinity : Number(le);
        buckets.set(bound, (buckets.get(bound) ?? 0) + value);
      }
    } else if (line.startsWith('cranberries_inference_request_failure_total{')) {
      const reason = /reason="([^"]+)"/.exec(line)?.[1] ?? 'other';
      failures.set(reason, (failures.get(reason) ?? 0) + value);
    }
  }
  return { buckets, failures };
}
