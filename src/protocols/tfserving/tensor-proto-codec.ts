/**
 * `tensorflow.TensorProto` ↔ protocol-neutral tensors (tensorflow/core/framework/tensor.proto).
 *
 * Decoding accepts both forms clients send: `tensor_content` (raw little-endian bytes, what
 * `tf.make_tensor_proto` produces for numeric arrays; for DT_STRING, TF's packed form of all varint
 * lengths then all bytes) and the typed `*_val` lists. A typed list shorter than the element count
 * is completed with its last value (one value fills the tensor), an empty one means zeros, and
 * surplus values are ignored, as TensorFlow's own decoder does. Values in a list that does not
 * belong to the dtype are refused rather than silently ignored.
 *
 * Nothing is allocated before the tensor is known to fit: the rank is at most MAX_DIMS, the
 * element count a safe integer, the dtype and shape those of the signature's input (when the
 * caller passes it), and a list that must be expanded to fill the shape is charged to the request's
 * `DecodeBudget` first. Otherwise a 51-byte message (shape [100000000,10], one `double_val`) asked
 * for an 8 GB tensor.
 *
 * Encoding writes the typed `*_val` list of the dtype by default, as TF Serving does (its
 * `--enable_serialization_as_tensor_content` is off by default): clients such as TF Serving's own
 * mnist/resnet examples read `outputs['…'].float_val` directly. With `tensor_content` chosen,
 * numeric tensors are written as raw little-endian bytes (a view of the tensor, no per-element
 * work); DT_STRING is always written as `string_val`. `tf.make_ndarray` reads every form.
 */
import { clip, formatShape, quoteInput, invalidArgument } from '../../core/index.js';
import type { TensorSignature } from '../../backends/index.js';
import {
  decodeBinaryTensor,
  encodeBinaryTensor,
  arrayTypeOf,
  INTEGER_RANGES,
  type DataType,
  isBytesData,
  type NumericArray,
  type Tensor,
  type TensorData,
  checkedElementCount,
  checkRank,
  type DecodeBudget,
} from '../../tensors/index.js';
import { dataTypeFromTf, tfDataTypeOf, TYPED_VAL_FIELDS, typedValFieldOf } from './tf-data-types.js';
import type { WireInt64, WireTensorProto, WireTensorShape } from './tfs-messages.js';

export interface TensorProtoDecoding {
  /** The signature's input of this name (API shape, -1 = any size): dtype and shape must fit it. */
  readonly signature?: TensorSignature | undefined;
  /** The request's budget for values expanded to fill the shape. */
  readonly budget?: DecodeBudget | undefined;
}

/** Decodes the TensorProto of input `name`; INVALID_ARGUMENT (or UNIMPLEMENTED for dtypes) naming it. */
export function decodeTensorProto(proto: WireTensorProto, name: string, decoding: TensorProtoDecoding = {}): Tensor {
  const where = `input ${quoteInput(name)}`;
  const datatype = dataTypeFromTf(proto.dtype ?? 'DT_INVALID', where);
  const shape = decodeTensorShape(proto.tensor_shape, where);
  const count = checkedElementCount(shape, where);
  if (decoding.signature) checkSignature(datatype, shape, decoding.signature, where);
  const content = proto.tensor_content;
  let data: TensorData;
  if (content !== undefined && content.byteLength > 0) {
    data = datatype === 'BYTES' ? decodePackedStrings(content, count, where) : decodeBinaryTensor(datatype, shape, content, name);
  } else {
    data = decodeTypedValues(proto, datatype, count, where, decoding.budget);
  }
  return { name, datatype, shape, data };
}

/**
 * Outermost dimension first; a missing shape is a scalar. Request tensors need every size known;
 * the rank is bounded before the dims are read.
 */
export function decodeTensorShape(shape: WireTensorShape | null | undefined, where: string): number[] {
  if (!shape) return [];
  if (shape.unknown_rank === true) throw invalidArgument(`${where}: tensor_shape has unknown_rank set; a request tensor needs a known shape`);
  const dims = shape.dim ?? [];
  checkRank(dims.length, where);
  return dims.map((dim, i) => {
    const size = Number(dim.size ?? 0);
    if (!Number.isSafeInteger(size) || size < 0) {
      throw invalidArgument(`${where}: tensor_shape.dim[${i}].size is ${clip(String(dim.size), 24)}; sizes must be integers >= 0`);
    }
    return size;
  });
}

/** The dtype and shape of a request tensor against its signature input (O(rank)). */
function checkSignature(datatype: DataType, shape: readonly number[], signature: TensorSignature, where: string): void {
  if (datatype !== signature.datatype) {
    throw invalidArgument(`${where}: dtype ${tfDataTypeOf(datatype)} does not match the signature's ${tfDataTypeOf(signature.datatype)}`);
  }
  const expected = signature.shape;
  const fits = shape.length === expected.length && expected.every((dim, i) => dim < 0 || dim === shape[i]);
  if (!fits) throw invalidArgument(`${where}: shape ${formatShape(shape)} does not match the signature's ${formatShape(expected)}`);
}

/**
 * How Predict responses carry numbers: `proto_field` (TF Serving's default: `float_val`,
 * `int64_val`, … one entry per element) or `tensor_content` (raw bytes).
 */
export type TensorSerialization = 'proto_field' | 'tensor_content';

/** An output tensor as a TensorProto: numbers in their typed list or as `tensor_content`, strings in `string_val`. */
export function encodeTensorProto(tensor: Tensor, serialization: TensorSerialization = 'proto_field'): WireTensorProto {
  const proto: WireTensorProto = {
    dtype: tfDataTypeOf(tensor.datatype),
    tensor_shape: { dim: tensor.shape.map((size) => ({ size, name: '' })), unknown_rank: false },
  };
  const data = tensor.data;
  if (isBytesData(data)) proto.string_val = data;
  else if (serialization === 'tensor_content') proto.tensor_content = encodeBinaryTensor(data);
  else writeTypedValues(proto, tensor.datatype, data);
  return proto;
}

/** Every element in the dtype's typed list (TensorFlow's `Tensor::AsProtoField`). */
function writeTypedValues(proto: WireTensorProto, datatype: DataType, data: NumericArray): void {
  switch (datatype) {
    case 'BOOL':
      proto.bool_val = Array.from(data as Uint8Array, (value) => value !== 0);
      return;
    case 'INT64':
    case 'UINT64': {
      // 64-bit values go out as decimal strings (exact beyond 2^53; protobufjs encodes them as varints).
      const values = Array.from(data as BigInt64Array | BigUint64Array, (value) => value.toString());
      if (datatype === 'INT64') proto.int64_val = values;
      else proto.uint64_val = values;
      return;
    }
    default: {
      // FP16/BF16 (half_val) carry the 16-bit patterns; the others their numbers.
      const field = typedValFieldOf(datatype) as 'float_val' | 'double_val' | 'int_val' | 'half_val' | 'uint32_val';
      proto[field] = Array.from(data as ArrayLike<number>);
    }
  }
}

function decodeTypedValues(proto: WireTensorProto, datatype: DataType, count: number, where: string, budget: DecodeBudget | undefined): TensorData {
  const field = typedValFieldOf(datatype);
  for (const other of TYPED_VAL_FIELDS) {
    if (other !== field && (proto[other]?.length ?? 0) > 0) {
      throw invalidArgument(`${where}: a ${tfDataTypeOf(datatype)} tensor takes its values in ${field} or tensor_content, not in ${other}`);
    }
  }
  const listed = (proto[field] as readonly unknown[] | undefined)?.length ?? 0;
  if (listed < count && budget) {
    // The message holds fewer values than the tensor: what it will take once filled is not bounded
    // by the message, so it is charged before anything is allocated. A repeated string element is
    // stored once but ONNX Runtime copies it per element, so its bytes count per element.
    const last = datatype === 'BYTES' ? proto.string_val?.[listed - 1] : undefined;
    budget.charge(datatype, count, where, last === undefined ? 0 : count * last.byteLength);
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
      const range = INTEGER_RANGES[datatype];
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
  // Each length takes at least one byte: a count the content cannot hold is refused before the
  // length list is allocated.
  if (count > content.byteLength) throw invalidArgument(`${where}: DT_STRING tensor_content of ${content.byteLength} bytes cannot hold ${count} elements`);
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
