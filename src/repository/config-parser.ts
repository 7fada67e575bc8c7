/**
 * A model's configuration from its two written forms (`config.pbtxt` text, or the JSON form the
 * repository API accepts and `/config` prints) to the one normalized `ModelConfig`.
 *
 * Normalizing fills every default so later layers never test for absence: all proto3 defaults,
 * plus Triton's (version policy latest-1, one CPU instance, backend/platform pairing, a default
 * queue policy), and checks everything that can be checked without the model file. What the
 * model file can still supply — missing `data_type`/`dims`, and whether the model batches when the
 * config does not say — is left to `completeModelConfig` (config-complete.ts), which ends with the
 * full `validateModelConfig`. Which top-level fields the author actually wrote is remembered per
 * config object (`authoredFields`), because proto3 cannot tell `max_batch_size: 0` from absence.
 * This module is the entry point: it re-exports completion and validation.
 */
import { CranberriesError, invalidArgument } from '../core/index.js';
import type { ModelConfig } from './model-config.js';
import { markAuthored } from './config-authored.js';
import { checkJsonMessage, withDefaults } from './config-json.js';
import { modelConfigType } from './config-proto.js';
import { checkModelConfig } from './config-validate.js';
import { parseTextFormat } from './text-format.js';

export { authoredFields } from './config-authored.js';
export { completeModelConfig, DEFAULT_MAX_BATCH_SIZE, validateAgainstSignature, type CompleteOptions } from './config-complete.js';
export { validateModelConfig } from './config-validate.js';

/** Platform → the backend that serves it (Triton's names). */
const PLATFORM_BACKEND: Readonly<Record<string, string>> = {
  onnxruntime_onnx: 'onnxruntime',
  tensorrt_plan: 'tensorrt',
  pytorch_libtorch: 'pytorch',
  tensorflow_savedmodel: 'tensorflow',
  tensorflow_graphdef: 'tensorflow',
  tensorflowjs_graph: 'tensorflowjs',
  tensorflowjs_layers: 'tensorflowjs',
};
/** Backend → its platform, where the backend has exactly one. */
const BACKEND_PLATFORM: Readonly<Record<string, string>> = {
  onnxruntime: 'onnxruntime_onnx',
  tensorrt: 'tensorrt_plan',
  pytorch: 'pytorch_libtorch',
};

export interface ParseModelConfigOptions {
  /** Name of the file in error messages; default `config.pbtxt`. */
  readonly fileName?: string;
}

/** Parses and normalizes a `config.pbtxt` of the model in directory `modelDirName`. */
export function parseModelConfig(text: string, modelDirName: string, options: ParseModelConfigOptions = {}): ModelConfig {
  let raw: Record<string, unknown>;
  try {
    raw = parseTextFormat(text, modelConfigType());
  } catch (error) {
    if (!(error instanceof CranberriesError)) throw error;
    throw new CranberriesError(error.code, `model '${modelDirName}': ${options.fileName ?? 'config.pbtxt'}: ${error.message}`, { cause: error });
  }
  return normalizeModelConfig(raw, modelDirName);
}

/** Checks and normalizes the JSON form of a config (snake_case or camelCase names, enums by name). */
export function modelConfigFromJson(json: unknown, modelDirName: string): ModelConfig {
  return normalizeModelConfig(json, modelDirName);
}

/**
 * Normalizes a config given as a plain object (parsed text format or JSON form): checks its
 * fields against the schema, fills every default, and checks what needs no model file.
 */
export function normalizeModelConfig(raw: unknown, modelDirName: string): ModelConfig {
  const context = `model '${modelDirName}': `;
  const type = modelConfigType();
  const checked = checkJsonMessage(raw, type, context);
  const fields = Object.keys(checked);
  const config = withDefaults({ version_policy: {}, ...checked }, type) as unknown as ModelConfig;
  const fail: (message: string) => never = (message) => {
    throw invalidArgument(`${context}${message}`);
  };

  if (config.name !== '' && config.name !== modelDirName) {
    fail(`config name '${config.name}' does not match the model directory name '${modelDirName}'`);
  }
  config.name = modelDirName;
  pairBackendAndPlatform(config, fail);

  const policy = config.version_policy as Partial<Record<'latest' | 'all' | 'specific', Record<string, unknown>>> | undefined;
  if (!policy || (!policy.latest && !policy.all && !policy.specific)) config.version_policy = { latest: { num_versions: 1 } };
  else if (policy.latest && policy.latest.num_versions === 0) policy.latest.num_versions = 1;

  if (config.instance_group.length === 0) {
    config.instance_group = [withDefaults({ name: modelDirName, kind: 'KIND_CPU', count: 1 }, instanceGroupType()) as unknown as ModelConfig['instance_group'][number]];
  }
  config.instance_group.forEach((group, i) => {
    if (group.name === '') group.name = `${modelDirName}_${i}`;
    if (group.count === 0) group.count = 1;
  });

  const batching = config.dynamic_batching;
  if (batching && !batching.default_queue_policy) {
    batching.default_queue_policy = { timeout_action: 'REJECT', default_timeout_microseconds: 0, allow_timeout_override: false, max_queue_size: 0 };
  }

  checkModelConfig(config, { complete: false, batchingKnown: fields.includes('max_batch_size') }, fail);
  markAuthored(config, fields);
  return config;
}

function instanceGroupType(): ReturnType<typeof modelConfigType> {
  return modelConfigType().lookupType('inference.ModelInstanceGroup');
}

/** Either of `backend`/`platform` implies the other; none at all means ONNX Runtime. */
function pairBackendAndPlatform(config: ModelConfig, fail: (message: string) => never): void {
  if (config.backend === '' && config.platform === '') {
    config.backend = 'onnxruntime';
    config.platform = 'onnxruntime_onnx';
    return;
  }
  const platformBackend = PLATFORM_BACKEND[config.platform];
  if (config.backend === '') config.backend = platformBackend ?? '';
  else if (config.platform === '') config.platform = BACKEND_PLATFORM[config.backend] ?? '';
  else if (platformBackend !== undefined && platformBackend !== config.backend) {
    fail(`platform '${config.platform}' is served by backend '${platformBackend}', but the config says backend '${config.backend}'`);
  }
}

/**
 * The number in `parameters[key].string_value`, or undefined when the parameter is absent.
 * A present value that is not a finite number is an INVALID_ARGUMENT naming model and key.
 */
export function parameterNumber(config: ModelConfig, key: string): number | undefined {
  const parameter = Object.hasOwn(config.parameters, key) ? config.parameters[key] : undefined;
  if (parameter === undefined) return undefined;
  const text = parameter.string_value.trim();
  const value = text === '' ? NaN : Number(text);
  if (!Number.isFinite(value)) {
    throw invalidArgument(`model '${config.name}': parameter '${key}' must be a number, got ${JSON.stringify(parameter.string_value)}`);
  }
  return value;
}
