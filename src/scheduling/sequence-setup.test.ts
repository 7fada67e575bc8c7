import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { ModelSignature } from '../backends/backend.js';
import { completeModelConfig, parseModelConfig, validateAgainstSignature } from '../repository/config-parser.js';
import { createSequenceScheduler } from './sequence-setup.js';

const ROW = [-1, 1];
const SIGNATURE: ModelSignature = {
  inputs: [
    { name: 'INPUT', datatype: 'INT32', shape: ROW },
    { name: 'START', datatype: 'INT32', shape: ROW },
    { name: 'STATE_IN', datatype: 'FP32', shape: ROW },
  ],
  outputs: [
    { name: 'OUTPUT', datatype: 'INT32', shape: ROW },
    { name: 'STATE_OUT', datatype: 'FP32', shape: ROW },
  ],
};

const SEQUENCE = `sequence_batching {
  control_input [ { name: "START" control [ { kind: CONTROL_SEQUENCE_START int32_false_true: [ 0, 1 ] } ] } ]
  state [ { input_name: "STATE_IN" output_name: "STATE_OUT" data_type: TYPE_FP32 dims: [ 1 ] } ]
}`;

test('auto-completion leaves control and state tensors out of the client inputs and outputs', () => {
  const config = completeModelConfig(parseModelConfig(SEQUENCE, 'acc'), SIGNATURE);
  validateAgainstSignature(config, SIGNATURE, 'acc');
  assert.equal(config.max_batch_size > 0, true);
  assert.deepEqual(
    config.input.map((i) => i.name),
    ['INPUT'],
  );
  assert.deepEqual(
    config.output.map((o) => o.name),
    ['OUTPUT'],
  );
  assert.ok(createSequenceScheduler([], config, SIGNATURE, () => {}));
});

test('a config without sequence_batching gets no sequence scheduler', () => {
  const config = completeModelConfig(parseModelConfig('', 'plain'), { inputs: [SIGNATURE.inputs[0]!], outputs: [SIGNATURE.outputs[0]!] });
  assert.equal(
    createSequenceScheduler([], config, SIGNATURE, () => {}),
    undefined,
  );
});

test('loads are refused when sequence_batching contradicts the model', () => {
  const refused = (sequence: string, pattern: RegExp): void => {
    const text = `max_batch_size: 4\ninput [ { name: "INPUT" data_type: TYPE_INT32 dims: [ 1 ] } ]\n${sequence}`;
    assert.throws(() => createSequenceScheduler([], completeModelConfig(parseModelConfig(text, 'acc'), SIGNATURE), SIGNATURE, () => {}), pattern);
  };
  // A control the model lacks; the model's own START is then an input the config does not list.
  refused(SEQUENCE.replace('name: "START"', 'name: "BEGIN"'), /model input 'START' is missing from the config/);
  refused(
    SEQUENCE.replace('control_input [', 'control_input [ { name: "READY" control [ { kind: CONTROL_SEQUENCE_READY int32_false_true: [ 0, 1 ] } ] },'),
    /sequence control input 'READY' is not an input of the model/,
  );
  refused(SEQUENCE.replace('int32_false_true', 'fp32_false_true'), /sequence control input 'START' is FP32, but the model expects INT32/);
  refused(SEQUENCE.replace('data_type: TYPE_FP32', 'data_type: TYPE_INT32'), /sequence state input 'STATE_IN' is INT32, but the model expects FP32/);
  refused(SEQUENCE.replace('output_name: "STATE_OUT"', 'output_name: "NOPE"'), /sequence state output 'NOPE' is not an output of the model/);
  refused(SEQUENCE.replace('sequence_batching {', 'sequence_batching {\n iterative_sequence: true'), /iterative_sequence is not supported/);
  refused(SEQUENCE.replace('dims: [ 1 ] }', 'dims: [ 1 ] initial_state [ { data_file: "x" dims: [ 1 ] data_type: TYPE_FP32 } ] }'), /data_file is not supported/);
  refused(SEQUENCE.replace('dims: [ 1 ] }', 'dims: [ -1 ] }'), /variable dims/);
});
