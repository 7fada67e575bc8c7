/**
 * An in-memory `InferenceService` for the protocol adapters' unit tests (REST, gRPC, access
 * control): models are plain records, inference echoes its inputs (or runs a handler the test
 * sets), and every call is recorded so a test can check exactly what the adapter passed on. It is
 * not a model of the real serving core (see `fake-backend.ts` for that, under the real core).
 */
import { notFound, unavailable } from '../../src/core/errors.js';
import type { TensorSignature } from '../../src/backends/backend.js';
import type { ModelConfig } from '../../src/repository/model-config.js';
import type { InferenceService, LoadModelOptions, ModelIndexEntry, ModelMetadata, ModelStatistics, RequestContext, ServerMetadata } from '../../src/serving/inference-service.js';
import type { InferenceRequest, InferenceResponse } from '../../src/serving/inference.js';

export interface FakeModel {
  readonly name: string;
  readonly versions: readonly number[];
  ready: boolean;
  readonly maxBatchSize: number;
  /** API shapes, as metadata reports them. */
  readonly inputs: readonly TensorSignature[];
  readonly outputs: readonly TensorSignature[];
  /** What `modelConfig` answers; default a minimal config from `maxBatchSize`. */
  readonly config?: ModelConfig | undefined;
}

export type InferHandler = (request: InferenceRequest, context: RequestContext | undefined) => Promise<InferenceResponse> | InferenceResponse;

/** Echoes every input back as an output of the same name, version 1 unless one was asked for. */
export const echoInfer = (request: InferenceRequest): Promise<InferenceResponse> => Promise.resolve({ model: request.model, version: request.version ?? 1, id: request.id, outputs: request.inputs });

const ZERO = { count: 0, ns: 0 };

export class FakeInferenceService implements InferenceService {
  isLive = true;
  isReady = true;
  metadata: ServerMetadata = { name: 'cranberries', version: '0.0.0-test', extensions: ['binary_tensor_data', 'model_repository'] };
  readonly models = new Map<string, FakeModel>();
  readonly inferCalls: { request: InferenceRequest; context: RequestContext | undefined }[] = [];
  readonly loadCalls: { model: string; options: LoadModelOptions | undefined }[] = [];
  readonly unloadCalls: string[] = [];
  /** The `readyOnly` argument of each `repositoryIndex` call. */
  readonly indexCalls: boolean[] = [];
  readonly readyCalls: { model: string; version: number | undefined }[] = [];
  readonly statisticsCalls: { model: string | undefined; version: number | undefined }[] = [];
  /** Replaces the default echo of `infer` (which answers the highest version and the requested outputs). */
  inferHandler: InferHandler | undefined;
  /** Thrown by every call that looks up a model, and by load and unload, when set. */
  failure: Error | undefined;
  /** A fixed answer of `repositoryIndex`; default: computed from `models`. */
  index: readonly ModelIndexEntry[] | undefined;
  /** A fixed set of statistics `modelStatistics` filters; default: zeros for every version. */
  statistics: readonly ModelStatistics[] | undefined;

  constructor(models: readonly FakeModel[] = []) {
    for (const model of models) this.models.set(model.name, model);
  }

  live(): boolean {
    return this.isLive;
  }

  ready(): boolean {
    return this.isReady;
  }

  serverMetadata(): ServerMetadata {
    return this.metadata;
  }

  modelReady(model: string, version?: number): boolean {
    this.readyCalls.push({ model, version });
    const found = this.models.get(model);
    return found !== undefined && found.ready && (version === undefined || found.versions.includes(version));
  }

  modelMetadata(model: string, version?: number): ModelMetadata {
    const found = this.lookup(model, version);
    return {
      name: found.name,
      versions: version === undefined ? found.versions.map(String) : [String(version)],
      platform: 'onnxruntime_onnx',
      inputs: found.inputs,
      outputs: found.outputs,
    };
  }

  modelConfig(model: string, version?: number): ModelConfig {
    const found = this.lookup(model, version);
    return found.config ?? ({ name: found.name, max_batch_size: found.maxBatchSize, backend: 'onnxruntime' } as unknown as ModelConfig);
  }

  async infer(request: InferenceRequest, context?: RequestContext): Promise<InferenceResponse> {
    this.inferCalls.push({ request, context });
    if (this.failure) throw this.failure;
    const found = this.models.get(request.model);
    if (!found) throw notFound(`Request for unknown model: '${request.model}' is not found`);
    if (this.inferHandler) return this.inferHandler(request, context);
    if (request.version !== undefined && !found.versions.includes(request.version)) throw notFound(`Request for unknown model: '${request.model}' version ${request.version} is not found`);
    await Promise.resolve();
    const wanted = request.outputs?.map((o) => o.name);
    const outputs = wanted === undefined ? request.inputs : request.inputs.filter((t) => wanted.includes(t.name));
    return { model: found.name, version: request.version ?? Math.max(...found.versions), id: request.id, outputs };
  }

  async repositoryIndex(readyOnly: boolean): Promise<readonly ModelIndexEntry[]> {
    this.indexCalls.push(readyOnly);
    await Promise.resolve();
    if (this.index) return this.index;
    const entries: ModelIndexEntry[] = [];
    for (const model of this.models.values()) {
      if (readyOnly && !model.ready) continue;
      for (const version of model.versions) entries.push({ name: model.name, version: String(version), state: model.ready ? 'READY' : 'UNAVAILABLE' });
    }
    return entries;
  }

  /** Fails for a model named `broken` (a load the adapter must report). */
  async loadModel(model: string, options?: LoadModelOptions): Promise<void> {
    this.loadCalls.push({ model, options });
    await Promise.resolve();
    if (this.failure) throw this.failure;
    if (model === 'broken') throw unavailable(`failed to load 'broken': model file is corrupt`);
  }

  async unloadModel(model: string): Promise<void> {
    this.unloadCalls.push(model);
    await Promise.resolve();
    if (this.failure) throw this.failure;
    if (!this.models.has(model)) throw notFound(`failed to unload '${model}', no version is available`);
  }

  modelStatistics(model?: string, version?: number): readonly ModelStatistics[] {
    this.statisticsCalls.push({ model, version });
    if (this.statistics) {
      if (model === undefined) return this.statistics;
      this.lookup(model);
      return this.statistics.filter((s) => s.name === model && (version === undefined || s.version === String(version)));
    }
    const models = model === undefined ? [...this.models.values()] : [this.lookup(model, version, { ready: false })];
    return models.flatMap((m) => m.versions.filter((v) => version === undefined || v === version).map((v) => zeroStatistics(m.name, v)));
  }

  /** NOT_FOUND for an unknown model or version; UNAVAILABLE for a model that is not ready (unless told not to check). */
  private lookup(model: string, version?: number, check = { ready: true }): FakeModel {
    if (this.failure) throw this.failure;
    const found = this.models.get(model);
    if (!found) throw notFound(`Request for unknown model: '${model}' is not found`);
    if (version !== undefined && !found.versions.includes(version)) throw notFound(`Request for unknown model: '${model}' version ${version} is not found`);
    if (check.ready && !found.ready) throw unavailable(`model '${model}' is not ready`);
    return found;
  }
}

function zeroStatistics(name: string, version: number): ModelStatistics {
  return {
    name,
    version: String(version),
    last_inference: 0,
    inference_count: 0,
    execution_count: 0,
    inference_stats: { success: ZERO, fail: ZERO, queue: ZERO, compute_input: ZERO, compute_infer: ZERO, compute_output: ZERO, cache_hit: ZERO, cache_miss: ZERO },
    batch_stats: [],
  };
}

/** The models most REST adapter tests use: a plain one, a batching one, and one that is not ready. */
export function exampleModels(): FakeModel[] {
  return [
    { name: 'simple', versions: [1, 2], ready: true, maxBatchSize: 0, inputs: [{ name: 'x', datatype: 'FP32', shape: [-1] }], outputs: [{ name: 'x', datatype: 'FP32', shape: [-1] }] },
    {
      name: 'digits',
      versions: [1],
      ready: true,
      maxBatchSize: 8,
      inputs: [{ name: 'image', datatype: 'FP32', shape: [-1, 1, 8, 8] }],
      outputs: [{ name: 'image', datatype: 'FP32', shape: [-1, 1, 8, 8] }],
    },
    { name: 'sleepy', versions: [1], ready: false, maxBatchSize: 0, inputs: [], outputs: [] },
  ];
}

/** A small but complete config in the façade's (protobuf JSON) shape. */
export function sampleConfig(name: string): ModelConfig {
  return {
    name,
    platform: 'onnxruntime_onnx',
    backend: 'onnxruntime',
    version_policy: { latest: { num_versions: 2 } },
    max_batch_size: 8,
    input: [{ name: 'x', data_type: 'TYPE_FP32', format: 'FORMAT_NONE', dims: [3], is_shape_tensor: false, allow_ragged_batch: false, optional: false }],
    output: [{ name: 'y', data_type: 'TYPE_FP32', dims: [3], label_filename: 'labels.txt', is_shape_tensor: false }],
    instance_group: [{ name: `${name}_0`, kind: 'KIND_CPU', count: 2, gpus: [] }],
    default_model_filename: 'model.onnx',
    dynamic_batching: {
      preferred_batch_size: [4, 8],
      max_queue_delay_microseconds: 200,
      preserve_ordering: false,
      priority_levels: 0,
      default_priority_level: 0,
    },
    parameters: { intra_op_thread_count: { string_value: '1' } },
    model_warmup: [],
  };
}

/** Adds model `name` (versions 1 and 2, batching, input `x` / output `y` of 3 floats, `sampleConfig`). */
export function addModel(fake: FakeInferenceService, name: string, ready = true): void {
  fake.models.set(name, {
    name,
    versions: [1, 2],
    ready,
    maxBatchSize: 8,
    inputs: [{ name: 'x', datatype: 'FP32', shape: [-1, 3] }],
    outputs: [{ name: 'y', datatype: 'FP32', shape: [-1, 3] }],
    config: sampleConfig(name),
  });
}
