/**
 * The model manager: keeps what is loaded equal to what the sources aspire to, one model at a time
 * and many models concurrently (TF Serving's AspiredVersionsManager, Triton's model lifecycle).
 *
 * Policy (availability-preserving): a new or changed version is loaded first; the copy it replaces,
 * or a version that is no longer aspired, is unloaded only once a successor is READY. A failed load
 * leaves whatever was serving in place. Unloading drains: no new leases, queued and in-flight
 * requests finish, then the instances are released.
 */
import { existsSync } from 'node:fs';
import { basename } from 'node:path';
import { CranberriesError, asCranberriesError, notFound, unavailable, EventChannel, systemClock, type Clock } from '../core/index.js';
import type { BackendRegistry } from '../backends/index.js';
import type { AspiredModel, AspiredVersion, ModelConfig, ResourceCaps } from '../repository/index.js';
import { completeModelConfig, validateAgainstSignature } from '../repository/index.js';
import { BatchingScheduler, NO_BATCHING, type BatchingOptions, createSequenceScheduler } from '../scheduling/index.js';
import type { ExecutionRecord } from '../scheduling/index.js';
import type { VersionState } from './inference-service.js';
import { ServedVersion } from './served-version.js';
import { runModelWarmup, type WarmupFiles, type WarmupReport } from './model-warmup.js';
import { planTransition } from './transition-plan.js';

export interface VersionStateEvent {
  readonly model: string;
  readonly version: number;
  readonly state: VersionState;
  readonly reason?: string | undefined;
  /** Seconds the load took, on READY. */
  readonly loadSeconds?: number | undefined;
  /** On READY of a model with `model_warmup`: what the warm-up ran. */
  readonly warmup?: WarmupReport | undefined;
}

export interface ExecutionEvent extends ExecutionRecord {
  readonly model: string;
  readonly version: number;
}

export interface ModelManagerOptions {
  readonly backends: BackendRegistry;
  /** Cores to divide among a model's instances for intra-op threads. */
  readonly cores: number;
  /** Limits on what a config may ask for (threads, instances, batch size); absent: none. */
  readonly caps?: ResourceCaps | undefined;
  /** Version loads that may run at once (`--model-load-thread-count`); default `cores`. */
  readonly loadConcurrency?: number | undefined;
  /** Where load durations are read; default the system clock. */
  readonly clock?: Clock | undefined;
}

/** A model's reconciliation finished (whatever its outcome): its state is final until the next change. */
export interface ModelSettledEvent {
  readonly model: string;
  /** Why the model as a whole cannot be served, if so (broken config, no version folder, unloaded). */
  readonly failure: string | undefined;
  /** READY versions that keep serving despite the failure (a refused new config leaves the loaded copy in place). */
  readonly servingVersions: readonly number[];
}

interface ModelEntry {
  aspired: AspiredModel | undefined;
  /** The copy of each version that serves (READY) or last tried (UNAVAILABLE / LOADING). */
  readonly versions: Map<number, ServedVersion>;
  /** Why the model as a whole cannot be served (e.g. its config is broken), if so. */
  failure: string | undefined;
  /** Reconciliations of this model run one after another. */
  queue: Promise<void>;
  /** Reconciliations asked for and not finished yet (0: the model's state is final). */
  pending: number;
}

export class ModelManager {
  readonly stateChanged = new EventChannel<VersionStateEvent>();
  readonly executed = new EventChannel<ExecutionEvent>();
  /** Each finished reconciliation of a model (its versions are READY or UNAVAILABLE, or it has a failure). */
  readonly modelSettled = new EventChannel<ModelSettledEvent>();
  private readonly models = new Map<string, ModelEntry>();
  private readonly retiring = new Set<Promise<void>>();
  private readonly loadSlots: LoadSlots;
  private readonly clock: Clock;

  constructor(private readonly options: ModelManagerOptions) {
    this.clock = options.clock ?? systemClock;
    this.loadSlots = new LoadSlots(Math.max(1, options.loadConcurrency ?? options.cores));
  }

  /**
   * Sets what should be served for `model` (undefined: nothing) and resolves once the model has
   * converged. Calls for one model are applied in order.
   */
  setAspired(model: string, aspired: AspiredModel | undefined): Promise<void> {
    let entry = this.models.get(model);
    if (!entry) {
      if (!aspired) return Promise.resolve();
      entry = { aspired, versions: new Map(), failure: undefined, queue: Promise.resolve(), pending: 0 };
      this.models.set(model, entry);
    }
    entry.aspired = aspired;
    const target = entry;
    target.pending++;
    const done = entry.queue.then(() => this.reconcile(model, target));
    entry.queue = done
      .catch(() => {})
      .finally(() => {
        target.pending--;
        const servingVersions = [...target.versions.values()].filter((v) => v.state === 'READY').map((v) => v.version);
        this.modelSettled.publish({ model, failure: target.failure, servingVersions: servingVersions.sort((a, b) => a - b) });
      });
    return done;
  }

  /** True when the model is known and no change to it is in progress (its state is final for now). */
  isSettled(model: string): boolean {
    const entry = this.models.get(model);
    return entry !== undefined && entry.pending === 0;
  }

  /**
   * True when the model is aspired and every aspired version is READY (a model with no version is not).
   * A refused new config does not change what serves (Triton: a failed reload leaves the loaded model
   * as it was), so then the versions in place decide.
   */
  isReady(model: string): boolean {
    const entry = this.models.get(model);
    return entry?.aspired !== undefined && entryReady(entry);
  }

  /** Names of every model the manager knows (aspired now, or with versions still around). */
  modelNames(): string[] {
    return [...this.models.keys()].sort();
  }

  /** Every known version of a model with its state (empty for unknown models). */
  versions(model: string): readonly ServedVersion[] {
    const entry = this.models.get(model);
    return entry ? [...entry.versions.values()].sort((a, b) => a.version - b.version) : [];
  }

  failure(model: string): string | undefined {
    return this.models.get(model)?.failure;
  }

  isAspired(model: string): boolean {
    return this.models.get(model)?.aspired !== undefined;
  }

  /** True when every aspired version of every aspired model is READY (Triton's strict readiness). */
  allReady(): boolean {
    for (const entry of this.models.values()) if (entry.aspired && !entryReady(entry)) return false;
    return true;
  }

  /**
   * The READY version a request should use: the given one, or the highest READY one.
   * NOT_FOUND for unknown models and versions, UNAVAILABLE for versions that are not READY.
   */
  find(model: string, version?: number): ServedVersion {
    const entry = this.models.get(model);
    if (!entry || (entry.versions.size === 0 && !entry.aspired)) throw notFound(`Request for unknown model: '${model}' is not found`);
    if (version === undefined) {
      const ready = [...entry.versions.values()].filter((v) => v.state === 'READY').sort((a, b) => b.version - a.version)[0];
      if (!ready) {
        const reason = entry.failure ?? [...entry.versions.values()].find((v) => v.reason)?.reason;
        throw unavailable(`Request for model '${model}': no version is ready${reason ? ` (${reason})` : ''}`);
      }
      return ready;
    }
    const served = entry.versions.get(version);
    if (!served) throw notFound(`Request for unknown model: '${model}' version ${version} is not found`);
    if (served.state !== 'READY') {
      throw unavailable(`Request for model '${model}' version ${version}: the version is not at ready state (${served.state}${served.reason ? `: ${served.reason}` : ''})`);
    }
    return served;
  }

  /** Unloads everything; resolves when every instance is released. */
  async stop(): Promise<void> {
    await Promise.all(this.modelNames().map((m) => this.setAspired(m, undefined).catch(() => {})));
    await Promise.all(this.retiring);
  }

  /** Runs the transition plan (`transition-plan.ts`): its loads first, then its settling actions. */
  private async reconcile(model: string, entry: ModelEntry): Promise<void> {
    const aspired = entry.aspired;
    const caps = this.options.caps;
    let plan = planTransition({ model, aspired, index: [...entry.versions.values()], failure: entry.failure, caps });
    entry.failure = plan.failure;
    const loads = plan.actions.filter((a) => a.kind === 'load');
    const attempts: ServedVersion[] = [];
    if (aspired?.ok && loads.length > 0) {
      const loaded = await Promise.all(
        loads.map((a) =>
          this.load(
            model,
            aspired.versions.find((v) => v.version === a.version)!,
            aspired.config,
            a.stamp,
            entry,
            aspired.files,
          ),
        ),
      );
      // A copy that did not enter the index waits there for the plan's verdict (promote or keep).
      for (const fresh of loaded) if (entry.versions.get(fresh.version) !== fresh) attempts.push(fresh);
      plan = planTransition({ model, aspired, index: [...entry.versions.values()], attempts, failure: entry.failure, caps });
      entry.failure = plan.failure;
    }
    // Every copy the plan may name, looked up before promotions change the index.
    const copies = [...entry.versions.values(), ...attempts];
    const copyOf = (version: number, stamp: string): ServedVersion | undefined => copies.find((c) => c.version === version && c.stamp === stamp);
    const retirements: Promise<void>[] = [];
    for (const action of plan.actions) {
      const copy = copyOf(action.version, action.stamp);
      if (!copy) continue;
      if (action.kind === 'promote') entry.versions.set(copy.version, copy);
      else if (action.kind === 'keep') copy.reason = action.reason;
      else if (action.kind === 'unload') retirements.push(this.retire(entry, copy));
    }
    await Promise.all(retirements);
    if (plan.error) throw new CranberriesError('INVALID_ARGUMENT', plan.error);
  }

  private async load(model: string, aspired: AspiredVersion, config: ModelConfig, stamp: string, entry: ModelEntry, files?: WarmupFiles): Promise<ServedVersion> {
    const served = new ServedVersion(model, aspired.version, stamp, config, this.clock.nowMs());
    if (!entry.versions.has(aspired.version)) entry.versions.set(aspired.version, served);
    this.publish(served);
    const label = `${model}/${aspired.version}`;
    let warmup: WarmupReport | undefined;
    const releaseSlot = await this.loadSlots.acquire();
    try {
      const backend = this.options.backends.find(config);
      if (!backend) throw new CranberriesError('INVALID_ARGUMENT', `no backend serves platform '${config.platform}' / backend '${config.backend}'`);
      if (aspired.refused !== undefined) throw new CranberriesError('INVALID_ARGUMENT', aspired.refused);
      if (backend.needsModelFile !== false && !existsSync(aspired.modelPath)) throw new CranberriesError('INVALID_ARGUMENT', `model file ${aspired.version}/${basename(aspired.modelPath)} not found`);
      const instances = Math.max(
        1,
        config.instance_group.reduce((sum, g) => sum + g.count, 0),
      );
      const loaded = await backend.load({
        label,
        modelPath: aspired.modelPath,
        config,
        intraOpThreads: Math.max(1, Math.floor(this.options.cores / instances)),
      });
      try {
        const complete = completeModelConfig(config, loaded.signature);
        addBackendParameters(complete, loaded.parameters);
        validateAgainstSignature(complete, loaded.signature, model);
        // Triton's model_warmup: every instance runs the samples before the version is READY.
        warmup = await runModelWarmup(complete, loaded.instances, files);
        const onExecution = (record: ExecutionRecord): void => {
          served.stats.recordExecution(record);
          this.executed.publish({ ...record, model, version: aspired.version });
        };
        const scheduler =
          createSequenceScheduler(loaded.instances, complete, loaded.signature, onExecution) ?? new BatchingScheduler(loaded.instances, batchingOptions(complete), onExecution, this.clock);
        served.parts = { loaded, config: complete, signature: loaded.signature, scheduler };
        served.state = 'READY';
        served.reason = undefined;
      } catch (error) {
        await loaded.unload();
        throw error;
      }
    } catch (error) {
      served.state = 'UNAVAILABLE';
      served.reason = asCranberriesError(error).message;
    } finally {
      releaseSlot();
    }
    this.publish(served, served.state === 'READY' ? (this.clock.nowMs() - served.loadStartedMs) / 1000 : undefined, warmup);
    return served;
  }

  /** Takes a copy out of service: no new leases, drain, release. */
  private retire(entry: ModelEntry, served: ServedVersion): Promise<void> {
    if (entry.versions.get(served.version) === served) entry.versions.delete(served.version);
    if (served.state !== 'READY') return Promise.resolve();
    served.state = 'UNLOADING';
    this.publish(served);
    const work = (async () => {
      const parts = served.parts!;
      await parts.scheduler.drain();
      await served.whenIdle();
      await parts.loaded.unload();
      served.state = 'UNAVAILABLE';
      served.reason = 'unloaded';
      served.parts = undefined;
      this.publish(served);
    })();
    this.retiring.add(work);
    void work.finally(() => this.retiring.delete(work));
    return work;
  }

  private publish(served: ServedVersion, loadSeconds?: number, warmup?: WarmupReport): void {
    this.stateChanged.publish({ model: served.model, version: served.version, state: served.state, reason: served.reason, loadSeconds, ...(warmup ? { warmup } : {}) });
  }
}

/** A counting semaphore: at most `size` version loads at once, the others wait in order. */
class LoadSlots {
  private free: number;
  private readonly waiting: (() => void)[] = [];

  constructor(size: number) {
    this.free = size;
  }

  async acquire(): Promise<() => void> {
    if (this.free > 0) this.free--;
    else await new Promise<void>((resolve) => this.waiting.push(resolve));
    let released = false;
    return () => {
      if (released) return;
      released = true;
      const next = this.waiting.shift();
      if (next) next();
      else this.free++;
    };
  }
}

/**
 * The scheduler's options from `max_batch_size` and `dynamic_batching`. The queue policy applies
 * whenever `dynamic_batching` is present, even at `max_batch_size: 1` where nothing is joined.
 */
export function batchingOptions(config: ModelConfig): BatchingOptions {
  const dynamic = config.dynamic_batching;
  if (!dynamic) return { ...NO_BATCHING, maxBatchRows: config.max_batch_size };
  const queue = dynamic.default_queue_policy;
  return {
    maxBatchRows: config.max_batch_size,
    dynamic: config.max_batch_size > 1,
    preferredBatchRows: dynamic.preferred_batch_size,
    maxQueueDelayUs: dynamic.max_queue_delay_microseconds,
    maxQueueSize: queue?.max_queue_size ?? 0,
    defaultTimeoutUs: queue?.default_timeout_microseconds ?? 0,
    allowTimeoutOverride: queue?.allow_timeout_override ?? false,
    timeoutAction: queue?.timeout_action ?? 'REJECT',
    preserveOrdering: dynamic.preserve_ordering,
  };
}

function entryReady(entry: ModelEntry): boolean {
  const aspired = entry.aspired;
  if (!aspired) return false;
  if (!aspired.ok) return entry.versions.size > 0 && [...entry.versions.values()].every((v) => v.state === 'READY');
  return aspired.versions.length > 0 && aspired.versions.every((v) => entry.versions.get(v.version)?.state === 'READY');
}

/** Adds the facts a backend reports about the loaded version to the served config's `parameters`. */
function addBackendParameters(config: ModelConfig, facts: Readonly<Record<string, string>> | undefined): void {
  for (const [key, value] of Object.entries(facts ?? {})) config.parameters[key] = { string_value: value };
}
