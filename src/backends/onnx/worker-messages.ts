/**
 * Messages between the main thread and a session worker. Tensor buffers travel in the transfer
 * list, so numeric data crosses threads without being copied.
 */
import { isExclusive } from '../../tensors/index.js';
import type { GraphOptimizationLevel } from './session-options.js';
import type { Tensor } from '../../tensors/index.js';

export interface SessionWorkerData {
  readonly modelPath: string;
  /** The model itself, when it comes as bytes (a conversion) rather than from `modelPath`. */
  readonly modelBytes?: Uint8Array | undefined;
  readonly intraOpThreads: number;
  readonly graphOptimizationLevel: GraphOptimizationLevel;
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
  /** `requests`: the inputs of each request of the batch, joined by the worker (`ModelInstance`). */
  { readonly kind: 'run'; readonly id: number; readonly requests: readonly (readonly Tensor[])[]; readonly outputs: readonly string[] } | { readonly kind: 'release' };

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
      /** Large input buffers the run no longer needs, sent back to be read into again (`buffer-pool.ts`). */
      readonly recycled: readonly ArrayBuffer[];
    }
  | { readonly kind: 'runFailed'; readonly id: number; readonly message: string }
  | { readonly kind: 'released' };

/**
 * The buffers to transfer for these tensors. A tensor that views all of its buffer, or part of a
 * buffer marked exclusive (a request body no one else reads, `tensors/exclusive-buffers.ts`),
 * moves with its buffer. Any other view (part of a gRPC message, say) is first copied to a buffer
 * of its own: transferring a shared buffer would detach other users' views, and cloning it would
 * copy all of it. `keep` names buffers that must stay on this side whatever they hold.
 */
export function transferableTensors(tensors: readonly Tensor[], keep?: (buffer: ArrayBufferLike) => boolean): { tensors: Tensor[]; transfer: ArrayBuffer[] } {
  const transfer = new Set<ArrayBuffer>();
  const out = tensors.map((tensor): Tensor => {
    const data = tensor.data;
    if (Array.isArray(data)) return tensor;
    const buffer = data.buffer;
    const movable =
      buffer instanceof ArrayBuffer && !keep?.(buffer) && (transfer.has(buffer) ? isExclusive(buffer) : isExclusive(buffer) || (data.byteOffset === 0 && data.byteLength === buffer.byteLength));
    const owned = movable ? data : data.slice();
    transfer.add(owned.buffer as ArrayBuffer);
    return { ...tensor, data: owned };
  });
  return { tensors: out, transfer: [...transfer] };
}
