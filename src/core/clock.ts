/**
 * The one way the serving core reads time, so tests can drive it (a fake clock) instead of
 * sleeping. Two readings, because they answer different questions: wall-clock milliseconds for
 * durations a user reads (load seconds, last inference time) and a monotonic nanosecond counter for
 * request timings (never goes backwards when the system clock is set).
 */
export interface Clock {
  /** Milliseconds since the epoch (`Date.now()`). */
  nowMs(): number;
  /** A monotonic counter in nanoseconds (`process.hrtime.bigint()`); only differences mean anything. */
  monotonicNs(): bigint;
}

/** The process's real clock. */
export const systemClock: Clock = {
  nowMs: () => Date.now(),
  monotonicNs: () => process.hrtime.bigint(),
};
