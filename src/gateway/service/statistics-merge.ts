/**
 * Cluster-wide statistics: the per-version statistics each worker reports, summed per (model,
 * version). Counts and cumulative nanoseconds add up; `last_inference` is the latest of the
 * workers'; batch statistics add up per batch size. The result is what one server serving all
 * of the cluster's traffic would report, sorted by model name then version.
 */
import type { ModelStatistics, StatisticDuration } from '../../serving/index.js';

type Mutable<T> = { -readonly [K in keyof T]: T[K] };
type BatchStatistics = ModelStatistics['batch_stats'][number];

const INFERENCE_KEYS = ['success', 'fail', 'queue', 'compute_input', 'compute_infer', 'compute_output', 'cache_hit', 'cache_miss'] as const;
const BATCH_KEYS = ['compute_input', 'compute_infer', 'compute_output'] as const;
const ZERO: StatisticDuration = { count: 0, ns: 0 };

function add(a: StatisticDuration | undefined, b: StatisticDuration | undefined): StatisticDuration {
  return { count: (a?.count ?? 0) + Number(b?.count ?? 0), ns: (a?.ns ?? 0) + Number(b?.ns ?? 0) };
}

export function mergeStatistics(perWorker: readonly (readonly ModelStatistics[])[]): ModelStatistics[] {
  const merged = new Map<string, Mutable<ModelStatistics>>();
  for (const stats of perWorker) {
    for (const entry of stats) {
      const key = `${entry.name}\u0000${entry.version}`;
      const into = merged.get(key);
      if (!into) {
        merged.set(key, copy(entry));
        continue;
      }
      into.last_inference = Math.max(into.last_inference, Number(entry.last_inference));
      into.inference_count += Number(entry.inference_count);
      into.execution_count += Number(entry.execution_count);
      const inference: Record<string, StatisticDuration> = { ...into.inference_stats };
      for (const k of INFERENCE_KEYS) inference[k] = add(into.inference_stats[k], entry.inference_stats?.[k]);
      into.inference_stats = inference as ModelStatistics['inference_stats'];
      into.batch_stats = mergeBatches(into.batch_stats, entry.batch_stats ?? []);
    }
  }
  return [...merged.values()].sort((a, b) => (a.name === b.name ? Number(a.version) - Number(b.version) : a.name < b.name ? -1 : 1));
}

/** A deep copy with every number a number (JSON from a worker may carry 64-bit counts as strings). */
function copy(entry: ModelStatistics): Mutable<ModelStatistics> {
  const inference: Record<string, StatisticDuration> = {};
  for (const k of INFERENCE_KEYS) inference[k] = add(ZERO, entry.inference_stats?.[k]);
  return {
    name: entry.name,
    version: entry.version,
    last_inference: Number(entry.last_inference),
    inference_count: Number(entry.inference_count),
    execution_count: Number(entry.execution_count),
    inference_stats: inference as ModelStatistics['inference_stats'],
    batch_stats: mergeBatches([], entry.batch_stats ?? []),
  };
}

function mergeBatches(a: readonly BatchStatistics[], b: readonly BatchStatistics[]): BatchStatistics[] {
  const bySize = new Map<number, BatchStatistics>();
  for (const batch of [...a, ...b]) {
    const size = Number(batch.batch_size);
    const into = bySize.get(size);
    const next: Record<string, unknown> = { batch_size: size };
    for (const k of BATCH_KEYS) next[k] = add(into?.[k] ?? ZERO, batch[k]);
    bySize.set(size, next as unknown as BatchStatistics);
  }
  return [...bySize.values()].sort((x, y) => x.batch_size - y.batch_size);
}
