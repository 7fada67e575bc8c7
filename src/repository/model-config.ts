/**
 * A model's configuration, shaped exactly like Triton's `inference.ModelConfig` protobuf message
 * (snake_case field names, enums as their names, int64 as number). One shape serves the
 * `config.pbtxt` parser, the `/config` JSON endpoint, the gRPC `ModelConfig` RPC and the
 * repository API's JSON `config` override, so no layer translates it.
 *
 * Only the fields Cranberries acts on are typed; `normalizeModelConfig` fills every default.
 */

export type ConfigDataType =
  | 'TYPE_INVALID'
  | 'TYPE_BOOL'
  | 'TYPE_UINT8'
  | 'TYPE_UINT16'
  | 'TYPE_UINT32'
  | 'TYPE_UINT64'
  | 'TYPE_INT8'
  | 'TYPE_INT16'
  | 'TYPE_INT32'
  | 'TYPE_INT64'
  | 'TYPE_FP16'
  | 'TYPE_FP32'
  | 'TYPE_FP64'
  | 'TYPE_STRING'
  | 'TYPE_BF16';

export interface ModelTensorReshape {
  shape: number[];
}

export interface ModelInput {
  name: string;
  data_type: ConfigDataType;
  format: 'FORMAT_NONE' | 'FORMAT_NHWC' | 'FORMAT_NCHW';
  dims: number[];
  reshape?: ModelTensorReshape | undefined;
  is_shape_tensor: boolean;
  allow_ragged_batch: boolean;
  optional: boolean;
}

export interface ModelOutput {
  name: string;
  data_type: ConfigDataType;
  dims: number[];
  reshape?: ModelTensorReshape | undefined;
  label_filename: string;
  is_shape_tensor: boolean;
}

export type ModelVersionPolicy = { latest: { num_versions: number } } | { all: Record<string, never> } | { specific: { versions: number[] } };

export interface ModelInstanceGroup {
  name: string;
  kind: 'KIND_AUTO' | 'KIND_GPU' | 'KIND_CPU' | 'KIND_MODEL';
  count: number;
  gpus: number[];
}

export interface ModelQueuePolicy {
  timeout_action: 'REJECT' | 'DELAY';
  default_timeout_microseconds: number;
  allow_timeout_override: boolean;
  max_queue_size: number;
}

export interface ModelDynamicBatching {
  preferred_batch_size: number[];
  max_queue_delay_microseconds: number;
  preserve_ordering: boolean;
  priority_levels: number;
  default_priority_level: number;
  default_queue_policy?: ModelQueuePolicy | undefined;
}

export interface ModelWarmupInput {
  data_type: ConfigDataType;
  dims: number[];
  zero_data?: boolean;
  random_data?: boolean;
  input_data_file?: string;
}

export interface ModelWarmup {
  name: string;
  batch_size: number;
  inputs: Record<string, ModelWarmupInput>;
  count: number;
}

export interface ModelParameter {
  string_value: string;
}

export interface ModelConfig {
  name: string;
  platform: string;
  backend: string;
  version_policy: ModelVersionPolicy;
  max_batch_size: number;
  input: ModelInput[];
  output: ModelOutput[];
  instance_group: ModelInstanceGroup[];
  default_model_filename: string;
  dynamic_batching?: ModelDynamicBatching | undefined;
  optimization?: { graph?: { level: number } } | undefined;
  parameters: Record<string, ModelParameter>;
  model_warmup: ModelWarmup[];
  response_cache?: { enable: boolean } | undefined;
}
