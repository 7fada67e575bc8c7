/**
 * TypeScript shapes of the `tensorflow.serving.*` / `tensorflow.*` messages as grpc-js hands them
 * to handlers under the loader options of `proto-loader.ts` (snake_case, enums as names, 64-bit
 * integers as decimal strings, bytes as Buffers, every field present, `oneofs` virtual fields).
 * Incoming fields are optional all the same: clients may send anything and unit tests build
 * partial messages. Outgoing shapes may give 64-bit integers as numbers.
 */

/** 64-bit integer: a decimal string when decoded, a number or string when we encode. */
export type WireInt64 = string | number;

export interface WireTensorShape {
  dim?: { size?: WireInt64; name?: string }[] | undefined;
  unknown_rank?: boolean | undefined;
}

export interface WireTensorProto {
  dtype?: string | number | undefined;
  tensor_shape?: WireTensorShape | null | undefined;
  version_number?: number | undefined;
  tensor_content?: Uint8Array | undefined;
  float_val?: number[] | undefined;
  double_val?: number[] | undefined;
  int_val?: number[] | undefined;
  string_val?: Uint8Array[] | undefined;
  scomplex_val?: number[] | undefined;
  int64_val?: WireInt64[] | undefined;
  bool_val?: boolean[] | undefined;
  dcomplex_val?: number[] | undefined;
  half_val?: number[] | undefined;
  uint32_val?: number[] | undefined;
  uint64_val?: WireInt64[] | undefined;
}

export interface WireModelSpec {
  name?: string | undefined;
  version?: { value?: WireInt64 } | null | undefined;
  version_label?: string | undefined;
  signature_name?: string | undefined;
  /** Which member of the `version_choice` oneof is set. */
  version_choice?: 'version' | 'version_label' | undefined;
}

export interface WirePredictRequest {
  model_spec?: WireModelSpec | null | undefined;
  inputs?: Record<string, WireTensorProto> | undefined;
  output_filter?: string[] | undefined;
}

export interface WirePredictResponse {
  model_spec: WireModelSpec;
  outputs: Record<string, WireTensorProto>;
}

export interface WireGetModelMetadataRequest {
  model_spec?: WireModelSpec | null | undefined;
  metadata_field?: string[] | undefined;
}

export interface WireAny {
  type_url: string;
  value: Uint8Array;
}

export interface WireGetModelMetadataResponse {
  model_spec: WireModelSpec;
  metadata: Record<string, WireAny>;
}

export interface WireStatusProto {
  error_code: string;
  error_message: string;
}

export interface WireModelVersionStatus {
  version: WireInt64;
  state: string;
  status: WireStatusProto;
}

export interface WireGetModelStatusRequest {
  model_spec?: WireModelSpec | null | undefined;
}

export interface WireFeature {
  kind?: 'bytes_list' | 'float_list' | 'int64_list' | undefined;
  bytes_list?: { value?: Uint8Array[] } | null | undefined;
  float_list?: { value?: number[] } | null | undefined;
  int64_list?: { value?: WireInt64[] } | null | undefined;
}

export interface WireExample {
  features?: { feature?: Record<string, WireFeature> } | null | undefined;
}

export interface WireInput {
  kind?: 'example_list' | 'example_list_with_context' | undefined;
  example_list?: { examples?: WireExample[] } | null | undefined;
  example_list_with_context?: { examples?: WireExample[]; context?: WireExample | null } | null | undefined;
}

export interface WireClassificationRequest {
  model_spec?: WireModelSpec | null | undefined;
  input?: WireInput | null | undefined;
}

export interface WireRegressionRequest {
  model_spec?: WireModelSpec | null | undefined;
  input?: WireInput | null | undefined;
}

export interface WireClassificationResult {
  classifications: { classes: { label: string; score: number }[] }[];
}

export interface WireRegressionResult {
  regressions: { value: number }[];
}

export interface WireMultiInferenceRequest {
  tasks?: { model_spec?: WireModelSpec | null; method_name?: string }[] | undefined;
  input?: WireInput | null | undefined;
}

export interface WireInferenceResult {
  model_spec: WireModelSpec;
  classification_result?: WireClassificationResult | undefined;
  regression_result?: WireRegressionResult | undefined;
}

export interface WireReloadConfigRequest {
  config?: unknown;
  metric_names?: string[] | undefined;
}
