/**
 * Tensor data at the client's edges. Inputs: checks a caller's tensor and turns its data into the
 * wire-ready form both transports encode from (`TensorData`: the TypedArray itself, or one
 * `Uint8Array` per BYTES element); numeric data is never copied, only `string[]` (BYTES text) and
 * `boolean[]` (BOOL) are converted. Outputs: raw bytes back into typed data, where a size mismatch
 * is the server's fault and reported as a malformed response.
 */
import { decodeBinaryTensor, arrayTypeOf, isDataType, type DataType, elementCount, type TensorData } from '../tensors/index.js';
import type { InputTensor } from './client-types.js';
import { clientArgumentError, malformedResponse } from './inference-server-error.js';

const utf8 = new TextEncoder();
const utf8Decoder = new TextDecoder();

export function inputTensorData(tensor: InputTensor): TensorData {
  const { name, datatype, shape } = tensor;
  if (typeof name !== 'string' || name === '') throw clientArgumentError('an input tensor has no name');
  if (!isDataType(datatype)) throw clientArgumentError(`input '${name}': unknown datatype '${String(datatype)}'`);
  for (const dim of shape) {
    if (!Number.isSafeInteger(dim) || dim < 0) {
      throw clientArgumentError(`input '${name}': shape [${shape.join(',')}] must hold integers >= 0`);
    }
  }
  const converted = convert(tensor);
  const count = elementCount(shape);
  if (converted.length !== count) {
    throw clientArgumentError(`input '${name}': shape [${shape.join(',')}] needs ${count} elements, the data holds ${converted.length}`);
  }
  return converted;
}

function convert({ name, datatype, data }: InputTensor): TensorData {
  if (datatype === 'BYTES') {
    if (!Array.isArray(data)) throw clientArgumentError(`input '${name}': BYTES data must be a string[] or Uint8Array[]`);
    return bytesElements(name, data);
  }
  if (datatype === 'BOOL' && Array.isArray(data)) {
    const out = new Uint8Array(data.length);
    for (let i = 0; i < data.length; i++) {
      const value: unknown = data[i];
      if (typeof value !== 'boolean') throw clientArgumentError(`input '${name}': element ${i} of BOOL data is not a boolean`);
      out[i] = value ? 1 : 0;
    }
    return out;
  }
  const ArrayType = arrayTypeOf(datatype);
  if (!(data instanceof ArrayType)) {
    const got = Array.isArray(data) ? 'an array' : (data as object).constructor.name;
    throw clientArgumentError(`input '${name}': ${datatype} data must be a ${ArrayType.name}, got ${got}`);
  }
  return data;
}

function bytesElements(name: string, data: readonly unknown[]): Uint8Array[] {
  const out = new Array<Uint8Array>(data.length);
  for (let i = 0; i < data.length; i++) {
    const value = data[i];
    if (typeof value === 'string') out[i] = utf8.encode(value);
    else if (value instanceof Uint8Array) out[i] = value;
    else throw clientArgumentError(`input '${name}': BYTES element ${i} is neither a string nor a Uint8Array`);
  }
  return out;
}

/** BYTES elements as text (UTF-8; invalid sequences become U+FFFD). */
export function bytesToStrings(data: readonly Uint8Array[]): string[] {
  return data.map((element) => utf8Decoder.decode(element));
}

/** Raw tensor bytes of an answer → typed data (a view of `bytes` when alignment allows). */
export function decodeOutputBytes(datatype: DataType, shape: readonly number[], bytes: Uint8Array, name: string): TensorData {
  try {
    // A plain Uint8Array view (not a Buffer) so BYTES elements are the same type whatever the transport.
    const plain = Object.getPrototypeOf(bytes) === Uint8Array.prototype ? bytes : new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    return decodeBinaryTensor(datatype, shape, plain, name);
  } catch (error) {
    const detail = error instanceof Error ? error.message.replace(`input '${name}': `, '') : String(error);
    throw malformedResponse(`output '${name}': ${detail}`, error);
  }
}
