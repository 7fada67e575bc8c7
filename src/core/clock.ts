/**
 * The one way the serving core reads time, so tests can drive it (a fake clock) instead of
 * sleeping. Two readings, because they answer different questions: wall-clock milliseconds for
 * durations a user reads (load seconds, last inference time) and a monotonic nanosecond counter for
 * request timings (never goes backwards when the system clock is set). Timers go through it too,
 * so a fake clock can fire a queue timeout without the test waiting for it.
 */
export interface Clock {
  /** Milliseconds since the epoch (`Date.now()`). */
  nowMs(): number;
  /** A monotonic counter in nanoseconds (`process.hrtime.bigint()`); only differences mean anything. */
  monotonicNs(): bigint;
  /** Calls `callback` once after `ms` milliseconds (`setTimeout`); returns a function that cancels it. */
  setTimer(ms: number, callback: () => void): () => void;
}

/** The process's real clock. */
export const systemClock: Clock = {
  nowMs: () => Date.now(),
  monotonicNs: () => process.hrtime.bigint(),
  setTimer: (ms, callback) => {
    const timer = setTimeout(callback, ms);
    return () => clearTimeout(timer);
  },
};
