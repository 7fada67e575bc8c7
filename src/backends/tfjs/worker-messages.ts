/**
 * What a TensorFlow.js worker (one per model instance) is started with and reports, in the shared
 * instance-thread messages (`../instance-thread`).
 */
export type TfjsModelKind = 'graph' | 'layers';

/** What a worker needs to build its model: the artifacts read from the version folder. */
export interface TfjsWorkerData {
  readonly kind: TfjsModelKind;
  readonly modelTopology: unknown;
  readonly weightSpecs: readonly unknown[];
  readonly weightData: ArrayBuffer;
  /** The rest of model.json that tfjs reads (format, signature, trainingConfig, modelInitializer...). */
  readonly extra: Readonly<Record<string, unknown>>;
  /** Folder of the tfjs-backend-wasm `.wasm` files. */
  readonly wasmDir: string;
  /** Run the model once on zeros before answering `loaded` (the first run is the slowest). */
  readonly warmup: boolean;
}

/** One input or output as tfjs reports it: -1 for an unknown dimension, undefined for an unknown rank. */
export interface TfjsValueInfo {
  readonly name: string;
  readonly dtype: string;
  readonly shape: readonly number[] | undefined;
}

export interface TfjsMetadata {
  readonly inputs: readonly TfjsValueInfo[];
  readonly outputs: readonly TfjsValueInfo[];
  /** Whether the wasm backend runs its SIMD build. */
  readonly simd: boolean;
}

export interface TfjsProtocol {
  readonly data: TfjsWorkerData;
  readonly loaded: TfjsMetadata;
  /** Tensors tfjs still held after the model was disposed (0 unless something leaks). */
  readonly released: number;
  /** tfjs's message. */
  readonly runError: string;
}
