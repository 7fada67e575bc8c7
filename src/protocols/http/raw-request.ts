/**
 * Triton's raw binary inference request (Triton's binary tensor data extension): `Inference-Header-Content-Length: 0`
 * means there is no JSON; the whole body is the data of the model's only input, and every output
 * comes back binary.
 *
 * The input's shape comes from the model's metadata: batching models get a batch of 1, and the one
 * variable-size dimension left (if any) is whatever the byte count makes it. BYTES inputs must have
 * shape [1]; the whole body is then that one element.
 */
import { invalidArgument } from '../../core/index.js';
import { byteSizeOf, decodeBinaryTensor } from '../../tensors/index.js';
import type { TensorSignature } from '../../backends/index.js';
import type { HttpInferRequest } from './infer-request.js';

/**
 * Decodes a raw binary request for `model`, whose metadata lists `inputs` (API shapes: `[-1, ...]`
 * for batching models) and which batches when `maxBatchSize > 0`.
 */
export function decodeRawInferRequest(model: string, version: number | undefined, body: Buffer, inputs: readonly TensorSignature[], maxBatchSize: number): HttpInferRequest {
  const [input] = inputs;
  if (input === undefined || inputs.length !== 1) {
    throw invalidArgument(`a raw binary request (Inference-Header-Content-Length: 0) needs a model with exactly one input; model '${model}' has ${inputs.length}`);
  }
  const batching = maxBatchSize > 0;
  const dims = batching ? input.shape.slice(1) : [...input.shape];
  const variable = dims.indexOf(-1);
  if (variable !== dims.lastIndexOf(-1)) {
    throw invalidArgument(`the shape of raw input '${input.name}' cannot be deduced: it has more than one variable-size dimension`);
  }
  let fixedCount = 1;
  for (const dim of dims) if (dim !== -1) fixedCount *= dim;

  let data;
  if (input.datatype === 'BYTES') {
    if (variable !== -1 || fixedCount !== 1) {
      throw invalidArgument(`a raw binary request for BYTES input '${input.name}' needs the model input shape to be [1]`);
    }
    // The whole body is the one element: no length prefix on the wire.
    data = [body];
  } else {
    if (variable !== -1) {
      const rowBytes = fixedCount * byteSizeOf(input.datatype);
      dims[variable] = rowBytes === 0 ? 0 : Math.floor(body.byteLength / rowBytes);
    }
    // Checks that the byte count matches the resolved shape exactly.
    data = decodeBinaryTensor(input.datatype, batching ? [1, ...dims] : dims, body, input.name);
  }
  const shape = batching ? [1, ...dims] : dims;
  return {
    request: { model, version, inputs: [{ name: input.name, datatype: input.datatype, shape, data }] },
    binaryOutputDefault: true,
    binaryOutputs: undefined,
  };
}
