/**
 * One loaded (or loading, or failed) copy of a model version, with its state machine:
 * LOADING → READY → UNLOADING → UNAVAILABLE("unloaded"), or LOADING → UNAVAILABLE(reason).
 * Requests hold a lease on a READY version; unloading waits until every lease is returned.
 */
import type { LoadedModel, ModelSignature } from '../backends/index.js';
import type { ModelConfig } from '../repository/index.js';
import type { Scheduler } from '../scheduling/index.js';
import type { VersionState } from './inference-service.js';
import { VersionStatistics } from './version-statistics.js';

export interface ReadyParts {
  readonly loaded: LoadedModel;
  readonly config: ModelConfig;
  readonly signature: ModelSignature;
  readonly scheduler: Scheduler;
}

export class ServedVersion {
  state: VersionState = 'LOADING';
  reason: string | undefined;
  readonly stats: VersionStatistics;
  /** Set once READY. */
  parts: ReadyParts | undefined;
  private inflight = 0;
  private idle: (() => void) | undefined;

  constructor(
    readonly model: string,
    readonly version: number,
    /** Identity of the config and model file this copy was loaded from. */
    readonly stamp: string,
    /** The config as the source gave it (completed from the model once loaded). */
    readonly sourceConfig: ModelConfig,
    readonly loadStartedMs = Date.now(),
  ) {
    this.stats = new VersionStatistics(model, version);
  }

  get config(): ModelConfig {
    return this.parts?.config ?? this.sourceConfig;
  }

  acquire(): ReadyParts {
    this.inflight++;
    return this.parts!;
  }

  release(): void {
    this.inflight--;
    if (this.inflight === 0) this.idle?.();
  }

  /** Resolves when no request holds a lease. */
  whenIdle(): Promise<void> {
    if (this.inflight === 0) return Promise.resolve();
    return new Promise((resolve) => (this.idle = resolve));
  }
}
