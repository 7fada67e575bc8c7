/**
 * Gateway metrics that complement `gateway/gateway-metrics.ts` (requests, retries, worker health,
 * READY replicas): how long each worker takes to answer a relayed request, and how often the
 * gateway marked a worker down. Latency is observed per attempt on the relay's hot path, so it
 * uses the cached series of `fast-series.ts`.
 */
import type { Registry } from 'prom-client';
import { DURATION_BUCKETS_SECONDS } from './buckets.js';
import { CounterFamily, HistogramFamily, type HistogramSeries } from './fast-series.js';

export class GatewayUpstreamMetrics {
  private readonly latency: HistogramFamily;
  private readonly markedDown: CounterFamily;
  private readonly byNode = new Map<string, HistogramSeries>();

  constructor(registry: Registry) {
    this.latency = new HistogramFamily(
      registry,
      'cranberries_gateway_upstream_duration_seconds',
      'Time from relaying a request to a worker until its answer (or failure), per worker node id.',
      ['node'],
      DURATION_BUCKETS_SECONDS,
    );
    this.markedDown = new CounterFamily(registry, 'cranberries_gateway_worker_marked_down_total', 'Times the gateway marked a worker down after a connection failure.', ['node']);
  }

  /** One relayed attempt to `node` that took `seconds`, whatever its outcome. */
  observeUpstream(node: string, seconds: number): void {
    let series = this.byNode.get(node);
    if (!series) {
      series = this.latency.labels({ node });
      this.byNode.set(node, series);
    }
    series.observe(seconds);
  }

  workerMarkedDown(node: string): void {
    this.markedDown.labels({ node }).inc();
  }
}
