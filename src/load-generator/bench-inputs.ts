/**
 * The tensors a benchmark sends, from `--input name=@file.npy|@file.json|random`, `--shape
 * name=d1,d2` and `--batch-size`, checked against the model's metadata.
 *
 * - Inputs not named on the command line are random. Random data is seeded (same flags, same bytes):
 *   floats in [0, 1), integers in [0, 100), booleans, 8-letter strings.
 * - A file's array is used as is when it already has the batch dim (batching models); an array of one
 *   item is repeated `--batch-size` times.
 * - `--shape` gives the item dims (without the batch dim) for inputs with variable dims.
 * - JSON files hold nested arrays, or `{"shape": [...], "content": [...]}` (or `"data"`) with flat content.
 */
import { readFile } from 'node:fs/promises';
import { extname } from 'node:path';
import { parseNpy } from '../client/index.js';
import { seededRandom } from '../core/index.js';
import { arrayTypeOf, type DataType, elementCount, type Tensor, type TensorData } from '../tensors/index.js';
import type { ModelInfo, TensorInfo } from './transport.js';

export type InputSource = { readonly kind: 'random' } | { readonly kind: 'file'; readonly path: string };

export interface InputFlag {
  readonly name: string;
  readonly source: InputSource;
}

export interface InputOptions {
  readonly inputs: readonly InputFlag[];
  /** Item dims per input name (without the batch dim). */
  readonly shapes: ReadonlyMap<string, readonly number[]>;
  /** Rows per request for batching models (ignored for models that do not batch). */
  readonly batchSize: number;
  readonly seed?: number | undefined;
}

/** `name=@file.npy`, `name=@file.json` or `name=random`. */
export function parseInputFlag(text: string): InputFlag {
  const eq = text.indexOf('=');
  const name = text.slice(0, eq);
  const value = text.slice(eq + 1);
  if (eq < 1 || value === '') throw new Error(`--input "${text}": expected name=@file.npy, name=@file.json or name=random`);
  if (value === 'random') return { name, source: { kind: 'random' } };
  if (value.startsWith('@') && value.length > 1) return { name, source: { kind: 'file', path: value.slice(1) } };
  throw new Error(`--input "${text}": the value must be @<file> or random`);
}

/** `name=d1,d2,...` → [name, dims]. */
export function parseShapeFlag(text: string): [string, number[]] {
  const eq = text.indexOf('=');
  const dims = text
    .slice(eq + 1)
    .split(',')
    .map(Number);
  if (eq < 1 || dims.some((d) => !Number.isInteger(d) || d < 0)) throw new Error(`--shape "${text}": expected name=d1,d2,... with non-negative integers`);
  return [text.slice(0, eq), dims];
}

export async function buildInputs(info: ModelInfo, options: InputOptions): Promise<Tensor[]> {
  const byName = new Map(options.inputs.map((flag) => [flag.name, flag.source]));
  for (const name of byName.keys()) {
    if (!info.inputs.some((i) => i.name === name)) throw new Error(`--input ${name}: model '${info.name}' has no such input (inputs: ${info.inputs.map((i) => i.name).join(', ')})`);
  }
  const random = seededRandom(options.seed ?? 1);
  const batching = info.maxBatchSize > 0;
  const tensors: Tensor[] = [];
  for (const input of info.inputs) {
    const source = byName.get(input.name) ?? { kind: 'random' };
    if (source.kind === 'file') {
      tensors.push(await fileTensor(input, source.path, batching, options.batchSize));
      continue;
    }
    const itemDims = options.shapes.get(input.name) ?? (batching ? input.shape.slice(1) : input.shape);
    if (itemDims.some((d) => d < 0)) {
      throw new Error(`input '${input.name}' has variable dims [${input.shape.join(',')}]: give them with --shape ${input.name}=<d1,d2,...>`);
    }
    const shape = batching ? [options.batchSize, ...itemDims] : [...itemDims];
    tensors.push({ name: input.name, datatype: input.datatype, shape, data: randomData(input.datatype, elementCount(shape), random) });
  }
  return tensors;
}

async function fileTensor(input: TensorInfo, path: string, batching: boolean, batchSize: number): Promise<Tensor> {
  const bytes = await readFile(path);
  let shape: number[];
  let data: TensorData;
  if (extname(path).toLowerCase() === '.npy') {
    const array = parseNpy(bytes, path);
    if (array.datatype !== input.datatype) throw new Error(`${path}: holds ${array.datatype}, input '${input.name}' takes ${input.datatype}`);
    shape = array.shape;
    data = array.data;
  } else {
    ({ shape, data } = jsonArray(JSON.parse(bytes.toString('utf8')) as unknown, input, path));
  }
  if (batching && shape.length === input.shape.length - 1) {
    // One item: repeat it into a batch.
    return { name: input.name, datatype: input.datatype, shape: [batchSize, ...shape], data: repeat(data, batchSize) };
  }
  if (shape.length !== input.shape.length) throw new Error(`${path}: shape [${shape.join(',')}] does not fit input '${input.name}' [${input.shape.join(',')}]`);
  return { name: input.name, datatype: input.datatype, shape, data };
}

function jsonArray(value: unknown, input: TensorInfo, path: string): { shape: number[]; data: TensorData } {
  let flat: unknown[];
  let shape: number[];
  if (value !== null && typeof value === 'object' && !Array.isArray(value)) {
    const object = value as { shape?: unknown; content?: unknown; data?: unknown };
    const content = object.content ?? object.data;
    if (!Array.isArray(object.shape) || !Array.isArray(content)) throw new Error(`${path}: expected nested arrays or {"shape": [...], "content": [...]}`);
    shape = object.shape.map(Number);
    flat = content.flat(Infinity) as unknown[];
  } else {
    shape = [];
    for (let level: unknown = value; Array.isArray(level); level = level[0]) shape.push(level.length);
    flat = Array.isArray(value) ? (value.flat(Infinity) as unknown[]) : [value];
  }
  if (flat.length !== elementCount(shape)) throw new Error(`${path}: ${flat.length} values for shape [${shape.join(',')}]`);
  const { datatype } = input;
  if (datatype === 'BYTES') return { shape, data: flat.map((v) => Buffer.from(String(v), 'utf8')) };
  if (datatype === 'FP16' || datatype === 'BF16') throw new Error(`${path}: ${datatype} inputs must come from a .npy file`);
  const ArrayType = arrayTypeOf(datatype);
  const data = new ArrayType(flat.length);
  const big = data instanceof BigInt64Array || data instanceof BigUint64Array;
  flat.forEach((v, i) => {
    const n = typeof v === 'boolean' ? Number(v) : Number(v);
    if (!Number.isFinite(n)) throw new Error(`${path}: element ${i} (${JSON.stringify(v)}) is not a number`);
    data[i] = big ? BigInt(Math.trunc(n)) : n;
  });
  return { shape, data };
}

function repeat(data: TensorData, times: number): TensorData {
  if (Array.isArray(data)) return Array.from({ length: times }, () => data).flat();
  const ArrayType = data.constructor as new (n: number) => typeof data;
  const out = new ArrayType(data.length * times);
  for (let i = 0; i < times; i++) (out as Uint8Array).set(data as Uint8Array, i * data.length);
  return out;
}

function randomData(datatype: DataType, count: number, random: () => number): TensorData {
  if (datatype === 'BYTES') {
    return Array.from({ length: count }, () => Uint8Array.from({ length: 8 }, () => 97 + Math.floor(random() * 26)));
  }
  const data = new (arrayTypeOf(datatype))(count);
  for (let i = 0; i < count; i++) {
    switch (datatype) {
      case 'FP32':
      case 'FP64':
        data[i] = random();
        break;
      case 'FP16':
      case 'BF16':
        // Halves in [0.5, 1): exponent fixed, random mantissa (BF16: the same idea, 7 mantissa bits).
        data[i] = datatype === 'FP16' ? 0x3800 + Math.floor(random() * 0x400) : 0x3f00 + Math.floor(random() * 0x80);
        break;
      case 'BOOL':
        data[i] = random() < 0.5 ? 0 : 1;
        break;
      case 'INT64':
      case 'UINT64':
        data[i] = BigInt(Math.floor(random() * 100));
        break;
      default:
        data[i] = Math.floor(random() * 100);
    }
  }
  return data;
}
