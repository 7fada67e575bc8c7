/**
 * The contract between the serving core and a model runtime (ONNX Runtime today; TF.js, Python or
 * custom runtimes later). A backend knows how to read a model file's signature and how to turn a
 * model version into running instances. It knows nothing about protocols, queues or batching.
 */
import type { Tensor } from '../tensors/index.js';
import type { ModelConfig, ModelSignature } from '../repository/index.js';

export type { ModelSignature, TensorSignature } from '../repository/index.js';

export interface LoadSpec {
  /** `<model>/<version>` for logs and errors. */
  readonly label: string;
  /** Absolute path of the model file (e.g. `<repo>/<model>/<version>/model.onnx`). */
  readonly modelPath: string;
  /** The complete, validated configuration. */
  readonly config: ModelConfig;
  /** Intra-op threads each instance may use (the server divides the cores among instances). */
  readonly intraOpThreads: number;
}

/** Time spent in each phase of one execution, in nanoseconds (the statistics API's units). */
export interface ExecutionTiming {
  readonly computeInputNs: number;
  readonly computeInferNs: number;
  readonly computeOutputNs: number;
}

export interface ExecutionResult {
  readonly outputs: Tensor[];
  readonly timing: ExecutionTiming;
}

/**
 * One execution context (Triton: model instance). Never runs two executions at once; the
 * scheduler only hands work to an idle instance.
 *
 * `requests` holds the inputs of each request of the batch, in order and in the same input order;
 * the instance joins them along dim 0 (`concatRows`) where the data is read, so the thread that
 * schedules never copies a batch, and answers with the outputs of the whole batch, rows in request
 * order. The inputs' buffers may be transferred to another thread: callers must not use them
 * afterwards.
 */
export interface ModelInstance {
  execute(requests: readonly (readonly Tensor[])[], outputNames: readonly string[]): Promise<ExecutionResult>;
}

export interface LoadedModel {
  readonly signature: ModelSignature;
  readonly instances: readonly ModelInstance[];
  /** Releases every instance. Callers guarantee no execution is in flight. */
  unload(): Promise<void>;
  /**
   * Why no instance can execute right now although the model is loaded (say, its process crashed
   * and is restarting), or undefined while it can. The model then reports UNAVAILABLE with this
   * reason until it recovers. Backends whose instances cannot go down leave it out.
   */
  unavailableReason?(): string | undefined;
  /**
   * Facts the backend adds to the served config's `parameters` (e.g. which runtime serves a model
   * it could run two ways), visible in the model's config answers.
   */
  readonly parameters?: Readonly<Record<string, string>>;
}

export interface Backend {
  /** Triton backend name, e.g. `onnxruntime`. */
  readonly name: string;
  /** Triton platform name, e.g. `onnxruntime_onnx`. */
  readonly platform: string;
  /** File looked for in a version folder when the config names none. */
  readonly defaultModelFilename: string;
  /** False for backends whose versions have no model file (ensembles): the version folder suffices. */
  readonly needsModelFile?: boolean;
  /** Reads a model file's signature without keeping it loaded (used to complete configs). */
  inspect(modelPath: string): Promise<ModelSignature>;
  load(spec: LoadSpec): Promise<LoadedModel>;
}
