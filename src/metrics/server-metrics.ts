/**
 * Everything a model server exports on `/metrics`, wired in one call: process metrics
 * (prom-client's defaults: CPU, RSS, heap, event-loop lag, GC), per request and execution
 * metrics (`inference-metrics.ts`) and per version state, queue, cache, load and memory figures
 * (`model-metrics.ts`). Cluster components add their own modules to the same registry.
 */
import { collectDefaultMetrics, type Registry } from 'prom-client';
import type { EventChannel } from '../core/index.js';
import type { RequestEvent, ExecutionEvent } from '../serving/index.js';
import { InferenceMetrics } from './inference-metrics.js';
import { LoadMemoryProbe } from './model-memory.js';
import { ModelMetrics, type ManagedModels } from './model-metrics.js';

export interface ServerMetricsSources {
  readonly core: { readonly requestCompleted: EventChannel<RequestEvent> };
  readonly manager: ManagedModels & { readonly executed: EventChannel<ExecutionEvent> };
}

export interface ServerMetrics {
  readonly memory: LoadMemoryProbe;
  /** Stops listening to the core and the manager. */
  close(): void;
}

/**
 * Process metrics under their conventional names (`process_resident_memory_bytes`,
 * `nodejs_heap_size_used_bytes`, `nodejs_eventloop_lag_p99_seconds`, ...), so stock Node.js
 * dashboards work unchanged. Once per registry.
 */
export function collectProcessMetrics(registry: Registry): void {
  collectDefaultMetrics({ register: registry });
}

export function createServerMetrics(registry: Registry, sources: ServerMetricsSources): ServerMetrics {
  collectProcessMetrics(registry);
  const memory = new LoadMemoryProbe(sources.manager.stateChanged);
  const inference = new InferenceMetrics(registry);
  const detach = inference.attach({ requestCompleted: sources.core.requestCompleted, executed: sources.manager.executed, stateChanged: sources.manager.stateChanged });
  const models = new ModelMetrics(registry, sources.manager, memory);
  return {
    memory,
    close(): void {
      detach();
      models.close();
      memory.close();
    },
  };
}
