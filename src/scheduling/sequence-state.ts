/**
 * Implicit state (`sequence_batching.state`): the model reads a state input and writes a state
 * output; the scheduler keeps the output of one request of a sequence and feeds it as the input of
 * the sequence's next request. A sequence's first request (START) gets the initial state: zeros of
 * the state's dims, or of `initial_state.dims` (`zero_data: true`). Neither the input nor the output
 * is seen by clients. Pure: the plan is read once from the config, at load.
 */
import { arrayTypeOf, dataTypeFromConfig, type DataType, elementCount, type Tensor } from '../tensors/index.js';
import type { ModelSequenceBatching } from '../repository/index.js';

export interface StateSpec {
  readonly inputName: string;
  readonly outputName: string;
  readonly datatype: DataType;
  /** The state of a new sequence, without the batch dim. */
  readonly initialShape: readonly number[];
}

/** Reads and checks `sequence_batching.state`; `fail` receives a message naming the state. */
export function statePlan(sequence: ModelSequenceBatching, fail: (message: string) => never): StateSpec[] {
  const names = new Set<string>();
  return sequence.state.map((state) => {
    const what = `sequence_batching state '${state.input_name}'`;
    if (state.input_name === '' || state.output_name === '') fail('sequence_batching: a state needs both input_name and output_name');
    for (const name of [state.input_name, state.output_name]) {
      if (names.has(name)) fail(`sequence_batching: state tensor '${name}' is used twice`);
      names.add(name);
    }
    const datatype = dataTypeFromConfig(state.data_type);
    if (datatype === undefined) fail(`${what}: data_type is missing`);
    if (state.dims.length === 0) fail(`${what}: dims must have at least one dimension`);
    if (state.initial_state.length > 1) fail(`${what}: at most one initial_state is supported`);
    const initial = state.initial_state[0];
    if (initial?.data_file !== undefined && initial.data_file !== '') {
      fail(`${what}: initial_state data_file is not supported; use zero_data: true`);
    }
    const shape = initial ? initial.dims : state.dims;
    if (shape.some((d) => d < 0)) fail(`${what}: a state with variable dims ${JSON.stringify(state.dims)} needs an initial_state with fixed dims`);
    if (initial && initial.data_type !== 'TYPE_INVALID' && initial.data_type !== state.data_type) {
      fail(`${what}: initial_state data_type ${initial.data_type} differs from the state's ${state.data_type}`);
    }
    return { inputName: state.input_name, outputName: state.output_name, datatype, initialShape: [...shape] };
  });
}

/** A fresh initial state tensor (zeros), with a leading batch dim of 1 when the model batches. */
export function initialState(spec: StateSpec, batching: boolean): Tensor {
  const shape = batching ? [1, ...spec.initialShape] : [...spec.initialShape];
  const count = elementCount(shape);
  const data = spec.datatype === 'BYTES' ? Array.from({ length: count }, () => new Uint8Array(0)) : new (arrayTypeOf(spec.datatype))(count);
  return { name: spec.inputName, datatype: spec.datatype, shape, data };
}

/** The state a sequence keeps from a request's state output: an owned copy, renamed to the state input. */
export function keptState(spec: StateSpec, output: Tensor): Tensor {
  const data = Array.isArray(output.data) ? output.data.map((b) => b.slice()) : output.data.slice();
  return { name: spec.inputName, datatype: output.datatype, shape: [...output.shape], data };
}

/** A copy to feed to the model: fed inputs may be transferred to the instance's thread. */
export function fedCopy(tensor: Tensor): Tensor {
  const data = Array.isArray(tensor.data) ? tensor.data.map((b) => b.slice()) : tensor.data.slice();
  return { ...tensor, data };
}
