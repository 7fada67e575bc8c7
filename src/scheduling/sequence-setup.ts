/**
 * Builds the scheduler of a sequence model at load time, after checking `sequence_batching` against
 * the model file: every control input and state input must be an input of the model, every state
 * output an output, with the data type the config gives. A bad config fails the load with
 * INVALID_ARGUMENT naming the tensor.
 */
import { invalidArgument } from '../core/index.js';
import type { ModelInstance, ModelSignature } from '../backends/index.js';
import type { ModelConfig } from '../repository/index.js';
import { sequenceBatchingOf } from '../repository/index.js';
import { controlPlan } from './sequence-controls.js';
import { SequenceScheduler } from './sequence-scheduler.js';
import { statePlan } from './sequence-state.js';
import type { ExecutionRecord } from './scheduler.js';

/** The scheduler for a config with `sequence_batching`, or undefined for any other config. */
export function createSequenceScheduler(
  instances: readonly ModelInstance[],
  config: ModelConfig,
  signature: ModelSignature,
  onExecution: (record: ExecutionRecord) => void,
): SequenceScheduler | undefined {
  const sequence = sequenceBatchingOf(config);
  if (!sequence) return undefined;
  const fail = (message: string): never => {
    throw invalidArgument(`model '${config.name}': ${message}`);
  };
  if (sequence.iterative_sequence) fail('sequence_batching: iterative_sequence is not supported (it needs decoupled models)');
  const controls = controlPlan(sequence, fail);
  const states = statePlan(sequence, fail);
  const configured = new Set(config.input.map((i) => i.name));
  const checkInput = (name: string, datatype: string, what: string): void => {
    if (configured.has(name)) fail(`${what} '${name}' must not also be listed as a model input in the config`);
    const match = signature.inputs.find((i) => i.name === name);
    if (!match) fail(`${what} '${name}' is not an input of the model (it has: ${signature.inputs.map((i) => i.name).join(', ')})`);
    else if (match.datatype !== datatype) fail(`${what} '${name}' is ${datatype}, but the model expects ${match.datatype}`);
  };
  for (const control of [controls.start, controls.end, controls.ready, controls.corrid]) {
    if (control) checkInput(control.name, control.datatype, 'sequence control input');
  }
  for (const state of states) {
    checkInput(state.inputName, state.datatype, 'sequence state input');
    const output = signature.outputs.find((o) => o.name === state.outputName);
    if (!output) fail(`sequence state output '${state.outputName}' is not an output of the model`);
    else if (output.datatype !== state.datatype) fail(`sequence state output '${state.outputName}' is ${state.datatype}, but the model gives ${output.datatype}`);
  }
  return new SequenceScheduler(instances, { model: config.name, maxBatchRows: config.max_batch_size, sequence, controls, states }, onExecution);
}
