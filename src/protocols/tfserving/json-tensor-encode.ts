/**
 * Protocol-neutral tensors → the JSON text of TF Serving REST responses (TF Serving's REST Predict):
 * nested lists following the shape, written as text directly (no intermediate JS arrays).
 *
 * - Floats: the shortest decimal that reads back as the same value (for FP32: the same float32, so
 *   `0.1f` prints `0.1`, not `0.10000000149011612`), integral values with a trailing `.0` (`3.0`),
 *   non-finite values as the tokens `NaN`, `Infinity`, `-Infinity` (as TF Serving writes them).
 * - Integers (64-bit included) as exact JSON integers, BOOL as `true`/`false`.
 * - DT_STRING as JSON strings (UTF-8; invalid sequences become U+FFFD), except outputs whose name
 *   ends in `_bytes`, which are written `{"b64": "..."}`.
 * - FP16/BF16: UNIMPLEMENTED, as in TF Serving's JSON.
 */
import { CranberriesError } from '../../core/index.js';
import { elementCount, isBytesData, type Tensor } from '../../tensors/index.js';
import { tfDataTypeOf } from './tf-data-types.js';

type ElementWriter = (index: number) => string;

/** The JSON text of a whole tensor. */
export function tensorJson(tensor: Tensor): string {
  return nested(elementWriter(tensor), tensor.shape, 0, 0);
}

/** The JSON text of row `row` of a tensor (its value along the first dimension). */
export function tensorRowJson(tensor: Tensor, row: number, writer: ElementWriter = elementWriter(tensor)): string {
  const rowShape = tensor.shape.slice(1);
  return nested(writer, rowShape, 0, row * elementCount(rowShape));
}

/** The element writer of a tensor, to be shared by the calls that write its rows. */
export function elementWriter(tensor: Tensor): ElementWriter {
  const data = tensor.data;
  if (isBytesData(data)) {
    if (tensor.name.endsWith('_bytes')) return (i) => `{"b64":"${Buffer.from(data[i]!.buffer, data[i]!.byteOffset, data[i]!.byteLength).toString('base64')}"}`;
    return (i) => JSON.stringify(Buffer.from(data[i]!.buffer, data[i]!.byteOffset, data[i]!.byteLength).toString('utf8'));
  }
  switch (tensor.datatype) {
    case 'FP32': {
      const values = data as Float32Array;
      return (i) => formatFloat32(values[i]!);
    }
    case 'FP64': {
      const values = data as Float64Array;
      return (i) => formatFloat64(values[i]!);
    }
    case 'BOOL':
      return (i) => (data[i] ? 'true' : 'false');
    case 'FP16':
    case 'BF16':
      throw new CranberriesError('UNIMPLEMENTED', `output '${tensor.name}': ${tfDataTypeOf(tensor.datatype)} values cannot be written as JSON; use the gRPC API`);
    default: {
      const values = data as ArrayLike<number | bigint>;
      return (i) => String(values[i]);
    }
  }
}

function nested(writer: ElementWriter, shape: readonly number[], depth: number, offset: number): string {
  if (depth === shape.length) return writer(offset);
  const length = shape[depth]!;
  if (length === 0) return '[]';
  const stride = elementCount(shape.slice(depth + 1));
  let text = '[';
  for (let i = 0; i < length; i++) {
    if (i > 0) text += ',';
    text += depth + 1 === shape.length ? writer(offset + i) : nested(writer, shape, depth + 1, offset + i * stride);
  }
  return text + ']';
}

/**
 * Shortest decimal that reads back as the same float32, with `.0` on integral values.
 *
 * A float32 always round-trips with 9 significant digits and usually needs 8 (random values:
 * ~75 % need 8, ~23 % 7 or fewer, ~2 % 9). If the p-digit rounding round-trips so does every
 * longer one, so: try 8; if it fails the answer is 9 digits, else walk down while shorter ones
 * still round-trip. `toPrecision` costs ~0.1 µs where `String(double)` costs ~0.4 µs, which makes
 * this about as fast as JSON.stringify of the widened doubles. The shortest rounding never ends in
 * a 0 digit (one digit fewer would be the same number), so no trailing zeros need trimming.
 */
export function formatFloat32(value: number): string {
  if (!Number.isFinite(value)) return nonFinite(value);
  if (Number.isInteger(value) && Math.abs(value) < 1e21) return `${value}.0`;
  let text = value.toPrecision(8);
  if (Math.fround(Number(text)) !== value) return withPoint(value.toPrecision(9));
  for (let precision = 7; precision >= 1; precision--) {
    const shorter = value.toPrecision(precision);
    if (Math.fround(Number(shorter)) !== value) break;
    text = shorter;
  }
  return withPoint(text);
}

/** Shortest round-tripping decimal (JavaScript's own), with `.0` on integral values. */
export function formatFloat64(value: number): string {
  return Number.isFinite(value) ? withPoint(String(value)) : nonFinite(value);
}

function withPoint(text: string): string {
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 46 /* . */ || c === 101 /* e */) return text;
  }
  return `${text}.0`;
}

function nonFinite(value: number): string {
  return Number.isNaN(value) ? 'NaN' : value > 0 ? 'Infinity' : '-Infinity';
}
