/**
 * Messages between the main thread and a model instance's worker thread, the same for every
 * backend that runs an instance in a `worker_threads` Worker. A backend names what varies in an
 * `InstanceProtocol`: what the worker is started with, what it reports once loaded, what it answers
 * to `release` and how it describes a failed run. Tensor buffers travel in the transfer list, so
 * numeric data crosses threads without being copied.
 */
import { isExclusive } from '../../tensors/index.js';
import type { Tensor } from '../../tensors/index.js';

/** What varies from one backend's instance thread to another's. */
export interface InstanceProtocol {
  /** The worker's `workerData` (copied to the worker by structured clone). */
  readonly data: unknown;
  /** What the worker reports once its model is ready (signature metadata, say). */
  readonly loaded: unknown;
  /** What the worker answers once it has released its model. */
  readonly released: unknown;
  /** How the worker describes a run that threw. */
  readonly runError: unknown;
}

/** One execution: the inputs of each request of the batch, joined by the worker (`ModelInstance`). */
export interface RunMessage {
  readonly kind: 'run';
  readonly id: number;
  readonly requests: readonly (readonly Tensor[])[];
  readonly outputs: readonly string[];
}

export type ToInstance = RunMessage | { readonly kind: 'release' };

/** A run's answer. The timings stay flat fields: the main thread builds the one timing object. */
export interface ResultMessage {
  readonly kind: 'result';
  readonly id: number;
  /** A fresh array on the receiving side, handed to the caller as it is. */
  readonly outputs: Tensor[];
  readonly computeInputNs: number;
  readonly computeInferNs: number;
  readonly computeOutputNs: number;
  /** Large input buffers the run no longer needs, sent back to be read into again (`buffer-pool.ts`). */
  readonly recycled?: readonly ArrayBuffer[] | undefined;
}

export type FromInstance<P extends InstanceProtocol> =
  | { readonly kind: 'loaded'; readonly loaded: P['loaded'] }
  | { readonly kind: 'loadFailed'; readonly message: string }
  | ResultMessage
  | { readonly kind: 'runFailed'; readonly id: number; readonly error: P['runError'] }
  | { readonly kind: 'released'; readonly detail: P['released'] };

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
