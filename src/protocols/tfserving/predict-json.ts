/**
 * The JSON of TF Serving REST Predict (`POST /v1/models/{m}:predict`): the row (`instances`) and columnar
 * (`inputs`) request formats → tensors, and the outputs → `predictions` (row) or `outputs`
 * (columnar) text.
 *
 * Row format: `instances` is a non-empty list, one entry per batch row. A single-input signature
 * takes the value itself (or an object keyed by the input's name); several inputs take objects
 * keyed by exactly the input names. Columnar format: `inputs` is the value itself for a
 * single-input signature (or an object keyed by its name), else an object holding every input.
 */
import { invalidArgument } from '../../core/index.js';
import type { TensorSignature } from '../../backends/index.js';
import type { Tensor } from '../../tensors/index.js';
import { checkJsonOutputBudget } from '../../tensors/index.js';
import { decodeJsonRows, decodeJsonTensor, isB64Object } from './json-tensor-decode.js';
import { elementWriter, tensorJson, tensorRowJson } from './json-tensor-encode.js';

export type PredictFormat = 'row' | 'columnar';

export interface PredictJsonRequest {
  readonly format: PredictFormat;
  readonly signatureName: string;
  /** The part of the body holding the tensors; decoded by `decodePredictInputs` once the signature is known. */
  readonly payload: unknown;
}

type JsonObject = Record<string, unknown>;

const isNamedObject = (value: unknown): value is JsonObject => typeof value === 'object' && value !== null && !Array.isArray(value) && !isB64Object(value);

/** Reads the format and signature name of a predict body (tensors are decoded later). */
export function readPredictRequest(body: unknown): PredictJsonRequest {
  if (!isNamedObject(body)) throw invalidArgument('the request body must be a JSON object');
  const signatureName = body['signature_name'] ?? '';
  if (typeof signatureName !== 'string') throw invalidArgument(`'signature_name' must be a string`);
  const hasInstances = Object.hasOwn(body, 'instances');
  const hasInputs = Object.hasOwn(body, 'inputs');
  if (hasInstances && hasInputs) throw invalidArgument(`Not formatted correctly: both 'instances' and 'inputs' are given; use only one`);
  if (!hasInstances && !hasInputs) throw invalidArgument(`Missing 'inputs' or 'instances' key`);
  return hasInstances ? { format: 'row', signatureName, payload: body['instances'] } : { format: 'columnar', signatureName, payload: body['inputs'] };
}

/** Decodes the request's tensors for a signature with `inputs`. */
export function decodePredictInputs(request: PredictJsonRequest, inputs: readonly TensorSignature[]): Tensor[] {
  return request.format === 'row' ? decodeRows(request.payload, inputs) : decodeColumns(request.payload, inputs);
}

function decodeRows(instances: unknown, inputs: readonly TensorSignature[]): Tensor[] {
  if (!Array.isArray(instances) || instances.length === 0) throw invalidArgument(`'instances' must be a non-empty list`);
  const [only] = inputs;
  if (inputs.length === 1 && only && !instances.every(isNamedObject)) return [decodeJsonRows(only, instances)];
  const columns = new Map<string, unknown[]>(inputs.map((input) => [input.name, []]));
  instances.forEach((instance, i) => {
    if (!isNamedObject(instance)) {
      throw invalidArgument(`instances[${i}]: with ${inputs.length} inputs each instance must be an object keyed by the input names (${names(inputs)})`);
    }
    for (const key of Object.keys(instance)) {
      if (!columns.has(key)) throw invalidArgument(`instances[${i}]: '${key}' is not an input of the signature (inputs: ${names(inputs)})`);
    }
    for (const [name, column] of columns) {
      if (!Object.hasOwn(instance, name)) throw invalidArgument(`instances[${i}]: missing input '${name}' (every instance needs ${names(inputs)})`);
      column.push(instance[name]);
    }
  });
  return inputs.map((input) => decodeJsonRows(input, columns.get(input.name)!));
}

function decodeColumns(value: unknown, inputs: readonly TensorSignature[]): Tensor[] {
  const [only] = inputs;
  if (inputs.length === 1 && only && !isNamedObject(value)) return [decodeJsonTensor(only, value)];
  if (!isNamedObject(value)) throw invalidArgument(`'inputs' must be an object keyed by the input names (${names(inputs)})`);
  for (const key of Object.keys(value)) {
    if (!inputs.some((input) => input.name === key)) throw invalidArgument(`'inputs' names '${key}', which is not an input of the signature (inputs: ${names(inputs)})`);
  }
  return inputs.map((input) => {
    if (!Object.hasOwn(value, input.name)) throw invalidArgument(`Missing named input: ${input.name} in 'inputs' object.`);
    return decodeJsonTensor(input, value[input.name]);
  });
}

function names(inputs: readonly TensorSignature[]): string {
  return inputs.map((input) => `'${input.name}'`).join(', ');
}

/** The response body text for `outputs` in the request's format. */
export function encodePredictResponse(format: PredictFormat, outputs: readonly Tensor[]): string {
  // TF Serving's JSON is built as one string: refuse, before building it, outputs too large for it.
  checkJsonOutputBudget(outputs, 'use the gRPC Predict API (tensor_content) or send fewer instances per request');
  return format === 'row' ? encodeRows(outputs) : encodeColumns(outputs);
}

function encodeColumns(outputs: readonly Tensor[]): string {
  const [only] = outputs;
  if (outputs.length === 1 && only) return `{"outputs":${tensorJson(only)}}`;
  return `{"outputs":{${outputs.map((t) => `${JSON.stringify(t.name)}:${tensorJson(t)}`).join(',')}}}`;
}

function encodeRows(outputs: readonly Tensor[]): string {
  const rows = outputs[0]?.shape[0];
  for (const tensor of outputs) {
    if (tensor.shape.length === 0 || tensor.shape[0] !== rows) {
      throw invalidArgument(
        `Tensor name: ${tensor.name} has inconsistent batch size: ${tensor.shape[0] ?? 'none (a scalar)'} expecting: ${rows ?? 0}; the row format needs every output to share its first dimension (use the columnar 'inputs' format)`,
      );
    }
  }
  const writers = outputs.map((tensor) => elementWriter(tensor));
  const entries: string[] = [];
  for (let r = 0; r < (rows ?? 0); r++) {
    if (outputs.length === 1) {
      entries.push(tensorRowJson(outputs[0]!, r, writers[0]));
      continue;
    }
    entries.push(`{${outputs.map((t, i) => `${JSON.stringify(t.name)}:${tensorRowJson(t, r, writers[i])}`).join(',')}}`);
  }
  return `{"predictions":[${entries.join(',')}]}`;
}
