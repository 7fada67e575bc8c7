/**
 * Long synchronous work in slices: the controller's process also serves its store session, its
 * election and (in `cranberries serve`) a model server, so no part of a placement round may hold
 * the event loop for long. Work runs until a slice has taken `sliceMs`, then returns to the event
 * loop through `setImmediate` (timers and I/O run in between) and continues.
 */
import { setImmediate as setImmediatePromise } from 'node:timers/promises';

export interface SliceOptions {
  /** Synchronous work between two returns to the event loop, at most about this long. Default 4 ms. */
  readonly sliceMs?: number;
  /** Lets the event loop run; default `setImmediate`. */
  readonly yieldToLoop?: () => Promise<unknown>;
}

export const DEFAULT_SLICE_MS = 4;

/** Runs `steps` to its end, pausing where it yields once a slice has run `sliceMs`; resolves to its return value. */
export async function runInSlices<R>(steps: Generator<void, R, void>, options: SliceOptions = {}): Promise<R> {
  const sliceMs = options.sliceMs ?? DEFAULT_SLICE_MS;
  const yieldToLoop = options.yieldToLoop ?? (() => setImmediatePromise());
  let sliceStart = performance.now();
  for (;;) {
    const step = steps.next();
    if (step.done) return step.value;
    if (performance.now() - sliceStart < sliceMs) continue;
    await yieldToLoop();
    sliceStart = performance.now();
  }
}

/** Runs a generator to its end at once (what `runInSlices` does without pausing). */
export function runAtOnce<R>(steps: Generator<void, R, void>): R {
  for (;;) {
    const step = steps.next();
    if (step.done) return step.value;
  }
}

/** Calls `fn` on each item, in order, in slices. */
export function forEachInSlices<T>(items: Iterable<T>, fn: (item: T) => void, options: SliceOptions = {}): Promise<void> {
  return runInSlices(
    (function* () {
      for (const item of items) {
        fn(item);
        yield;
      }
    })(),
    options,
  );
}

/** Lets the event loop run once (timers and I/O), then resolves. */
export function yieldToEventLoop(): Promise<void> {
  return setImmediatePromise();
}
