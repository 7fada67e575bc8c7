/**
 * The statistics extension's counters, read identically from REST JSON and gRPC messages (gRPC
 * sends 64-bit counters as decimal strings), and the server-side view of a measurement window:
 * the difference of two snapshots.
 */

export interface Duration {
  readonly count: number;
  readonly ns: number;
}

export interface StatisticsSnapshot {
  readonly inferenceCount: number;
  readonly executionCount: number;
  readonly success: Duration;
  readonly fail: Duration;
  readonly queue: Duration;
  readonly computeInput: Duration;
  readonly computeInfer: Duration;
  readonly computeOutput: Duration;
  readonly cacheHit: Duration;
  readonly cacheMiss: Duration;
}

/** What the server did during a window, per request where it says so. */
export interface ServerWindow {
  readonly requests: number;
  readonly failures: number;
  /** Batch elements inferred (rows); cache hits excluded. */
  readonly inferences: number;
  readonly executions: number;
  /** Rows per execution. */
  readonly avgBatch: number;
  /** Mean time a request waited in the queue, µs. */
  readonly queueUs: number;
  /** Mean compute time (input + infer + output) of a request's execution, µs. */
  readonly computeUs: number;
  readonly computeInferUs: number;
  /** Mean time from arrival in the serving core to answer, µs. */
  readonly serverUs: number;
  readonly cacheHits: number;
}

export const EMPTY_STATISTICS: StatisticsSnapshot = {
  inferenceCount: 0,
  executionCount: 0,
  success: { count: 0, ns: 0 },
  fail: { count: 0, ns: 0 },
  queue: { count: 0, ns: 0 },
  computeInput: { count: 0, ns: 0 },
  computeInfer: { count: 0, ns: 0 },
  computeOutput: { count: 0, ns: 0 },
  cacheHit: { count: 0, ns: 0 },
  cacheMiss: { count: 0, ns: 0 },
};

type Loose = Record<string, unknown>;

const num = (value: unknown): number => (typeof value === 'number' ? value : typeof value === 'string' ? Number(value) : 0);

function duration(stats: Loose | undefined, field: string): Duration {
  const d = stats?.[field] as Loose | undefined;
  return { count: num(d?.['count']), ns: num(d?.['ns']) };
}

/** Sums the `model_stats` entries of a statistics answer (one per version). */
export function parseStatistics(answer: unknown): StatisticsSnapshot {
  const entries = ((answer as Loose | undefined)?.['model_stats'] as Loose[] | undefined) ?? [];
  return entries.reduce<StatisticsSnapshot>((sum, entry) => {
    const s = entry['inference_stats'] as Loose | undefined;
    return addSnapshots(sum, {
      inferenceCount: num(entry['inference_count']),
      executionCount: num(entry['execution_count']),
      success: duration(s, 'success'),
      fail: duration(s, 'fail'),
      queue: duration(s, 'queue'),
      computeInput: duration(s, 'compute_input'),
      computeInfer: duration(s, 'compute_infer'),
      computeOutput: duration(s, 'compute_output'),
      cacheHit: duration(s, 'cache_hit'),
      cacheMiss: duration(s, 'cache_miss'),
    });
  }, EMPTY_STATISTICS);
}

function combine(a: StatisticsSnapshot, b: StatisticsSnapshot, sign: 1 | -1): StatisticsSnapshot {
  const d = (x: Duration, y: Duration): Duration => ({ count: x.count + sign * y.count, ns: x.ns + sign * y.ns });
  return {
    inferenceCount: a.inferenceCount + sign * b.inferenceCount,
    executionCount: a.executionCount + sign * b.executionCount,
    success: d(a.success, b.success),
    fail: d(a.fail, b.fail),
    queue: d(a.queue, b.queue),
    computeInput: d(a.computeInput, b.computeInput),
    computeInfer: d(a.computeInfer, b.computeInfer),
    computeOutput: d(a.computeOutput, b.computeOutput),
    cacheHit: d(a.cacheHit, b.cacheHit),
    cacheMiss: d(a.cacheMiss, b.cacheMiss),
  };
}

export const addSnapshots = (a: StatisticsSnapshot, b: StatisticsSnapshot): StatisticsSnapshot => combine(a, b, 1);

export function serverWindow(before: StatisticsSnapshot, after: StatisticsSnapshot): ServerWindow {
  const delta = combine(after, before, -1);
  const perRequest = (ns: number, count: number): number => (count > 0 ? ns / count / 1000 : 0);
  const computeNs = delta.computeInput.ns + delta.computeInfer.ns + delta.computeOutput.ns;
  return {
    requests: delta.success.count,
    failures: delta.fail.count,
    inferences: delta.inferenceCount,
    executions: delta.executionCount,
    avgBatch: delta.executionCount > 0 ? delta.inferenceCount / delta.executionCount : 0,
    queueUs: perRequest(delta.queue.ns, delta.queue.count),
    computeUs: perRequest(computeNs, delta.computeInfer.count),
    computeInferUs: perRequest(delta.computeInfer.ns, delta.computeInfer.count),
    serverUs: perRequest(delta.success.ns, delta.success.count),
    cacheHits: delta.cacheHit.count,
  };
}
