/**
 * The public shapes of `cranberries/client`: one `InferenceClient` interface that both transports
 * (REST and gRPC) implement, the tensors it takes and returns, and the protocol documents it hands
 * back. Field names of protocol documents (statistics, configuration, repository index) keep the
 * protocol's snake_case spelling, so they read the same as the server's documentation.
 */
import type { DataType, NumericArray } from '../tensors/index.js';

export type { DataType } from '../tensors/index.js';
export type { NumericArray } from '../tensors/index.js';

/**
 * Tensor data a caller may send: the TypedArray of the datatype (see the table in the README;
 * BOOL is a Uint8Array of 0/1 or a boolean[], FP16/BF16 a Uint16Array of raw bits), and for BYTES
 * either byte strings (`Uint8Array[]`) or text (`string[]`, sent UTF-8 encoded).
 */
export type InputData = NumericArray | Uint8Array[] | string[] | boolean[];

export interface InputTensor {
  readonly name: string;
  readonly datatype: DataType;
  readonly shape: readonly number[];
  readonly data: InputData;
}

/**
 * A tensor the server returned. Numeric data is the datatype's TypedArray (often a view of the
 * response buffer: copy it before keeping it for long if memory matters); BYTES are `Uint8Array[]`,
 * see `bytesToStrings` for text.
 */
export interface OutputTensor {
  readonly name: string;
  readonly datatype: DataType;
  readonly shape: readonly number[];
  readonly data: NumericArray | Uint8Array[];
  readonly parameters?: Readonly<Record<string, ParameterValue>> | undefined;
}

export type ParameterValue = string | number | boolean | bigint;

/** Options every call takes. */
export interface CallOptions {
  /** Abort the call after this many milliseconds (DEADLINE_EXCEEDED). Default: the client's `timeoutMs`. */
  readonly timeoutMs?: number | undefined;
  /** Aborts the call (CANCELLED). */
  readonly signal?: AbortSignal | undefined;
  /** Extra HTTP headers / gRPC metadata for this call. */
  readonly headers?: Readonly<Record<string, string>> | undefined;
}

/** Calls that address one model, optionally one version of it (else the server picks). */
export interface ModelCallOptions extends CallOptions {
  readonly version?: string | number | undefined;
}

export interface RequestedOutput {
  readonly name: string;
  /** Classification extension: return the top `classification` entries as BYTES `"<value>:<index>[:<label>]"`. */
  readonly classification?: number | undefined;
  /** REST only: return this output as binary data (default: the request's `binary`). */
  readonly binary?: boolean | undefined;
}

export interface InferOptions extends ModelCallOptions {
  /** Request id, echoed by the server. */
  readonly id?: string | undefined;
  /** Outputs to return (names or specs); default: every output of the model. */
  readonly outputs?: readonly (string | RequestedOutput)[] | undefined;
  /** Request parameters (`priority`, `timeout`, `sequence_id`, custom keys, ...). */
  readonly parameters?: Readonly<Record<string, ParameterValue>> | undefined;
  /**
   * REST only: send inputs and receive outputs with the binary tensor extension (default true, like
   * `tritonclient`). `false` uses plain JSON (FP16/BF16 cannot travel as JSON). gRPC always sends
   * `raw_input_contents`.
   */
  readonly binary?: boolean | undefined;
}

export interface ServerMetadata {
  readonly name: string;
  readonly version: string;
  readonly extensions: readonly string[];
}

export interface TensorMetadata {
  readonly name: string;
  readonly datatype: string;
  /** `-1` marks a variable-size dimension. */
  readonly shape: readonly number[];
}

export interface ModelMetadata {
  readonly name: string;
  readonly versions: readonly string[];
  readonly platform: string;
  readonly inputs: readonly TensorMetadata[];
  readonly outputs: readonly TensorMetadata[];
}

/** A Triton `ModelConfig` in its protobuf JSON form (snake_case names, enum names, int64 as numbers). */
export type ModelConfigJson = Readonly<Record<string, unknown>>;

export interface ModelIndexEntry {
  readonly name: string;
  readonly version?: string | undefined;
  /** `READY`, `UNAVAILABLE`, `LOADING`, `UNLOADING` or `UNKNOWN`. */
  readonly state?: string | undefined;
  readonly reason?: string | undefined;
}

export interface RepositoryIndexOptions extends CallOptions {
  /** Only models that are ready for inference. */
  readonly ready?: boolean | undefined;
}

export interface LoadModelOptions extends CallOptions {
  /** A ModelConfig (JSON text or object) to use instead of the repository's config.pbtxt. */
  readonly config?: string | ModelConfigJson | undefined;
  /** Model files of an override directory, keyed `<version>/<file>` (e.g. `1/model.onnx`); needs `config`. */
  readonly files?: Readonly<Record<string, Uint8Array>> | undefined;
}

export interface UnloadModelOptions extends CallOptions {
  readonly unloadDependents?: boolean | undefined;
}

/** Cumulative count and total nanoseconds. */
export interface StatisticDuration {
  readonly count: number;
  readonly ns: number;
}

export interface InferStatistics {
  readonly success: StatisticDuration;
  readonly fail: StatisticDuration;
  readonly queue: StatisticDuration;
  readonly compute_input: StatisticDuration;
  readonly compute_infer: StatisticDuration;
  readonly compute_output: StatisticDuration;
  readonly cache_hit: StatisticDuration;
  readonly cache_miss: StatisticDuration;
}

export interface BatchStatistics {
  readonly batch_size: number;
  readonly compute_input: StatisticDuration;
  readonly compute_infer: StatisticDuration;
  readonly compute_output: StatisticDuration;
}

export interface ModelStatistics {
  readonly name: string;
  readonly version: string;
  /** Milliseconds since the epoch; 0 = never. */
  readonly last_inference: number;
  readonly inference_count: number;
  readonly execution_count: number;
  readonly inference_stats: InferStatistics;
  readonly batch_stats: readonly BatchStatistics[];
}
