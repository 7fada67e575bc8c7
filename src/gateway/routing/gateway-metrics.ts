/**
 * Prometheus metrics of the gateway (`cranberries_gateway_*`), on the metrics port next to the
 * process metrics: requests relayed per worker and outcome, retries and retry-budget refusals,
 * and gauges read at scrape time — each worker's health and outstanding requests, READY replicas
 * per model version, and whether the endpoint table is stale (the store is unreachable).
 *
 * Per-request counting uses label children cached per (worker, outcome), so the hot path costs a
 * map lookup and an increment.
 */
import { Counter, Gauge, type Registry } from 'prom-client';
import { CounterFamily, type CounterSeries } from '../../metrics/index.js';
import type { Endpoint, EndpointTable } from './endpoint-table.js';
import type { EndpointHealthView, Picker } from './picker.js';
import type { FailureKind, RouterObserver } from './request-router.js';

export interface GatewayMetricsSources {
  readonly table: () => EndpointTable;
  readonly stale: () => boolean;
  readonly health: EndpointHealthView;
  readonly picker: Picker;
}

export class GatewayMetrics implements RouterObserver {
  private readonly upstream: CounterFamily;
  private readonly retries: Counter<'reason'>;
  private readonly budget: Counter;
  private readonly children = new Map<string, CounterSeries>();

  constructor(registry: Registry, sources: GatewayMetricsSources) {
    // Counted on every relayed attempt: a cached series (fast-series.ts) rather than prom-client's label hashing.
    this.upstream = new CounterFamily(
      registry,
      'cranberries_gateway_upstream_requests_total',
      'Requests the gateway sent to a worker, by worker node id and outcome (ok, refused, reset, unavailable).',
      ['node', 'outcome'],
    );
    this.retries = new Counter({
      name: 'cranberries_gateway_retries_total',
      help: 'Requests retried on another replica, by the failure that caused the retry.',
      labelNames: ['reason'],
      registers: [registry],
    });
    this.budget = new Counter({
      name: 'cranberries_gateway_retry_budget_exhausted_total',
      help: 'Retries refused because the retry budget was spent.',
      registers: [registry],
    });
    new Gauge({
      name: 'cranberries_gateway_worker_up',
      help: 'Whether the gateway routes to a worker (1) or has marked it down after a connection failure (0).',
      labelNames: ['node'],
      registers: [registry],
      collect() {
        this.reset();
        for (const endpoint of sources.table().endpoints) this.set({ node: endpoint.nodeId }, sources.health.isUp(endpoint.key) ? 1 : 0);
      },
    });
    new Gauge({
      name: 'cranberries_gateway_outstanding_requests',
      help: 'Requests in flight from the gateway to a worker.',
      labelNames: ['node'],
      registers: [registry],
      collect() {
        this.reset();
        for (const endpoint of sources.table().endpoints) this.set({ node: endpoint.nodeId }, sources.picker.outstanding(endpoint.key));
      },
    });
    new Gauge({
      name: 'cranberries_gateway_ready_replicas',
      help: 'READY replicas per model version in the endpoint table.',
      labelNames: ['model', 'version'],
      registers: [registry],
      collect() {
        this.reset();
        const table = sources.table();
        for (const model of table.models()) {
          for (const version of table.readyVersions(model)) {
            const replicas = table.replicas(model, version);
            this.set({ model, version: String(version) }, replicas.fresh.length + replicas.retained.length);
          }
        }
      },
    });
    new Gauge({
      name: 'cranberries_gateway_table_stale',
      help: '1 while the coordination store cannot be read and the gateway routes from its last known table.',
      registers: [registry],
      collect() {
        this.set(sources.stale() ? 1 : 0);
      },
    });
  }

  attempted(endpoint: Endpoint, outcome: 'ok' | FailureKind): void {
    const key = `${endpoint.nodeId}\u0000${outcome}`;
    let child = this.children.get(key);
    if (!child) {
      child = this.upstream.labels({ node: endpoint.nodeId, outcome });
      this.children.set(key, child);
    }
    child.inc();
  }

  retried(kind: FailureKind): void {
    this.retries.inc({ reason: kind });
  }

  budgetExhausted(): void {
    this.budget.inc();
  }
}
