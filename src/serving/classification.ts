/**
 * The classification extension: an output replaced by its top-k entries, as BYTES strings
 * `"<value>:<index>"` or `"<value>:<index>:<label>"`, ranked by value in the output's own type.
 */
import { invalidArgument } from '../core/index.js';
import type { Tensor } from '../tensors/index.js';

const encoder = new TextEncoder();

export function classify(tensor: Tensor, k: number, batching: boolean, labels: readonly string[] | undefined): Tensor {
  if (Array.isArray(tensor.data) || tensor.datatype === 'FP16' || tensor.datatype === 'BF16') {
    throw invalidArgument(`output '${tensor.name}': classification needs a numeric output, it is ${tensor.datatype}`);
  }
  const values = tensor.data;
  const batches = batching ? (tensor.shape[0] ?? 1) : 1;
  const perItem = batches === 0 ? 0 : values.length / batches;
  const top = Math.min(k, perItem);
  const data: Uint8Array[] = [];
  for (let b = 0; b < batches; b++) {
    const indices = Array.from({ length: perItem }, (_, i) => i);
    const at = (i: number): number | bigint => values[b * perItem + i]!;
    indices.sort((x, y) => {
      const a = at(x);
      const c = at(y);
      return a < c ? 1 : a > c ? -1 : x - y;
    });
    for (const index of indices.slice(0, top)) {
      const value = at(index);
      const text = typeof value === 'bigint' ? value.toString() : tensor.datatype === 'BOOL' ? String(value) : formatFloat(value, tensor.datatype);
      const label = labels?.[index];
      data.push(encoder.encode(label !== undefined ? `${text}:${index}:${label}` : `${text}:${index}`));
    }
  }
  return { name: tensor.name, datatype: 'BYTES', shape: batching ? [batches, top] : [top], data };
}

/** FP32 values print with float precision (7 digits), so 3.3f reads "3.3", not "3.299999952316284". */
function formatFloat(value: number, datatype: string): string {
  return String(datatype === 'FP32' ? Number(value.toPrecision(7)) : value);
}
