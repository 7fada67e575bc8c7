/**
 * Limits every request decoder applies to a tensor before it allocates anything for it: the rank,
 * the dimensions, the element count and, where the element count is not bounded by the bytes the
 * client actually sent, the bytes the tensor will take once decoded.
 *
 * All checks are O(rank): they run once per tensor, never per element.
 */
import { invalidArgument, formatShape } from '../core/index.js';
import { byteSizeOf, type DataType } from './data-type.js';

/**
 * Most dimensions a request tensor may have. NumPy 2 allows 64 (NumPy 1: 32), TensorFlow 254 and
 * ONNX Runtime has no lower limit; no real model input comes close to 64, while a shape with
 * thousands of dimensions only serves to make the server do O(rank) work per element or send
 * oversized error messages.
 */
export const MAX_DIMS = 64;

/**
 * Per-element overhead counted for a BYTES element when a tensor's decoded size is estimated
 * (an `Uint8Array` view costs far more than this in memory; 4 bytes is its length prefix on the
 * wire, so the estimate never exceeds what the same tensor costs sent in full).
 */
export const BYTES_ELEMENT_OVERHEAD = 4;

/** Refuses a rank above `MAX_DIMS`; `where` names the tensor (`input 'x'`). */
export function checkRank(rank: number, where: string): void {
  if (rank > MAX_DIMS) throw invalidArgument(`${where}: the shape has ${rank} dimensions; at most ${MAX_DIMS} are accepted`);
}

/**
 * Element count of a shape whose dims are already known to be non-negative safe integers, refusing
 * a rank above `MAX_DIMS` and a product that is not a safe integer (any zero dim makes it 0).
 */
export function checkedElementCount(shape: readonly number[], where: string): number {
  checkRank(shape.length, where);
  let count = 1;
  let zero = false;
  for (const dim of shape) {
    if (dim === 0) zero = true;
    else count *= dim;
  }
  if (zero) return 0;
  if (!Number.isSafeInteger(count)) throw invalidArgument(`${where}: shape ${formatShape(shape)} holds more than 2^53 elements`);
  return count;
}

/**
 * How many bytes the tensors of one request may take once decoded, where that is not bounded by
 * the bytes the client sent: a TF Serving `*_val` list shorter than the shape is completed with
 * its last value, so a 51-byte message could ask for an 8 GB tensor. Charged per tensor, before
 * its data is allocated; one budget per request, so many small tensors cannot add up either.
 */
export class DecodeBudget {
  private used = 0;

  constructor(readonly limitBytes: number) {
    if (!Number.isSafeInteger(limitBytes) || limitBytes < 0) throw new RangeError(`limitBytes must be a non-negative integer, got ${limitBytes}`);
  }

  /**
   * Takes the decoded size of `count` elements of `datatype` (BYTES elements count
   * `BYTES_ELEMENT_OVERHEAD` each plus `payloadBytes`), or refuses with INVALID_ARGUMENT.
   */
  charge(datatype: DataType, count: number, where: string, payloadBytes = 0): void {
    const size = datatype === 'BYTES' ? BYTES_ELEMENT_OVERHEAD : byteSizeOf(datatype);
    const bytes = count * size + payloadBytes;
    if (this.used + bytes > this.limitBytes) {
      throw invalidArgument(
        `${where}: ${count} elements of ${datatype} would take ${bytes} bytes once expanded, more than the ${this.limitBytes - this.used} bytes left of the ${this.limitBytes} a request may decode to`,
      );
    }
    this.used += bytes;
  }
}
