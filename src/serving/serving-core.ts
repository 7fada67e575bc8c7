/**
 * The InferenceService every protocol adapter calls, implemented over the model manager and the
 * model repository. This is where a request becomes a lease, a validated and scheduled execution,
 * statistics, and an answer.
 */
import { realpathSync } from 'node:fs';
import { join } from 'node:path';
import { CranberriesError, asCranberriesError, invalidArgument, notFound, type FailureReason } from '../core/errors.js';
import { EventChannel } from '../core/events.js';
import { scrubServerPaths } from '../core/server-paths.js';
import type { ExecutionTiming } from '../backends/backend.js';
import { readModelFolder, type ModelRepository } from '../repository/model-repository.js';
import { checkModelName } from '../repository/model-names.js';
import { OverrideFolders } from './override-folders.js';
import type { ModelConfig } from '../repository/model-config.js';
import type { TensorSignature } from '../backends/backend.js';
import { dataTypeFromConfig } from '../tensors/data-type.js';
import type { InferenceRequest, InferenceResponse } from './inference.js';
import type {
  InferenceService,
  LoadModelOptions,
  ModelIndexEntry,
  ModelMetadata,
  ModelStatistics,
  RequestContext,
  ServerMetadata,
  TfServingExtensions,
  VersionStatus,
} from './inference-service.js';
import type { ModelManager } from './model-manager.js';
import type { ResponseCache } from './response-cache.js';
import { finishOutputs, prepareRequest } from './request-preparation.js';
import { sequenceRequestFlags } from './sequence-request.js';
import type { ServedVersion } from './served-version.js';
import { readLabels } from './labels.js';
import { VersionLabels } from './version-labels.js';
import type { ModelConfigListEntry } from '../repository/model-config-list.js';
import type { Tracer } from '../tracing/tracer.js';

export type ModelControlMode = 'none' | 'poll' | 'explicit';

const NO_TIMING: ExecutionTiming = { computeInputNs: 0, computeInferNs: 0, computeOutputNs: 0 };

/**
 * Published once per inference request addressed to a model the server knows, including requests
 * that failed before they could run (see `recordRejected`). A failure's `version` is the one asked
 * for, else the model's default version, and undefined only when the model has no version at all.
 */
export type RequestEvent =
  | {
      readonly model: string;
      readonly version: number;
      readonly requestId?: string | undefined;
      readonly outcome: 'success';
      /** Answered from the response cache: no queue, no execution. */
      readonly cacheHit?: boolean | undefined;
      readonly totalNs: number;
      readonly queueNs: number;
      readonly timing: ExecutionTiming;
    }
  | {
      readonly model: string;
      readonly version: number | undefined;
      readonly requestId?: string | undefined;
      readonly outcome: 'failure';
      readonly reason: FailureReason;
      readonly totalNs: number;
    };

export interface ServingCoreOptions {
  readonly manager: ModelManager;
  readonly repository: ModelRepository;
  readonly controlMode: ModelControlMode;
  readonly metadata: ServerMetadata;
  readonly modelFilename: (config: ModelConfig) => string | undefined;
  /** Version labels; default: a registry whose labels need READY targets. */
  readonly versionLabels?: VersionLabels | undefined;
  /** Applies model lists at run time (TF Serving's HandleReloadConfigRequest); absent: reloads are refused. */
  readonly modelConfigList?: { apply(models: readonly ModelConfigListEntry[]): Promise<void> } | undefined;
  /** Why model lists are refused when `modelConfigList` is absent (names the flags that would allow them). */
  readonly modelConfigListRefusal?: string | undefined;
  /** Folder of a model served from outside the repository (a model list's base_path), for its label files. */
  readonly modelDirectory?: ((model: string) => string | undefined) | undefined;
  /** Server-wide response cache (`--cache-size-mb`); used for models with `response_cache { enable: true }`. */
  readonly responseCache?: ResponseCache | undefined;
  /** Server readiness (startup settled, strict readiness); default: every aspired model is READY. */
  readonly readiness?: (() => boolean) | undefined;
  /** The index's reason for a repository model this server has not been asked to serve. */
  readonly notServedReason?: ((model: string) => string) | undefined;
  /** Request tracing (`--trace-config`, the trace extension); absent: nothing is traced. */
  readonly tracer?: Tracer | undefined;
}

export class ServingCore implements InferenceService, TfServingExtensions {
  readonly versionLabelRegistry: VersionLabels;
  readonly requestCompleted = new EventChannel<RequestEvent>();
  private readonly manager: ModelManager;
  private readonly labels = new WeakMap<ServedVersion, ReadonlyMap<string, readonly string[]>>();
  /** The load API's override folders, and which of them each model may still be served from. */
  private readonly overrideFolders = new OverrideFolders();
  private readonly overrides = new Map<string, Set<string>>();
  /** Override folders whose load is still under way (nothing may be served from them yet). */
  private readonly overridesLoading = new Set<string>();
  /** Failures already published, so an adapter reporting the same error again does not count it twice. */
  private readonly counted = new WeakSet<object>();
  private stopping = false;
  readonly tracer: Tracer | undefined;

  constructor(private readonly options: ServingCoreOptions) {
    this.manager = options.manager;
    this.tracer = options.tracer;
    this.versionLabelRegistry = options.versionLabels ?? new VersionLabels({ isReady: (m, v) => this.modelReady(m, v) });
    options.responseCache?.followVersions(options.manager.stateChanged);
  }

  live(): boolean {
    return !this.stopping;
  }

  ready(): boolean {
    return !this.stopping && (this.options.readiness ? this.options.readiness() : this.manager.allReady());
  }

  serverMetadata(): ServerMetadata {
    return this.options.metadata;
  }

  modelReady(model: string, version?: number): boolean {
    try {
      const served = this.manager.find(model, version);
      // Loaded, but its instances are down (a crashed Python stub restarting): not ready meanwhile.
      return served.parts?.loaded.unavailableReason?.() === undefined;
    } catch {
      return false;
    }
  }

  modelMetadata(model: string, version?: number): ModelMetadata {
    const served = this.manager.find(model, version);
    const config = served.config;
    const shapeOf = (dims: readonly number[]): number[] => (config.max_batch_size > 0 ? [-1, ...dims] : [...dims]);
    const signature = (tensors: readonly { name: string; data_type: string; dims: number[] }[]): TensorSignature[] =>
      tensors.map((t) => ({ name: t.name, datatype: dataTypeFromConfig(t.data_type) ?? 'BYTES', shape: shapeOf(t.dims) }));
    const versions = version !== undefined ? [String(version)] : this.manager.versions(model).filter((v) => v.state === 'READY').map((v) => String(v.version));
    return {
      name: model,
      versions,
      platform: config.platform || config.backend,
      inputs: signature(config.input),
      outputs: signature(config.output),
    };
  }

  modelConfig(model: string, version?: number): ModelConfig {
    return this.manager.find(model, version).config;
  }

  async infer(request: InferenceRequest, context?: RequestContext): Promise<InferenceResponse> {
    const started = process.hrtime.bigint();
    const requestId = context?.requestId ?? request.id;
    const trace = context?.trace;
    trace?.stamp('REQUEST_START', started);
    let served: ServedVersion;
    try {
      served = this.manager.find(request.model, request.version);
    } catch (error) {
      this.publishRejection(request.model, request.version, error, requestId, Number(process.hrtime.bigint() - started));
      trace?.stamp('REQUEST_END');
      throw error;
    }
    trace?.identify(served.version, request.id);
    const parts = served.acquire();
    try {
      const prepared = prepareRequest(request, parts.config);
      // A cache hit skips the queue and the model entirely.
      const sequence = sequenceRequestFlags(parts.config, request);
      const cached = parts.config.response_cache?.enable && !sequence ? this.options.responseCache?.lookup(served, prepared.inputs, prepared.outputs) : undefined;
      if (cached?.hit) {
        const totalNs = Number(process.hrtime.bigint() - started);
        served.stats.recordCacheHit(totalNs);
        this.requestCompleted.publish({ model: served.model, version: served.version, requestId, outcome: 'success', cacheHit: true, totalNs, queueNs: 0, timing: NO_TIMING });
        return { model: request.model, version: served.version, id: request.id, outputs: cached.outputs };
      }
      trace?.stamp('QUEUE_START');
      if (trace?.wantsTensors) trace.tensors('TENSOR_QUEUE_INPUT', prepared.inputs);
      const result = await parts.scheduler.submit({
        inputs: prepared.inputs,
        outputNames: prepared.outputNames,
        rows: prepared.rows,
        timeoutUs: timeoutParameter(request),
        signal: context?.signal,
        sequence,
      });
      if (trace && result.executionStartNs !== undefined && result.executionEndNs !== undefined) {
        trace.compute(result.executionStartNs, result.executionEndNs, result.timing);
      }
      if (trace?.wantsTensors) trace.tensors('TENSOR_BACKEND_OUTPUT', result.outputs);
      const outputs = finishOutputs(result.outputs, prepared, parts.config, this.labelsOf(served));
      if (cached) served.stats.recordCacheMiss(cached.lookupNs + cached.store(outputs));
      const totalNs = Number(process.hrtime.bigint() - started);
      served.stats.recordSuccess(totalNs, result.queueNs, result.timing);
      this.requestCompleted.publish({ model: served.model, version: served.version, requestId, outcome: 'success', totalNs, queueNs: result.queueNs, timing: result.timing });
      return { model: request.model, version: served.version, id: request.id, outputs };
    } catch (error) {
      const failure = asCranberriesError(error);
      const totalNs = Number(process.hrtime.bigint() - started);
      served.stats.recordFailure(totalNs);
      this.counted.add(failure);
      this.requestCompleted.publish({ model: served.model, version: served.version, requestId, outcome: 'failure', reason: failure.reason, totalNs });
      throw failure;
    } finally {
      served.release();
      trace?.stamp('REQUEST_END');
    }
  }

  async repositoryIndex(readyOnly: boolean): Promise<readonly ModelIndexEntry[]> {
    const names = new Set([...(await this.options.repository.list().catch(() => [])), ...this.manager.modelNames()]);
    const entries: ModelIndexEntry[] = [];
    for (const name of [...names].sort()) {
      const versions = this.manager.versions(name);
      const failure = this.manager.failure(name);
      if (versions.length === 0) {
        if (!readyOnly) entries.push({ name, state: 'UNAVAILABLE', reason: scrubServerPaths(failure ?? this.notServedReason(name)) });
        continue;
      }
      for (const v of versions) {
        if (readyOnly && v.state !== 'READY') continue;
        const down = v.state === 'READY' ? v.parts?.loaded.unavailableReason?.() : undefined;
        const reason = down ?? v.reason ?? (v.state === 'READY' ? failure : undefined);
        entries.push({ name, version: String(v.version), state: down !== undefined ? 'UNAVAILABLE' : v.state, ...(reason ? { reason: scrubServerPaths(reason) } : {}) });
      }
    }
    return entries;
  }

  async loadModel(model: string, options?: LoadModelOptions): Promise<void> {
    this.requireExplicitMode();
    checkModelName(model);
    if (options?.files && options.files.size > 0) {
      if (options.config === undefined) throw invalidArgument(`loading model '${model}' with file overrides needs a "config" parameter`);
      await this.loadOverride(model, options.config, options.files);
      return;
    }
    if (!(await this.options.repository.exists(model))) throw notFound(`failed to load '${model}': no model folder '${model}' in the repository`);
    const aspired = await this.options.repository.read(model, options?.config);
    if (!aspired.ok) {
      await this.manager.setAspired(model, aspired);
      throw invalidArgument(`failed to load '${model}': ${aspired.reason}`);
    }
    await this.manager.setAspired(model, aspired);
  }

  async unloadModel(model: string): Promise<void> {
    this.requireExplicitMode();
    checkModelName(model);
    if (!this.manager.isAspired(model) && this.manager.versions(model).length === 0 && !(await this.options.repository.exists(model))) {
      throw notFound(`failed to unload '${model}': unknown model`);
    }
    try {
      await this.manager.setAspired(model, undefined);
    } finally {
      await this.pruneOverrides(model);
    }
  }

  /** Called once the models are unloaded on shutdown: deletes every override folder. */
  async close(): Promise<void> {
    this.overrides.clear();
    await this.overrideFolders.removeAll();
  }

  modelStatistics(model?: string, version?: number): readonly ModelStatistics[] {
    if (model === undefined) return this.manager.modelNames().flatMap((m) => this.readyStatistics(m));
    if (version !== undefined) return [this.manager.find(model, version).stats.snapshot()];
    const stats = this.readyStatistics(model);
    if (stats.length === 0 && this.manager.versions(model).length === 0) throw notFound(`Request for unknown model: '${model}' is not found`);
    return stats;
  }

  /**
   * Counts a request for `model` that failed before `infer` could run it (e.g. its body could not be
   * decoded). Protocol adapters call it in their error path (`InferenceService.recordRejected`).
   * Requests for unknown models are not counted, and an error `infer` already counted is ignored.
   */
  recordRejected(model: string, version: number | undefined, error: unknown, requestId?: string): void {
    this.publishRejection(model, version, error, requestId, 0);
  }

  /** Called on shutdown: readiness turns false at once so load balancers stop sending traffic. */
  beginStopping(): void {
    this.stopping = true;
  }

  private publishRejection(model: string, version: number | undefined, error: unknown, requestId: string | undefined, totalNs: number): void {
    if (typeof error === 'object' && error !== null) {
      if (this.counted.has(error)) return;
      this.counted.add(error);
    }
    const versions = this.manager.versions(model);
    if (versions.length === 0 && !this.manager.isAspired(model)) return;
    // The version the request was for: the one named, else the one that would have served it.
    const fallback = versions.filter((v) => v.state === 'READY').at(-1) ?? versions.at(-1);
    const reason = asCranberriesError(error).reason;
    this.requestCompleted.publish({ model, version: version ?? fallback?.version, requestId, outcome: 'failure', reason, totalNs });
  }

  // TF Serving extensions: version labels, per-version status, class labels, model list reloads.

  resolveVersionLabel(model: string, label: string): number {
    return this.versionLabelRegistry.resolve(model, label);
  }

  modelVersionStatus(model: string, version?: number): readonly VersionStatus[] {
    const versions = this.manager.versions(model);
    if (versions.length === 0) throw notFound(`Could not find any versions of model ${model}`);
    const selected = version === undefined ? versions : versions.filter((v) => v.version === version);
    if (selected.length === 0) throw notFound(`Could not find version ${version} of model ${model}`);
    return selected.map((v) => ({ version: v.version, state: v.state, reason: v.reason === undefined ? undefined : scrubServerPaths(v.reason) }));
  }

  versionLabels(model: string): Readonly<Record<string, number>> {
    this.requireKnownModel(model);
    return this.versionLabelRegistry.labelsOf(model);
  }

  updateVersionLabels(model: string, changes: Readonly<Record<string, number | null>>): Readonly<Record<string, number>> {
    this.requireKnownModel(model);
    return this.versionLabelRegistry.update(model, changes);
  }

  outputLabels(model: string, version: number, output: string): readonly string[] | undefined {
    return this.labelsOf(this.manager.find(model, version)).get(output);
  }

  reloadModelConfigList(models: readonly ModelConfigListEntry[]): Promise<void> {
    const list = this.options.modelConfigList;
    if (!list) {
      return Promise.reject(
        new CranberriesError(
          'FAILED_PRECONDITION',
          this.options.modelConfigListRefusal ?? 'this server cannot take a model list at run time: its models follow the repository poller (--model-control-mode poll) or a cluster assignment',
        ),
      );
    }
    return list.apply(models);
  }

  private notServedReason(model: string): string {
    if (this.options.notServedReason) return this.options.notServedReason(model);
    if (this.options.controlMode === 'explicit') return `not loaded (load it with POST /v2/repository/models/${model}/load)`;
    return this.manager.isAspired(model) ? 'loading' : 'not read yet: the next repository scan loads it';
  }

  private requireKnownModel(model: string): void {
    if (!this.manager.isAspired(model) && this.manager.versions(model).length === 0) throw notFound(`Request for unknown model: '${model}' is not found`);
  }

  private readyStatistics(model: string): ModelStatistics[] {
    return this.manager.versions(model).filter((v) => v.state === 'READY').map((v) => v.stats.snapshot());
  }

  private labelsOf(served: ServedVersion): ReadonlyMap<string, readonly string[]> {
    let labels = this.labels.get(served);
    if (!labels) {
      const parts = served.parts;
      const listed = this.options.modelDirectory?.(served.model);
      const override = overrideDirOf(served, this.overrides);
      // The folder the version was read from, and the boundary its files must stay in.
      const boundary = realpathOr(listed ?? override ?? this.options.repository.root);
      const dir = listed !== undefined || override !== undefined ? boundary : join(boundary, served.model);
      labels = parts ? readLabels(dir, parts.config, boundary) : new Map();
      this.labels.set(served, labels);
    }
    return labels;
  }

  private requireExplicitMode(): void {
    if (this.options.controlMode !== 'explicit') {
      throw new CranberriesError(
        'UNAVAILABLE',
        `explicit model load / unload is not allowed when --model-control-mode is '${this.options.controlMode}': start the server with --model-control-mode explicit` +
          (this.options.controlMode === 'none' ? ', or change the served models with the cluster admin API (POST /v2/cluster/models/<model>/load or /unload)' : ', or add / remove model folders and let the poller follow'),
      );
    }
  }

  /**
   * The load API's file overrides form a model folder of their own (`OverrideFolders`). Its
   * versions' stamps name the folder, so which folders still serve is known from the manager; a
   * folder nothing is served from (a failed load, a replaced one) is deleted at once.
   */
  private async loadOverride(model: string, config: string, files: ReadonlyMap<string, Uint8Array>): Promise<void> {
    const dir = await this.overrideFolders.create(files);
    let folders = this.overrides.get(model);
    if (!folders) this.overrides.set(model, (folders = new Set()));
    folders.add(dir);
    this.overridesLoading.add(dir);
    try {
      const read = await readModelFolder(dir, model, this.options.modelFilename, config);
      if (!read.ok) {
        // The model's visible reason, as for a repository folder; what serves keeps serving.
        await this.manager.setAspired(model, read);
        throw invalidArgument(`failed to load '${model}': ${read.reason}`);
      }
      await this.manager.setAspired(model, { ...read, configStamp: `${read.configStamp}${overrideMarker(dir)}` });
    } finally {
      this.overridesLoading.delete(dir);
      await this.pruneOverrides(model);
    }
  }

  private async pruneOverrides(model: string): Promise<void> {
    const folders = this.overrides.get(model);
    if (!folders) return;
    // Versions that failed to load (UNAVAILABLE) serve nothing: their folder may go.
    const stamps = this.manager.versions(model).filter((v) => v.state !== 'UNAVAILABLE').map((v) => v.stamp);
    for (const dir of [...folders]) {
      if (this.overridesLoading.has(dir) || stamps.some((stamp) => stamp.includes(overrideMarker(dir)))) continue;
      folders.delete(dir);
      await this.overrideFolders.remove(dir);
    }
    if (folders.size === 0) this.overrides.delete(model);
  }
}

/** Ends a config stamp of a version read from an override folder (stamps are `<config>|<file>`). */
function overrideMarker(dir: string): string {
  return `\n@override:${dir}|`;
}

/** The override folder a version was read from, if any. */
function overrideDirOf(served: ServedVersion, overrides: ReadonlyMap<string, ReadonlySet<string>>): string | undefined {
  for (const dir of overrides.get(served.model) ?? []) if (served.stamp.includes(overrideMarker(dir))) return dir;
  return undefined;
}

function realpathOr(path: string): string {
  try {
    return realpathSync(path);
  } catch {
    return path;
  }
}

/** The `timeout` request parameter (microseconds), as Triton's clients send it. */
function timeoutParameter(request: InferenceRequest): number | undefined {
  const value = request.parameters?.['timeout'];
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isFinite(n) || n < 0) throw invalidArgument(`parameter 'timeout' must be a non-negative number of microseconds`);
  return n;
}
