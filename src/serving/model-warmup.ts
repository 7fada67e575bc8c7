/**
 * Triton's `model_warmup`: before a model version is READY, every instance runs each warm-up sample
 * `count` times (at least once), a sample being `batch_size` requests of one row each, executed
 * together as one batch. Inputs are zeros (`zero_data`), random bytes (`random_data`; for BYTES,
 * empty strings, as Triton does), or the bytes of `<model folder>/warmup/<input_data_file>` (raw
 * little-endian elements; for BYTES, 4-byte little-endian length-prefixed strings). A sample that
 * fails fails the load: the version becomes UNAVAILABLE with the reason.
 *
 * Sizes are checked before anything is allocated: a sample's inputs may hold at most
 * `MAX_WARMUP_SAMPLE_BYTES`, and a data file must hold at least what its input needs (extra bytes
 * are ignored, as in Triton) and at most that limit. Data files must resolve inside the model's
 * boundary (the repository, a model list's base path, or the load API's override folder).
 *
 * Warm-up runs bypass the scheduler: they are not inference requests, so they are not counted in
 * the statistics; the READY event reports what ran (`WarmupReport`).
 */
import { randomFillSync } from 'node:crypto';
import { open } from 'node:fs/promises';
import { join } from 'node:path';
import { CranberriesError, asCranberriesError, invalidArgument } from '../core/index.js';
import type { ModelInstance } from '../backends/index.js';
import { resolveInside, fileErrorReason, shownName } from '../repository/index.js';
import type { ModelConfig, ModelWarmup, ModelWarmupInput } from '../repository/index.js';
import { arrayTypeOf, byteSizeOf, dataTypeFromConfig, type DataType } from '../tensors/index.js';
import type { NumericArray, Tensor } from '../tensors/index.js';
import { elementProblem } from './string-elements.js';

/** Most bytes the inputs of one warm-up sample (all its requests) may hold. */
export const MAX_WARMUP_SAMPLE_BYTES = 256 * 1024 * 1024;
/** Bytes a BYTES element costs besides its content (its length prefix), for the size bound. */
const BYTES_ELEMENT_OVERHEAD = 4;

/** The folder whose `warmup/` holds the data files, and the boundary they must stay inside. */
export interface WarmupFiles {
  readonly directory: string;
  readonly boundary: string;
}

export interface WarmupReport {
  /** Samples in the config. */
  readonly samples: number;
  /** Batches executed, over all instances (Σ count × instances). */
  readonly executions: number;
  readonly instances: number;
  readonly milliseconds: number;
}

/** One input of a sample: makes fresh data for each execution (instances take their inputs' buffers). */
interface InputMaker {
  readonly name: string;
  readonly datatype: DataType;
  readonly shape: readonly number[];
  make(): Tensor['data'];
}

/** Runs the config's warm-up samples on every instance; undefined when the config has none. */
export async function runModelWarmup(config: ModelConfig, instances: readonly ModelInstance[], files: WarmupFiles | undefined): Promise<WarmupReport | undefined> {
  if (config.model_warmup.length === 0) return undefined;
  const started = process.hrtime.bigint();
  const samples: { sample: ModelWarmup; what: string; inputs: InputMaker[] }[] = [];
  for (const [index, sample] of config.model_warmup.entries()) {
    const what = `model_warmup '${sample.name || index}'`;
    samples.push({ sample, what, inputs: await prepareSample(config, sample, what, files) });
  }
  const outputNames = config.output.map((o) => o.name);
  let executions = 0;
  await Promise.all(
    instances.map(async (instance, i) => {
      for (const { sample, what, inputs } of samples) {
        for (let iteration = 1; iteration <= Math.max(1, sample.count); iteration++) {
          const requests = Array.from({ length: sample.batch_size }, () =>
            inputs.map((input): Tensor => ({ name: input.name, datatype: input.datatype, shape: [...input.shape], data: input.make() })),
          );
          try {
            await instance.execute(requests, outputNames);
          } catch (error) {
            const failure = asCranberriesError(error);
            throw new CranberriesError(
              failure.code === 'DEADLINE_EXCEEDED' ? 'DEADLINE_EXCEEDED' : 'INVALID_ARGUMENT',
              `${what}: the warm-up failed on instance ${i + 1} of ${instances.length}, iteration ${iteration}: ${failure.message}`,
            );
          }
          executions++;
        }
      }
    }),
  );
  return { samples: samples.length, executions, instances: instances.length, milliseconds: Number(process.hrtime.bigint() - started) / 1e6 };
}

async function prepareSample(config: ModelConfig, sample: ModelWarmup, what: string, files: WarmupFiles | undefined): Promise<InputMaker[]> {
  const batching = config.max_batch_size > 0;
  const specs = new Map(config.input.map((input) => [input.name, input]));
  let sampleBytes = 0;
  const makers: InputMaker[] = [];
  for (const [name, input] of Object.entries(sample.inputs)) {
    const datatype = dataTypeFromConfig(input.data_type);
    if (!datatype) throw invalidArgument(`${what}: input '${name}' has data_type ${input.data_type}, which cannot be sent to a model`);
    const spec = specs.get(name);
    const expected = spec && dataTypeFromConfig(spec.data_type);
    if (expected && expected !== datatype) throw invalidArgument(`${what}: input '${name}' has data_type ${input.data_type}, the model's input is ${spec.data_type}`);
    const count = input.dims.reduce((a, b) => a * b, 1);
    const elementBytes = datatype === 'BYTES' ? BYTES_ELEMENT_OVERHEAD : byteSizeOf(datatype);
    sampleBytes += count * elementBytes * sample.batch_size;
    if (!Number.isSafeInteger(count) || sampleBytes > MAX_WARMUP_SAMPLE_BYTES) {
      throw invalidArgument(`${what}: the sample's inputs need more than ${MAX_WARMUP_SAMPLE_BYTES} bytes (input '${name}' has dims [${input.dims.join(',')}], batch_size ${sample.batch_size})`);
    }
    // The model sees one row per request (Triton's warm-up requests have batch size 1), after `reshape`.
    const itemShape = spec?.reshape ? resolveShape(spec.reshape.shape, count) : input.dims;
    const shape = batching ? [1, ...itemShape] : [...itemShape];
    makers.push({ name, datatype, shape, make: await dataMaker(input, datatype, count, `${what}: input '${name}'`, files) });
  }
  return makers;
}

/** A reshape may hold one -1, resolved from the element count. */
function resolveShape(shape: readonly number[], count: number): number[] {
  const known = shape.filter((d) => d !== -1).reduce((a, b) => a * b, 1);
  return shape.map((d) => (d === -1 ? count / Math.max(1, known) : d));
}

async function dataMaker(input: ModelWarmupInput, datatype: DataType, count: number, what: string, files: WarmupFiles | undefined): Promise<() => Tensor['data']> {
  if (input.input_data_file !== undefined) {
    const bytes = await readWarmupFile(input.input_data_file, datatype === 'BYTES' ? MAX_WARMUP_SAMPLE_BYTES : count * byteSizeOf(datatype), datatype !== 'BYTES', what, files);
    if (datatype === 'BYTES') {
      const elements = parseStrings(bytes, count, what, input.input_data_file);
      return () => elements.map((e) => e.slice());
    }
    const template = new (arrayTypeOf(datatype))(bytes.buffer, bytes.byteOffset, count);
    return () => template.slice();
  }
  if (datatype === 'BYTES') return () => Array.from({ length: count }, () => new Uint8Array(0));
  const ArrayType = arrayTypeOf(datatype);
  if (input.random_data) {
    return (): NumericArray => {
      const data = new ArrayType(count);
      randomFillSync(new Uint8Array(data.buffer));
      // BOOL elements are bytes that must be 0 or 1.
      if (datatype === 'BOOL') for (let i = 0; i < count; i++) (data as Uint8Array)[i] = (data as Uint8Array)[i]! & 1;
      return data;
    };
  }
  return () => new ArrayType(count);
}

/**
 * Reads `<model>/warmup/<file>`: `needed` bytes exactly (`atLeast`: the file may be longer), or for
 * BYTES the whole file up to `needed` bytes.
 */
async function readWarmupFile(file: string, needed: number, atLeast: boolean, what: string, files: WarmupFiles | undefined): Promise<Buffer> {
  const shown = shownName(`warmup/${file}`);
  if (!files) throw invalidArgument(`${what}: input_data_file ${shown} cannot be read: the model has no folder to read it from`);
  let real: string | undefined;
  try {
    real = await resolveInside(files.boundary, join(files.directory, 'warmup', file));
  } catch (error) {
    throw invalidArgument(`${what}: input_data_file ${shown}: ${fileProblem(error, files.boundary)}`);
  }
  if (real === undefined) throw invalidArgument(`${what}: input_data_file ${shown} not found (warm-up data files live in the model's warmup/ folder)`);
  const handle = await open(real, 'r').catch((error: unknown) => {
    throw invalidArgument(`${what}: input_data_file ${shown}: ${fileProblem(error, files.boundary)}`);
  });
  try {
    const info = await handle.stat();
    if (!info.isFile()) throw invalidArgument(`${what}: input_data_file ${shown} is not a file`);
    if (info.size < needed && atLeast) throw invalidArgument(`${what}: input_data_file ${shown} has ${info.size} bytes, the input needs ${needed} (its dims × the element size)`);
    if (!atLeast && info.size > needed) throw invalidArgument(`${what}: input_data_file ${shown} has ${info.size} bytes, more than the ${needed} a warm-up sample may hold`);
    const length = atLeast ? needed : info.size;
    const bytes = Buffer.alloc(length);
    let offset = 0;
    while (offset < length) {
      const { bytesRead } = await handle.read(bytes, offset, length - offset, offset);
      if (bytesRead === 0) throw invalidArgument(`${what}: input_data_file ${shown} ended after ${offset} bytes while being read`);
      offset += bytesRead;
    }
    return bytes;
  } finally {
    await handle.close();
  }
}

/** `count` length-prefixed strings (uint32 little-endian length, then the bytes), as Triton serializes BYTES. */
function parseStrings(bytes: Buffer, count: number, what: string, file: string): Uint8Array[] {
  const shown = shownName(`warmup/${file}`);
  const elements: Uint8Array[] = [];
  let offset = 0;
  while (elements.length < count) {
    if (offset + 4 > bytes.length)
      throw invalidArgument(`${what}: input_data_file ${shown} holds ${elements.length} strings, the input needs ${count} (each a 4-byte little-endian length, then the bytes)`);
    const length = bytes.readUInt32LE(offset);
    if (offset + 4 + length > bytes.length) throw invalidArgument(`${what}: input_data_file ${shown}: string ${elements.length} claims ${length} bytes, past the end of the file`);
    const element = bytes.subarray(offset + 4, offset + 4 + length);
    const problem = elementProblem(element);
    if (problem !== undefined) throw invalidArgument(`${what}: input_data_file ${shown}: string ${elements.length} ${problem}, which ONNX Runtime string tensors cannot carry`);
    elements.push(element);
    offset += 4 + length;
  }
  return elements;
}

/** A file system error in the user's terms: what went wrong, and a path relative to the model's boundary. */
function fileProblem(error: unknown, boundary: string): string {
  return fileErrorReason(error, boundary) ?? (error instanceof Error ? error.message : String(error));
}
