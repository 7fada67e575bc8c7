/**
 * Request logs: off by default (a line per request would cost more than many requests do), and
 * when on (`--log-requests-sample-rate R`) a random share R of the requests addressed to known
 * models gets one JSON line with its request id, model, version, outcome and timings.
 */
import type { Logger } from 'pino';
import type { EventChannel } from '../core/index.js';
import type { RequestEvent } from '../serving/index.js';

const NS_PER_MS = 1e6;

/** Validates a sample rate (0..1). */
export function requestSampleRate(value: number): number {
  if (!Number.isFinite(value) || value < 0 || value > 1) throw new RangeError(`the request log sample rate must be between 0 and 1, got ${value}`);
  return value;
}

/** Logs a sampled share of the requests; returns an unsubscribe function (a no-op when the rate is 0). */
export function logSampledRequests(requests: EventChannel<RequestEvent>, logger: Logger, sampleRate: number, random: () => number = Math.random): () => void {
  const rate = requestSampleRate(sampleRate);
  if (rate === 0) return () => {};
  return requests.subscribe((event) => {
    if (random() >= rate) return;
    const common = { requestId: event.requestId, model: event.model, version: event.version, outcome: event.outcome, durationMs: event.totalNs / NS_PER_MS };
    if (event.outcome === 'success') {
      const t = event.timing;
      logger.info({ ...common, queueMs: event.queueNs / NS_PER_MS, computeMs: (t.computeInputNs + t.computeInferNs + t.computeOutputNs) / NS_PER_MS }, 'inference request');
    } else {
      logger.info({ ...common, reason: event.reason }, 'inference request failed');
    }
  });
}
