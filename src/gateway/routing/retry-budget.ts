/**
 * A retry budget (as in Finagle / Envoy): retries may add at most `ratio` of the requests seen in
 * a sliding window, plus a small floor so that a quiet gateway can still retry a few. When a whole
 * model is down every request would otherwise double into a retry; the budget caps that, so
 * retries cannot amplify an outage.
 *
 * The window is a ring of buckets (one per `windowMs / buckets`), so recording is O(1) and memory
 * constant. The clock is injectable for tests.
 */

export interface RetryBudgetOptions {
  /** Retries allowed per request in the window. Default 0.2. */
  readonly ratio?: number;
  /** Retries always allowed per window, whatever the traffic. Default 20. */
  readonly minRetriesPerWindow?: number;
  /** Default 10 000 ms. */
  readonly windowMs?: number;
  /** Buckets in the window. Default 10. */
  readonly buckets?: number;
  readonly now?: () => number;
}

export class RetryBudget {
  private readonly ratio: number;
  private readonly floor: number;
  private readonly bucketMs: number;
  private readonly requests: Float64Array;
  private readonly retries: Float64Array;
  private readonly now: () => number;
  /** Index (in bucket units since the epoch) of the newest bucket. */
  private head: number;

  constructor(options: RetryBudgetOptions = {}) {
    this.ratio = options.ratio ?? 0.2;
    this.floor = options.minRetriesPerWindow ?? 20;
    const buckets = options.buckets ?? 10;
    this.bucketMs = (options.windowMs ?? 10_000) / buckets;
    this.requests = new Float64Array(buckets);
    this.retries = new Float64Array(buckets);
    this.now = options.now ?? Date.now;
    this.head = Math.floor(this.now() / this.bucketMs);
  }

  /** Counts one original request (not a retry). */
  recordRequest(): void {
    this.advance();
    const index = this.head % this.requests.length;
    this.requests[index] = (this.requests[index] ?? 0) + 1;
  }

  /** True (and counts the retry) when the budget allows one more retry now. */
  tryAcquireRetry(): boolean {
    this.advance();
    let requests = 0;
    let retries = 0;
    for (let i = 0; i < this.requests.length; i++) {
      requests += this.requests[i] ?? 0;
      retries += this.retries[i] ?? 0;
    }
    if (retries + 1 > this.floor + this.ratio * requests) return false;
    const index = this.head % this.retries.length;
    this.retries[index] = (this.retries[index] ?? 0) + 1;
    return true;
  }

  /** Clears buckets that fell out of the window since the last call. */
  private advance(): void {
    const current = Math.floor(this.now() / this.bucketMs);
    if (current <= this.head) return;
    const stale = Math.min(current - this.head, this.requests.length);
    for (let i = 1; i <= stale; i++) {
      const index = (this.head + i) % this.requests.length;
      this.requests[index] = 0;
      this.retries[index] = 0;
    }
    this.head = current;
  }
}
