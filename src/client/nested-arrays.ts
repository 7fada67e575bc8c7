/**
 * Tensors from nested JSON arrays (`[[1, 2], [3, 4]]` → shape [2, 2]) and numeric casts between
 * datatypes, for callers that hold plain values rather than TypedArrays (the `cranberries infer`
 * command, scripts). Every check names the tensor and the offending element.
 */
import { arrayTypeOf, SAFE_INTEGER_RANGES, type DataType } from '../tensors/index.js';
import type { NumericArray } from '../tensors/index.js';
import type { InputTensor } from './client-types.js';
import { clientArgumentError } from './inference-server-error.js';

/** The shape of a rectangular nested array; a scalar has shape []. */
export function nestedShape(value: unknown, name: string): number[] {
  const shape: number[] = [];
  let level: unknown = value;
  while (Array.isArray(level)) {
    shape.push(level.length);
    level = level[0];
  }
  checkRectangular(value, shape, 0, name, []);
  return shape;
}

function checkRectangular(value: unknown, shape: readonly number[], depth: number, name: string, path: number[]): void {
  if (depth === shape.length) {
    if (Array.isArray(value)) throw clientArgumentError(`input '${name}': element [${path.join('][')}] is nested deeper than its siblings`);
    return;
  }
  if (!Array.isArray(value) || value.length !== shape[depth]) {
    throw clientArgumentError(`input '${name}': the nested arrays are not rectangular: [${path.join('][')}] should be a list of ${shape[depth]} (shape [${shape.join(',')}])`);
  }
  for (let i = 0; i < value.length; i++) checkRectangular(value[i], shape, depth + 1, name, [...path, i]);
}

/** An input tensor of `datatype` from a nested array (or a scalar); its shape comes from the nesting. */
export function tensorFromNested(name: string, datatype: DataType, value: unknown): InputTensor {
  const shape = nestedShape(value, name);
  const flat = Array.isArray(value) ? (value.flat(Math.max(shape.length - 1, 0)) as unknown[]) : [value];
  const bad = (i: number, expected: string): Error => clientArgumentError(`input '${name}': element ${i} is ${JSON.stringify(flat[i])}, expected ${expected}`);
  if (datatype === 'BYTES') {
    const strings = flat.map((v, i) => {
      if (typeof v !== 'string') throw bad(i, 'a string');
      return v;
    });
    return { name, datatype, shape, data: strings };
  }
  if (datatype === 'BOOL') {
    const bools = flat.map((v, i) => {
      if (typeof v === 'boolean') return v;
      if (v === 0 || v === 1) return v === 1;
      throw bad(i, 'true or false');
    });
    return { name, datatype, shape, data: bools };
  }
  if (datatype === 'FP16' || datatype === 'BF16') {
    throw clientArgumentError(`input '${name}': ${datatype} values cannot be given as JSON numbers; save the array as a float16 .npy file`);
  }
  const numbers = flat.map((v, i) => {
    if (typeof v !== 'number') throw bad(i, `a number for ${datatype}`);
    return v;
  });
  return { name, datatype, shape, data: castNumbers(numbers, datatype, name) };
}

/** Plain numbers → the TypedArray of `datatype`, refusing values the datatype cannot hold exactly. */
export function castNumbers(values: ArrayLike<number | bigint>, datatype: DataType, name: string): NumericArray {
  if (datatype === 'FP16' || datatype === 'BF16' || datatype === 'BYTES') {
    throw clientArgumentError(`input '${name}': cannot convert numbers to ${datatype}`);
  }
  const out = new (arrayTypeOf(datatype))(values.length);
  const target = out as unknown as { [index: number]: number | bigint };
  const range = SAFE_INTEGER_RANGES[datatype];
  const big = datatype === 'INT64' || datatype === 'UINT64';
  for (let i = 0; i < values.length; i++) {
    const value = values[i] as number | bigint;
    if (datatype === 'BOOL') {
      if (value !== 0 && value !== 1 && value !== 0n && value !== 1n) throw clientArgumentError(`input '${name}': element ${i} = ${value} is not 0 or 1 for BOOL`);
      target[i] = Number(value);
    } else if (range === undefined) {
      target[i] = Number(value); // FP32 / FP64
    } else if (typeof value === 'bigint') {
      if (!big && (value < BigInt(range[0]) || value > BigInt(range[1]))) throw outOfRange(name, i, value, datatype);
      if (datatype === 'UINT64' && value < 0n) throw outOfRange(name, i, value, datatype);
      target[i] = big ? value : Number(value);
    } else {
      if (!Number.isInteger(value)) throw clientArgumentError(`input '${name}': element ${i} = ${value} is not an integer, as ${datatype} needs`);
      if (value < range[0] || value > range[1]) throw outOfRange(name, i, value, datatype);
      target[i] = big ? BigInt(value) : value;
    }
  }
  return out;
}

function outOfRange(name: string, index: number, value: number | bigint, datatype: DataType): Error {
  return clientArgumentError(`input '${name}': element ${index} = ${value} is out of range for ${datatype}`);
}

/**
 * Numeric tensor data of one datatype as another (e.g. a float64 `.npy` for an FP32 input); the
 * data is returned as it is when the datatypes already match. FP16/BF16 only pass through unchanged.
 */
export function castTensorData(data: NumericArray, from: DataType, to: DataType, name: string): NumericArray {
  if (from === to) return data;
  if (from === 'FP16' || from === 'BF16' || to === 'FP16' || to === 'BF16') {
    throw clientArgumentError(`input '${name}': the model wants ${to}, the data is ${from}; half-precision data is not converted, provide ${to} data`);
  }
  return castNumbers(data, to, name);
}
