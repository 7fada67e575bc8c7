import { strict as assert } from 'node:assert';
import { describe, it } from 'node:test';
import { parseModelConfig } from '../../repository/config-parser.js';
import type { ModelConfig } from '../../repository/index.js';
import { planEnsemble } from './ensemble-plan.js';

const model = (name: string, text: string): ModelConfig => parseModelConfig(`backend: "javascript"\nmax_batch_size: 4\n${text}`, name);
const MODELS = new Map<string, ModelConfig>([
  ['a', model('a', 'input [ { name: "X" data_type: TYPE_FP32 dims: [ 1 ] } ] output [ { name: "Y" data_type: TYPE_FP32 dims: [ 1 ] } ]')],
  ['b', model('b', 'input [ { name: "X" data_type: TYPE_FP32 dims: [ 1 ] } ] output [ { name: "Y" data_type: TYPE_FP32 dims: [ 1 ] } ]')],
  ['undeclared', parseModelConfig('max_batch_size: 4', 'undeclared')],
]);

function plan(steps: string, io = 'input [ { name: "IN" data_type: TYPE_FP32 dims: [ 1 ] } ] output [ { name: "OUT" data_type: TYPE_FP32 dims: [ 1 ] } ]') {
  const config = parseModelConfig(`platform: "ensemble"\nmax_batch_size: 4\n${io}\nensemble_scheduling { step [ ${steps} ] }`, 'e');
  return planEnsemble(config, (name) => MODELS.get(name));
}
const step = (m: string, input: string, output: string, extra = '') =>
  `{ model_name: "${m}" model_version: -1 input_map { key: "X" value: "${input}" } output_map { key: "Y" value: "${output}" } ${extra} }`;

describe('planEnsemble', () => {
  it('orders steps by what they read, whatever their order in the config', () => {
    const result = plan(`${step('b', 'mid', 'OUT')}, ${step('a', 'IN', 'mid')}`);
    assert.deepEqual(
      result.steps.map((s) => [s.number, s.model]),
      [
        [2, 'a'],
        [1, 'b'],
      ],
    );
    assert.equal(result.steps[0]!.version, undefined, '-1 is the latest version');
    assert.equal(result.readers.get('mid'), 1);
  });

  it('pins a positive model_version', () => {
    const result = plan(`{ model_name: "a" model_version: 3 input_map { key: "X" value: "IN" } output_map { key: "Y" value: "OUT" } }`);
    assert.equal(result.steps[0]!.version, 3);
  });

  it('counts a tensor read by a step and returned as two readers', () => {
    const result = plan(
      `${step('a', 'IN', 'OUT')}, ${step('b', 'OUT', 'OTHER')}`,
      'input [ { name: "IN" data_type: TYPE_FP32 dims: [ 1 ] } ] output [ { name: "OUT" data_type: TYPE_FP32 dims: [ 1 ] }, { name: "OTHER" data_type: TYPE_FP32 dims: [ 1 ] } ]',
    );
    assert.equal(result.readers.get('OUT'), 2);
  });

  it('skips name and type checks for a step model whose config declares no tensors', () => {
    const result = plan(`{ model_name: "undeclared" model_version: -1 input_map { key: "anything" value: "IN" } output_map { key: "whatever" value: "OUT" } }`);
    assert.equal(result.steps.length, 1);
  });

  const refusals: [string, string, RegExp, string?][] = [
    ['two writers', `${step('a', 'IN', 'OUT')}, ${step('b', 'IN', 'OUT')}`, /tensor 'OUT' is written by both step 1 \(model 'a'\) and step 2 \(model 'b'\)/],
    ['writing an input', `${step('a', 'IN', 'IN')}, ${step('b', 'IN', 'OUT')}`, /step 1 \(model 'a'\) writes 'IN', which is an ensemble input/],
    ['an unknown tensor', step('a', 'nowhere', 'OUT'), /reads 'nowhere', which is no ensemble input and no step writes/],
    ['an undeclared input name', `{ model_name: "a" model_version: -1 input_map { key: "Q" value: "IN" } output_map { key: "Y" value: "OUT" } }`, /model 'a' has no input 'Q'/],
    ['an undeclared output name', `{ model_name: "a" model_version: -1 input_map { key: "X" value: "IN" } output_map { key: "Q" value: "OUT" } }`, /model 'a' has no output 'Q'/],
    ['the ensemble itself', step('e', 'IN', 'OUT'), /step 1 \(model 'e'\) runs the ensemble itself/],
    ['an empty output_map', `{ model_name: "a" input_map { key: "X" value: "IN" } }`, /step 1 \(model 'a'\) has an empty output_map/],
    [
      'an output type mismatch',
      step('a', 'IN', 'OUT'),
      /ensemble output 'OUT' is INT32, but step 1 writes FP32/,
      'input [ { name: "IN" data_type: TYPE_FP32 dims: [ 1 ] } ] output [ { name: "OUT" data_type: TYPE_INT32 dims: [ 1 ] } ]',
    ],
  ];
  it('refuses model_warmup on the ensemble', () => {
    const config = parseModelConfig(
      `platform: "ensemble"\nmax_batch_size: 4\ninput [ { name: "IN" data_type: TYPE_FP32 dims: [ 1 ] } ] output [ { name: "OUT" data_type: TYPE_FP32 dims: [ 1 ] } ]\nmodel_warmup [ { name: "w" batch_size: 1 inputs { key: "IN" value: { data_type: TYPE_FP32 dims: [ 1 ] zero_data: true } } } ]\nensemble_scheduling { step [ ${step('a', 'IN', 'OUT')} ] }`,
      'e',
    );
    assert.throws(() => planEnsemble(config, (name) => MODELS.get(name)), /model_warmup on an ensemble is not supported/);
  });

  for (const [what, steps, reason, io] of refusals) {
    it(`refuses ${what}`, () => {
      assert.throws(
        () => plan(steps, io),
        (e: Error & { code?: string }) => e.code === 'INVALID_ARGUMENT' && /^ensemble 'e': /.test(e.message) && reason.test(e.message),
      );
    });
  }
});
