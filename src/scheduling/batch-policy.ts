/**
 * When to close a dynamic batch, as a pure decision over the queue's head (Triton's dynamic
 * batcher rules, without its threads):
 *
 * - The pending batch is the longest FIFO prefix of compatible requests (same inputs, same non-batch
 *   dims, same outputs) whose rows fit. It stops at the first request that does not fit or does not
 *   match: a request is never overtaken, and never split across executions.
 * - Its rows are capped by the largest preferred size (or `max_batch_size` when none is given).
 * - Run now when the cap is reached or the next request cannot join (waiting cannot grow the
 *   batch); else when some prefix reached a preferred size (run that prefix); else when the head
 *   has waited `max_queue_delay` (run all of it). Otherwise wait for the rest of the head's delay.
 *
 * Rows, not requests, are what a batch counts: a request carrying 3 rows adds 3.
 */
import type { Tensor } from '../tensors/index.js';
import { canBatchTogether } from './batch-assembly.js';

export interface BatchCandidate {
  readonly rows: number;
  readonly inputs: readonly Tensor[];
  readonly outputNames: readonly string[];
}

export type BatchDecision = { readonly kind: 'run'; readonly count: number } | { readonly kind: 'wait'; readonly waitUs: number };

export interface BatchPolicyOptions {
  readonly maxBatchRows: number;
  readonly preferredBatchRows: readonly number[];
  readonly maxQueueDelayUs: number;
}

export class BatchPolicy {
  private readonly preferred: ReadonlySet<number>;
  /** Rows at which the pending batch cannot usefully grow. */
  private readonly cap: number;

  constructor(private readonly options: BatchPolicyOptions) {
    const preferred = options.preferredBatchRows.filter((p) => p >= 1 && p <= options.maxBatchRows);
    this.preferred = new Set(preferred);
    this.cap = preferred.length > 0 ? Math.max(...preferred) : options.maxBatchRows;
  }

  /**
   * `queue` is non-empty, oldest first; `candidateOf` reads an item (so callers need not copy their
   * queue); `headWaitedUs` is how long `queue[0]` has waited.
   */
  decide<T>(queue: readonly T[], candidateOf: (item: T) => BatchCandidate, headWaitedUs: number): BatchDecision {
    const head = candidateOf(queue[0]!);
    let rows = head.rows;
    let count = 1;
    let preferredCount = this.preferred.has(rows) ? 1 : 0;
    let blocked = false;
    for (let i = 1; i < queue.length && rows < this.cap; i++) {
      const next = candidateOf(queue[i]!);
      if (rows + next.rows > this.cap || !canBatchTogether(head.inputs, head.outputNames, next.inputs, next.outputNames)) {
        blocked = true;
        break;
      }
      rows += next.rows;
      count++;
      if (this.preferred.has(rows)) preferredCount = count;
    }
    // Waiting cannot make a batch larger once it is full or the next request cannot join it.
    if (rows >= this.cap || blocked) return { kind: 'run', count };
    const delayUs = this.options.maxQueueDelayUs;
    const delayPassed = headWaitedUs >= delayUs;
    if (preferredCount > 0 && !delayPassed) return { kind: 'run', count: preferredCount };
    if (delayPassed) return { kind: 'run', count };
    return { kind: 'wait', waitUs: delayUs - headWaitedUs };
  }
}
