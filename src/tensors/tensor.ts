/**
 * Tensors as every layer of Cranberries sees them: protocol-neutral, row-major, little-endian.
 *
 * Numeric data lives in a TypedArray whose element type matches the datatype (see `data-type.ts`),
 * so it can cross to a worker thread as a transferable buffer without conversion. BYTES tensors are
 * one `Uint8Array` per element: the protocols carry arbitrary bytes, not text.
 */
import type { DataType, NumericArray } from './data-type.js';

export type { NumericArray } from './data-type.js';

/** BOOL → Uint8Array (0/1), FP16/BF16 → Uint16Array (raw bits), BYTES → Uint8Array[]. */
export type TensorData = NumericArray | Uint8Array[];

export interface Tensor {
  readonly name: string;
  readonly datatype: DataType;
  readonly shape: readonly number[];
  readonly data: TensorData;
}

/** Number of elements a shape holds (1 for a scalar shape `[]`). */
export function elementCount(shape: readonly number[]): number {
  let count = 1;
  for (const dim of shape) count *= dim;
  return count;
}

export function isBytesData(data: TensorData): data is Uint8Array[] {
  return Array.isArray(data);
}
