/**
 * Messages between the main thread and a session worker. Tensor buffers travel in the transfer
 * list, so numeric data crosses threads without being copied.
 */
import type { Tensor } from '../../tensors/tensor.js';

export interface SessionWorkerData {
  readonly modelPath: string;
  readonly intraOpThreads: number;
  readonly graphOptimizationLevel: 'disabled' | 'basic' | 'extended' | 'all';
  /** Run the model once on zeros after creating the session: the first run is the slowest. */
  readonly warmup: boolean;
}

/** What ONNX Runtime reports about one input or output; converted to a signature on the main thread. */
export interface RawValueMetadata {
  readonly name: string;
  readonly isTensor: boolean;
  readonly type?: string | undefined;
  readonly shape?: readonly (number | string)[] | undefined;
}

export type ToWorker =
  | { readonly kind: 'run'; readonly id: number; readonly inputs: readonly Tensor[]; readonly outputs: readonly string[] }
  | { readonly kind: 'release' };

export type FromWorker =
  | { readonly kind: 'loaded'; readonly inputs: readonly RawValueMetadata[]; readonly outputs: readonly RawValueMetadata[] }
  | { readonly kind: 'loadFailed'; readonly message: string }
  | {
      readonly kind: 'result';
      readonly id: number;
      readonly outputs: readonly Tensor[];
      readonly computeInputNs: number;
      readonly computeInferNs: number;
      readonly computeOutputNs: number;
    }
  | { readonly kind: 'runFailed'; readonly id: number; readonly message: string }
  | { readonly kind: 'released' };

/**
 * The buffers to transfer for these tensors. A view that covers only part of its buffer (a slice
 * of a request body, say) is first copied to a buffer of its own: transferring the shared buffer
 * would detach the other views, and cloning it would copy all of it.
 */
export function transferableTensors(tensors: readonly Tensor[]): { tensors: Tensor[]; transfer: ArrayBuffer[] } {
  const transfer = new Set<ArrayBuffer>();
  const out = tensors.map((tensor): Tensor => {
    const data = tensor.data;
    if (Array.isArray(data)) return tensor;
    const whole = data.byteOffset === 0 && data.byteLength === data.buffer.byteLength && data.buffer instanceof ArrayBuffer;
    const owned = whole && !transfer.has(data.buffer) ? data : data.slice();
    transfer.add(owned.buffer as ArrayBuffer);
    return { ...tensor, data: owned };
  });
  return { tensors: out, transfer: [...transfer] };
}
