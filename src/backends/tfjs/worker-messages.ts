/**
 * Messages between the main thread and a TensorFlow.js worker (one per model instance). Tensor
 * buffers travel in the transfer list, as for the ONNX workers.
 */
import type { Tensor } from '../../tensors/index.js';

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

export type ToTfjsWorker = { readonly kind: 'run'; readonly id: number; readonly requests: readonly (readonly Tensor[])[]; readonly outputs: readonly string[] } | { readonly kind: 'release' };

export type FromTfjsWorker =
  | { readonly kind: 'loaded'; readonly inputs: readonly TfjsValueInfo[]; readonly outputs: readonly TfjsValueInfo[]; readonly simd: boolean }
  | { readonly kind: 'loadFailed'; readonly message: string }
  | {
      readonly kind: 'result';
      readonly id: number;
      readonly outputs: readonly Tensor[];
      readonly computeInputNs: number;
      readonly computeInferNs: number;
      readonly computeOutputNs: number;
      readonly recycled: readonly ArrayBuffer[];
    }
  | { readonly kind: 'runFailed'; readonly id: number; readonly message: string }
  /** `numTensors`: tensors tfjs still held after the model was disposed (0 unless something leaks). */
  | { readonly kind: 'released'; readonly numTensors: number };
