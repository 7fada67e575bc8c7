/**
 * ModelInferRequest / ModelInferResponse of OIP gRPC (grpc_service.proto; tensor data typed in `contents` or raw in `raw_input_contents`) for the client.
 * Inputs always travel in `raw_input_contents` (like `tritonclient.grpc`), as views of the caller's
 * TypedArrays. Outputs are read from `raw_output_contents` when the server filled it (Triton and
 * Cranberries always do) and from the typed `contents` lists otherwise (other OIP servers).
 */
import { encodeBinaryTensor, isDataType, type DataType, elementCount, type TensorData } from '../tensors/index.js';
import type { InferOptions, InputTensor, OutputTensor, ParameterValue } from './client-types.js';
import { InferResult } from './infer-result.js';
import { malformedResponse } from './inference-server-error.js';
import { normalizeOutputs } from './shared-calls.js';
import { decodeOutputBytes, inputTensorData } from './tensor-data.js';

/** An InferParameter as sent (one member set) and as decoded (`parameter_choice` names the member). */
export interface GrpcParameter {
  parameter_choice?: string;
  bool_param?: boolean;
  int64_param?: string | number;
  string_param?: string;
  double_param?: number;
  uint64_param?: string | number;
}

export interface GrpcInferRequest {
  model_name: string;
  model_version: string;
  id: string;
  parameters: Record<string, GrpcParameter>;
  inputs: { name: string; datatype: string; shape: number[] }[];
  outputs: { name: string; parameters: Record<string, GrpcParameter> }[];
  raw_input_contents: Uint8Array[];
}

export interface GrpcTensorContents {
  bool_contents?: boolean[];
  int_contents?: number[];
  int64_contents?: string[];
  uint_contents?: number[];
  uint64_contents?: string[];
  fp32_contents?: number[];
  fp64_contents?: number[];
  bytes_contents?: Uint8Array[];
}

export interface GrpcOutputTensor {
  name: string;
  datatype: string;
  shape: string[];
  parameters?: Record<string, GrpcParameter>;
  contents?: GrpcTensorContents | null;
}

export interface GrpcInferResponse {
  model_name: string;
  model_version: string;
  id: string;
  parameters?: Record<string, GrpcParameter>;
  outputs: GrpcOutputTensor[];
  raw_output_contents: Uint8Array[];
}

const INT64_MAX = (1n << 63n) - 1n;

/**
 * Parameter kinds as `tritonclient.grpc` chooses them: booleans, strings and doubles by type,
 * integers as int64 except `priority` (uint64), bigints beyond int64 as uint64.
 */
export function encodeParameter(key: string, value: ParameterValue): GrpcParameter {
  switch (typeof value) {
    case 'boolean':
      return { bool_param: value };
    case 'string':
      return { string_param: value };
    case 'bigint':
      return value > INT64_MAX || (key === 'priority' && value >= 0n) ? { uint64_param: value.toString() } : { int64_param: value.toString() };
    default:
      if (!Number.isInteger(value)) return { double_param: value };
      return key === 'priority' && value >= 0 ? { uint64_param: value } : { int64_param: value };
  }
}

export function encodeParameters(parameters: Readonly<Record<string, ParameterValue>> | undefined): Record<string, GrpcParameter> {
  const out: Record<string, GrpcParameter> = {};
  for (const [key, value] of Object.entries(parameters ?? {})) out[key] = encodeParameter(key, value);
  return out;
}

/** 64-bit parameters come back as numbers when exact, as bigints otherwise. */
export function decodeParameters(parameters: Record<string, GrpcParameter> | undefined): Record<string, ParameterValue> | undefined {
  const entries = Object.entries(parameters ?? {});
  if (entries.length === 0) return undefined;
  const out: Record<string, ParameterValue> = {};
  for (const [key, parameter] of entries) {
    const choice = parameter.parameter_choice;
    if (choice === undefined) continue;
    const value = parameter[choice as keyof GrpcParameter];
    if (choice === 'int64_param' || choice === 'uint64_param') {
      const big = BigInt(value as string | number);
      out[key] = big >= BigInt(Number.MIN_SAFE_INTEGER) && big <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(big) : big;
    } else if (value !== undefined) {
      out[key] = value;
    }
  }
  return out;
}

export function encodeGrpcInferRequest(model: string, version: string, inputs: readonly InputTensor[], options: InferOptions = {}): GrpcInferRequest {
  const raw = new Array<Uint8Array>(inputs.length);
  const wireInputs = inputs.map((input, i) => {
    raw[i] = encodeBinaryTensor(inputTensorData(input));
    return { name: input.name, datatype: input.datatype, shape: [...input.shape] };
  });
  const outputs = (normalizeOutputs(options.outputs) ?? []).map((output) => {
    const parameters: Record<string, GrpcParameter> = {};
    if (output.classification !== undefined) parameters['classification'] = { int64_param: output.classification };
    return { name: output.name, parameters };
  });
  return {
    model_name: model,
    model_version: version,
    id: options.id ?? '',
    parameters: encodeParameters(options.parameters),
    inputs: wireInputs,
    outputs,
    raw_input_contents: raw,
  };
}

export function decodeGrpcInferResponse(message: GrpcInferResponse): InferResult {
  const raw = message.raw_output_contents ?? [];
  const outputs = (message.outputs ?? []).map((wire, index): OutputTensor => {
    const name = wire.name;
    if (!isDataType(wire.datatype)) throw malformedResponse(`output '${name}' has unknown datatype '${wire.datatype}'`);
    const datatype = wire.datatype;
    const shape = wire.shape.map((dim) => {
      const n = Number(dim);
      if (!Number.isSafeInteger(n) || n < 0) throw malformedResponse(`output '${name}' has shape dimension ${dim}`);
      return n;
    });
    const bytes = raw[index];
    const data = bytes !== undefined ? decodeOutputBytes(datatype, shape, bytes, name) : decodeTypedContents(datatype, shape, wire.contents ?? {}, name);
    return { name, datatype, shape, data, parameters: decodeParameters(wire.parameters) };
  });
  return new InferResult({
    model: message.model_name,
    version: message.model_version,
    id: message.id === '' ? undefined : message.id,
    parameters: decodeParameters(message.parameters),
    outputs,
  });
}

function decodeTypedContents(datatype: DataType, shape: readonly number[], contents: GrpcTensorContents, name: string): TensorData {
  const count = elementCount(shape);
  const check = <T extends { length: number }>(values: T | undefined, field: string): T => {
    const length = values?.length ?? 0;
    if (length !== count) throw malformedResponse(`output '${name}': shape [${shape.join(',')}] needs ${count} elements, ${field} holds ${length}`);
    return values as T;
  };
  switch (datatype) {
    case 'BOOL':
      return Uint8Array.from(check(contents.bool_contents, 'bool_contents'), (value) => (value ? 1 : 0));
    case 'INT8':
      return Int8Array.from(check(contents.int_contents, 'int_contents'));
    case 'INT16':
      return Int16Array.from(check(contents.int_contents, 'int_contents'));
    case 'INT32':
      return Int32Array.from(check(contents.int_contents, 'int_contents'));
    case 'UINT8':
      return Uint8Array.from(check(contents.uint_contents, 'uint_contents'));
    case 'UINT16':
      return Uint16Array.from(check(contents.uint_contents, 'uint_contents'));
    case 'UINT32':
      return Uint32Array.from(check(contents.uint_contents, 'uint_contents'));
    case 'INT64':
      return BigInt64Array.from(check(contents.int64_contents, 'int64_contents'), (value) => BigInt(value));
    case 'UINT64':
      return BigUint64Array.from(check(contents.uint64_contents, 'uint64_contents'), (value) => BigInt(value));
    case 'FP32':
      return Float32Array.from(check(contents.fp32_contents, 'fp32_contents'));
    case 'FP64':
      return Float64Array.from(check(contents.fp64_contents, 'fp64_contents'));
    case 'BYTES':
      return check(contents.bytes_contents, 'bytes_contents').map((element) => new Uint8Array(element.buffer, element.byteOffset, element.byteLength));
    default:
      throw malformedResponse(`output '${name}': ${datatype} data needs raw_output_contents, which the response lacks`);
  }
}
