/**
 * Metrics of a cluster worker's membership (next to the model server's own metrics on the same
 * registry): how many models it is assigned, whether it is registered in the coordination store,
 * and how often it had to register again (each new session, e.g. after an expiry).
 */
import { Counter, Gauge, type Registry } from 'prom-client';

export interface WorkerMetricsSources {
  /** Models the worker's current assignment names. */
  readonly assignedModels: () => number;
  /** True while its `nodes/<id>` entry exists for the current session. */
  readonly registered: () => boolean;
}

export class WorkerMetrics {
  private readonly registrations: Counter;
  private readonly statusPublishes: Counter<'outcome'>;

  constructor(registry: Registry, sources: WorkerMetricsSources) {
    const registers = [registry];
    const assigned: Gauge = new Gauge({
      name: 'cranberries_worker_assigned_models',
      help: 'Models this worker is assigned by the controller.',
      registers,
      collect: () => assigned.set(sources.assignedModels()),
    });
    const registered: Gauge = new Gauge({
      name: 'cranberries_worker_registered',
      help: '1 while this worker is registered in the coordination store (gateways route to it), else 0.',
      registers,
      collect: () => registered.set(sources.registered() ? 1 : 0),
    });
    this.registrations = new Counter({ name: 'cranberries_worker_registrations_total', help: 'Times this worker registered itself (once per coordination session).', registers });
    this.statusPublishes = new Counter({
      name: 'cranberries_worker_status_publishes_total',
      help: 'Writes of this worker’s model status to the coordination store, by outcome.',
      labelNames: ['outcome'],
      registers,
    });
    for (const outcome of ['ok', 'failed']) this.statusPublishes.inc({ outcome }, 0);
  }

  registeredOnce(): void {
    this.registrations.inc();
  }

  statusPublished(ok: boolean): void {
    this.statusPublishes.inc({ outcome: ok ? 'ok' : 'failed' });
  }
}
