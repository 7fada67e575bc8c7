/**
 * An in-memory `InferenceService` for the HTTP adapter's unit tests: models are plain records,
 * inference echoes its inputs (or runs a handler the test sets), and every call is recorded so a
 * test can check exactly what the adapter passed on. Not a model of the real serving core.
 */
import { notFound, unavailable } from '../../../core/errors.js';
import type { TensorSignature } from '../../../backends/backend.js';
import type { ModelConfig } from '../../../repository/model-config.js';
import type {
  InferenceService,
  LoadModelOptions,
  ModelIndexEntry,
  ModelMetadata,
  ModelStatistics,
  RequestContext,
  ServerMetadata,
} from '../../../serving/inference-service.js';
import type { InferenceRequest, InferenceResponse } from '../../../serving/inference.js';

export interface FakeModel {
  readonly name: string;
  readonly versions: readonly number[];
  readonly ready: boolean;
  readonly maxBatchSize: number;
  /** API shapes, as metadata reports them. */
  readonly inputs: readonly TensorSignature[];
  readonly outputs: readonly TensorSignature[];
}

type InferHandler = (request: InferenceRequest, context: RequestContext | undefined) => Promise<InferenceResponse> | InferenceResponse;

const ZERO = { count: 0, ns: 0 };

export class FakeInferenceService implements InferenceService {
  isLive = true;
  isReady = true;
  readonly models = new Map<string, FakeModel>();
  readonly inferCalls: { request: InferenceRequest; context: RequestContext | undefined }[] = [];
  readonly loadCalls: { model: string; options: LoadModelOptions | undefined }[] = [];
  readonly unloadCalls: string[] = [];
  readonly indexCalls: boolean[] = [];
  /** Replaces the default echo behaviour of `infer`. */
  inferHandler: InferHandler | undefined;

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
    return { name: 'cranberries', version: '0.0.0-test', extensions: ['binary_tensor_data', 'model_repository'] };
  }

  modelReady(model: string, version?: number): boolean {
    const found = this.models.get(model);
    return found !== undefined && found.ready && (version === undefined || found.versions.includes(version));
  }

  modelMetadata(model: string, version?: number): ModelMetadata {
    const found = this.find(model, version);
    return {
      name: found.name,
      versions: version === undefined ? found.versions.map(String) : [String(version)],
      platform: 'onnxruntime_onnx',
      inputs: found.inputs,
      outputs: found.outputs,
    };
  }

  modelConfig(model: string, version?: number): ModelConfig {
    const found = this.find(model, version);
    return { name: found.name, max_batch_size: found.maxBatchSize, backend: 'onnxruntime' } as unknown as ModelConfig;
  }

  async infer(request: InferenceRequest, context?: RequestContext): Promise<InferenceResponse> {
    this.inferCalls.push({ request, context });
    const found = this.find(request.model, request.version);
    if (this.inferHandler) return this.inferHandler(request, context);
    await Promise.resolve();
    const wanted = request.outputs?.map((o) => o.name);
    const outputs = wanted === undefined ? request.inputs : request.inputs.filter((t) => wanted.includes(t.name));
    return {
      model: found.name,
      version: request.version ?? Math.max(...found.versions),
      id: request.id,
      outputs,
    };
  }

  async repositoryIndex(readyOnly: boolean): Promise<readonly ModelIndexEntry[]> {
    this.indexCalls.push(readyOnly);
    await Promise.resolve();
    const entries: ModelIndexEntry[] = [];
    for (const model of this.models.values()) {
      if (readyOnly && !model.ready) continue;
      for (const version of model.versions) entries.push({ name: model.name, version: String(version), state: model.ready ? 'READY' : 'UNAVAILABLE' });
    }
    return entries;
  }

  async loadModel(model: string, options?: LoadModelOptions): Promise<void> {
    this.loadCalls.push({ model, options });
    await Promise.resolve();
    if (model === 'broken') throw unavailable(`failed to load 'broken': model file is corrupt`);
  }

  async unloadModel(model: string): Promise<void> {
    this.unloadCalls.push(model);
    await Promise.resolve();
    if (!this.models.has(model)) throw notFound(`failed to unload '${model}', no version is available`);
  }

  modelStatistics(model?: string, version?: number): readonly ModelStatistics[] {
    const models = model === undefined ? [...this.models.values()] : [this.find(model, version)];
    return models.flatMap((m) =>
      m.versions
        .filter((v) => version === undefined || v === version)
        .map(
          (v): ModelStatistics => ({
            name: m.name,
            version: String(v),
            last_inference: 0,
            inference_count: 0,
            execution_count: 0,
            inference_stats: {
              success: ZERO,
              fail: ZERO,
              queue: ZERO,
              compute_input: ZERO,
              compute_infer: ZERO,
              compute_output: ZERO,
              cache_hit: ZERO,
              cache_miss: ZERO,
            },
            batch_stats: [],
          }),
        ),
    );
  }

  private find(model: string, version?: number): FakeModel {
    const found = this.models.get(model);
    if (!found) throw notFound(`Request for unknown model: '${model}' is not found`);
    if (version !== undefined && !found.versions.includes(version)) throw notFound(`Request for unknown model: '${model}' version ${version} is not found`);
    return found;
  }
}

/** The models most adapter tests use: a plain one, a batching one, and one that is not ready. */
export function exampleModels(): FakeModel[] {
  return [
    {
      name: 'simple',
      versions: [1, 2],
      ready: true,
      maxBatchSize: 0,
      inputs: [{ name: 'x', datatype: 'FP32', shape: [-1] }],
      outputs: [{ name: 'x', datatype: 'FP32', shape: [-1] }],
    },
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
