/**
 * The rules a normalized `ModelConfig` must satisfy on its own (without the model file), after
 * Triton's `ValidateModelConfig`. `validateModelConfig` is the full check of a finished config;
 * normalization runs the same rules leniently, skipping only what auto-completion can still fix
 * (a missing `data_type` or `dims`, and batching rules while `max_batch_size` is unstated).
 */
import { posix } from 'node:path';
import { invalidArgument } from '../core/index.js';
import type { ModelConfig, ModelTensorReshape } from './model-config.js';

export interface CheckOptions {
  /** Require every input/output to have a data_type and dims (no completion will follow). */
  readonly complete: boolean;
  /** `max_batch_size` is final, so the rules that depend on it apply. */
  readonly batchingKnown: boolean;
}

/** `[3,224,224]` — shapes as they appear in messages. */
export function formatShape(shape: readonly number[]): string {
  return `[${shape.join(',')}]`;
}

/** Element count, or undefined when a dimension is variable (-1). */
function elementCount(shape: readonly number[]): number | undefined {
  let count = 1;
  for (const dim of shape) {
    if (dim < 0) return undefined;
    count *= dim;
  }
  return count;
}

/** A path that stays inside the model directory: relative, no `..`. */
function isInsideModelDir(path: string): boolean {
  if (path.includes('\\') || posix.isAbsolute(path)) return false;
  return !path.split('/').some((part) => part === '..');
}

export function checkModelConfig(config: ModelConfig, options: CheckOptions, fail: (message: string) => never): void {
  const batchingKnown = options.complete || options.batchingKnown;
  const maxBatch = config.max_batch_size;
  if (maxBatch < 0) fail(`max_batch_size must be 0 (no batching) or positive, got ${maxBatch}`);

  const checkDims = (what: string, field: string, dims: readonly number[]): void => {
    if (dims.some((dim) => dim !== -1 && dim < 1)) {
      fail(`${what}: ${field} ${formatShape(dims)} — each dimension must be ≥ 1, or -1 for any size`);
    }
  };
  const checkTensors = (kind: 'input' | 'output', tensors: readonly { name: string; data_type: string; dims: number[]; reshape?: ModelTensorReshape | undefined }[]): void => {
    const seen = new Set<string>();
    tensors.forEach((tensor, i) => {
      if (tensor.name === '') fail(`${kind} ${i} has no name`);
      if (seen.has(tensor.name)) fail(`${kind} name '${tensor.name}' is used twice`);
      seen.add(tensor.name);
      const what = `${kind} '${tensor.name}'`;
      if (options.complete && tensor.data_type === 'TYPE_INVALID') fail(`${what}: data_type is missing`);
      if (options.complete && tensor.dims.length === 0) {
        fail(`${what}: dims must have at least one dimension (for a scalar use dims: [ 1 ] with reshape: { shape: [ ] })`);
      }
      checkDims(what, 'dims', tensor.dims);
      if (tensor.reshape) {
        checkDims(what, 'reshape', tensor.reshape.shape);
        const fromDims = elementCount(tensor.dims);
        const fromReshape = elementCount(tensor.reshape.shape);
        if (tensor.dims.length > 0 && fromDims !== undefined && fromReshape !== undefined && fromDims !== fromReshape) {
          fail(`${what}: reshape ${formatShape(tensor.reshape.shape)} has ${fromReshape} elements, but dims ${formatShape(tensor.dims)} have ${fromDims}`);
        }
      }
    });
  };
  checkTensors('input', config.input);
  checkTensors('output', config.output);
  for (const input of config.input) {
    if (options.complete && input.format !== 'FORMAT_NONE' && input.dims.length !== 3) {
      fail(`input '${input.name}': format ${input.format} needs 3 dims (without the batch dimension), got ${formatShape(input.dims)}`);
    }
  }
  for (const output of config.output) {
    if (output.label_filename !== '' && !isInsideModelDir(output.label_filename)) {
      fail(`output '${output.name}': label_filename '${output.label_filename}' must be a relative path inside the model directory`);
    }
  }
  if (config.default_model_filename !== '' && !isInsideModelDir(config.default_model_filename)) {
    fail(`default_model_filename '${config.default_model_filename}' must be a relative path inside the version directory`);
  }

  checkVersionPolicy(config, fail);

  for (const group of config.instance_group) {
    if (group.count < 1) fail(`instance_group '${group.name}': count must be ≥ 1, got ${group.count}`);
    if ((group.kind === 'KIND_CPU' || group.kind === 'KIND_MODEL') && group.gpus.length > 0) {
      fail(`instance_group '${group.name}': gpus cannot be listed for ${group.kind}`);
    }
  }

  const batching = config.dynamic_batching;
  if (batching) {
    if (batchingKnown && maxBatch === 0) fail('dynamic_batching needs max_batch_size > 0 (the model is configured not to batch)');
    for (const size of batching.preferred_batch_size) {
      if (size < 1) fail(`dynamic_batching: preferred_batch_size ${size} must be ≥ 1`);
      if (batchingKnown && size > maxBatch) fail(`dynamic_batching: preferred_batch_size ${size} is larger than max_batch_size ${maxBatch}`);
    }
    const levels = batching.priority_levels;
    if (levels > 0 && (batching.default_priority_level < 1 || batching.default_priority_level > levels)) {
      fail(`dynamic_batching: default_priority_level must be between 1 and priority_levels (${levels}), got ${batching.default_priority_level}`);
    }
    const perLevel = (batching as { priority_queue_policy?: Record<string, unknown> }).priority_queue_policy ?? {};
    for (const level of Object.keys(perLevel)) {
      if (Number(level) < 1 || Number(level) > levels) fail(`dynamic_batching: priority_queue_policy for level ${level}, but priority_levels is ${levels}`);
    }
  }

  checkWarmup(config, options, batchingKnown, fail);
}

function checkVersionPolicy(config: ModelConfig, fail: (message: string) => never): void {
  const policy = config.version_policy;
  if ('specific' in policy) {
    if (policy.specific.versions.length === 0) fail('version_policy specific lists no versions');
    for (const version of policy.specific.versions) {
      if (version < 1) fail(`version_policy specific: version ${version} must be ≥ 1`);
    }
  }
}

function checkWarmup(config: ModelConfig, options: CheckOptions, batchingKnown: boolean, fail: (message: string) => never): void {
  const maxBatch = config.max_batch_size;
  const inputNames = new Set(config.input.map((input) => input.name));
  config.model_warmup.forEach((warmup, i) => {
    const what = `model_warmup '${warmup.name || i}'`;
    if (warmup.batch_size < 1) fail(`${what}: batch_size must be ≥ 1`);
    if (batchingKnown && maxBatch === 0 && warmup.batch_size !== 1) fail(`${what}: batch_size must be 1 when max_batch_size is 0`);
    if (batchingKnown && maxBatch > 0 && warmup.batch_size > maxBatch) fail(`${what}: batch_size ${warmup.batch_size} is larger than max_batch_size ${maxBatch}`);
    for (const [name, input] of Object.entries(warmup.inputs)) {
      if (input.zero_data === undefined && input.random_data === undefined && input.input_data_file === undefined) {
        fail(`${what}: input '${name}' must set zero_data, random_data or input_data_file`);
      }
      if (input.data_type === 'TYPE_INVALID') fail(`${what}: input '${name}' has no data_type`);
      if (input.dims.some((dim) => dim < 0)) fail(`${what}: input '${name}' dims ${formatShape(input.dims)} must be fixed sizes (≥ 0)`);
      if (input.input_data_file !== undefined && (input.input_data_file === '' || !isInsideModelDir(input.input_data_file))) {
        fail(`${what}: input '${name}': input_data_file '${input.input_data_file}' must name a file inside the model's warmup/ directory`);
      }
      if (options.complete && !inputNames.has(name)) fail(`${what}: '${name}' is not an input of the model config`);
    }
    if (options.complete) {
      for (const input of config.input) {
        if (!input.optional && !Object.hasOwn(warmup.inputs, input.name)) fail(`${what}: gives no data for input '${input.name}'`);
      }
    }
  });
}

/** Throws INVALID_ARGUMENT (`model 'm': ...`) unless `config` is a complete, consistent config. */
export function validateModelConfig(config: ModelConfig): void {
  checkModelConfig(config, { complete: true, batchingKnown: true }, (message) => {
    throw invalidArgument(`model '${config.name}': ${message}`);
  });
}
