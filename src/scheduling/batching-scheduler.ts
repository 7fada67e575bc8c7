/**
 * The scheduler of one model version: a bounded FIFO queue in front of the version's instances.
 * One scheduler exists per loaded version, so batches never mix models or versions.
 *
 * Without dynamic batching every request runs alone on the next idle instance. With it, requests
 * with the same non-batch shape are joined along dim 0 as `BatchPolicy` decides (preferred sizes,
 * `max_queue_delay`), in arrival order and never reordering rows inside a request. The queue policy
 * applies as in Triton: a full queue (`max_queue_size`) rejects at once with UNAVAILABLE; a request
 * still queued when its timeout passes is answered DEADLINE_EXCEEDED and never executed
 * (`timeout_action: REJECT`) or moved behind every request that has not timed out (`DELAY`).
 * `preserve_ordering` holds answers until every earlier request is answered.
 *
 * All of this runs on the main thread and only moves references; instances compute in their own
 * threads and each gets at most one execution at a time.
 */
import { CranberriesError, asCranberriesError, unavailable, systemClock, type Clock } from '../core/index.js';
import type { ModelInstance } from '../backends/index.js';
import { splitOutputs } from './batch-assembly.js';
import { BatchPolicy } from './batch-policy.js';
import { OrderedRelease } from './ordered-release.js';
import type { ExecutionRecord, ScheduledRequest, ScheduledResult, Scheduler } from './scheduler.js';

export interface BatchingOptions {
  /** Rows one execution may hold (`max_batch_size`); 0 = the model does not batch. */
  readonly maxBatchRows: number;
  /** Join requests into batches (`dynamic_batching` present and `max_batch_size` > 1). */
  readonly dynamic: boolean;
  readonly preferredBatchRows: readonly number[];
  readonly maxQueueDelayUs: number;
  /** Requests waiting (not executing) at most; 0 = unbounded (Triton's default). */
  readonly maxQueueSize: number;
  /** 0 = no timeout. */
  readonly defaultTimeoutUs: number;
  readonly allowTimeoutOverride: boolean;
  readonly timeoutAction: 'REJECT' | 'DELAY';
  readonly preserveOrdering: boolean;
}

export const NO_BATCHING: BatchingOptions = {
  maxBatchRows: 0,
  dynamic: false,
  preferredBatchRows: [],
  maxQueueDelayUs: 0,
  maxQueueSize: 0,
  defaultTimeoutUs: 0,
  allowTimeoutOverride: false,
  timeoutAction: 'REJECT',
  preserveOrdering: false,
};

interface Entry {
  readonly request: ScheduledRequest;
  readonly enqueuedNs: bigint;
  readonly ticket: number;
  /** The request's timeout passed under `timeout_action: DELAY`. */
  delayed: boolean;
  resolve(result: ScheduledResult): void;
  reject(error: Error): void;
  /** Clears the entry's timeout timer and abort listener. */
  cleanup(): void;
}

const requestOf = (entry: Entry): ScheduledRequest => entry.request;

export class BatchingScheduler implements Scheduler {
  /** Requests in arrival order that have not timed out. */
  private readonly queue: Entry[] = [];
  /** Requests whose timeout passed under DELAY: they run only when `queue` is empty. */
  private readonly delayed: Entry[] = [];
  private readonly idle: ModelInstance[];
  private readonly policy: BatchPolicy | undefined;
  private readonly ordering: OrderedRelease;
  private executing = 0;
  /** Cancels the timer that re-dispatches once a waiting batch's delay is over. */
  private delayTimer: (() => void) | undefined;
  private draining: (() => void) | undefined;
  private closed = false;

  constructor(
    instances: readonly ModelInstance[],
    private readonly options: BatchingOptions,
    private readonly onExecution: (record: ExecutionRecord) => void = () => {},
    /** Queue times and timeouts are read from it; default the system clock. */
    private readonly clock: Clock = systemClock,
  ) {
    this.idle = [...instances];
    this.policy = options.dynamic && options.maxBatchRows > 1 ? new BatchPolicy(options) : undefined;
    this.ordering = new OrderedRelease(options.preserveOrdering);
  }

  get queueDepth(): number {
    return this.queue.length + this.delayed.length;
  }

  /** Executions running now (at most one per instance). */
  get executingCount(): number {
    return this.executing;
  }

  submit(request: ScheduledRequest): Promise<ScheduledResult> {
    if (this.closed) return Promise.reject(unavailable('the model version is unloading'));
    const { maxQueueSize } = this.options;
    if (maxQueueSize > 0 && this.queueDepth >= maxQueueSize) {
      return Promise.reject(unavailable(`Exceeds maximum queue size: ${maxQueueSize} requests are already waiting (max_queue_size); retry later`));
    }
    if (request.signal?.aborted) return Promise.reject(new CranberriesError('CANCELLED', 'the request was cancelled'));
    return new Promise<ScheduledResult>((resolve, reject) => {
      let cancelTimer: (() => void) | undefined;
      const onAbort = (): void => this.remove(entry, new CranberriesError('CANCELLED', 'the request was cancelled before it ran'));
      const entry: Entry = {
        request,
        enqueuedNs: this.clock.monotonicNs(),
        ticket: this.ordering.ticket(),
        delayed: false,
        resolve,
        reject,
        cleanup: () => {
          cancelTimer?.();
          request.signal?.removeEventListener('abort', onAbort);
        },
      };
      const timeoutUs = this.timeoutUs(request);
      if (timeoutUs > 0) {
        cancelTimer = this.clock.setTimer(Math.max(1, Math.ceil(timeoutUs / 1000)), () => this.timedOut(entry, timeoutUs));
      }
      request.signal?.addEventListener('abort', onAbort, { once: true });
      this.queue.push(entry);
      this.dispatch();
    });
  }

  drain(): Promise<void> {
    this.closed = true;
    if (this.queueDepth === 0 && this.executing === 0) return Promise.resolve();
    return new Promise((resolve) => (this.draining = resolve));
  }

  /** A per-request timeout may only shorten the default (any timeout when there is no default), and only when allowed. */
  private timeoutUs(request: ScheduledRequest): number {
    const { defaultTimeoutUs, allowTimeoutOverride } = this.options;
    const asked = request.timeoutUs ?? 0;
    if (allowTimeoutOverride && asked > 0 && (defaultTimeoutUs === 0 || asked < defaultTimeoutUs)) return asked;
    return defaultTimeoutUs;
  }

  private timedOut(entry: Entry, timeoutUs: number): void {
    if (this.options.timeoutAction === 'DELAY') {
      const index = this.queue.indexOf(entry);
      if (index < 0) return;
      this.queue.splice(index, 1);
      entry.delayed = true;
      this.delayed.push(entry);
      this.dispatch();
      return;
    }
    this.remove(entry, new CranberriesError('DEADLINE_EXCEEDED', `Request timeout expired: the request waited in the queue longer than its timeout of ${timeoutUs} µs and was not executed`));
  }

  /** Answers a queued request without running it; one that is already executing runs to completion. */
  private remove(entry: Entry, error: Error): void {
    const list = entry.delayed ? this.delayed : this.queue;
    const index = list.indexOf(entry);
    if (index < 0) return;
    list.splice(index, 1);
    entry.cleanup();
    this.ordering.releaseNow(entry.ticket, () => entry.reject(error));
    // The head may have changed: what waited behind it may be ready to go.
    this.dispatch();
    this.checkDrained();
  }

  private dispatch(): void {
    while (this.idle.length > 0) {
      const batch = this.nextBatch();
      if (!batch) return; // nothing queued, or waiting for a fuller batch
      void this.run(this.idle.pop()!, batch);
    }
  }

  /** Takes the requests of the next execution off a queue, or returns undefined to wait. */
  private nextBatch(): Entry[] | undefined {
    const queue = this.queue.length > 0 ? this.queue : this.delayed;
    if (queue.length === 0) return undefined;
    if (!this.policy) return queue.splice(0, 1);
    const waitedUs = Number(this.clock.monotonicNs() - queue[0]!.enqueuedNs) / 1000;
    const decision = this.policy.decide(queue, requestOf, waitedUs);
    if (decision.kind === 'run') {
      // The head leaves; a new head that must wait sets its own timer.
      this.clearDelayTimer();
      return queue.splice(0, decision.count);
    }
    this.delayTimer ??= this.clock.setTimer(Math.max(1, Math.ceil(decision.waitUs / 1000)), () => {
      this.delayTimer = undefined;
      this.dispatch();
    });
    return undefined;
  }

  private async run(instance: ModelInstance, batch: Entry[]): Promise<void> {
    this.executing++;
    const startedNs = this.clock.monotonicNs();
    for (const entry of batch) entry.cleanup();
    const rowsPerRequest = batch.map((e) => e.request.rows);
    const batchRows = rowsPerRequest.reduce((a, b) => a + b, 0);
    try {
      const result = await instance.execute(
        batch.map((e) => e.request.inputs),
        batch[0]!.request.outputNames,
      );
      const endedNs = this.clock.monotonicNs();
      const split = splitOutputs(result.outputs, rowsPerRequest);
      this.onExecution({ batchRows, requests: batch.length, timing: result.timing });
      batch.forEach((entry, i) => {
        const answer: ScheduledResult = {
          outputs: split[i]!,
          timing: result.timing,
          queueNs: Number(startedNs - entry.enqueuedNs),
          batchRows,
          executionStartNs: startedNs,
          executionEndNs: endedNs,
        };
        this.ordering.release(entry.ticket, () => entry.resolve(answer));
      });
    } catch (error) {
      const failure = asCranberriesError(error);
      for (const entry of batch) this.ordering.release(entry.ticket, () => entry.reject(failure));
    } finally {
      this.executing--;
      this.idle.push(instance);
      this.dispatch();
      this.checkDrained();
    }
  }

  private checkDrained(): void {
    if (this.draining && this.queueDepth === 0 && this.executing === 0) {
      this.clearDelayTimer();
      this.draining();
      this.draining = undefined;
    }
  }

  private clearDelayTimer(): void {
    this.delayTimer?.();
    this.delayTimer = undefined;
  }
}
