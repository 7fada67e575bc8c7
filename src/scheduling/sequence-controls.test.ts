import { test } from 'node:test';
import assert from 'node:assert/strict';
import { CranberriesError } from '../core/errors.js';
import type { ModelSequenceBatching, SequenceControl, SequenceControlKind } from '../repository/sequence-batching-config.js';
import { checkCorrelationId, controlPlan, controlTensors, type ControlPlan } from './sequence-controls.js';
import { sequenceFlags } from './sequence-parameters.js';

function control(kind: SequenceControlKind, fields: Partial<SequenceControl>): SequenceControl {
  return { kind, int32_false_true: [], fp32_false_true: [], bool_false_true: [], data_type: 'TYPE_INVALID', ...fields };
}

function sequence(...inputs: [string, SequenceControl][]): ModelSequenceBatching {
  return { max_sequence_idle_microseconds: 0, control_input: inputs.map(([name, c]) => ({ name, control: [c] })), state: [], iterative_sequence: false };
}

const fail = (message: string): never => {
  throw new Error(message);
};

const ALL = sequence(
  ['S', control('CONTROL_SEQUENCE_START', { fp32_false_true: [0, 1] })],
  ['E', control('CONTROL_SEQUENCE_END', { int32_false_true: [5, 7] })],
  ['R', control('CONTROL_SEQUENCE_READY', { bool_false_true: [false, true] })],
  ['C', control('CONTROL_SEQUENCE_CORRID', { data_type: 'TYPE_UINT64' })],
);

const values = (plan: ControlPlan, flags: Parameters<typeof controlTensors>[1]): unknown[] =>
  controlTensors(plan, flags, true).map((t) => [t.name, t.datatype, t.shape, Array.isArray(t.data) ? t.data.map((b) => Buffer.from(b).toString()) : [...t.data]]);

test('controlTensors: each kind in its configured type and false/true values', () => {
  const plan = controlPlan(ALL, fail);
  assert.deepEqual(values(plan, { start: true, end: false, ready: true, correlationId: 1000n }), [
    ['S', 'FP32', [1, 1], [1]],
    ['E', 'INT32', [1, 1], [5]],
    ['R', 'BOOL', [1, 1], [1]],
    ['C', 'UINT64', [1, 1], [1000n]],
  ]);
  assert.deepEqual(values(plan, { start: false, end: true, ready: true, correlationId: 2n ** 64n - 1n }), [
    ['S', 'FP32', [1, 1], [0]],
    ['E', 'INT32', [1, 1], [7]],
    ['R', 'BOOL', [1, 1], [1]],
    ['C', 'UINT64', [1, 1], [2n ** 64n - 1n]],
  ]);
  // A padding row: not ready, never start or end, CORRID 0.
  assert.deepEqual(values(plan, { start: true, end: true, ready: false, correlationId: undefined }), [
    ['S', 'FP32', [1, 1], [0]],
    ['E', 'INT32', [1, 1], [5]],
    ['R', 'BOOL', [1, 1], [0]],
    ['C', 'UINT64', [1, 1], [0n]],
  ]);
  assert.deepEqual(controlTensors(plan, { start: true, end: false, ready: true, correlationId: 3n }, false)[0]!.shape, [1], 'no batch dim for a non-batching model');
});

test('controlTensors: CORRID of other types; a string CORRID takes numeric ids as decimal text', () => {
  for (const [type, datatype, id, expected] of [
    ['TYPE_INT64', 'INT64', 42n, [42n]],
    ['TYPE_UINT32', 'UINT32', 7n, [7]],
    ['TYPE_INT32', 'INT32', 9n, [9]],
    ['TYPE_STRING', 'BYTES', 'abc', ['abc']],
    ['TYPE_STRING', 'BYTES', 1002n, ['1002']],
    ['TYPE_STRING', 'BYTES', undefined, ['0']], // a padding row
  ] as const) {
    const plan = controlPlan(sequence(['C', control('CONTROL_SEQUENCE_CORRID', { data_type: type })]), fail);
    assert.deepEqual(values(plan, { start: false, end: false, ready: true, correlationId: id }), [['C', datatype, [1, 1], expected]], type);
  }
});

test('controlPlan refuses what Triton refuses', () => {
  const cases: [ModelSequenceBatching, RegExp][] = [
    [sequence(['S', control('CONTROL_SEQUENCE_START', {})]), /exactly one of int32_false_true/],
    [sequence(['S', control('CONTROL_SEQUENCE_START', { int32_false_true: [0, 1], fp32_false_true: [0, 1] })]), /exactly one of/],
    [sequence(['S', control('CONTROL_SEQUENCE_START', { int32_false_true: [1] })]), /two values/],
    [sequence(['A', control('CONTROL_SEQUENCE_READY', { int32_false_true: [0, 1] })], ['B', control('CONTROL_SEQUENCE_READY', { int32_false_true: [0, 1] })]), /multiple CONTROL_SEQUENCE_READY/],
    [sequence(['C', control('CONTROL_SEQUENCE_CORRID', {})]), /CONTROL_SEQUENCE_CORRID needs data_type/],
    [sequence(['C', control('CONTROL_SEQUENCE_CORRID', { data_type: 'TYPE_FP32' })]), /CONTROL_SEQUENCE_CORRID needs data_type/],
    [sequence(['X', control('CONTROL_SEQUENCE_START', { int32_false_true: [0, 1] })], ['X', control('CONTROL_SEQUENCE_END', { int32_false_true: [0, 1] })]), /listed twice/],
  ];
  for (const [config, message] of cases) assert.throws(() => controlPlan(config, fail), message);
});

test('checkCorrelationId: string ids need a string CORRID; numbers must fit its type', () => {
  const plan = (type: SequenceControl['data_type']): ControlPlan => controlPlan(sequence(['C', control('CONTROL_SEQUENCE_CORRID', { data_type: type })]), fail);
  assert.throws(
    () => checkCorrelationId(plan('TYPE_UINT64'), 'abc', 'm'),
    (e: unknown) => e instanceof CranberriesError && e.code === 'INVALID_ARGUMENT',
  );
  assert.throws(() => checkCorrelationId(plan('TYPE_INT32'), 2n ** 31n, 'm'), /does not fit the INT32/);
  checkCorrelationId(plan('TYPE_INT32'), 2n ** 31n - 1n, 'm');
  checkCorrelationId(plan('TYPE_STRING'), 5n, 'm');
  checkCorrelationId(controlPlan(sequence(), fail), 'any', 'm');
});

test('sequenceFlags: ids from every wire form; 0 and "" mean none; malformed values refused', () => {
  const cases: [Record<string, unknown> | undefined, unknown][] = [
    [undefined, { id: undefined, start: false, end: false }],
    [
      { sequence_id: 1000, sequence_start: true },
      { id: 1000n, start: true, end: false },
    ],
    [
      { sequence_id: 'abc', sequence_end: true },
      { id: 'abc', start: false, end: true },
    ],
    [
      { sequence_id: 0, sequence_start: true },
      { id: undefined, start: true, end: false },
    ],
    [{ sequence_id: '' }, { id: undefined, start: false, end: false }],
    [{ sequence_id: 2n ** 64n - 1n }, { id: 2n ** 64n - 1n, start: false, end: false }],
    // A uint64 written into an int64 parameter arrives negative.
    [{ sequence_id: -1n }, { id: 2n ** 64n - 1n, start: false, end: false }],
  ];
  for (const [parameters, expected] of cases)
    assert.deepEqual(
      sequenceFlags(parameters as never),
      expected,
      JSON.stringify(parameters, (_k, v: unknown) => (typeof v === 'bigint' ? `${v}n` : v)),
    );
  for (const bad of [{ sequence_id: -1 }, { sequence_id: 1.5 }, { sequence_id: 2 ** 60 }, { sequence_id: true }, { sequence_start: 1 }, { sequence_end: 'true' }, { sequence_id: 'x'.repeat(300) }]) {
    assert.throws(
      () => sequenceFlags(bad as never),
      (e: unknown) => e instanceof CranberriesError && e.code === 'INVALID_ARGUMENT' && e.message.length < 300,
      JSON.stringify(bad),
    );
  }
});
