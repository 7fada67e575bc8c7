/**
 * Per model version figures read from the model manager when metrics are collected (a scrape or a
 * Graphite tick), never on the request path: the state of each version, queue depth, response
 * cache hits and misses, load time and measured memory.
 *
 * Cache counts live in `VersionStatistics` (the statistics API's source); each collection adds
 * what they grew since the previous one, so the counters stay monotonic when a version is
 * reloaded (its statistics start again at zero).
 */
import { Counter, Gauge, type Registry } from 'prom-client';
import type { EventChannel } from '../core/index.js';
import type { VersionState, VersionStateEvent, ServedVersion, VersionStatistics } from '../serving/index.js';
import type { LoadMemoryProbe } from './model-memory.js';

export const VERSION_STATES: readonly VersionState[] = ['LOADING', 'READY', 'UNLOADING', 'UNAVAILABLE'];

/** What this module reads from the model manager. */
export interface ManagedModels {
  modelNames(): readonly string[];
  versions(model: string): readonly ServedVersion[];
  readonly stateChanged: EventChannel<VersionStateEvent>;
}

type ModelLabel = 'model' | 'version';
type ModelLabels = Record<ModelLabel, string>;

export class ModelMetrics {
  private readonly unsubscribe: () => void;

  constructor(
    registry: Registry,
    private readonly manager: ManagedModels,
    private readonly memory?: LoadMemoryProbe,
  ) {
    this.scrapeGauge<ModelLabel | 'state'>(
      registry,
      'cranberries_model_state',
      'State of each model version known to the server: 1 for its current state, 0 for the others.',
      ['model', 'version', 'state'],
      (gauge) =>
        this.forEachVersion((labels, served) => {
          for (const state of VERSION_STATES) gauge.set({ ...labels, state }, served.state === state ? 1 : 0);
        }),
    );
    this.scrapeGauge<ModelLabel>(registry, 'cranberries_queue_depth', 'Requests received by a READY model version and not yet executing.', ['model', 'version'], (gauge) =>
      this.forEachVersion((labels, served) => {
        if (served.state === 'READY' && served.parts) gauge.set(labels, served.parts.scheduler.queueDepth);
      }),
    );
    this.scrapeGauge<ModelLabel>(
      registry,
      'cranberries_model_memory_bytes',
      'Memory a READY model version added to the process when it loaded (RSS growth across a load that overlapped no other load or unload); absent when unknown.',
      ['model', 'version'],
      (gauge) =>
        this.forEachVersion((labels, served) => {
          const bytes = served.state === 'READY' ? this.memory?.bytes(served.model, served.version) : undefined;
          if (bytes !== undefined) gauge.set(labels, bytes);
        }),
    );
    this.cacheCounter(registry, 'cranberries_cache_hits_total', 'Requests answered from the response cache.', (stats) => stats.cacheHit.count);
    this.cacheCounter(registry, 'cranberries_cache_misses_total', 'Response cache lookups that found nothing (the request then ran on the model).', (stats) => stats.cacheMiss.count);
    const loadDuration = new Gauge<ModelLabel>({
      name: 'cranberries_model_load_duration_seconds',
      help: 'How long the last successful load of a model version took.',
      labelNames: ['model', 'version'],
      registers: [registry],
    });
    this.unsubscribe = manager.stateChanged.subscribe((event) => {
      if (event.state === 'READY' && event.loadSeconds !== undefined) {
        loadDuration.set({ model: event.model, version: String(event.version) }, event.loadSeconds);
      }
    });
  }

  close(): void {
    this.unsubscribe();
  }

  private forEachVersion(visit: (labels: ModelLabels, served: ServedVersion) => void): void {
    for (const model of this.manager.modelNames()) {
      for (const served of this.manager.versions(model)) visit({ model, version: String(served.version) }, served);
    }
  }

  /** A gauge whose series are rebuilt from scratch by `fill` at every collection. */
  private scrapeGauge<L extends string>(registry: Registry, name: string, help: string, labelNames: L[], fill: (gauge: Gauge<L>) => void): void {
    const gauge: Gauge<L> = new Gauge<L>({
      name,
      help,
      labelNames,
      registers: [registry],
      collect: () => {
        gauge.reset();
        fill(gauge);
      },
    });
  }

  /** A counter that, when collected, adds what each version's count grew by since the last collection. */
  private cacheCounter(registry: Registry, name: string, help: string, read: (stats: VersionStatistics) => number): void {
    const seen = new WeakMap<ServedVersion, number>();
    const counter: Counter<ModelLabel> = new Counter<ModelLabel>({
      name,
      help,
      labelNames: ['model', 'version'],
      registers: [registry],
      collect: () =>
        this.forEachVersion((labels, served) => {
          const now = read(served.stats);
          counter.inc(labels, Math.max(0, now - (seen.get(served) ?? 0)));
          seen.set(served, now);
        }),
    });
  }
}
