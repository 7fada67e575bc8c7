/**
 * Which requests may share a batch, and splitting a batch's outputs back per request. Pure
 * functions: the batcher decides *which* requests go together; joining their inputs is the model
 * instance's job (`tensors/concat-rows.ts`), done where the batch is read.
 */
import { internal } from '../core/index.js';
import type { Tensor } from '../tensors/index.js';

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
      const data = Array.isArray(output.data) ? output.data.slice(start, end) : output.data.subarray(start, end);
      perRequest[r]!.push({ name: output.name, datatype: output.datatype, shape: [rows, ...output.shape.slice(1)], data });
      row += rows;
    });
  }
  return perRequest;
}
