/**
 * A `Clock` test double: time moves only when the test says so (`advance`), or by a fixed step on
 * every monotonic reading (`stepNs`), so durations measured by the code under test are exact.
 */
import type { Clock } from '../../src/core/clock.js';

export class FakeClock implements Clock {
  private ms: number;
  private ns = 0n;

  constructor(
    startMs = 1_700_000_000_000,
    /** Added to the monotonic counter after each reading (0: it moves only with `advance`). */
    private readonly stepNs = 0n,
  ) {
    this.ms = startMs;
  }

  nowMs(): number {
    return this.ms;
  }

  monotonicNs(): bigint {
    const now = this.ns;
    this.ns += this.stepNs;
    return now;
  }

  advance(ms: number): void {
    this.ms += ms;
    this.ns += BigInt(ms) * 1_000_000n;
  }
}
