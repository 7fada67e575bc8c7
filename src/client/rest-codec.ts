/**
 * Bodies of OIP REST inference (the OIP REST inference JSON, Triton's binary tensor data extension): the request as JSON or JSON + binary
 * tail, and the response back into typed tensors.
 *
 * Requests are built as a list of chunks (the JSON text, then each binary input's bytes as views of
 * the caller's TypedArrays), so tensor data is not copied before it reaches the socket. Binary
 * outputs of a response are decoded as views of the response buffer whenever alignment allows.
 */
import { encodeBinaryTensor, arrayTypeOf, isDataType, type DataType, jsonDataText, elementCount, type TensorData } from '../tensors/index.js';
import type { InferOptions, InputTensor, OutputTensor, ParameterValue } from './client-types.js';
import { InferResult } from './infer-result.js';
import { clientArgumentError, malformedResponse } from './inference-server-error.js';
import { normalizeOutputs } from './shared-calls.js';
import { decodeOutputBytes, inputTensorData } from './tensor-data.js';

export interface EncodedRestRequest {
  /** JSON text first, then the binary tail in input order. */
  readonly chunks: readonly Uint8Array[];
  readonly byteLength: number;
  /** Value of `Inference-Header-Content-Length`; undefined when the body is plain JSON. */
  readonly jsonLength: number | undefined;
}

const utf8 = new TextEncoder();
const utf8Decoder = new TextDecoder();

/** JSON text of a value that may hold bigints (written as exact integer literals). */
export function jsonWithBigInts(value: unknown): string {
  return JSON.stringify(value, (_key, v: unknown) => (typeof v === 'bigint' ? `\u0000${v.toString()}\u0000` : v)).replace(/"\\u0000(-?\d+)\\u0000"/g, '$1');
}

export function encodeRestInferRequest(inputs: readonly InputTensor[], options: InferOptions = {}): EncodedRestRequest {
  const binary = options.binary ?? true;
  const tail: Uint8Array[] = [];
  const inputTexts = inputs.map((input) => {
    const data = inputTensorData(input);
    const head = `{"name":${JSON.stringify(input.name)},"shape":[${input.shape.join(',')}],"datatype":${JSON.stringify(input.datatype)}`;
    if (binary) {
      const bytes = encodeBinaryTensor(data);
      tail.push(bytes);
      return `${head},"parameters":{"binary_data_size":${bytes.byteLength}}}`;
    }
    if (input.datatype === 'FP16' || input.datatype === 'BF16') {
      throw clientArgumentError(`input '${input.name}': ${input.datatype} data cannot be sent as JSON; use binary: true`);
    }
    return `${head},"data":${jsonDataText(data, input.datatype, input.name)}}`;
  });

  const outputs = normalizeOutputs(options.outputs);
  const parameters: Record<string, ParameterValue> = { ...options.parameters };
  if (outputs === undefined && binary) parameters['binary_data_output'] = true;

  let text = '{';
  if (options.id !== undefined) text += `"id":${JSON.stringify(options.id)},`;
  if (Object.keys(parameters).length > 0) text += `"parameters":${jsonWithBigInts(parameters)},`;
  text += `"inputs":[${inputTexts.join(',')}]`;
  if (outputs !== undefined) {
    const specs = outputs.map((output) => {
      const outputParameters: Record<string, ParameterValue> = { binary_data: output.binary ?? binary };
      if (output.classification !== undefined) outputParameters['classification'] = output.classification;
      return { name: output.name, parameters: outputParameters };
    });
    text += `,"outputs":${JSON.stringify(specs)}`;
  }
  text += '}';

  const json = utf8.encode(text);
  const chunks = [json, ...tail];
  let byteLength = 0;
  for (const chunk of chunks) byteLength += chunk.byteLength;
  return { chunks, byteLength, jsonLength: tail.length > 0 ? json.byteLength : undefined };
}

interface WireOutput {
  name?: unknown;
  datatype?: unknown;
  shape?: unknown;
  parameters?: Record<string, unknown>;
  data?: unknown;
}

/**
 * Parses an inference response body. `headerLength` is the `Inference-Header-Content-Length`
 * header (undefined when absent: the whole body is JSON).
 */
export function decodeRestInferResponse(body: Uint8Array, headerLength: number | undefined): InferResult {
  const jsonLength = headerLength ?? body.byteLength;
  if (!Number.isSafeInteger(jsonLength) || jsonLength < 0 || jsonLength > body.byteLength) {
    throw malformedResponse(`Inference-Header-Content-Length is ${jsonLength} but the body has ${body.byteLength} bytes`);
  }
  const json = parseJsonObject(body.subarray(0, jsonLength));
  const outputsJson = json['outputs'] ?? [];
  if (!Array.isArray(outputsJson)) throw malformedResponse('"outputs" is not an array');
  let offset = jsonLength;
  const outputs = (outputsJson as WireOutput[]).map((wire, index): OutputTensor => {
    const { name, datatype, shape } = outputHeader(wire, index);
    const { binary_data_size: size, ...rest } = wire.parameters ?? {};
    const parameters = Object.keys(rest).length > 0 ? (rest as Record<string, ParameterValue>) : undefined;
    let data: TensorData;
    if (size !== undefined) {
      if (typeof size !== 'number' || !Number.isSafeInteger(size) || size < 0 || offset + size > body.byteLength) {
        throw malformedResponse(`output '${name}': binary_data_size ${JSON.stringify(size)} does not fit the ${body.byteLength - offset} bytes left`);
      }
      data = decodeOutputBytes(datatype, shape, body.subarray(offset, offset + size), name);
      offset += size;
    } else {
      data = decodeJsonOutputData(datatype, shape, wire.data, name);
    }
    return { name, datatype, shape, data, parameters };
  });
  if (headerLength !== undefined && offset !== body.byteLength) {
    throw malformedResponse(`${body.byteLength - offset} bytes of binary data belong to no output`);
  }
  const version = json['model_version'];
  const id = json['id'];
  const parameters = json['parameters'];
  return new InferResult({
    model: typeof json['model_name'] === 'string' ? json['model_name'] : '',
    version: typeof version === 'string' ? version : '',
    id: typeof id === 'string' ? id : undefined,
    parameters: isPlainObject(parameters) ? (parameters as Record<string, ParameterValue>) : undefined,
    outputs,
  });
}

function outputHeader(wire: WireOutput, index: number): { name: string; datatype: DataType; shape: number[] } {
  const name = typeof wire.name === 'string' ? wire.name : '';
  if (name === '') throw malformedResponse(`output ${index} has no name`);
  if (typeof wire.datatype !== 'string' || !isDataType(wire.datatype)) {
    throw malformedResponse(`output '${name}' has unknown datatype ${JSON.stringify(wire.datatype)}`);
  }
  if (!Array.isArray(wire.shape) || !wire.shape.every((dim) => Number.isSafeInteger(dim) && (dim as number) >= 0)) {
    throw malformedResponse(`output '${name}' has no valid shape`);
  }
  return { name, datatype: wire.datatype, shape: wire.shape as number[] };
}

/** JSON `data` of an output (nested or flat) → typed data. Non-finite floats arrive as `null` → NaN. */
export function decodeJsonOutputData(datatype: DataType, shape: readonly number[], data: unknown, name: string): TensorData {
  if (!Array.isArray(data)) throw malformedResponse(`output '${name}' has neither "data" nor "binary_data_size"`);
  const flat = data.flat(Math.max(shape.length - 1, 0)) as unknown[];
  const count = elementCount(shape);
  if (flat.length !== count) throw malformedResponse(`output '${name}': shape [${shape.join(',')}] needs ${count} elements, "data" has ${flat.length}`);
  const bad = (i: number): Error => malformedResponse(`output '${name}': element ${i} (${JSON.stringify(flat[i])}) is not a ${datatype} value`);
  if (datatype === 'BYTES') {
    return flat.map((value, i) => {
      if (typeof value !== 'string') throw bad(i);
      return utf8.encode(value);
    });
  }
  if (datatype === 'FP16' || datatype === 'BF16') throw malformedResponse(`output '${name}': ${datatype} cannot travel as JSON`);
  const out = new (arrayTypeOf(datatype))(count);
  // One writable view for every TypedArray kind; each branch stores the kind of value its array holds.
  const target = out as unknown as { [index: number]: number | bigint };
  const big = datatype === 'INT64' || datatype === 'UINT64';
  const float = datatype === 'FP32' || datatype === 'FP64';
  for (let i = 0; i < count; i++) {
    const value = flat[i];
    if (datatype === 'BOOL') {
      if (typeof value !== 'boolean') throw bad(i);
      target[i] = value ? 1 : 0;
    } else if (float) {
      if (value === null) target[i] = Number.NaN;
      else if (typeof value === 'number') target[i] = value;
      else throw bad(i);
    } else {
      if (typeof value !== 'number' || !Number.isInteger(value)) throw bad(i);
      target[i] = big ? BigInt(value) : value;
    }
  }
  return out;
}

export function parseJsonObject(bytes: Uint8Array): Record<string, unknown> {
  let value: unknown;
  try {
    value = JSON.parse(utf8Decoder.decode(bytes));
  } catch (error) {
    throw malformedResponse(`the body is not JSON (${error instanceof Error ? error.message : String(error)})`, error);
  }
  if (!isPlainObject(value)) throw malformedResponse('the body is not a JSON object');
  return value as Record<string, unknown>;
}

function isPlainObject(value: unknown): boolean {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
