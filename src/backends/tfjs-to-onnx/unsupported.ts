import { quoteInput } from '../../core/index.js';

/**
 * Thrown inside the converter when a model uses something it cannot express in ONNX; caught once
 * at the top (`convertTfjsToOnnx`) and turned into `{ kind: 'unsupported', reason }`.
 */
export class UnsupportedModel extends Error {
  override readonly name = 'UnsupportedModel';
}

/** A name taken from the model file, quoted and clipped so a reason never grows with the input. */
export function quoted(name: unknown): string {
  return quoteInput(typeof name === 'string' ? name : (JSON.stringify(name) ?? String(name)), 80);
}

export function unsupported(reason: string): never {
  throw new UnsupportedModel(reason);
}

/** The value as a plain object, or a thrown `UnsupportedModel` naming `what`. */
export function asRecord(value: unknown, what: string): Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) unsupported(`malformed model: ${what} is not an object`);
  return value as Record<string, unknown>;
}

export function asArray(value: unknown, what: string): unknown[] {
  if (!Array.isArray(value)) unsupported(`malformed model: ${what} is not an array`);
  return value;
}

export function asString(value: unknown, what: string): string {
  if (typeof value !== 'string') unsupported(`malformed model: ${what} is not a string`);
  return value;
}

export function asInt(value: unknown, what: string): number {
  if (typeof value !== 'number' || !Number.isInteger(value)) unsupported(`malformed model: ${what} is not an integer`);
  return value;
}

/** A Keras "int or tuple of ints" of length `n` (kernel_size, strides, pool_size, dilation_rate). */
export function intTuple(value: unknown, n: number, what: string): number[] {
  if (typeof value === 'number') return new Array<number>(n).fill(asInt(value, what));
  const list = asArray(value, what).map((v) => asInt(v, what));
  if (list.length !== n) unsupported(`malformed model: ${what} has ${list.length} values, expected ${n}`);
  return list;
}
