/**
 * The façade every protocol adapter calls (Triton's `tritonserver.h` role): health, metadata,
 * inference and repository control. Adapters import this file and the types it names, never the
 * manager, repository or backends behind it, so a new protocol is just one more client.
 *
 * Errors are thrown as `CranberriesError`s; adapters map their codes to wire statuses.
 */
import type { TensorSignature } from '../backends/index.js';
import type { ModelConfig, ModelConfigListEntry } from '../repository/index.js';
import type { InferenceRequest, InferenceResponse } from './inference.js';
import type { RequestTrace, Tracer } from '../tracing/index.js';

export interface ServerMetadata {
  readonly name: string;
  readonly version: string;
  readonly extensions: readonly string[];
}

export interface ModelMetadata {
  readonly name: string;
  /** READY versions as decimal strings (only the requested one when a version was given). */
  readonly versions: readonly string[];
  readonly platform: string;
  /** API shapes: `[-1, ...dims]` for batching models, `dims` otherwise. */
  readonly inputs: readonly TensorSignature[];
  readonly outputs: readonly TensorSignature[];
}

export type VersionState = 'LOADING' | 'READY' | 'UNLOADING' | 'UNAVAILABLE';

export interface ModelIndexEntry {
  readonly name: string;
  readonly version?: string | undefined;
  readonly state?: VersionState | undefined;
  readonly reason?: string | undefined;
}

export interface LoadModelOptions {
  /** A JSON `ModelConfig` that replaces `config.pbtxt` for this load. */
  readonly config?: string | undefined;
  /** Override model files, keyed `<version>/<file name>` (needs `config`). */
  readonly files?: ReadonlyMap<string, Uint8Array> | undefined;
}

/** Count and cumulative time in nanoseconds (the statistics extension's `D`). */
export interface StatisticDuration {
  readonly count: number;
  readonly ns: number;
}

/** Per model version statistics, shaped like the statistics extension's JSON (snake_case). */
export interface ModelStatistics {
  readonly name: string;
  readonly version: string;
  /** Milliseconds since the epoch of the last inference, 0 if none. */
  readonly last_inference: number;
  /** Batch elements inferred (a batch-8 request counts 8); cache hits excluded. */
  readonly inference_count: number;
  /** Model executions; dynamic batching makes this smaller than inference_count. */
  readonly execution_count: number;
  readonly inference_stats: {
    readonly success: StatisticDuration;
    readonly fail: StatisticDuration;
    readonly queue: StatisticDuration;
    readonly compute_input: StatisticDuration;
    readonly compute_infer: StatisticDuration;
    readonly compute_output: StatisticDuration;
    readonly cache_hit: StatisticDuration;
    readonly cache_miss: StatisticDuration;
  };
  readonly batch_stats: readonly {
    readonly batch_size: number;
    readonly compute_input: StatisticDuration;
    readonly compute_infer: StatisticDuration;
    readonly compute_output: StatisticDuration;
  }[];
}

export interface RequestContext {
  /** Aborted when the client goes away or its deadline passes. */
  readonly signal?: AbortSignal | undefined;
  /** The id the request is known by in logs and error answers (`protocols/common/request-id.ts`); default: its OIP `id`. */
  readonly requestId?: string | undefined;
  /** The request is traced (`tracing/`): the service stamps its own points on it. */
  readonly trace?: RequestTrace | undefined;
}

export interface InferenceService {
  live(): boolean;
  /** True when every model that should be loaded is READY. */
  ready(): boolean;
  serverMetadata(): ServerMetadata;
  /** False for unknown models too: readiness is a yes/no question. */
  modelReady(model: string, version?: number): boolean;
  modelMetadata(model: string, version?: number): ModelMetadata;
  modelConfig(model: string, version?: number): ModelConfig;
  infer(request: InferenceRequest, context?: RequestContext): Promise<InferenceResponse>;
  repositoryIndex(readyOnly: boolean): Promise<readonly ModelIndexEntry[]>;
  /** Loads or reloads a model; resolves once it is READY, rejects with the reason it is not. */
  loadModel(model: string, options?: LoadModelOptions): Promise<void>;
  /** Resolves once every version has drained and unloaded. */
  unloadModel(model: string): Promise<void>;
  /** Statistics of every loaded version, or of one model / one version; NOT_FOUND for unknown ones. */
  modelStatistics(model?: string, version?: number): readonly ModelStatistics[];
  /**
   * Counts a request for `model` that failed before `infer` could run it (a body that could not be
   * decoded, a bad signature): protocol adapters call it in their error path. Optional: a service
   * that keeps no per-model metrics (the gateway) leaves it out. The serving core ignores unknown
   * models (so arbitrary names cannot create metric series) and errors `infer` already counted, so
   * adapters may report every failure without double counting.
   */
  recordRejected?(model: string, version: number | undefined, error: unknown, requestId?: string): void;
  /** Request tracing (the trace extension); absent: the service traces nothing (the gateway). */
  readonly tracer?: Tracer | undefined;
}

/** One version of a model and its state, as TF Serving's GetModelStatus reports it. */
export interface VersionStatus {
  readonly version: number;
  readonly state: VersionState;
  /** Why a version is UNAVAILABLE: `unloaded` after a clean unload, else the load failure. */
  readonly reason?: string | undefined;
}

/**
 * What the TensorFlow Serving adapters need beyond `InferenceService`: version labels, per-version
 * status, class labels and model-list reloads. A separate, optional interface so other
 * `InferenceService` implementations (the gateway) need not offer it; adapters check for it at
 * run time and degrade (no labels, status from metadata) when it is absent.
 */
export interface TfServingExtensions {
  /** The version `label` points at; INVALID_ARGUMENT (`Unrecognized servable version label: <l>`) when unknown. */
  resolveVersionLabel(model: string, label: string): number;
  /** Every known version of `model`, or just `version`; NOT_FOUND for an unknown model or version. */
  modelVersionStatus(model: string, version?: number): readonly VersionStatus[];
  /** The labels of `model`; NOT_FOUND when the model is unknown. */
  versionLabels(model: string): Readonly<Record<string, number>>;
  /** Sets labels (a version) and removes labels (`null`); all or nothing. Returns the model's labels after. */
  updateVersionLabels(model: string, changes: Readonly<Record<string, number | null>>): Readonly<Record<string, number>>;
  /** Class names of an output (its `label_filename`, line i = class i) of a READY version, if it has them. */
  outputLabels(model: string, version: number, output: string): readonly string[] | undefined;
  /** Makes the served models exactly `models` (TF Serving's HandleReloadConfigRequest). */
  reloadModelConfigList(models: readonly ModelConfigListEntry[]): Promise<void>;
}
