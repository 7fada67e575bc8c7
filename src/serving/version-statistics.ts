/**
 * Cumulative statistics of one model version, in the statistics extension's units (counts and
 * nanoseconds). Updated on the main thread after each request and execution; read by the
 * statistics APIs and metrics.
 */
import type { ExecutionTiming } from '../backends/index.js';
import type { ExecutionRecord } from '../scheduling/index.js';
import type { ModelStatistics, StatisticDuration } from './inference-service.js';

class Duration {
  count = 0;
  ns = 0;
  add(ns: number, count = 1): void {
    this.count += count;
    this.ns += ns;
  }
  snapshot(): StatisticDuration {
    return { count: this.count, ns: this.ns };
  }
}

interface BatchTotals {
  readonly computeInput: Duration;
  readonly computeInfer: Duration;
  readonly computeOutput: Duration;
}

export class VersionStatistics {
  lastInferenceMs = 0;
  inferenceCount = 0;
  executionCount = 0;
  readonly success = new Duration();
  readonly fail = new Duration();
  readonly queue = new Duration();
  readonly computeInput = new Duration();
  readonly computeInfer = new Duration();
  readonly computeOutput = new Duration();
  readonly cacheHit = new Duration();
  readonly cacheMiss = new Duration();
  private readonly batches = new Map<number, BatchTotals>();

  constructor(
    readonly model: string,
    readonly version: number,
  ) {}

  /** One model execution (a batch of one or more requests). */
  recordExecution(record: ExecutionRecord): void {
    this.executionCount++;
    this.inferenceCount += record.batchRows;
    let totals = this.batches.get(record.batchRows);
    if (!totals) {
      totals = { computeInput: new Duration(), computeInfer: new Duration(), computeOutput: new Duration() };
      this.batches.set(record.batchRows, totals);
    }
    totals.computeInput.add(record.timing.computeInputNs);
    totals.computeInfer.add(record.timing.computeInferNs);
    totals.computeOutput.add(record.timing.computeOutputNs);
  }

  /** One request that ran on the model; its compute time is its batch's (Triton counts it so too). */
  recordSuccess(totalNs: number, queueNs: number, timing: ExecutionTiming): void {
    this.lastInferenceMs = Date.now();
    this.success.add(totalNs);
    this.queue.add(queueNs);
    this.computeInput.add(timing.computeInputNs);
    this.computeInfer.add(timing.computeInferNs);
    this.computeOutput.add(timing.computeOutputNs);
  }

  recordCacheHit(totalNs: number): void {
    this.lastInferenceMs = Date.now();
    this.success.add(totalNs);
    this.cacheHit.add(totalNs);
  }

  recordCacheMiss(lookupNs: number): void {
    this.cacheMiss.add(lookupNs);
  }

  recordFailure(totalNs: number): void {
    this.fail.add(totalNs);
  }

  snapshot(): ModelStatistics {
    return {
      name: this.model,
      version: String(this.version),
      last_inference: this.lastInferenceMs,
      inference_count: this.inferenceCount,
      execution_count: this.executionCount,
      inference_stats: {
        success: this.success.snapshot(),
        fail: this.fail.snapshot(),
        queue: this.queue.snapshot(),
        compute_input: this.computeInput.snapshot(),
        compute_infer: this.computeInfer.snapshot(),
        compute_output: this.computeOutput.snapshot(),
        cache_hit: this.cacheHit.snapshot(),
        cache_miss: this.cacheMiss.snapshot(),
      },
      batch_stats: [...this.batches.entries()]
        .sort(([a], [b]) => a - b)
        .map(([batchSize, totals]) => ({
          batch_size: batchSize,
          compute_input: totals.computeInput.snapshot(),
          compute_infer: totals.computeInfer.snapshot(),
          compute_output: totals.computeOutput.snapshot(),
        })),
    };
  }
}
