/**
 * Checks an inference request against the model's configuration and turns it into what the model
 * sees (inputs after `reshape`), and turns the model's outputs back into what the API promises
 * (outputs after `reshape`, classification). ONNX Runtime silently ignores unknown feeds and gives
 * terse errors for others, so every rule a client can break is checked here, with its name.
 */
import { invalidArgument } from '../core/index.js';
import { configTypeOf, dataTypeFromConfig, elementCount, type Tensor } from '../tensors/index.js';
import type { ModelConfig, ModelInput } from '../repository/index.js';
import type { InferenceRequest, RequestedOutput } from './inference.js';
import { classify } from './classification.js';
import { refuseSequenceParameters } from './sequence-parameters.js';
import { checkStringElements } from './string-elements.js';

export interface PreparedRequest {
  readonly inputs: Tensor[];
  readonly outputs: readonly RequestedOutput[];
  readonly outputNames: string[];
  /** The batch size (first dim) for batching models, 1 otherwise. */
  readonly rows: number;
}

export function prepareRequest(request: InferenceRequest, config: ModelConfig): PreparedRequest {
  const model = config.name;
  const batching = config.max_batch_size > 0;
  const byName = new Map(config.input.map((i) => [i.name, i]));
  const seen = new Set<string>();
  let rows: number | undefined;
  refuseSequenceParameters(request.parameters, config);

  const inputs = request.inputs.map((tensor): Tensor => {
    const spec = byName.get(tensor.name);
    if (!spec) throw invalidArgument(`unexpected inference input '${tensor.name}' for model '${model}' (inputs: ${config.input.map((i) => i.name).join(', ')})`);
    if (seen.has(tensor.name)) throw invalidArgument(`input '${tensor.name}' is given more than once`);
    seen.add(tensor.name);
    const expected = dataTypeFromConfig(spec.data_type);
    if (tensor.datatype !== expected) {
      throw invalidArgument(`input '${tensor.name}' has datatype ${tensor.datatype}, model '${model}' expects ${expected ?? configTypeOf(tensor.datatype)}`);
    }
    // Only ONNX Runtime's string tensors are limited to UTF-8 without NUL; other backends take any bytes.
    if (tensor.datatype === 'BYTES' && config.backend === 'onnxruntime') checkStringElements(tensor);
    let batch = 1;
    if (batching) {
      batch = tensor.shape[0] ?? 0;
      if (tensor.shape.length === 0 || batch < 1) throw invalidArgument(`input '${tensor.name}': the first dimension is the batch size and must be at least 1`);
      if (batch > config.max_batch_size) {
        throw invalidArgument(`input '${tensor.name}': batch size ${batch} exceeds max_batch_size ${config.max_batch_size} of model '${model}'`);
      }
      if (rows !== undefined && batch !== rows) throw invalidArgument(`input '${tensor.name}' has batch size ${batch}, other inputs have ${rows}`);
      rows = batch;
    }
    const itemShape = batching ? tensor.shape.slice(1) : tensor.shape;
    checkDims(tensor, itemShape, spec, batching);
    const count = elementCount(tensor.shape);
    if (tensor.data.length !== count) throw invalidArgument(`input '${tensor.name}': shape [${tensor.shape.join(',')}] needs ${count} elements, got ${tensor.data.length}`);
    if (!spec.reshape) return tensor;
    const modelShape = batching ? [batch, ...spec.reshape.shape] : [...spec.reshape.shape];
    return { ...tensor, shape: resolveReshape(modelShape, count) };
  });

  for (const spec of config.input) {
    if (!spec.optional && !seen.has(spec.name)) throw invalidArgument(`model '${model}' expects input '${spec.name}', the request lacks it`);
  }

  const outputNames = new Set(config.output.map((o) => o.name));
  const outputs: readonly RequestedOutput[] = request.outputs?.length ? request.outputs : config.output.map((o) => ({ name: o.name }));
  for (const output of outputs) {
    if (!outputNames.has(output.name)) throw invalidArgument(`unexpected inference output '${output.name}' for model '${model}' (outputs: ${[...outputNames].join(', ')})`);
    if (output.classification !== undefined && !(Number.isInteger(output.classification) && output.classification >= 1)) {
      throw invalidArgument(`output '${output.name}': classification must be an integer ≥ 1`);
    }
  }
  return { inputs, outputs, outputNames: [...new Set(outputs.map((o) => o.name))], rows: rows ?? 1 };
}

function checkDims(tensor: Tensor, shape: readonly number[], spec: ModelInput, batching: boolean): void {
  const dims = spec.dims;
  const full = (s: readonly number[]): string => `[${batching ? '-1,' : ''}${s.join(',')}]`;
  const ok = shape.length === dims.length && dims.every((d, i) => d === -1 || d === shape[i]);
  if (!ok) throw invalidArgument(`input '${tensor.name}': shape [${tensor.shape.join(',')}] does not match the model's ${full(dims)}`);
}

/** A reshape may hold one -1, resolved from the element count. */
function resolveReshape(shape: number[], count: number): number[] {
  const known = shape.filter((d) => d !== -1).reduce((a, b) => a * b, 1);
  return shape.map((d) => (d === -1 ? count / Math.max(1, known) : d));
}

/**
 * The model's outputs, in the order the client asked, reshaped to the API's shape and classified
 * where asked. Each requested output appears once per request entry.
 */
export function finishOutputs(produced: readonly Tensor[], prepared: PreparedRequest, config: ModelConfig, labels: ReadonlyMap<string, readonly string[]>): Tensor[] {
  const byName = new Map(produced.map((t) => [t.name, t]));
  const specs = new Map(config.output.map((o) => [o.name, o]));
  const batching = config.max_batch_size > 0;
  return prepared.outputs.map((requested) => {
    let tensor = byName.get(requested.name)!;
    const spec = specs.get(requested.name);
    if (spec?.reshape) {
      const count = elementCount(tensor.shape);
      const apiShape = batching ? [tensor.shape[0] ?? prepared.rows, ...spec.dims] : [...spec.dims];
      tensor = { ...tensor, shape: resolveReshape(apiShape, count) };
    }
    if (requested.classification !== undefined) tensor = classify(tensor, requested.classification, batching, labels.get(requested.name));
    return tensor;
  });
}
