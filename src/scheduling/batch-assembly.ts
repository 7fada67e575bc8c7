/**
 * Joining requests into one batch along the first dimension, and splitting the outputs back.
 * Pure functions: the batcher decides *which* requests go together, these only move the data.
 */
import { internal } from '../core/errors.js';
import { arrayTypeOf } from '../tensors/data-type.js';
import type { NumericArray, Tensor } from '../tensors/tensor.js';

/** True when `b` can share a batch with `a`: same inputs, same non-batch dims, same outputs. */
export function canBatchTogether(a: readonly Tensor[], aOutputs: readonly string[], b: readonly Tensor[], bOutputs: readonly string[]): boolean {
  if (a.length !== b.length || aOutputs.length !== bOutputs.length) return false;
  for (let i = 0; i < aOutputs.length; i++) if (aOutputs[i] !== bOutputs[i]) return false;
  for (let i = 0; i < a.length; i++) {
    const x = a[i]!;
    const y = b[i]!;
    if (x.name !== y.name || x.datatype !== y.datatype || x.shape.length !== y.shape.length) return false;
    for (let d = 1; d < x.shape.length; d++) if (x.shape[d] !== y.shape[d]) return false;
  }
  return true;
}

/** Concatenates each input across requests along dim 0. A single request passes through untouched. */
export function concatInputs(requests: readonly (readonly Tensor[])[]): Tensor[] {
  const first = requests[0]!;
  if (requests.length === 1) return [...first];
  return first.map((head, i) => {
    const parts = requests.map((inputs) => inputs[i]!);
    const rows = parts.reduce((sum, t) => sum + (t.shape[0] ?? 0), 0);
    const shape = [rows, ...head.shape.slice(1)];
    if (Array.isArray(head.data)) return { name: head.name, datatype: head.datatype, shape, data: parts.flatMap((t) => t.data as Uint8Array[]) };
    const length = parts.reduce((sum, t) => sum + (t.data as NumericArray).length, 0);
    const ArrayType = arrayTypeOf(head.datatype);
    const data = new ArrayType(length);
    let offset = 0;
    for (const part of parts) {
      const values = part.data as NumericArray;
      (data as Uint8Array).set(values as Uint8Array, offset);
      offset += values.length;
    }
    return { name: head.name, datatype: head.datatype, shape, data };
  });
}

/**
 * Splits batched outputs into one list per request, by the rows each contributed. The pieces are
 * views of the batched buffers, not copies.
 */
export function splitOutputs(outputs: readonly Tensor[], rowsPerRequest: readonly number[]): Tensor[][] {
  if (rowsPerRequest.length === 1) return [[...outputs]];
  const total = rowsPerRequest.reduce((a, b) => a + b, 0);
  const perRequest: Tensor[][] = rowsPerRequest.map(() => []);
  for (const output of outputs) {
    if (output.shape[0] !== total) {
      throw internal(`output '${output.name}' has ${output.shape[0]} rows for a batch of ${total}; the model does not batch along dim 0`);
    }
    const rowSize = output.shape.slice(1).reduce((a, b) => a * b, 1);
    let row = 0;
    rowsPerRequest.forEach((rows, r) => {
      const start = row * rowSize;
      const end = (row + rows) * rowSize;
      const data = Array.isArray(output.data) ? output.data.slice(start, end) : (output.data).subarray(start, end);
      perRequest[r]!.push({ name: output.name, datatype: output.datatype, shape: [rows, ...output.shape.slice(1)], data });
      row += rows;
    });
  }
  return perRequest;
}
