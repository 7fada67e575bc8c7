/**
 * A `Clock` test double: time moves only when the test says so (`advance`), or by a fixed step on
 * every monotonic reading (`stepNs`), so durations measured by the code under test are exact, and
 * timers fire only when `advance` passes their time (in time order), never by themselves.
 */
import type { Clock } from '../../src/core/clock.js';

interface Timer {
  readonly atMs: number;
  readonly callback: () => void;
}

export class FakeClock implements Clock {
  private ms: number;
  private ns = 0n;
  private timers: Timer[] = [];

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

  setTimer(ms: number, callback: () => void): () => void {
    const timer = { atMs: this.ms + ms, callback };
    this.timers.push(timer);
    return () => {
      this.timers = this.timers.filter((t) => t !== timer);
    };
  }

  /** Timers set and not yet fired or cancelled. */
  get pendingTimers(): number {
    return this.timers.length;
  }

  /** Moves time forward by `ms`, firing every timer that falls due, in time order, at its time. */
  advance(ms: number): void {
    const end = this.ms + ms;
    for (;;) {
      const next = this.timers.filter((t) => t.atMs <= end).sort((a, b) => a.atMs - b.atMs)[0];
      if (!next) break;
      this.timers = this.timers.filter((t) => t !== next);
      this.moveTo(next.atMs);
      next.callback();
    }
    this.moveTo(end);
  }

  private moveTo(ms: number): void {
    if (ms <= this.ms) return;
    this.ns += BigInt(ms - this.ms) * 1_000_000n;
    this.ms = ms;
  }
}
