/**
 * The InferenceService every protocol adapter calls, implemented over the model manager and the
 * model repository. This is where a request becomes a lease, a validated and scheduled execution,
 * statistics, and an answer. The other concerns of the service are parts of their own, composed
 * here: the load / unload API and its override folders (`model-control.ts`), request accounting
 * (`request-accounting.ts`), class-label files (`output-label-files.ts`) and the TF Serving
 * extensions (`tfserving-extensions.ts`).
 */
import { invalidArgument, notFound, asCranberriesError, systemClock, type Clock, scrubServerPaths } from '../core/index.js';
import type { EventChannel } from '../core/index.js';
import type { ExecutionTiming, TensorSignature } from '../backends/index.js';
import type { ModelRepository, ModelConfig, ModelConfigListEntry } from '../repository/index.js';
import { dataTypeFromConfig } from '../tensors/index.js';
import type { InferenceRequest, InferenceResponse } from './inference.js';
import type { InferenceService, LoadModelOptions, ModelIndexEntry, ModelMetadata, ModelStatistics, RequestContext, ServerMetadata, TfServingExtensions, VersionStatus } from './inference-service.js';
import type { ModelManager } from './model-manager.js';
import type { ResponseCache } from './response-cache.js';
import { finishOutputs, prepareRequest } from './request-preparation.js';
import { sequenceRequestFlags } from './sequence-request.js';
import type { ServedVersion } from './served-version.js';
import { VersionLabels } from './version-labels.js';
import type { Tracer } from '../tracing/index.js';
import { ModelControl, type ModelControlMode } from './model-control.js';
import { RequestAccounting, type RequestEvent } from './request-accounting.js';
import { OutputLabelFiles } from './output-label-files.js';
import { TfServingExtensionsService } from './tfserving-extensions.js';

export type { ModelControlMode } from './model-control.js';
export type { RequestEvent } from './request-accounting.js';

const NO_TIMING: ExecutionTiming = { computeInputNs: 0, computeInferNs: 0, computeOutputNs: 0 };

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
  /** Where request durations are read; default the system clock. */
  readonly clock?: Clock | undefined;
}

export class ServingCore implements InferenceService, TfServingExtensions {
  readonly versionLabelRegistry: VersionLabels;
  readonly requestCompleted: EventChannel<RequestEvent>;
  readonly tracer: Tracer | undefined;
  private readonly manager: ModelManager;
  private readonly clock: Clock;
  private readonly accounting: RequestAccounting;
  private readonly control: ModelControl;
  private readonly labelFiles: OutputLabelFiles;
  private readonly tfServing: TfServingExtensionsService;
  private stopping = false;

  constructor(private readonly options: ServingCoreOptions) {
    this.manager = options.manager;
    this.tracer = options.tracer;
    this.clock = options.clock ?? systemClock;
    this.versionLabelRegistry = options.versionLabels ?? new VersionLabels({ isReady: (m, v) => this.modelReady(m, v) });
    this.accounting = new RequestAccounting(options.manager);
    this.requestCompleted = this.accounting.completed;
    this.control = new ModelControl(options);
    this.labelFiles = new OutputLabelFiles({ repositoryRoot: options.repository.root, modelDirectory: options.modelDirectory, overrideFolderOf: (served) => this.control.overrideFolderOf(served) });
    this.tfServing = new TfServingExtensionsService({
      manager: options.manager,
      versionLabels: this.versionLabelRegistry,
      outputLabels: this.labelFiles,
      modelConfigList: options.modelConfigList,
      modelConfigListRefusal: options.modelConfigListRefusal,
    });
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
    const versions =
      version !== undefined
        ? [String(version)]
        : this.manager
            .versions(model)
            .filter((v) => v.state === 'READY')
            .map((v) => String(v.version));
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
    const started = this.clock.monotonicNs();
    const requestId = context?.requestId ?? request.id;
    const trace = context?.trace;
    trace?.stamp('REQUEST_START', started);
    let served: ServedVersion;
    try {
      served = this.manager.find(request.model, request.version);
    } catch (error) {
      this.accounting.rejected(request.model, request.version, error, requestId, Number(this.clock.monotonicNs() - started));
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
        const totalNs = Number(this.clock.monotonicNs() - started);
        served.stats.recordCacheHit(totalNs);
        this.accounting.succeeded({ model: served.model, version: served.version, requestId, outcome: 'success', cacheHit: true, totalNs, queueNs: 0, timing: NO_TIMING });
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
      const outputs = finishOutputs(result.outputs, prepared, parts.config, this.labelFiles.of(served));
      if (cached) served.stats.recordCacheMiss(cached.lookupNs + cached.store(outputs));
      const totalNs = Number(this.clock.monotonicNs() - started);
      served.stats.recordSuccess(totalNs, result.queueNs, result.timing);
      this.accounting.succeeded({ model: served.model, version: served.version, requestId, outcome: 'success', totalNs, queueNs: result.queueNs, timing: result.timing });
      return { model: request.model, version: served.version, id: request.id, outputs };
    } catch (error) {
      const failure = asCranberriesError(error);
      const totalNs = Number(this.clock.monotonicNs() - started);
      served.stats.recordFailure(totalNs);
      this.accounting.failedAt(served.model, served.version, failure, requestId, totalNs);
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

  loadModel(model: string, options?: LoadModelOptions): Promise<void> {
    return this.control.loadModel(model, options);
  }

  unloadModel(model: string): Promise<void> {
    return this.control.unloadModel(model);
  }

  /** Called once the models are unloaded on shutdown: deletes every override folder. */
  close(): Promise<void> {
    return this.control.close();
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
    this.accounting.rejected(model, version, error, requestId, 0);
  }

  /** Called on shutdown: readiness turns false at once so load balancers stop sending traffic. */
  beginStopping(): void {
    this.stopping = true;
  }

  // TF Serving extensions (`tfserving-extensions.ts`).

  resolveVersionLabel(model: string, label: string): number {
    return this.tfServing.resolveVersionLabel(model, label);
  }

  modelVersionStatus(model: string, version?: number): readonly VersionStatus[] {
    return this.tfServing.modelVersionStatus(model, version);
  }

  versionLabels(model: string): Readonly<Record<string, number>> {
    return this.tfServing.versionLabels(model);
  }

  updateVersionLabels(model: string, changes: Readonly<Record<string, number | null>>): Readonly<Record<string, number>> {
    return this.tfServing.updateVersionLabels(model, changes);
  }

  outputLabels(model: string, version: number, output: string): readonly string[] | undefined {
    return this.tfServing.outputLabels(model, version, output);
  }

  reloadModelConfigList(models: readonly ModelConfigListEntry[]): Promise<void> {
    return this.tfServing.reloadModelConfigList(models);
  }

  private notServedReason(model: string): string {
    if (this.options.notServedReason) return this.options.notServedReason(model);
    if (this.options.controlMode === 'explicit') return `not loaded (load it with POST /v2/repository/models/${model}/load)`;
    return this.manager.isAspired(model) ? 'loading' : 'not read yet: the next repository scan loads it';
  }

  private readyStatistics(model: string): ModelStatistics[] {
    return this.manager
      .versions(model)
      .filter((v) => v.state === 'READY')
      .map((v) => v.stats.snapshot());
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
