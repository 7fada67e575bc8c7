/**
 * Preloaded into the server under test (`node --import <this> dist/src/cli/main.js serve`): samples
 * the main thread's event-loop delay with `perf_hooks.monitorEventLoopDelay` at 1 ms resolution and
 * answers the benchmark over the IPC channel. Reported delays are the time a 1 ms timer fired late. It adds no code to the server itself, and the IPC
 * channel is unref'd so it never keeps the server alive.
 */
import { monitorEventLoopDelay } from 'node:perf_hooks';

export type ProbeRequest = { readonly kind: 'reset' } | { readonly kind: 'read' };

export interface EventLoopReading {
  readonly samples: number;
  readonly meanMs: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
  readonly maxMs: number;
}

/** Sampling interval, ms. The histogram records whole intervals between samples; the delay is the excess. */
const RESOLUTION_MS = 1;

if (process.send) {
  const histogram = monitorEventLoopDelay({ resolution: RESOLUTION_MS });
  histogram.enable();
  const ms = (ns: number): number => Math.max(0, ns / 1e6 - RESOLUTION_MS);
  process.on('message', (request: ProbeRequest) => {
    if (request.kind === 'reset') histogram.reset();
    const reading: EventLoopReading = {
      samples: histogram.count,
      meanMs: ms(histogram.mean || 0),
      p50Ms: ms(histogram.percentile(50) || 0),
      p99Ms: ms(histogram.percentile(99) || 0),
      maxMs: ms(histogram.max || 0),
    };
    process.send?.(reading);
  });
  process.channel?.unref();
}
