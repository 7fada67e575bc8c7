/**
 * An ensemble's steps as a checked plan (Triton's `ensemble_scheduling`): which ensemble tensor
 * each step input reads and each step output writes, in an order where every step runs after the
 * steps it reads from. Everything that can be checked before a request is checked here, and a
 * failure is the ensemble's UNAVAILABLE reason.
 *
 * Triton's semantics: `input_map` maps a step model's input name → an ensemble tensor name,
 * `output_map` a step model's output name → an ensemble tensor name; an ensemble tensor is an
 * ensemble input, an ensemble output, or an intermediate name used only inside the ensemble.
 * `model_version` -1 (or 0, unset) is the step model's latest READY version.
 */
import { invalidArgument } from '../../core/index.js';
import { dataTypeFromConfig, type DataType } from '../../tensors/index.js';
import type { ModelConfig } from '../../repository/index.js';

export interface EnsembleStepConfig {
  model_name: string;
  model_version: number;
  input_map: Record<string, string>;
  output_map: Record<string, string>;
}

export interface EnsembleStep {
  /** 1-based position in the config, as errors name it. */
  readonly number: number;
  readonly model: string;
  /** Undefined: the latest READY version. */
  readonly version: number | undefined;
  /** [step input name, ensemble tensor name]. */
  readonly inputs: readonly (readonly [string, string])[];
  /** [step output name, ensemble tensor name]. */
  readonly outputs: readonly (readonly [string, string])[];
}

export interface EnsemblePlan {
  readonly name: string;
  /** Steps in a dependency order (a step after every step it reads from). */
  readonly steps: readonly EnsembleStep[];
  /** How many readers each ensemble tensor has (steps and the ensemble's outputs). */
  readonly readers: ReadonlyMap<string, number>;
}

/** The `ensemble_scheduling` steps of a config (empty when it has none). */
export function ensembleSteps(config: ModelConfig): EnsembleStepConfig[] {
  const scheduling = (config as ModelConfig & { ensemble_scheduling?: { step?: EnsembleStepConfig[] } }).ensemble_scheduling;
  return scheduling?.step ?? [];
}

/**
 * Checks the steps of `config` and orders them. `stepConfig` gives a step model's config where it
 * is known (undefined: not in the repository); types and names are compared where both sides
 * declare them.
 */
export function planEnsemble(config: ModelConfig, stepConfig: (model: string) => ModelConfig | undefined): EnsemblePlan {
  const name = config.name;
  const fail = (message: string): never => {
    throw invalidArgument(`ensemble '${name}': ${message}`);
  };
  const raw = ensembleSteps(config);
  if (raw.length === 0) fail('ensemble_scheduling has no step');
  // An ensemble's "instances" are slots of one runner: warming each would run the DAG hundreds of times.
  if (config.model_warmup.length > 0) fail('model_warmup on an ensemble is not supported; warm up its step models');
  if (config.dynamic_batching) fail('an ensemble has no dynamic_batching of its own (each step model batches with its own scheduler)');
  const ensembleInputs = new Map(config.input.map((t) => [t.name, dataTypeFromConfig(t.data_type)]));
  const steps: EnsembleStep[] = raw.map((s, i) => {
    const number = i + 1;
    const label = `step ${number} (model '${s.model_name}')`;
    if (!s.model_name) fail(`step ${number} names no model_name`);
    if (s.model_name === name) fail(`${label} runs the ensemble itself`);
    const inputs = Object.entries(s.input_map ?? {});
    const outputs = Object.entries(s.output_map ?? {});
    if (inputs.length === 0) fail(`${label} has an empty input_map`);
    if (outputs.length === 0) fail(`${label} has an empty output_map`);
    return { number, model: s.model_name, version: s.model_version > 0 ? s.model_version : undefined, inputs, outputs };
  });

  // Who writes each ensemble tensor.
  const producer = new Map<string, EnsembleStep>();
  const producedType = new Map<string, DataType | undefined>();
  for (const step of steps) {
    const model = stepConfig(step.model);
    if (!model) fail(`step ${step.number}: model '${step.model}' is not in the repository`);
    for (const [output, tensor] of step.outputs) {
      if (ensembleInputs.has(tensor)) fail(`step ${step.number} (model '${step.model}') writes '${tensor}', which is an ensemble input`);
      const other = producer.get(tensor);
      if (other) fail(`tensor '${tensor}' is written by both step ${other.number} (model '${other.model}') and step ${step.number} (model '${step.model}')`);
      producer.set(tensor, step);
      const declared = model!.output.find((o) => o.name === output);
      if (!declared && model!.output.length > 0) fail(`step ${step.number}: model '${step.model}' has no output '${output}'`);
      producedType.set(tensor, declared ? dataTypeFromConfig(declared.data_type) : undefined);
    }
  }
  const readers = new Map<string, number>();
  const read = (tensor: string): void => void readers.set(tensor, (readers.get(tensor) ?? 0) + 1);
  for (const step of steps) {
    const model = stepConfig(step.model)!;
    for (const [input, tensor] of step.inputs) {
      read(tensor);
      if (!ensembleInputs.has(tensor) && !producer.has(tensor)) fail(`step ${step.number} (model '${step.model}') reads '${tensor}', which is no ensemble input and no step writes`);
      const declared = model.input.find((t) => t.name === input);
      if (!declared && model.input.length > 0) fail(`step ${step.number}: model '${step.model}' has no input '${input}'`);
      const wanted = declared ? dataTypeFromConfig(declared.data_type) : undefined;
      const given = ensembleInputs.has(tensor) ? ensembleInputs.get(tensor) : producedType.get(tensor);
      if (wanted && given && wanted !== given) {
        fail(`step ${step.number} (model '${step.model}') input '${input}' is ${wanted}, but tensor '${tensor}' is ${given}`);
      }
    }
  }
  for (const input of ensembleInputs.keys()) if (!readers.has(input)) fail(`ensemble input '${input}' is read by no step`);
  for (const output of config.output) {
    read(output.name);
    if (!producer.has(output.name)) fail(`ensemble output '${output.name}' is written by no step`);
    const given = producedType.get(output.name);
    const wanted = dataTypeFromConfig(output.data_type);
    if (wanted && given && wanted !== given) fail(`ensemble output '${output.name}' is ${wanted}, but step ${producer.get(output.name)!.number} writes ${given}`);
  }
  return { name, steps: dependencyOrder(steps, producer, fail), readers };
}

/** Kahn's algorithm over "reads a tensor another step writes"; what is left over is a cycle. */
function dependencyOrder(steps: readonly EnsembleStep[], producer: ReadonlyMap<string, EnsembleStep>, fail: (message: string) => never): EnsembleStep[] {
  const waitsOn = new Map(steps.map((s) => [s, new Set(s.inputs.flatMap(([, tensor]) => (producer.has(tensor) ? [producer.get(tensor)!] : [])))]));
  const ordered: EnsembleStep[] = [];
  while (ordered.length < steps.length) {
    const next = steps.find((s) => !ordered.includes(s) && [...waitsOn.get(s)!].every((d) => ordered.includes(d)));
    if (!next) {
      const cycle = steps.filter((s) => !ordered.includes(s)).map((s) => `step ${s.number} (model '${s.model}')`);
      return fail(`the steps form a cycle: ${cycle.join(', ')}`);
    }
    ordered.push(next);
  }
  return ordered;
}
