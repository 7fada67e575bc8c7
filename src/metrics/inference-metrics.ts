/**
 * Per model version request and execution metrics (Triton's `nv_inference_*` family, in
 * Prometheus base units): success and failure counters (failures by reason), inferences vs
 * executions (batching made visible), end-to-end, queue and compute-phase duration histograms and
 * the batch size histogram. Fed by the serving core's `requestCompleted` and the manager's
 * `executed` events; updates are plain additions on cached series (see `fast-series.ts`).
 *
 * Durations are observed for successful requests only (as Triton's are): a request rejected by a
 * full queue answers in microseconds and would otherwise pull the latency percentiles down.
 * A request's compute durations are those of the execution (batch) it was part of; a response
 * cache hit has a request duration but no queue or compute durations (it had neither).
 */
import type { Registry } from 'prom-client';
import type { FailureReason, EventChannel } from '../core/index.js';
import type { ExecutionEvent, VersionStateEvent, RequestEvent } from '../serving/index.js';
import { BATCH_SIZE_BUCKETS, DURATION_BUCKETS_SECONDS } from './buckets.js';
import { CounterFamily, HistogramFamily, type CounterSeries, type HistogramSeries } from './fast-series.js';

export const FAILURE_REASONS: readonly FailureReason[] = ['invalid_argument', 'not_found', 'rejected', 'timeout', 'cancelled', 'backend', 'other'];

/** The `version` label of a request that failed before any version could be chosen. */
export const UNKNOWN_VERSION = 'unknown';

const MODEL_LABELS = ['model', 'version'] as const;
const NS_PER_SECOND = 1e9;

interface VersionSeries {
  readonly success: CounterSeries;
  readonly failures: ReadonlyMap<FailureReason, CounterSeries>;
  readonly duration: HistogramSeries;
  readonly queue: HistogramSeries;
  readonly computeInput: HistogramSeries;
  readonly computeInfer: HistogramSeries;
  readonly computeOutput: HistogramSeries;
  readonly inferences: CounterSeries;
  readonly executions: CounterSeries;
  readonly batchSize: HistogramSeries;
}

export interface InferenceEventSources {
  readonly requestCompleted: EventChannel<RequestEvent>;
  readonly executed: EventChannel<ExecutionEvent>;
  /** READY versions get their series (at zero) before their first request. */
  readonly stateChanged: EventChannel<VersionStateEvent>;
}

export class InferenceMetrics {
  private readonly success: CounterFamily;
  private readonly failure: CounterFamily;
  private readonly inferences: CounterFamily;
  private readonly executions: CounterFamily;
  private readonly duration: HistogramFamily;
  private readonly queue: HistogramFamily;
  private readonly computeInput: HistogramFamily;
  private readonly computeInfer: HistogramFamily;
  private readonly computeOutput: HistogramFamily;
  private readonly batchSize: HistogramFamily;
  private readonly byVersion = new Map<string, VersionSeries>();

  constructor(registry: Registry) {
    const counter = (name: string, help: string, labels: readonly string[] = MODEL_LABELS): CounterFamily => new CounterFamily(registry, name, help, labels);
    const seconds = (name: string, help: string): HistogramFamily => new HistogramFamily(registry, name, help, MODEL_LABELS, DURATION_BUCKETS_SECONDS);
    this.success = counter('cranberries_inference_request_success_total', 'Successful inference requests (a request of several batch rows counts 1).');
    this.failure = counter('cranberries_inference_request_failure_total', 'Failed inference requests addressed to a known model, by reason.', [...MODEL_LABELS, 'reason']);
    this.inferences = counter('cranberries_inference_count_total', 'Inferences performed: batch rows executed (a batch of 8 counts 8; response-cache hits excluded).');
    this.executions = counter('cranberries_inference_executions_total', 'Model executions (batches); inference_count / executions is the average batch size.');
    this.duration = seconds('cranberries_request_duration_seconds', 'End-to-end time of successful requests inside the server (queue + compute + encoding of outputs).');
    this.queue = seconds('cranberries_queue_duration_seconds', 'Time successful requests waited in the scheduler queue.');
    this.computeInput = seconds('cranberries_compute_input_duration_seconds', 'Input preparation time of the execution a successful request was part of.');
    this.computeInfer = seconds('cranberries_compute_infer_duration_seconds', 'Model execution time of the execution a successful request was part of.');
    this.computeOutput = seconds('cranberries_compute_output_duration_seconds', 'Output extraction time of the execution a successful request was part of.');
    this.batchSize = new HistogramFamily(registry, 'cranberries_batch_size', 'Rows per model execution.', MODEL_LABELS, BATCH_SIZE_BUCKETS);
  }

  /** Subscribes to the core's and the manager's events; returns a function that unsubscribes. */
  attach(sources: InferenceEventSources): () => void {
    const unsubscribe = [
      sources.requestCompleted.subscribe((event) => this.observeRequest(event)),
      sources.executed.subscribe((event) => this.observeExecution(event)),
      sources.stateChanged.subscribe((event) => {
        if (event.state === 'READY') this.seriesOf(event.model, event.version);
      }),
    ];
    return () => unsubscribe.forEach((u) => u());
  }

  observeRequest(event: RequestEvent): void {
    const series = this.seriesOf(event.model, event.version);
    if (event.outcome === 'failure') {
      series.failures.get(event.reason)?.inc();
      return;
    }
    series.success.inc();
    series.duration.observe(event.totalNs / NS_PER_SECOND);
    if (event.cacheHit) return;
    series.queue.observe(event.queueNs / NS_PER_SECOND);
    series.computeInput.observe(event.timing.computeInputNs / NS_PER_SECOND);
    series.computeInfer.observe(event.timing.computeInferNs / NS_PER_SECOND);
    series.computeOutput.observe(event.timing.computeOutputNs / NS_PER_SECOND);
  }

  observeExecution(event: ExecutionEvent): void {
    const series = this.seriesOf(event.model, event.version);
    series.inferences.inc(event.batchRows);
    series.executions.inc();
    series.batchSize.observe(event.batchRows);
  }

  /** Every series of a version is created at once (at zero), so rates and sums never miss one. */
  private seriesOf(model: string, version: number | undefined): VersionSeries {
    const versionLabel = version === undefined ? UNKNOWN_VERSION : String(version);
    const key = `${model}\u0000${versionLabel}`;
    let series = this.byVersion.get(key);
    if (!series) {
      const labels = { model, version: versionLabel };
      series = {
        success: this.success.labels(labels),
        failures: new Map(FAILURE_REASONS.map((reason) => [reason, this.failure.labels({ ...labels, reason })])),
        duration: this.duration.labels(labels),
        queue: this.queue.labels(labels),
        computeInput: this.computeInput.labels(labels),
        computeInfer: this.computeInfer.labels(labels),
        computeOutput: this.computeOutput.labels(labels),
        inferences: this.inferences.labels(labels),
        executions: this.executions.labels(labels),
        batchSize: this.batchSize.labels(labels),
      };
      this.byVersion.set(key, series);
    }
    return series;
  }
}
