/**
 * Drives a `send` function at a fixed concurrency (closed loop: N callers, each sends again as soon
 * as its answer arrives) or at a fixed request rate (open loop: requests leave on a schedule
 * whatever the answers do), through a warm-up and then a measurement window.
 *
 * Only requests that complete inside the window count: throughput is completions per second of the
 * window, latencies are theirs. In rate mode a latency runs from the request's *scheduled* time, so a
 * stalled server is not hidden by a stalled generator (no coordinated omission); a request that
 * would exceed `maxOutstanding` is not sent and counted as skipped.
 */
import { LatencyHistogram } from './latency-histogram.js';

export type LoadMode = { readonly kind: 'concurrency'; readonly concurrency: number } | { readonly kind: 'rate'; readonly perSecond: number; readonly maxOutstanding: number };

export interface LoadOptions {
  readonly mode: LoadMode;
  /** Sends one request; resolves on success, rejects (with a short message) on failure. */
  readonly send: () => Promise<void>;
  readonly warmupMs: number;
  readonly measureMs: number;
  /** Called when the measurement window opens and closes (e.g. to read server statistics). */
  readonly onWindow?: ((edge: 'start' | 'end') => Promise<void> | void) | undefined;
  /** Fraction of the whole run done, 0..1, a few times per second. */
  readonly onProgress?: ((fraction: number) => void) | undefined;
}

export interface LoadResult {
  readonly mode: LoadMode;
  /** Length of the measurement window, in seconds. */
  readonly windowSeconds: number;
  readonly completed: number;
  readonly failed: number;
  /** Rate mode: requests not sent because `maxOutstanding` were already in flight. */
  readonly skipped: number;
  /** Completed requests per second of the window. */
  readonly throughput: number;
  readonly latency: LatencyHistogram;
  /** The distinct failure messages seen in the window, with their counts (at most 10). */
  readonly errors: ReadonlyMap<string, number>;
}

const nowUs = (): number => Number(process.hrtime.bigint() / 1000n);

export async function generateLoad(options: LoadOptions): Promise<LoadResult> {
  const latency = new LatencyHistogram();
  const errors = new Map<string, number>();
  const startUs = nowUs();
  const windowStartUs = startUs + options.warmupMs * 1000;
  const windowEndUs = windowStartUs + options.measureMs * 1000;
  let completed = 0;
  let failed = 0;
  let skipped = 0;

  /** Records one finished request that was sent (or scheduled) at `sentUs`. */
  const finish = (sentUs: number, error: unknown): void => {
    const doneUs = nowUs();
    if (doneUs < windowStartUs || doneUs > windowEndUs) return;
    if (error === undefined) {
      completed++;
      latency.record(doneUs - sentUs);
      return;
    }
    failed++;
    const message = error instanceof Error ? error.message : typeof error === 'string' ? error : 'request failed';
    if (errors.has(message) || errors.size < 10) errors.set(message, (errors.get(message) ?? 0) + 1);
  };

  const progress = options.onProgress ? setInterval(() => options.onProgress?.(Math.min(1, (nowUs() - startUs) / (windowEndUs - startUs))), 200) : undefined;
  const edges = (async () => {
    await sleepUntil(windowStartUs);
    await options.onWindow?.('start');
    await sleepUntil(windowEndUs);
    await options.onWindow?.('end');
  })();

  try {
    if (options.mode.kind === 'concurrency') {
      const caller = async (): Promise<void> => {
        while (nowUs() < windowEndUs) {
          const sentUs = nowUs();
          let error: unknown;
          try {
            await options.send();
          } catch (e) {
            error = e ?? 'failed';
          }
          finish(sentUs, error);
        }
      };
      await Promise.all(Array.from({ length: options.mode.concurrency }, caller));
    } else {
      skipped = await openLoop(options.mode, options.send, startUs, windowStartUs, windowEndUs, finish);
    }
    await edges;
  } finally {
    if (progress) clearInterval(progress);
  }
  options.onProgress?.(1);
  const windowSeconds = options.measureMs / 1000;
  return { mode: options.mode, windowSeconds, completed, failed, skipped, throughput: completed / windowSeconds, latency, errors };
}

/** Sends on a fixed schedule until the window ends; resolves, with the skip count, when every request has finished. */
async function openLoop(
  mode: Extract<LoadMode, { kind: 'rate' }>,
  send: () => Promise<void>,
  startUs: number,
  windowStartUs: number,
  windowEndUs: number,
  finish: (sentUs: number, error: unknown) => void,
): Promise<number> {
  const intervalUs = 1e6 / mode.perSecond;
  const inflight = new Set<Promise<void>>();
  let next = 0;
  let skipped = 0;
  while (true) {
    const now = nowUs();
    if (now >= windowEndUs) break;
    for (let due = startUs + next * intervalUs; due <= now && due < windowEndUs; due = startUs + ++next * intervalUs) {
      if (inflight.size >= mode.maxOutstanding) {
        if (due >= windowStartUs) skipped++;
        continue;
      }
      const scheduledUs = due;
      const request: Promise<void> = send().then(
        () => finish(scheduledUs, undefined),
        (error: unknown) => finish(scheduledUs, error ?? 'failed'),
      );
      inflight.add(request);
      void request.finally(() => inflight.delete(request));
    }
    // Never spin: at rates above 1000/s the requests due within a millisecond leave together.
    const wait = (startUs + next * intervalUs - nowUs()) / 1000;
    await new Promise((r) => setTimeout(r, Math.max(1, Math.floor(wait))));
  }
  await Promise.all(inflight);
  return skipped;
}

function sleepUntil(us: number): Promise<void> {
  const ms = (us - nowUs()) / 1000;
  return ms > 0 ? new Promise((r) => setTimeout(r, Math.ceil(ms))) : Promise.resolve();
}
