/**
 * `cranberries infer`: one inference against a running server (Cranberries, Triton or any OIP
 * server) over REST or gRPC, printing the outputs. Inputs come from `.npy` files, JSON files or
 * JSON literals; their datatype is the model's (from its metadata), numeric data is converted to
 * it, and a missing batch dimension is added when the model batches.
 */
import { readFile } from 'node:fs/promises';
import { extname } from 'node:path';
import { Command, InvalidArgumentError, Option } from 'commander';
import {
  createClient,
  InferenceServerError,
  type InferenceClient,
  type InputTensor,
  type ModelMetadata,
  type OutputTensor,
  type RequestedOutput,
  castTensorData,
  tensorFromNested,
  parseNpy,
  jsonWithBigInts,
} from '../client/index.js';
import { addClientTlsFlags, clientTlsOptions, type ClientTlsFlags } from './tls-flags.js';
import { isDataType, type DataType, elementCount } from '../tensors/index.js';
import { collect } from './options.js';
import { parseServerAddress, serverAddressArgument, serverUrl } from './server-url.js';

interface InferFlags extends ClientTlsFlags {
  model: string;
  modelVersion?: string;
  /** The old spelling of --model-version, kept as a hidden alias. */
  version?: string;
  input: string[];
  output: string[];
  url: string;
  json?: boolean;
  binary: boolean;
  timeout?: number;
}

/** `name=@file.npy`, `name=@file.json` or `name=<JSON literal>`. */
interface InputSpec {
  readonly name: string;
  readonly source: { kind: 'file'; path: string } | { kind: 'literal'; text: string };
}

function parseInputSpec(spec: string): InputSpec {
  const eq = spec.indexOf('=');
  if (eq <= 0) throw new InvalidArgumentError(`--input '${spec}' must look like name=@file.npy, name=@file.json or name=<JSON>`);
  const name = spec.slice(0, eq);
  const value = spec.slice(eq + 1);
  return { name, source: value.startsWith('@') ? { kind: 'file', path: value.slice(1) } : { kind: 'literal', text: value } };
}

function parseOutputSpec(spec: string): RequestedOutput {
  const match = /^(.+?)(?::(\d+))?$/.exec(spec);
  const name = match?.[1];
  if (name === undefined) throw new InvalidArgumentError(`--output '${spec}' must look like name or name:k`);
  const k = match?.[2] === undefined ? undefined : Number(match[2]);
  if (k !== undefined && k < 1) throw new InvalidArgumentError(`--output '${spec}': k must be at least 1`);
  return k === undefined ? { name } : { name, classification: k };
}

function parseJson(text: string, where: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch (error) {
    throw new Error(`${where} is not valid JSON: ${error instanceof Error ? error.message : String(error)}`);
  }
}

/** Reads one input and shapes it for the model: its datatype, and a batch of 1 when only the batch dim is missing. */
async function loadInput(spec: InputSpec, metadata: ModelMetadata): Promise<InputTensor> {
  const wanted = metadata.inputs.find((input) => input.name === spec.name);
  if (wanted === undefined) {
    throw new Error(`model '${metadata.name}' has no input '${spec.name}' (its inputs: ${metadata.inputs.map((i) => i.name).join(', ')})`);
  }
  if (!isDataType(wanted.datatype)) throw new Error(`input '${spec.name}' has datatype ${wanted.datatype}, which this client does not know`);
  const datatype: DataType = wanted.datatype;
  let tensor: InputTensor;
  if (spec.source.kind === 'file' && extname(spec.source.path).toLowerCase() === '.npy') {
    const npy = parseNpy(await readFile(spec.source.path), spec.source.path);
    tensor = { name: spec.name, datatype, shape: npy.shape, data: castTensorData(npy.data, npy.datatype, datatype, spec.name) };
  } else {
    const where = spec.source.kind === 'file' ? spec.source.path : `--input ${spec.name}`;
    const text = spec.source.kind === 'file' ? await readFile(spec.source.path, 'utf8') : spec.source.text;
    tensor = fromJsonValue(spec.name, datatype, parseJson(text, where));
  }
  const rank = wanted.shape.length;
  if (tensor.shape.length === rank - 1 && wanted.shape[0] === -1) tensor = { ...tensor, shape: [1, ...tensor.shape] };
  return tensor;
}

/** A nested array, a scalar, or `{"data": ..., "shape"?: [...]}` (flat data reshaped). */
function fromJsonValue(name: string, datatype: DataType, value: unknown): InputTensor {
  if (typeof value === 'object' && value !== null && !Array.isArray(value) && 'data' in value) {
    const { data, shape } = value as { data: unknown; shape?: unknown };
    const tensor = tensorFromNested(name, datatype, data);
    if (shape === undefined) return tensor;
    if (!Array.isArray(shape) || !shape.every((d) => Number.isSafeInteger(d) && (d as number) >= 0)) throw new Error(`input '${name}': "shape" must be a list of integers >= 0`);
    const dims = shape as number[];
    if (elementCount(dims) !== tensor.data.length) throw new Error(`input '${name}': shape [${dims.join(',')}] needs ${elementCount(dims)} elements, "data" has ${tensor.data.length}`);
    return { ...tensor, shape: dims };
  }
  return tensorFromNested(name, datatype, value);
}

/** Half-precision raw bits → numbers, for display. */
function halfToNumber(bits: number): number {
  const sign = bits & 0x8000 ? -1 : 1;
  const exponent = (bits >> 10) & 0x1f;
  const fraction = bits & 0x3ff;
  if (exponent === 0) return sign * fraction * 2 ** -24;
  if (exponent === 0x1f) return fraction ? Number.NaN : sign * Number.POSITIVE_INFINITY;
  return sign * (1 + fraction / 1024) * 2 ** (exponent - 15);
}

const bf16Scratch = new Float32Array(1);
const bf16Bits = new Uint32Array(bf16Scratch.buffer);
function bf16ToNumber(bits: number): number {
  bf16Bits[0] = bits << 16;
  return bf16Scratch[0] as number;
}

/** Output values as plain JSON-able values: numbers, bigints (exact), strings (BYTES, UTF-8). */
function outputValues(output: OutputTensor): (number | bigint | string | boolean)[] {
  const { data, datatype } = output;
  if (Array.isArray(data)) return data.map((element) => Buffer.from(element.buffer, element.byteOffset, element.byteLength).toString('utf8'));
  if (datatype === 'FP16') return Array.from(data as Uint16Array, halfToNumber);
  if (datatype === 'BF16') return Array.from(data as Uint16Array, bf16ToNumber);
  if (datatype === 'BOOL') return Array.from(data as Uint8Array, (v) => v !== 0);
  return Array.from(data as ArrayLike<number | bigint>);
}

const SHOWN = 100;

function formatValue(value: number | bigint | string | boolean): string {
  if (typeof value === 'number') return Number.isFinite(value) && !Number.isInteger(value) ? String(Number(value.toPrecision(6))) : String(value);
  if (typeof value === 'string') return JSON.stringify(value);
  return String(value);
}

function printHuman(model: string, version: string, outputs: readonly OutputTensor[]): void {
  console.log(`model ${model}, version ${version || '(unspecified)'}`);
  for (const output of outputs) {
    const values = outputValues(output);
    console.log(`${output.name}  ${output.datatype}  [${output.shape.join(',')}]`);
    const shown = values.slice(0, SHOWN).map(formatValue).join(', ');
    console.log(`  [${shown}${values.length > SHOWN ? `, ... (${values.length - SHOWN} more)` : ''}]`);
  }
}

async function run(flags: InferFlags): Promise<void> {
  const inputs = flags.input.map(parseInputSpec);
  if (inputs.length === 0) throw new InvalidArgumentError('give at least one --input name=...');
  const outputs = flags.output.map(parseOutputSpec);
  let client: InferenceClient | undefined;
  const version = flags.modelVersion ?? flags.version;
  try {
    client = createClient({ url: serverUrl(parseServerAddress(flags.url), 'http'), timeoutMs: flags.timeout, tls: clientTlsOptions(flags) });
    const metadata = await client.modelMetadata(flags.model, { version });
    const tensors = await Promise.all(inputs.map((spec) => loadInput(spec, metadata)));
    const result = await client.infer(flags.model, tensors, {
      version,
      outputs: outputs.length > 0 ? outputs : undefined,
      binary: flags.binary,
    });
    if (flags.json) {
      const document = {
        model_name: result.model,
        model_version: result.version,
        outputs: result.outputs.map((output) => ({ name: output.name, datatype: output.datatype, shape: output.shape, data: outputValues(output) })),
      };
      console.log(jsonWithBigInts(document));
    } else {
      printHuman(result.model, result.version, result.outputs);
    }
  } finally {
    await client?.close();
  }
}

export function inferCommand(): Command {
  const command = new Command('infer')
    .description('Run one inference on a server (OIP REST or gRPC) and print the outputs.')
    .requiredOption('-m, --model <name>', 'model to run')
    .option('-x, --model-version <version>', 'model version (default: the server picks)')
    .addOption(new Option('--version <version>', 'old spelling of --model-version').hideHelp())
    .option('-i, --input <name=value>', 'an input: name=@file.npy, name=@file.json or name=<JSON literal> (repeatable)', collect, [])
    .option('-o, --output <name[:k]>', 'return only this output; :k asks for the top-k classes (repeatable)', collect, [])
    .option('-u, --url <url>', 'server: host:port or http(s)://host:port (REST), grpc(s)://host:port (gRPC)', serverAddressArgument, 'http://localhost:8000')
    .option('--json', 'print the result as JSON')
    .option('--no-binary', 'REST: send and receive tensors as JSON instead of the binary extension')
    .option('--timeout <ms>', 'give up after this many milliseconds', (value) => {
      const n = Number(value);
      if (!Number.isFinite(n) || n <= 0) throw new InvalidArgumentError(`"${value}" is not a positive number`);
      return n;
    });
  return addClientTlsFlags(command).action(async (flags: InferFlags) => {
    try {
      await run(flags);
    } catch (error) {
      if (!(error instanceof InferenceServerError)) throw error;
      const status = error.httpStatus !== undefined ? `, HTTP ${error.httpStatus}` : error.grpcCode !== undefined ? `, gRPC ${error.grpcCode}` : '';
      throw new Error(`${error.message} (${error.code}${status})`, { cause: error });
    }
  });
}
