/**
 * Triton's "auto-complete" for models whose file declares its own signature (ONNX), and the check
 * that a config does not contradict the model it configures.
 *
 * `completeModelConfig` fills what the author left out from the model's signature: the inputs and
 * outputs themselves, a missing `data_type` or `dims`, and — only when the author did not write
 * `max_batch_size` — whether the model batches. A model batches when every input and output has a
 * variable first dimension; it then gets `DEFAULT_MAX_BATCH_SIZE` (or its largest preferred batch
 * size) and `dims` without that dimension, unless dims the author wrote have the model's full rank.
 * `validateAgainstSignature` then refuses any name, type, rank or fixed dimension that differs.
 */
import { invalidArgument } from '../core/index.js';
import type { ModelSignature, TensorSignature } from './model-signature.js';
import { configTypeOf, dataTypeFromConfig } from '../tensors/index.js';
import type { ConfigDataType, ModelConfig, ModelInput, ModelOutput } from './model-config.js';
import { withDefaults } from './config-json.js';
import { authoredFields, markAuthored } from './config-authored.js';
import { modelConfigRoot } from './config-proto.js';
import { formatShape, validateModelConfig } from './config-validate.js';
import { sequenceTensorNames } from './sequence-batching-config.js';

/**
 * `max_batch_size` given to a batchable model whose config does not state one. Triton's ONNX
 * Runtime backend uses its `default-max-batch-size` setting (4); we pick 8 so that small dynamic
 * batches form on a 2-core CPU server without a config.
 */
export const DEFAULT_MAX_BATCH_SIZE = 8;

export interface CompleteOptions {
  /**
   * Whether the author wrote `max_batch_size`. Default: what the parser recorded for `config`
   * (`authoredFields`); for a config built elsewhere, whether `max_batch_size` is positive.
   */
  readonly maxBatchSizeSet?: boolean;
}

type ConfigTensor = ModelInput | ModelOutput;

function canBatch(signature: ModelSignature): boolean {
  const all = [...signature.inputs, ...signature.outputs];
  return signature.inputs.length > 0 && all.every((tensor) => tensor.shape.length > 0 && tensor.shape[0] === -1);
}

/** The shape the framework sees for a config tensor, without the batch dimension. */
function modelFacing(tensor: ConfigTensor): number[] {
  return tensor.reshape ? tensor.reshape.shape : tensor.dims;
}

/** Whether a model that can batch should, given the dims the author wrote (if any). */
function dimsImplyBatching(config: ModelConfig, signature: ModelSignature): boolean {
  let batchVotes = 0;
  let fullVotes = 0;
  const vote = (tensors: readonly ConfigTensor[], model: readonly TensorSignature[]): void => {
    for (const tensor of tensors) {
      const match = model.find((m) => m.name === tensor.name);
      if (!match || tensor.dims.length === 0) continue;
      const rank = modelFacing(tensor).length;
      if (rank === match.shape.length) fullVotes++;
      else if (rank === match.shape.length - 1) batchVotes++;
    }
  };
  vote(config.input, signature.inputs);
  vote(config.output, signature.outputs);
  return batchVotes > 0 || fullVotes === 0;
}

/** `dims` (and a scalar's reshape) for a model tensor, given whether the batch dim is stripped. */
function dimsFor(tensor: TensorSignature, batching: boolean): Pick<ModelInput, 'dims' | 'reshape'> {
  const dims = batching ? tensor.shape.slice(1) : [...tensor.shape];
  // Triton has no rank-0 dims: a scalar is one element reshaped to [].
  return dims.length === 0 ? { dims: [1], reshape: { shape: [] } } : { dims };
}

function fillTensor<T extends ConfigTensor>(tensor: T, model: TensorSignature | undefined, batching: boolean): T {
  if (!model) return tensor;
  if (tensor.data_type === 'TYPE_INVALID') tensor.data_type = configTypeOf(model.datatype) as ConfigDataType;
  if (tensor.dims.length === 0) {
    const { dims, reshape } = dimsFor(model, batching);
    tensor.dims = dims;
    if (reshape && !tensor.reshape) tensor.reshape = reshape;
  }
  return tensor;
}

function tensorFrom<T extends ConfigTensor>(typeName: string, model: TensorSignature, batching: boolean): T {
  const type = modelConfigRoot().lookupType(typeName);
  return withDefaults({ name: model.name, data_type: configTypeOf(model.datatype), ...dimsFor(model, batching) }, type) as unknown as T;
}

/**
 * A copy of `config` completed from the model's `signature` (full shapes, batch dim included,
 * -1 for symbolic dims) and fully validated (`validateModelConfig`). Does not compare the two:
 * call `validateAgainstSignature` on the result.
 */
export function completeModelConfig(config: ModelConfig, signature: ModelSignature, options: CompleteOptions = {}): ModelConfig {
  const authored = authoredFields(config);
  const maxBatchSizeSet = options.maxBatchSizeSet ?? (authored ? authored.has('max_batch_size') : config.max_batch_size > 0);
  const completed = structuredClone(config);
  if (!maxBatchSizeSet) {
    const batches = canBatch(signature) && dimsImplyBatching(config, signature);
    const preferred = config.dynamic_batching?.preferred_batch_size ?? [];
    completed.max_batch_size = batches ? Math.max(DEFAULT_MAX_BATCH_SIZE, ...preferred) : 0;
  }
  const batching = completed.max_batch_size > 0;
  // Control and implicit-state tensors are fed and read by the sequence batcher, not by clients.
  const sequenceNames = sequenceTensorNames(config);
  const clientSignature: ModelSignature = {
    inputs: signature.inputs.filter((t) => !sequenceNames.inputs.has(t.name)),
    outputs: signature.outputs.filter((t) => !sequenceNames.outputs.has(t.name)),
  };
  completed.input =
    completed.input.length === 0
      ? clientSignature.inputs.map((model) => tensorFrom<ModelInput>('inference.ModelInput', model, batching))
      : completed.input.map((input) =>
          fillTensor(
            input,
            signature.inputs.find((m) => m.name === input.name),
            batching,
          ),
        );
  completed.output =
    completed.output.length === 0
      ? clientSignature.outputs.map((model) => tensorFrom<ModelOutput>('inference.ModelOutput', model, batching))
      : completed.output.map((output) =>
          fillTensor(
            output,
            signature.outputs.find((m) => m.name === output.name),
            batching,
          ),
        );
  if (completed.default_model_filename === '' && completed.backend === 'onnxruntime') completed.default_model_filename = 'model.onnx';
  // A tensor the model lacks cannot be completed: say so, rather than that its data_type is missing.
  checkNames(completed, signature, completed.name);
  validateModelConfig(completed);
  markAuthored(completed, [...(authored ?? Object.keys(completed)), 'max_batch_size']);
  return completed;
}

/**
 * Throws INVALID_ARGUMENT (`model 'm': input 'x': ...`) when `config` contradicts the model's
 * `signature`: an input/output the model lacks, a model input the config lacks, a different
 * data type, rank or fixed dimension, or batching over a fixed first dimension.
 */
export function validateAgainstSignature(config: ModelConfig, signature: ModelSignature, modelName: string): void {
  const fail: (message: string) => never = (message) => {
    throw invalidArgument(`model '${modelName}': ${message}`);
  };
  checkNames(config, signature, modelName);
  const maxBatch = config.max_batch_size;
  const check = (kind: 'input' | 'output', tensors: readonly ConfigTensor[], model: readonly TensorSignature[]): void => {
    for (const tensor of tensors) {
      const what = `${kind} '${tensor.name}'`;
      const match = model.find((m) => m.name === tensor.name);
      if (!match) return;
      const datatype = dataTypeFromConfig(tensor.data_type);
      if (datatype !== match.datatype) fail(`${what}: data_type ${tensor.data_type} in the config, but the model expects ${match.datatype}`);
      const facing = modelFacing(tensor);
      const source = `${tensor.reshape ? 'reshape' : 'dims'} ${formatShape(facing)}`;
      const full = maxBatch > 0 ? [-1, ...facing] : facing;
      if (full.length !== match.shape.length) {
        fail(`${what}: config ${source} with max_batch_size ${maxBatch} give rank ${full.length}, the model has rank ${match.shape.length} ${formatShape(match.shape)}`);
      }
      if (maxBatch > 0 && match.shape[0] !== -1) {
        fail(
          `${what}: max_batch_size ${maxBatch} needs a variable first dimension, but the model fixes it to ${match.shape[0]} ${formatShape(match.shape)}; set max_batch_size: 0 and give the full shape in dims`,
        );
      }
      match.shape.forEach((dim, i) => {
        if (dim !== -1 && full[i] !== dim) {
          fail(
            `${what}: config ${source} with max_batch_size ${maxBatch} do not match the model's shape ${formatShape(match.shape)} (dimension ${i} is ${full[i]} in the config, ${dim} in the model)`,
          );
        }
      });
    }
  };
  check('input', config.input, signature.inputs);
  check('output', config.output, signature.outputs);
}

/** Every config tensor exists in the model, and every model input is in the config. */
function checkNames(config: ModelConfig, signature: ModelSignature, modelName: string): void {
  const fail = (message: string): never => {
    throw invalidArgument(`model '${modelName}': ${message}`);
  };
  const check = (kind: 'input' | 'output', tensors: readonly ConfigTensor[], model: readonly TensorSignature[]): void => {
    for (const tensor of tensors) {
      if (!model.some((m) => m.name === tensor.name)) {
        fail(`${kind} '${tensor.name}' is not an ${kind} of the model (it has: ${model.map((m) => m.name).join(', ') || 'none'})`);
      }
    }
  };
  check('input', config.input, signature.inputs);
  check('output', config.output, signature.outputs);
  const listed = new Set(config.input.map((input) => input.name));
  const sequenceInputs = sequenceTensorNames(config).inputs;
  for (const input of signature.inputs) {
    if (sequenceInputs.has(input.name)) continue;
    if (!listed.has(input.name)) fail(`model input '${input.name}' is missing from the config (the config lists: ${[...listed].join(', ') || 'none'})`);
  }
}
