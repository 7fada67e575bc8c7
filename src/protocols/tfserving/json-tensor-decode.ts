/**
 * TF Serving REST tensor values (TF Serving's REST Predict) → protocol-neutral tensors. A value is a scalar,
 * a nested list (its nesting gives the shape, and it must be rectangular) or a `{"b64": "..."}`
 * object standing for one binary string element.
 *
 * `decodeJsonTensor` reads one value (columnar format); `decodeJsonRows` reads one value per row
 * (row format) and stacks them, so every row must have the same shape and the tensor's shape is
 * `[rows, ...rowShape]`. Both write straight into one buffer of the tensor's datatype.
 *
 * Nothing is allocated before the nesting is known to be rectangular: the shape is read from the
 * first element at each level (at most MAX_DIMS levels), checked against the signature, and every
 * list is checked to have that shape's length; only then is the buffer sized, so its size follows
 * the values actually present (a 12 KB body could otherwise announce an 8 GB buffer).
 *
 * JSON ↔ dtype: DT_FLOAT/DT_DOUBLE take any number (NaN/Infinity included), the integer dtypes
 * integers in range, DT_INT64/DT_UINT64 integers up to ±(2^53-1) (what a JSON number carries
 * exactly once parsed), DT_BOOL true/false, DT_STRING strings (UTF-8) or b64 objects. DT_HALF and
 * DT_BFLOAT16 are UNIMPLEMENTED in JSON, as in TF Serving.
 */
import { describeJsonValue, formatShape, quoteInput, CranberriesError, invalidArgument } from '../../core/index.js';
import { arrayTypeOf, SAFE_INTEGER_RANGES, type DataType, checkedElementCount, MAX_DIMS } from '../../tensors/index.js';
import type { Tensor, TensorData } from '../../tensors/index.js';
import { tfDataTypeOf } from './tf-data-types.js';

export interface JsonTensorSpec {
  readonly name: string;
  readonly datatype: DataType;
  /** The signature's shape (-1 = any size); when given, the request's shape must fit it. */
  readonly shape?: readonly number[] | undefined;
}

const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}(?:==)?|[A-Za-z0-9+/]{3}=?)?$/;

/** `{"b64": "<base64>"}`: an object whose only key is `b64`. */
export function isB64Object(value: unknown): value is { b64: unknown } {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return false;
  const keys = Object.keys(value);
  return keys.length === 1 && keys[0] === 'b64';
}

/** Decodes the base64 of a b64 object; INVALID_ARGUMENT when it is not base64. */
export function decodeB64(value: { b64: unknown }, where: string): Buffer {
  const text = value.b64;
  if (typeof text !== 'string' || !BASE64.test(text)) throw invalidArgument(`${where}: "b64" must hold a base64 string`);
  return Buffer.from(text, 'base64');
}

/** One tensor from one JSON value (columnar format): the shape is the value's nesting. */
export function decodeJsonTensor(spec: JsonTensorSpec, value: unknown): Tensor {
  return decode(spec, [value], false);
}

/** One tensor from a non-empty list of rows (row format): shape `[rows.length, ...rowShape]`. */
export function decodeJsonRows(spec: JsonTensorSpec, rows: readonly unknown[]): Tensor {
  return decode(spec, rows, true);
}

function decode(spec: JsonTensorSpec, values: readonly unknown[], stacked: boolean): Tensor {
  const { name, datatype } = spec;
  const where = `input ${quoteInput(name)}`;
  if (datatype === 'FP16' || datatype === 'BF16') {
    throw new CranberriesError('UNIMPLEMENTED', `${where}: ${tfDataTypeOf(datatype)} values cannot be sent as JSON; use the gRPC API`);
  }
  const rowShape = shapeOf(values[0], stacked ? MAX_DIMS - 1 : MAX_DIMS, where);
  const shape = stacked ? [values.length, ...rowShape] : rowShape;
  const count = checkedElementCount(shape, where);
  if (spec.shape) checkSignatureShape(shape, spec.shape, where);
  // Every list must have the length the shape announces before the buffer of `count` elements is
  // allocated; this visits the lists, not the leaves.
  for (let r = 0; r < values.length; r++) checkLists(values[r], 0, rowShape, where, stacked ? r : undefined);
  const writer = writerFor(datatype, count, where);
  // `walk` checks every row against the first row's shape, so exactly `count` leaves arrive.
  for (let r = 0; r < values.length; r++) walk(values[r], 0, rowShape, writer, where, stacked ? r : undefined);
  return { name, datatype, shape, data: writer.finish() };
}

function checkSignatureShape(shape: readonly number[], expected: readonly number[], where: string): void {
  const fits = shape.length === expected.length && expected.every((dim, i) => dim < 0 || dim === shape[i]);
  if (!fits) throw invalidArgument(`${where}: the values have shape ${formatShape(shape)}, the signature expects ${formatShape(expected)}`);
}

/** Checks the lengths of every list above the leaves (recursion depth ≤ the rank ≤ MAX_DIMS). */
function checkLists(value: unknown, depth: number, shape: readonly number[], where: string, row: number | undefined): void {
  if (depth === shape.length) return;
  if (!Array.isArray(value) || value.length !== shape[depth]) throw shapeError(where, shape, row);
  if (depth + 1 === shape.length) return;
  for (let i = 0; i < value.length; i++) checkLists(value[i], depth + 1, shape, where, row);
}

/** Receives the leaves in row-major order and builds the tensor data. */
interface LeafWriter {
  put(leaf: unknown): void;
  finish(): TensorData;
}

/** The shape a value's nesting announces, following the first element at each level (at most `maxRank` levels). */
function shapeOf(value: unknown, maxRank: number, where: string): number[] {
  const shape: number[] = [];
  let current = value;
  while (Array.isArray(current)) {
    if (shape.length === maxRank) throw invalidArgument(`${where}: the values are nested more than ${maxRank} levels deep; at most ${MAX_DIMS} dimensions are accepted`);
    shape.push(current.length);
    if (current.length === 0) break;
    current = current[0];
  }
  return shape;
}

function walk(value: unknown, depth: number, shape: readonly number[], writer: LeafWriter, where: string, row: number | undefined): void {
  if (depth === shape.length) {
    if (Array.isArray(value)) throw shapeError(where, shape, row);
    writer.put(value);
    return;
  }
  if (!Array.isArray(value) || value.length !== shape[depth]) throw shapeError(where, shape, row);
  for (let i = 0; i < value.length; i++) walk(value[i], depth + 1, shape, writer, where, row);
}

function shapeError(where: string, shape: readonly number[], row: number | undefined): Error {
  const rowText = row === undefined ? 'the value' : `instance ${row}`;
  return invalidArgument(`${where}: ${rowText} is not a rectangular list of shape ${formatShape(shape)}${row === undefined ? '' : ' (every instance must have the shape of the first)'}`);
}

function writerFor(datatype: DataType, count: number, where: string): LeafWriter {
  const tf = tfDataTypeOf(datatype);
  let i = 0;
  const fail = (leaf: unknown, expected: string): never => {
    throw invalidArgument(`${where}: element ${i} is ${describe(leaf)}, expected ${expected} for ${tf}`);
  };
  switch (datatype) {
    case 'BYTES': {
      const leaves = new Array<unknown>(count);
      return { put: (leaf) => void (leaves[i++] = leaf), finish: () => convertStrings(leaves, where, tf) };
    }
    case 'BOOL': {
      const out = new Uint8Array(count);
      return {
        put(leaf) {
          if (typeof leaf !== 'boolean') fail(leaf, 'true or false');
          out[i++] = leaf ? 1 : 0;
        },
        finish: () => out,
      };
    }
    case 'FP32':
    case 'FP64': {
      const out = new (arrayTypeOf(datatype))(count) as Float32Array | Float64Array;
      return {
        put(leaf) {
          if (typeof leaf !== 'number') fail(leaf, 'a number');
          out[i++] = leaf as number;
        },
        finish: () => out,
      };
    }
    default: {
      const [min, max] = SAFE_INTEGER_RANGES[datatype]!;
      const out = new (arrayTypeOf(datatype))(count);
      const big = datatype === 'INT64' || datatype === 'UINT64';
      return {
        put(leaf) {
          if (typeof leaf !== 'number' || !Number.isInteger(leaf)) fail(leaf, 'an integer');
          const value = leaf as number;
          if (value < min || value > max) fail(leaf, `an integer in ${min}..${max}`);
          if (big) (out as BigInt64Array)[i++] = BigInt(value);
          else (out as Int32Array)[i++] = value;
        },
        finish: () => out,
      };
    }
  }
}

/** Strings (UTF-8) and b64 objects, all elements in one fresh buffer (never Node's shared pool). */
function convertStrings(leaves: readonly unknown[], where: string, tf: string): Uint8Array[] {
  const parts = new Array<string | Buffer>(leaves.length);
  let total = 0;
  for (let i = 0; i < leaves.length; i++) {
    const leaf = leaves[i];
    if (typeof leaf === 'string') {
      parts[i] = leaf;
      total += Buffer.byteLength(leaf, 'utf8');
    } else if (isB64Object(leaf)) {
      const bytes = decodeB64(leaf, `${where}: element ${i}`);
      parts[i] = bytes;
      total += bytes.byteLength;
    } else {
      throw invalidArgument(`${where}: element ${i} is ${describe(leaf)}, expected a string or {"b64": ...} for ${tf}`);
    }
  }
  const backing = new Uint8Array(total);
  const writer = Buffer.from(backing.buffer, backing.byteOffset, total);
  const out = new Array<Uint8Array>(leaves.length);
  let offset = 0;
  for (let i = 0; i < parts.length; i++) {
    const part = parts[i]!;
    const written = typeof part === 'string' ? writer.write(part, offset, 'utf8') : (writer.set(part, offset), part.byteLength);
    out[i] = backing.subarray(offset, offset + written);
    offset += written;
  }
  return out;
}

function describe(value: unknown): string {
  if (value === undefined) return 'missing';
  if (isB64Object(value)) return 'a b64 object (base64 data is only accepted for DT_STRING)';
  return describeJsonValue(value);
}
