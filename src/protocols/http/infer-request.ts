/**
 * Decodes an OIP REST inference request body (the OIP REST inference JSON, OIP parameters, Triton's binary tensor data extension) into a
 * protocol-neutral `InferenceRequest`, plus the HTTP-only choice of which outputs come back binary.
 *
 * Body layout: `Inference-Header-Content-Length: N` gives the length of the JSON part; the bytes
 * after it are the binary inputs (`parameters.binary_data_size`), back to back in `inputs` order.
 * Without the header the whole body is JSON. (`N = 0`, a raw binary request, is `raw-request.ts`.)
 *
 * Binary inputs are views into the body, not copies. The request is only checked for shape and
 * encoding here; whether it fits the model is the serving core's business.
 */
import { describeJsonValue, formatShape, quoteInput, invalidArgument } from '../../core/index.js';
import { DATA_TYPES, isDataType, decodeBinaryTensor, decodeJsonTensorData, checkRank } from '../../tensors/index.js';
import type { Tensor } from '../../tensors/index.js';
import type { InferenceRequest, Parameters, RequestedOutput } from '../../serving/index.js';
import { sharedMemoryRefFromJson, type SharedMemoryUse } from '../../shared-memory/index.js';
import { isJsonObject, optionalBoolean, optionalNonNegativeInteger, parametersOf, parseJsonText, type JsonObject } from './json-fields.js';

/** An inference request plus how its outputs travel back over HTTP. */
export interface HttpInferRequest {
  readonly request: InferenceRequest;
  /** Request-level `binary_data_output` (true for raw binary requests). */
  readonly binaryOutputDefault: boolean;
  /** Per-output `binary_data` where the request set it; it wins over the default. */
  readonly binaryOutputs: ReadonlyMap<string, boolean> | undefined;
  /** The request's shared memory (outputs written there carry no data in the response). */
  readonly sharedMemory?: SharedMemoryUse | undefined;
}

export const INFERENCE_HEADER_CONTENT_LENGTH = 'inference-header-content-length';

const SHARED_MEMORY_KEYS = ['shared_memory_region', 'shared_memory_offset', 'shared_memory_byte_size'];
const DATATYPE_LIST = DATA_TYPES.join(', ');

/**
 * The value of `Inference-Header-Content-Length`: undefined when absent, else a byte count no
 * larger than the body.
 */
export function parseJsonLengthHeader(header: string | string[] | undefined, bodyLength: number): number | undefined {
  if (header === undefined) return undefined;
  const text = Array.isArray(header) ? header[0] : header;
  if (text === undefined || !/^\s*\d+\s*$/.test(text)) {
    throw invalidArgument(`Inference-Header-Content-Length must be a non-negative integer, got ${quoteInput(String(header))}`);
  }
  const length = Number(text);
  if (length > bodyLength) {
    throw invalidArgument(`Inference-Header-Content-Length is ${length} but the request body has only ${bodyLength} bytes`);
  }
  return length;
}

/**
 * Decodes a JSON or JSON+binary inference request. `jsonLength` is the parsed
 * `Inference-Header-Content-Length` (undefined: the whole body is JSON). With `sharedMemory`,
 * tensors may name shared-memory regions (the caller releases it when the request is over);
 * without, such tensors are refused.
 */
export function decodeInferRequest(model: string, version: number | undefined, body: Buffer, jsonLength: number | undefined, sharedMemory?: SharedMemoryUse): HttpInferRequest {
  const headerEnd = jsonLength ?? body.byteLength;
  const parsed = parseJsonText(body.toString('utf8', 0, headerEnd));
  if (parsed === undefined) throw invalidArgument('the inference request body is empty; expected a JSON object with "inputs"');
  if (!isJsonObject(parsed)) throw invalidArgument('the inference request must be a JSON object');

  const id = parsed.id;
  if (id !== undefined && typeof id !== 'string') throw invalidArgument('"id" must be a string');

  const { parameters, binaryOutputDefault } = requestParameters(parsed.parameters);
  const inputs = decodeInputs(parsed.inputs, body, headerEnd, jsonLength !== undefined, sharedMemory);
  const { outputs, binaryOutputs } = requestedOutputs(parsed.outputs, sharedMemory);

  const request: InferenceRequest = {
    model,
    version,
    // Triton treats an empty id as no id.
    id: id === '' ? undefined : id,
    inputs,
    outputs,
    parameters,
  };
  return { request, binaryOutputDefault, binaryOutputs, sharedMemory };
}

function requestParameters(value: unknown): { parameters: Parameters | undefined; binaryOutputDefault: boolean } {
  const raw = parametersOf(value, '');
  if (raw === undefined) return { parameters: undefined, binaryOutputDefault: false };
  const binaryOutputDefault = optionalBoolean(raw, 'binary_data_output', '') ?? false;
  let count = 0;
  for (const key in raw) {
    if (key.startsWith('triton_')) throw invalidArgument(`parameter ${quoteInput(key)} is reserved: keys starting with 'triton_' are not allowed`);
    count++;
  }
  // `binary_data_output` concerns HTTP only; the model never sees it. Spreading copies own
  // properties only, so a `__proto__` key from JSON stays an ordinary key.
  if (!('binary_data_output' in raw)) return { parameters: count > 0 ? (raw as Parameters) : undefined, binaryOutputDefault };
  const { binary_data_output: _ignored, ...rest } = raw;
  return { parameters: count > 1 ? (rest as Parameters) : undefined, binaryOutputDefault };
}

function decodeInputs(value: unknown, body: Buffer, headerEnd: number, hasHeader: boolean, sharedMemory: SharedMemoryUse | undefined): Tensor[] {
  if (value === undefined) throw invalidArgument('missing "inputs"');
  if (!Array.isArray(value)) throw invalidArgument('"inputs" must be an array');
  const tensors = new Array<Tensor>(value.length);
  let offset = headerEnd;
  for (let i = 0; i < value.length; i++) {
    const input: unknown = value[i];
    if (!isJsonObject(input)) throw invalidArgument(`input ${i} must be a JSON object`);
    const name = input.name;
    if (typeof name !== 'string' || name === '') throw invalidArgument(`input ${i}: "name" must be a non-empty string`);
    const where = `input ${quoteInput(name)}: `;
    const datatype = input.datatype;
    if (typeof datatype !== 'string' || !isDataType(datatype)) {
      throw invalidArgument(`${where}"datatype" must be one of ${DATATYPE_LIST}, got ${describeJsonValue(datatype)}`);
    }
    const shape = shapeOf(input.shape, `input ${quoteInput(name)}`);
    const parameters = parametersOf(input.parameters, where);
    if (sharedMemory === undefined) rejectSharedMemory(parameters, where);
    const binarySize = optionalNonNegativeInteger(parameters, 'binary_data_size', where);
    const hasData = input.data !== undefined;
    const inSharedMemory = sharedMemory === undefined ? undefined : sharedMemoryRefFromJson(parameters, name);
    if (inSharedMemory !== undefined && sharedMemory !== undefined) {
      if (hasData || binarySize !== undefined) {
        throw invalidArgument(
          `${where}must set only one of the following fields: 'data', 'binary_data_size' in 'parameters', 'shared_memory_region' in 'parameters'; it sets ${hasData ? "'data'" : "'binary_data_size'"} and 'shared_memory_region'`,
        );
      }
      tensors[i] = { name, datatype, shape, data: sharedMemory.readInput(inSharedMemory, name, datatype, shape) };
      continue;
    }
    if (binarySize === undefined) {
      if (!hasData) throw invalidArgument(`${where}needs "data" or "parameters": {"binary_data_size": N}`);
      tensors[i] = { name, datatype, shape, data: decodeJsonTensorData(datatype, shape, input.data, name) };
      continue;
    }
    if (hasData) throw invalidArgument(`${where}has both "data" and "binary_data_size"; give one`);
    if (!hasHeader) throw invalidArgument(`${where}has binary data but the request has no Inference-Header-Content-Length header`);
    const end = offset + binarySize;
    if (end > body.byteLength) {
      throw invalidArgument(`${where}binary_data_size ${binarySize} runs past the end of the body: only ${body.byteLength - offset} bytes of binary data remain`);
    }
    tensors[i] = { name, datatype, shape, data: decodeBinaryTensor(datatype, shape, body.subarray(offset, end), name) };
    offset = end;
  }
  if (offset !== body.byteLength) {
    throw invalidArgument(`the request carries ${body.byteLength - headerEnd} bytes after the JSON header but its inputs' binary_data_size add up to ${offset - headerEnd}`);
  }
  return tensors;
}

/** `where` is `input 'name'`; the rank is bounded before the dims are looked at. */
function shapeOf(value: unknown, where: string): number[] {
  if (!Array.isArray(value)) throw invalidArgument(`${where}: "shape" must be an array of non-negative integers, got ${describeJsonValue(value)}`);
  checkRank(value.length, where);
  for (const dim of value) {
    if (typeof dim !== 'number' || !Number.isSafeInteger(dim) || dim < 0) {
      throw invalidArgument(`${where}: "shape" must be an array of non-negative integers, got ${formatShape(value)}`);
    }
  }
  return value as number[];
}

function rejectSharedMemory(parameters: JsonObject | undefined, where: string): void {
  if (parameters === undefined) return;
  for (const key of SHARED_MEMORY_KEYS) {
    if (key in parameters) throw invalidArgument(`${where}shared memory is not supported (parameter '${key}')`);
  }
}

function requestedOutputs(value: unknown, sharedMemory: SharedMemoryUse | undefined): { outputs: RequestedOutput[] | undefined; binaryOutputs: Map<string, boolean> | undefined } {
  if (value === undefined) return { outputs: undefined, binaryOutputs: undefined };
  if (!Array.isArray(value)) throw invalidArgument('"outputs" must be an array');
  const outputs = new Array<RequestedOutput>(value.length);
  let binaryOutputs: Map<string, boolean> | undefined;
  const seen = new Set<string>();
  for (let i = 0; i < value.length; i++) {
    const output: unknown = value[i];
    if (!isJsonObject(output)) throw invalidArgument(`output ${i} must be a JSON object`);
    const name = output.name;
    if (typeof name !== 'string' || name === '') throw invalidArgument(`output ${i}: "name" must be a non-empty string`);
    if (seen.has(name)) throw invalidArgument(`output ${quoteInput(name)} is requested more than once`);
    seen.add(name);
    const where = `output ${quoteInput(name)}: `;
    const parameters = parametersOf(output.parameters, where);
    if (sharedMemory === undefined) rejectSharedMemory(parameters, where);
    const binary = optionalBoolean(parameters, 'binary_data', where);
    const inSharedMemory = sharedMemory === undefined ? undefined : sharedMemoryRefFromJson(parameters, name);
    if (inSharedMemory !== undefined && sharedMemory !== undefined) {
      // Triton's rules: classification is computed from the output, so it cannot also go to shared memory.
      if (parameters?.['classification'] !== undefined) throw invalidArgument(`${where}can't set both 'shared_memory_region' and 'classification'`);
      if (binary === true) throw invalidArgument(`${where}can't set both 'shared_memory_region' and 'binary_data'`);
      sharedMemory.reserveOutput(inSharedMemory, name);
    }
    if (binary !== undefined) (binaryOutputs ??= new Map()).set(name, binary);
    const classification = optionalNonNegativeInteger(parameters, 'classification', where);
    if (classification === 0) throw invalidArgument(`${where}parameter 'classification' must be at least 1`);
    outputs[i] = classification === undefined ? { name } : { name, classification };
  }
  return { outputs, binaryOutputs };
}
