/**
 * Tensor data as the JSON protocols carry it (OIP REST `data`, and any other JSON API that sends
 * row-major element lists).
 *
 * Decoding accepts nested arrays matching the shape or one flat array, checks every element's JSON
 * type and range for the datatype, and writes straight into the datatype's TypedArray. Encoding
 * writes the JSON text of a flat element list for responses, choosing per datatype the fastest way
 * measured on Node.js 20 (see `jsonDataText`). FP16/BF16 never travel as JSON, as in Triton: the
 * client must use binary data.
 *
 * Every failure is an INVALID_ARGUMENT naming the tensor and the offending element.
 */
import { describeJsonValue, formatShape, quoteInput, CranberriesError, invalidArgument } from '../core/index.js';
import { arrayTypeOf, INTEGER_RANGES, type DataType } from './data-type.js';
import { isBytesData, type TensorData } from './tensor.js';
import { checkedElementCount } from './tensor-limits.js';

type SmallIntArray = Int8Array | Uint8Array | Int16Array | Uint16Array | Int32Array | Uint32Array;
type FloatArray = Float32Array | Float64Array;

/**
 * Turns the JSON `data` of a tensor into tensor data of `datatype` holding exactly
 * `elementCount(shape)` elements.
 */
export function decodeJsonTensorData(datatype: DataType, shape: readonly number[], data: unknown, tensorName: string): TensorData {
  const where = `input ${quoteInput(tensorName)}`;
  if (datatype === 'FP16' || datatype === 'BF16') {
    throw invalidArgument(`${where}: ${datatype} data cannot be sent as JSON; send it as binary data (binary_data_size)`);
  }
  if (!Array.isArray(data)) throw invalidArgument(`${where}: "data" must be an array, got ${describeJsonValue(data)}`);
  // Bounds the rank (and so the flattening depth) and the product before anything is allocated.
  const count = checkedElementCount(shape, where);
  // Flat arrays (what most clients send) are used as they are; only nested data is flattened. The
  // output arrays below are allocated only once the element count matches the data present.
  const flat = data.length === count && (count === 0 || !Array.isArray(data[0])) ? data : flatten(data, Math.max(shape.length, 1), where);
  if (flat.length !== count) {
    throw invalidArgument(`${where}: expected ${count} elements for shape ${formatShape(shape)}, got ${flat.length}`);
  }
  switch (datatype) {
    case 'BOOL':
      return decodeBools(flat, where);
    case 'BYTES':
      return decodeStrings(flat, where);
    case 'FP32':
    case 'FP64': {
      const out = new (arrayTypeOf(datatype))(count) as FloatArray;
      for (let i = 0; i < count; i++) {
        const value: unknown = flat[i];
        if (typeof value !== 'number') throw elementError(where, i, value, `a number for ${datatype}`);
        out[i] = value;
      }
      return out;
    }
    case 'INT64':
    case 'UINT64':
      return decodeBigInts(datatype, flat, where);
    default: {
      const range = INTEGER_RANGES[datatype];
      if (!range) throw invalidArgument(`${where}: datatype ${datatype} cannot be sent as JSON`);
      const [min, max] = range;
      const out = new (arrayTypeOf(datatype))(count) as SmallIntArray;
      for (let i = 0; i < count; i++) {
        const value: unknown = flat[i];
        if (typeof value !== 'number' || !Number.isInteger(value)) throw elementError(where, i, value, `an integer for ${datatype}`);
        if (value < min || value > max) {
          throw invalidArgument(`${where}: element ${i}: ${value} is out of range for ${datatype} (${min}..${max})`);
        }
        out[i] = value;
      }
      return out;
    }
  }
}

function decodeBools(flat: readonly unknown[], where: string): Uint8Array {
  const out = new Uint8Array(flat.length);
  for (let i = 0; i < flat.length; i++) {
    const value: unknown = flat[i];
    if (value === true) out[i] = 1;
    else if (value !== false) throw elementError(where, i, value, 'true or false for BOOL');
  }
  return out;
}

/**
 * INT64/UINT64 arrive as JSON numbers, which JSON.parse has already turned into doubles: above
 * 2^53 in magnitude neighbouring integers collapse, so the value we see may not be what the client
 * wrote. Such elements are rejected instead of silently altered (2^53 itself too, since it is also
 * what 2^53+1 parses to). Clients needing the full 64-bit range send binary data.
 */
function decodeBigInts(datatype: 'INT64' | 'UINT64', flat: readonly unknown[], where: string): BigInt64Array | BigUint64Array {
  const out = datatype === 'INT64' ? new BigInt64Array(flat.length) : new BigUint64Array(flat.length);
  for (let i = 0; i < flat.length; i++) {
    const value: unknown = flat[i];
    if (typeof value !== 'number' || !Number.isInteger(value)) throw elementError(where, i, value, `an integer for ${datatype}`);
    if (!Number.isSafeInteger(value)) {
      throw invalidArgument(`${where}: element ${i}: ${value} is beyond ±(2^53-1), which JSON numbers cannot carry exactly; send ${datatype} as binary data`);
    }
    if (value < 0 && datatype === 'UINT64') throw invalidArgument(`${where}: element ${i}: ${value} is out of range for UINT64`);
    out[i] = BigInt(value);
  }
  return out;
}

/**
 * BYTES elements are JSON strings, stored UTF-8 encoded. All elements share one backing buffer
 * (one allocation per tensor, and one ArrayBuffer if the tensor is transferred to a worker).
 */
function decodeStrings(flat: readonly unknown[], where: string): Uint8Array[] {
  let total = 0;
  for (let i = 0; i < flat.length; i++) {
    const value: unknown = flat[i];
    if (typeof value !== 'string') throw elementError(where, i, value, 'a string for BYTES');
    total += Buffer.byteLength(value, 'utf8');
  }
  const backing = new Uint8Array(total);
  const writer = Buffer.from(backing.buffer, backing.byteOffset, total);
  const out = new Array<Uint8Array>(flat.length);
  let offset = 0;
  for (let i = 0; i < flat.length; i++) {
    const written = writer.write(flat[i] as string, offset, 'utf8');
    out[i] = backing.subarray(offset, offset + written);
    offset += written;
  }
  return out;
}

/**
 * Depth-first flattening; `maxDepth` bounds recursion (nested data cannot be deeper than the
 * shape, whose rank is at most MAX_DIMS).
 */
function flatten(data: readonly unknown[], maxDepth: number, where: string): unknown[] {
  const out: unknown[] = [];
  const walk = (array: readonly unknown[], depth: number): void => {
    if (depth > maxDepth) throw invalidArgument(`${where}: "data" is nested deeper than the shape's ${maxDepth} dimension(s)`);
    for (let i = 0; i < array.length; i++) {
      const value: unknown = array[i];
      if (Array.isArray(value)) walk(value, depth + 1);
      else out.push(value);
    }
  };
  walk(data, 1);
  return out;
}

function elementError(where: string, index: number, value: unknown, expected: string): Error {
  return invalidArgument(`${where}: element ${index} is ${describeJsonValue(value)}, expected ${expected}`);
}

/**
 * Most bytes of JSON text the tensor data of one response may take (the sum over its JSON outputs),
 * as estimated by `jsonTextBound`. A response is built in memory as one string, so without a bound
 * a model whose output grows with its input turned one request into a fatal out-of-memory abort of
 * the whole process (a [20000,20000] FP32 output is ~6 GB of JSON text). 64 MiB matches the
 * default HTTP request body limit: JSON answers are no larger than the requests the server takes.
 * The same tensors travel as binary data (4 bytes per FP32 element instead of up to 24) with no
 * such limit.
 */
export const MAX_JSON_OUTPUT_BYTES = 64 * 1024 * 1024;

/**
 * Most characters one element takes in JSON text, separator included: the longest value of the
 * type (`-2147483648,`, `false,`, a double's 17 significant digits with sign, point and exponent).
 */
const MAX_JSON_ELEMENT_CHARS: Readonly<Record<Exclude<DataType, 'BYTES'>, number>> = {
  BOOL: 6,
  UINT8: 4,
  INT8: 5,
  UINT16: 6,
  INT16: 7,
  UINT32: 11,
  INT32: 12,
  UINT64: 21,
  INT64: 21,
  FP16: 25,
  BF16: 25,
  FP32: 25,
  FP64: 25,
};

/**
 * An upper bound on the bytes of `jsonDataText(data, datatype)`, without building it: O(1) for
 * numeric data, O(elements) for BYTES (6 bytes per byte covers `\u00XX` escapes and U+FFFD
 * replacements, plus quotes and separator per element).
 */
export function jsonTextBound(data: TensorData, datatype: DataType): number {
  if (isBytesData(data)) {
    let total = 2;
    for (let i = 0; i < data.length; i++) total += 6 * (data[i] as Uint8Array).byteLength + 3;
    return total;
  }
  return 2 + data.length * MAX_JSON_ELEMENT_CHARS[datatype === 'BYTES' ? 'UINT8' : datatype];
}

/**
 * Refuses, before any text is built, JSON outputs whose estimated text exceeds
 * `MAX_JSON_OUTPUT_BYTES` in total. `advice` says how the client gets the data instead.
 */
export function checkJsonOutputBudget(outputs: readonly { readonly name: string; readonly datatype: DataType; readonly data: TensorData }[], advice: string): void {
  let total = 0;
  for (const output of outputs) total += jsonTextBound(output.data, output.datatype);
  if (total <= MAX_JSON_OUTPUT_BYTES) return;
  const names = outputs.map((output) => quoteInput(output.name, 40)).join(', ');
  throw new CranberriesError(
    'INVALID_ARGUMENT',
    `the response is too large for JSON: output(s) ${clipList(names)} hold ${outputs.reduce((n, o) => n + o.data.length, 0)} elements, up to ${total} bytes of JSON text, more than the ${MAX_JSON_OUTPUT_BYTES} bytes allowed; ${advice}`,
  );
}

function clipList(text: string): string {
  return text.length <= 300 ? text : `${text.slice(0, 300)}…`;
}

/**
 * The JSON text of flat tensor data (`[1,2,3]`), for responses.
 *
 * Measured on Node.js 20 with fresh values (so V8's number-to-string cache does not help):
 * - floats: copying into a plain array and `JSON.stringify` it is ~2× faster than string
 *   concatenation or `TypedArray.prototype.join` from 16 elements up, and about equal below;
 * - integers and BigInts: string concatenation is fastest (up to 3× faster than `join`).
 *
 * JSON has no NaN or ±Infinity. Writing them as bare `NaN`/`Infinity` tokens (Triton does) breaks
 * every strict JSON parser, JavaScript's `JSON.parse` included, so non-finite floats become `null`
 * (which is also what `JSON.stringify` does). Clients that need them exactly ask for binary data.
 *
 * BYTES elements are decoded as UTF-8; invalid sequences become U+FFFD, since a JSON string cannot
 * hold arbitrary bytes. Clients that need the raw bytes ask for binary data.
 */
export function jsonDataText(data: TensorData, datatype: DataType, tensorName = 'tensor'): string {
  if (isBytesData(data)) {
    const strings = new Array<string>(data.length);
    for (let i = 0; i < data.length; i++) {
      const element = data[i] as Uint8Array;
      strings[i] = Buffer.from(element.buffer, element.byteOffset, element.byteLength).toString('utf8');
    }
    return JSON.stringify(strings);
  }
  switch (datatype) {
    case 'FP16':
    case 'BF16':
      throw invalidArgument(`output ${quoteInput(tensorName)}: ${datatype} data cannot be returned as JSON; request it as binary data ("binary_data": true)`);
    case 'BYTES':
      throw invalidArgument(`output ${quoteInput(tensorName)}: BYTES data must be a list of byte strings`);
    case 'FP32':
    case 'FP64': {
      const n = data.length;
      const plain = new Array<number>(n);
      for (let i = 0; i < n; i++) plain[i] = data[i] as number;
      return JSON.stringify(plain);
    }
    case 'BOOL': {
      const bools = data as Uint8Array;
      let text = '[';
      for (let i = 0; i < bools.length; i++) {
        if (i !== 0) text += ',';
        text += bools[i] ? 'true' : 'false';
      }
      return text + ']';
    }
    default: {
      // Integer datatypes, BigInt ones included: `+=` prints both exactly.
      const values = data as ArrayLike<number | bigint>;
      if (values.length === 0) return '[]';
      let text = '[';
      text += values[0];
      for (let i = 1; i < values.length; i++) {
        text += ',';
        text += values[i];
      }
      return text + ']';
    }
  }
}
