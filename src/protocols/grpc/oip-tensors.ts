/**
 * Tensor data of ModelInfer (grpc_service.proto). Inputs come either typed, in the one
 * `InferTensorContents` list that matches their datatype, or raw, one `raw_input_contents` entry
 * per input in input order; a request never mixes the two and FP16/BF16 only travel raw. Outputs
 * always go out raw, like Triton, because `tritonclient` reads nothing else.
 *
 * Raw inputs are decoded as views of the received message when their alignment allows it, and raw
 * outputs are views of the result tensors: the hot path copies tensor bytes only when it must.
 */
import { clip, formatShape, quoteInput, invalidArgument } from '../../core/index.js';
import { decodeBinaryTensor, encodeBinaryTensor, isDataType, type DataType, checkedElementCount, checkRank } from '../../tensors/index.js';
import type { Tensor, TensorData } from '../../tensors/index.js';
import type { WireInferInputTensor, WireInferOutputTensor, WireInferParameter, WireInt64, WireParameters, WireTensorContents } from './oip-messages.js';
import { SHARED_MEMORY_PARAMETERS, sharedMemoryRefOf, type SharedMemoryRef, type SharedMemoryUse } from '../../shared-memory/index.js';

type ContentsField = keyof WireTensorContents;

const CONTENTS_FIELDS: readonly ContentsField[] = ['bool_contents', 'int_contents', 'int64_contents', 'uint_contents', 'uint64_contents', 'fp32_contents', 'fp64_contents', 'bytes_contents'];

/** The typed list of each datatype; undefined for the raw-only FP16 and BF16. */
const TYPED_FIELD: Readonly<Record<DataType, ContentsField | undefined>> = {
  BOOL: 'bool_contents',
  UINT8: 'uint_contents',
  UINT16: 'uint_contents',
  UINT32: 'uint_contents',
  UINT64: 'uint64_contents',
  INT8: 'int_contents',
  INT16: 'int_contents',
  INT32: 'int_contents',
  INT64: 'int64_contents',
  FP16: undefined,
  FP32: 'fp32_contents',
  FP64: 'fp64_contents',
  BYTES: 'bytes_contents',
  BF16: undefined,
};

const EMPTY = new Uint8Array(0);

/** Without shared memory (a server that does not offer it), a tensor that points into a region is refused clearly. */
export function rejectSharedMemory(parameters: WireParameters | undefined, where: string): void {
  if (parameters === undefined) return;
  for (const key of SHARED_MEMORY_PARAMETERS) {
    if (Object.hasOwn(parameters, key)) {
      throw invalidArgument(`${where}: parameter '${key}' asks for shared memory, which this server does not support; send the data in the request`);
    }
  }
}

/**
 * Wire dims (int64, decimal strings) → numbers; at most MAX_DIMS of them, every dim a
 * non-negative safe integer.
 */
export function decodeShape(shape: readonly WireInt64[], tensorName: string): number[] {
  const where = `input ${quoteInput(tensorName)}`;
  checkRank(shape.length, where);
  const dims = new Array<number>(shape.length);
  for (let i = 0; i < shape.length; i++) {
    const dim = Number(shape[i]);
    if (!Number.isSafeInteger(dim) || dim < 0) {
      throw invalidArgument(`${where}: shape dimension ${i} is ${clip(String(shape[i]), 24)}; dimensions must be integers >= 0`);
    }
    dims[i] = dim;
  }
  return dims;
}

/**
 * Decodes every input; `raw` is the request's `raw_input_contents` (empty when typed contents are
 * used). With `sharedMemory`, inputs may name a region; they take no `raw_input_contents` entry
 * (as in Triton), so the entries belong to the other inputs, in order.
 */
export function decodeInputTensors(inputs: readonly WireInferInputTensor[], raw: readonly Uint8Array[] | undefined, sharedMemory?: SharedMemoryUse): Tensor[] {
  const refs = sharedMemory === undefined ? undefined : inputs.map((input) => sharedMemoryRefOfTensor(input.name, input.parameters));
  const inline = refs === undefined ? inputs.length : refs.filter((ref) => ref === undefined).length;
  const useRaw = raw !== undefined && raw.length > 0;
  if (useRaw && raw.length !== inline) {
    const what = inline === inputs.length ? `${inputs.length} inputs` : `${inline} inputs not in shared memory`;
    throw invalidArgument(`raw_input_contents has ${raw.length} entries for ${what}; it needs exactly one per input, in input order`);
  }
  const tensors = new Array<Tensor>(inputs.length);
  let rawIndex = 0;
  for (let i = 0; i < inputs.length; i++) {
    const input = inputs[i] as WireInferInputTensor;
    const ref = refs?.[i];
    if (ref !== undefined && sharedMemory !== undefined) tensors[i] = decodeSharedMemoryInput(input, i, ref, sharedMemory);
    else tensors[i] = decodeInput(input, i, useRaw ? raw[rawIndex++] : undefined);
  }
  return tensors;
}

function decodeSharedMemoryInput(input: WireInferInputTensor, index: number, ref: SharedMemoryRef, sharedMemory: SharedMemoryUse): Tensor {
  const name = input.name;
  if (!name) throw invalidArgument(`input ${index} has an empty name`);
  const datatype = input.datatype;
  if (!isDataType(datatype)) throw invalidArgument(`input ${quoteInput(name)}: unknown datatype ${quoteInput(datatype)}`);
  const populated = populatedFields(input.contents);
  if (populated.length > 0) throw invalidArgument(`unexpected 'content' provided when using shared memory for input tensor ${quoteInput(name)}`);
  const shape = decodeShape(input.shape, name);
  return { name, datatype, shape, data: sharedMemory.readInput(ref, name, datatype, shape) };
}

/**
 * A tensor's shared-memory reference from its gRPC parameters (Triton's ParseSharedMemoryParams:
 * the region a `string_param`, offset and byte size `int64_param`s); undefined when it names none.
 */
export function sharedMemoryRefOfTensor(tensor: string, parameters: WireParameters | undefined): SharedMemoryRef | undefined {
  if (parameters === undefined) return undefined;
  const typed = (key: string, kind: 'string_param' | 'int64_param'): WireInferParameter | undefined => {
    if (!Object.hasOwn(parameters, key)) return undefined;
    const parameter = parameters[key] as WireInferParameter;
    if (parameter.parameter_choice !== kind) {
      throw invalidArgument(`invalid value type for '${key}' parameter for tensor ${quoteInput(tensor)}, expected ${kind}.`);
    }
    return parameter;
  };
  const region = typed('shared_memory_region', 'string_param');
  const offset = typed('shared_memory_offset', 'int64_param');
  const byteSize = typed('shared_memory_byte_size', 'int64_param');
  const number = (parameter: WireInferParameter | undefined): number | undefined => (parameter === undefined ? undefined : Number(parameter.int64_param ?? 0));
  return sharedMemoryRefOf(tensor, region === undefined ? undefined : (region.string_param ?? ''), number(offset), number(byteSize));
}

function decodeInput(input: WireInferInputTensor, index: number, raw: Uint8Array | undefined): Tensor {
  const name = input.name;
  if (!name) throw invalidArgument(`input ${index} has an empty name`);
  const where = `input ${quoteInput(name)}`;
  const datatype = input.datatype;
  if (!isDataType(datatype)) throw invalidArgument(`${where}: unknown datatype ${quoteInput(datatype)}`);
  rejectSharedMemory(input.parameters, where);
  const shape = decodeShape(input.shape, name);
  const populated = populatedFields(input.contents);
  if (raw !== undefined) {
    if (populated.length > 0) {
      throw invalidArgument(`${where} has ${populated.join(', ')} while the request uses raw_input_contents; send all inputs raw or all typed`);
    }
    return { name, datatype, shape, data: decodeBinaryTensor(datatype, shape, raw, name) };
  }
  return { name, datatype, shape, data: decodeTypedContents(name, datatype, shape, input.contents ?? {}, populated) };
}

function populatedFields(contents: WireTensorContents | null | undefined): ContentsField[] {
  if (!contents) return [];
  return CONTENTS_FIELDS.filter((field) => (contents[field]?.length ?? 0) > 0);
}

function decodeTypedContents(name: string, datatype: DataType, shape: readonly number[], contents: WireTensorContents, populated: readonly ContentsField[]): TensorData {
  const where = `input ${quoteInput(name)}`;
  const field = TYPED_FIELD[datatype];
  if (field === undefined) throw invalidArgument(`${where}: ${datatype} data can only be sent in raw_input_contents`);
  const stray = populated.filter((other) => other !== field);
  if (stray.length > 0) throw invalidArgument(`${where}: ${datatype} data belongs in ${field}, got ${stray.join(', ')}`);
  // The typed list is already in memory: the count must match it before any array is built.
  const count = checkedElementCount(shape, where);
  const length = contents[field]?.length ?? 0;
  if (length !== count) {
    throw invalidArgument(`${where}: shape ${formatShape(shape)} needs ${count} elements, ${field} holds ${length}`);
  }
  switch (datatype) {
    case 'BOOL':
      return Uint8Array.from(contents.bool_contents ?? [], (value) => (value ? 1 : 0));
    case 'INT8':
      return checkedIntegers(new Int8Array(count), contents.int_contents, -0x80, 0x7f, name, datatype);
    case 'INT16':
      return checkedIntegers(new Int16Array(count), contents.int_contents, -0x8000, 0x7fff, name, datatype);
    case 'INT32':
      return Int32Array.from(contents.int_contents ?? []);
    case 'UINT8':
      return checkedIntegers(new Uint8Array(count), contents.uint_contents, 0, 0xff, name, datatype);
    case 'UINT16':
      return checkedIntegers(new Uint16Array(count), contents.uint_contents, 0, 0xffff, name, datatype);
    case 'UINT32':
      return Uint32Array.from(contents.uint_contents ?? []);
    case 'INT64':
      return BigInt64Array.from(contents.int64_contents ?? [], (value) => BigInt(value));
    case 'UINT64':
      return BigUint64Array.from(contents.uint64_contents ?? [], (value) => BigInt(value));
    case 'FP32':
      return Float32Array.from(contents.fp32_contents ?? []);
    case 'FP64':
      return Float64Array.from(contents.fp64_contents ?? []);
    default:
      // BYTES: the Buffers already are per-element views of the message.
      return contents.bytes_contents ?? [];
  }
}

/** The wire list is int32/uint32; narrower datatypes must not silently wrap. */
function checkedIntegers<T extends Int8Array | Int16Array | Uint8Array | Uint16Array>(target: T, values: readonly number[] | undefined, min: number, max: number, name: string, datatype: DataType): T {
  if (values === undefined) return target;
  for (let i = 0; i < values.length; i++) {
    const value = values[i] as number;
    if (value < min || value > max) throw invalidArgument(`input ${quoteInput(name)}: element ${i} = ${value} is out of range for ${datatype}`);
    target[i] = value;
  }
  return target;
}

/**
 * Output metadata and the parallel `raw_output_contents` (one entry per output, even when empty:
 * an output written to shared memory gets an empty entry, as in Triton).
 */
export function encodeOutputTensors(outputs: readonly Tensor[], sharedMemory?: SharedMemoryUse): { outputs: WireInferOutputTensor[]; raw: Uint8Array[] } {
  const metadata = new Array<WireInferOutputTensor>(outputs.length);
  const raw = new Array<Uint8Array>(outputs.length);
  for (let i = 0; i < outputs.length; i++) {
    const tensor = outputs[i] as Tensor;
    metadata[i] = { name: tensor.name, datatype: tensor.datatype, shape: tensor.shape };
    raw[i] = sharedMemory?.isSharedMemoryOutput(tensor.name) ? EMPTY : encodeBinaryTensor(tensor.data);
  }
  return { outputs: metadata, raw };
}
