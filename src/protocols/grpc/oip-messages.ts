/**
 * TypeScript shapes of the `inference.*` messages as grpc-js hands them to handlers and takes them
 * back, under the loader options of `proto-loader.ts`: snake_case names, 64-bit integers as decimal
 * strings when decoded, bytes as Buffers. Decoded messages have every field (`defaults: true`), but
 * the adapters still treat unset values defensively because clients may send anything.
 *
 * Outgoing shapes are looser: protobufjs accepts numbers or strings for 64-bit fields and any
 * Uint8Array for bytes, and missing fields simply stay at their defaults.
 */

/** 64-bit integer as sent: a decimal string (decoded) or a number (when we encode). */
export type WireInt64 = string | number;

export type InferParameterKind = 'bool_param' | 'int64_param' | 'string_param' | 'double_param' | 'uint64_param';

export interface WireInferParameter {
  /** The oneof member that is set (`oneofs: true`); undefined when the client set none. */
  parameter_choice?: InferParameterKind | undefined;
  bool_param?: boolean | undefined;
  int64_param?: WireInt64 | undefined;
  string_param?: string | undefined;
  double_param?: number | undefined;
  uint64_param?: WireInt64 | undefined;
}

export type WireParameters = Record<string, WireInferParameter>;

export interface WireTensorContents {
  bool_contents?: boolean[] | undefined;
  int_contents?: number[] | undefined;
  int64_contents?: WireInt64[] | undefined;
  uint_contents?: number[] | undefined;
  uint64_contents?: WireInt64[] | undefined;
  fp32_contents?: number[] | undefined;
  fp64_contents?: number[] | undefined;
  bytes_contents?: Uint8Array[] | undefined;
}

export interface WireInferInputTensor {
  name: string;
  datatype: string;
  shape: WireInt64[];
  parameters?: WireParameters | undefined;
  contents?: WireTensorContents | null | undefined;
}

export interface WireRequestedOutput {
  name: string;
  parameters?: WireParameters | undefined;
}

export interface WireModelInferRequest {
  model_name: string;
  model_version: string;
  id: string;
  parameters?: WireParameters | undefined;
  inputs: WireInferInputTensor[];
  outputs?: WireRequestedOutput[] | undefined;
  raw_input_contents?: Uint8Array[] | undefined;
}

export interface WireInferOutputTensor {
  name: string;
  datatype: string;
  shape: readonly WireInt64[];
  parameters?: WireParameters | undefined;
  contents?: WireTensorContents | undefined;
}

export interface WireModelInferResponse {
  model_name: string;
  model_version: string;
  id: string;
  parameters?: WireParameters | undefined;
  outputs?: WireInferOutputTensor[] | undefined;
  raw_output_contents?: Uint8Array[] | undefined;
}

export interface WireModelStreamInferResponse {
  error_message: string;
  infer_response?: WireModelInferResponse | undefined;
}

/** Requests that name a model and optionally a version (ModelReady, ModelMetadata, ModelConfig, ModelStatistics). */
export interface WireModelRef {
  name: string;
  version: string;
}

export interface WireTensorMetadata {
  name: string;
  datatype: string;
  shape: readonly WireInt64[];
}

export interface WireModelMetadataResponse {
  name: string;
  versions: readonly string[];
  platform: string;
  inputs: WireTensorMetadata[];
  outputs: WireTensorMetadata[];
}

export type RepositoryParameterKind = 'bool_param' | 'int64_param' | 'string_param' | 'bytes_param';

export interface WireRepositoryParameter {
  parameter_choice?: RepositoryParameterKind | undefined;
  bool_param?: boolean | undefined;
  int64_param?: WireInt64 | undefined;
  string_param?: string | undefined;
  bytes_param?: Uint8Array | undefined;
}

export interface WireRepositoryIndexRequest {
  repository_name: string;
  ready: boolean;
}

export interface WireRepositoryModelRequest {
  repository_name: string;
  model_name: string;
  parameters?: Record<string, WireRepositoryParameter> | undefined;
}

export interface WireModelIndex {
  name: string;
  version: string;
  state: string;
  reason: string;
}

export interface WireStatisticDuration {
  count: WireInt64;
  ns: WireInt64;
}
