/**
 * The contract between serving and scheduling: a scheduler takes requests for one model version,
 * queues them, and runs them on the version's instances, never two at once on one instance.
 * Implementations differ in how they group requests (one at a time, or dynamic batches).
 */
import type { ExecutionTiming } from '../backends/index.js';
import type { Tensor } from '../tensors/index.js';
import type { SequenceFlags } from './sequence-parameters.js';

export interface ScheduledRequest {
  /** Inputs as the model sees them (after reshape); the first dim is the batch dim when batching. */
  readonly inputs: readonly Tensor[];
  readonly outputNames: readonly string[];
  /** Rows this request contributes to a batch (its first dim), 1 for non-batching models. */
  readonly rows: number;
  /** Per-request queue timeout in microseconds (0 = the model's default). */
  readonly timeoutUs?: number | undefined;
  readonly signal?: AbortSignal | undefined;
  /** The request's sequence (`sequence_id`, `sequence_start`, `sequence_end`), for sequence models. */
  readonly sequence?: SequenceFlags | undefined;
}

export interface ScheduledResult {
  readonly outputs: Tensor[];
  readonly timing: ExecutionTiming;
  readonly queueNs: number;
  /** Rows in the execution this request was part of. */
  readonly batchRows: number;
  /** When the execution started and ended (`process.hrtime.bigint()`), for request traces. */
  readonly executionStartNs?: bigint | undefined;
  readonly executionEndNs?: bigint | undefined;
}

/** Reported once per model execution (a batch), for statistics and metrics. */
export interface ExecutionRecord {
  readonly batchRows: number;
  readonly requests: number;
  readonly timing: ExecutionTiming;
}

export interface Scheduler {
  /** Rejects at once with UNAVAILABLE when the queue is full. */
  submit(request: ScheduledRequest): Promise<ScheduledResult>;
  /** Requests received but not yet executing. */
  readonly queueDepth: number;
  /** Resolves when nothing is queued or executing; new submissions are refused from now on. */
  drain(): Promise<void>;
}
