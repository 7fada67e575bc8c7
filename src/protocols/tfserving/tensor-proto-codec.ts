/**
 * `tensorflow.TensorProto` ↔ protocol-neutral tensors (protocols.md §4.4).
 *
 * Decoding accepts both forms clients send: `tensor_content` (raw little-endian bytes, what
 * `tf.make_tensor_proto` produces for numeric arrays; for DT_STRING, TF's packed form of all varint
 * lengths then all bytes) and the typed `*_val` lists. A typed list shorter than the element count
 * is completed with its last value (one value fills the tensor), an empty one means zeros, and
 * surplus values are ignored, as TensorFlow's own decoder does. Values in a list that does not
 * belong to the dtype are refused rather than silently ignored.
 *
 * Encoding always writes `tensor_content` for numeric tensors (a view of the tensor's bytes, no
 * per-element work) and `string_val` for DT_STRING; `tf.make_ndarray` reads both.
 */
import { invalidArgument } from '../../core/errors.js';
import { decodeBinaryTensor, encodeBinaryTensor } from '../../tensors/binary-codec.js';
import { arrayTypeOf, type DataType } from '../../tensors/data-type.js';
import { elementCount, isBytesData, type Tensor, type TensorData } from '../../tensors/tensor.js';
import { dataTypeFromTf, tfDataTypeOf, TYPED_VAL_FIELDS, typedValFieldOf } from './tf-data-types.js';
import type { WireInt64, WireTensorProto, WireTensorShape } from './tfs-messages.js';

const INT_RANGES: Partial<Record<DataType, readonly [number, number]>> = {
  INT8: [-128, 127],
  UINT8: [0, 255],
  INT16: [-32768, 32767],
  UINT16: [0, 65535],
  INT32: [-2147483648, 2147483647],
  UINT32: [0, 4294967295],
};

/** Decodes the TensorProto of input `name`; INVALID_ARGUMENT (or UNIMPLEMENTED for dtypes) naming it. */
export function decodeTensorProto(proto: WireTensorProto, name: string): Tensor {
  const where = `input '${name}'`;
  const datatype = dataTypeFromTf(proto.dtype ?? 'DT_INVALID', where);
  const shape = decodeTensorShape(proto.tensor_shape, where);
  const count = elementCount(shape);
  const content = proto.tensor_content;
  let data: TensorData;
  if (content !== undefined && content.byteLength > 0) {
    data = datatype === 'BYTES' ? decodePackedStrings(content, count, where) : decodeBinaryTensor(datatype, shape, content, name);
  } else {
    data = decodeTypedValues(proto, datatype, count, where);
  }
  return { name, datatype, shape, data };
}

/** Outermost dimension first; a missing shape is a scalar. Request tensors need every size known. */
export function decodeTensorShape(shape: WireTensorShape | null | undefined, where: string): number[] {
  if (!shape) return [];
  if (shape.unknown_rank === true) throw invalidArgument(`${where}: tensor_shape has unknown_rank set; a request tensor needs a known shape`);
  const dims = shape.dim ?? [];
  return dims.map((dim, i) => {
    const size = Number(dim.size ?? 0);
    if (!Number.isSafeInteger(size) || size < 0) throw invalidArgument(`${where}: tensor_shape.dim[${i}].size is ${String(dim.size)}; sizes must be integers >= 0`);
    return size;
  });
}

/** A numeric tensor as `tensor_content`, a string tensor as `string_val`. */
export function encodeTensorProto(tensor: Tensor): WireTensorProto {
  const proto: WireTensorProto = {
    dtype: tfDataTypeOf(tensor.datatype),
    tensor_shape: { dim: tensor.shape.map((size) => ({ size, name: '' })), unknown_rank: false },
  };
  if (isBytesData(tensor.data)) proto.string_val = tensor.data;
  else proto.tensor_content = encodeBinaryTensor(tensor.data);
  return proto;
}

function decodeTypedValues(proto: WireTensorProto, datatype: DataType, count: number, where: string): TensorData {
  const field = typedValFieldOf(datatype);
  for (const other of TYPED_VAL_FIELDS) {
    if (other !== field && (proto[other]?.length ?? 0) > 0) {
      throw invalidArgument(`${where}: a ${tfDataTypeOf(datatype)} tensor takes its values in ${field} or tensor_content, not in ${other}`);
    }
  }
  switch (datatype) {
    case 'BYTES':
      return repeatLast(proto.string_val ?? [], count, new Uint8Array(0));
    case 'BOOL': {
      const values = proto.bool_val ?? [];
      const out = new Uint8Array(count);
      for (let i = 0; i < count && values.length > 0; i++) out[i] = values[Math.min(i, values.length - 1)] ? 1 : 0;
      return out;
    }
    case 'INT64':
    case 'UINT64':
      return decodeBigInts(datatype, datatype === 'INT64' ? (proto.int64_val ?? []) : (proto.uint64_val ?? []), count, where);
    case 'FP16':
    case 'BF16': {
      const values = proto.half_val ?? [];
      const out = new Uint16Array(count);
      for (let i = 0; i < count && values.length > 0; i++) out[i] = (values[Math.min(i, values.length - 1)] ?? 0) & 0xffff;
      return out;
    }
    default: {
      const values = (proto[field] ?? []) as number[];
      const range = INT_RANGES[datatype];
      if (range) checkRange(values, Math.min(values.length, count), range, datatype, field, where);
      const out = new (arrayTypeOf(datatype))(count) as Float32Array | Float64Array | Int32Array;
      fillNumbers(out, values, count);
      return out;
    }
  }
}

/** Copies `values` into `out`, completing a short list with its last value and dropping surplus. */
function fillNumbers(out: Float32Array | Float64Array | Int32Array, values: readonly number[], count: number): void {
  const n = values.length;
  if (n === 0 || count === 0) return;
  if (n >= count) {
    out.set(n === count ? values : values.slice(0, count));
    return;
  }
  out.set(values);
  out.fill(values[n - 1]!, n);
}

function repeatLast<T>(values: readonly T[], count: number, empty: T): T[] {
  const out = new Array<T>(count);
  const n = values.length;
  for (let i = 0; i < count; i++) out[i] = n === 0 ? empty : values[Math.min(i, n - 1)]!;
  return out;
}

function checkRange(values: readonly number[], n: number, [min, max]: readonly [number, number], datatype: DataType, field: string, where: string): void {
  for (let i = 0; i < n; i++) {
    const value = values[i]!;
    if (!Number.isInteger(value) || value < min || value > max) {
      throw invalidArgument(`${where}: ${field}[${i}] = ${value} is out of range for ${tfDataTypeOf(datatype)} (${min}..${max})`);
    }
  }
}

function decodeBigInts(datatype: 'INT64' | 'UINT64', values: readonly WireInt64[], count: number, where: string): BigInt64Array | BigUint64Array {
  const out = datatype === 'INT64' ? new BigInt64Array(count) : new BigUint64Array(count);
  const n = values.length;
  if (n === 0) return out;
  const field = datatype === 'INT64' ? 'int64_val' : 'uint64_val';
  const limit = Math.min(n, count);
  for (let i = 0; i < limit; i++) {
    const value = values[i]!;
    try {
      out[i] = BigInt(value);
    } catch {
      throw invalidArgument(`${where}: ${field}[${i}] = ${String(value)} is not an integer`);
    }
    if (out[i] !== BigInt(value)) throw invalidArgument(`${where}: ${field}[${i}] = ${String(value)} is out of range for ${tfDataTypeOf(datatype)}`);
  }
  if (n < count) out.fill(out[n - 1]!, n);
  return out;
}

/** TF's packed DT_STRING `tensor_content`: `count` varint32 lengths, then the bytes of each element. */
function decodePackedStrings(content: Uint8Array, count: number, where: string): Uint8Array[] {
  const lengths = new Array<number>(count);
  let offset = 0;
  for (let i = 0; i < count; i++) {
    let length = 0;
    for (let shift = 0; ; shift += 7) {
      if (offset >= content.byteLength || shift > 28) throw invalidArgument(`${where}: DT_STRING tensor_content has a bad length prefix for element ${i}`);
      const byte = content[offset++]!;
      length += (byte & 0x7f) * 2 ** shift;
      if ((byte & 0x80) === 0) break;
    }
    lengths[i] = length;
  }
  const elements = new Array<Uint8Array>(count);
  for (let i = 0; i < count; i++) {
    const end = offset + lengths[i]!;
    if (end > content.byteLength) throw invalidArgument(`${where}: DT_STRING tensor_content is shorter than its ${count} element lengths announce`);
    elements[i] = content.subarray(offset, end);
    offset = end;
  }
  if (offset !== content.byteLength) throw invalidArgument(`${where}: DT_STRING tensor_content has ${content.byteLength - offset} bytes beyond its ${count} elements`);
  return elements;
}
