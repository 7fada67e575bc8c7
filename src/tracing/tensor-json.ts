/**
 * A tensor as Triton's TENSORS trace level writes it: `{"id","activity","tensor":{"name","data",
 * "shape","dtype"}}` with the elements comma-separated in `data` (BOOL as 1/0, BYTES elements as
 * quoted strings, FP16/BF16 left empty as in Triton) and the shape comma-separated in `shape`.
 * Only the first `MAX_TRACED_ELEMENTS` elements are written, so a large tensor cannot blow up
 * the trace file (Triton writes them all).
 */
import { isBytesData, type Tensor } from '../tensors/index.js';

export const MAX_TRACED_ELEMENTS = 65_536;

export function tensorTraceJson(id: number, activity: string, tensor: Tensor): string {
  let data = '';
  if (isBytesData(tensor.data)) {
    const elements = tensor.data.slice(0, MAX_TRACED_ELEMENTS);
    data = elements.map((element) => JSON.stringify(Buffer.from(element.buffer, element.byteOffset, element.byteLength).toString('utf8'))).join(',');
  } else if (tensor.datatype !== 'FP16' && tensor.datatype !== 'BF16') {
    const values = tensor.data.length > MAX_TRACED_ELEMENTS ? tensor.data.subarray(0, MAX_TRACED_ELEMENTS) : tensor.data;
    data = Array.prototype.join.call(values, ',');
  }
  const body = { name: tensor.name, data, shape: tensor.shape.join(','), dtype: tensor.datatype };
  return `{"id":${id},"activity":${JSON.stringify(activity)},"tensor":${JSON.stringify(body)}}`;
}
