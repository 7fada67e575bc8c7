import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { CranberriesError, type ErrorCode } from '../../core/errors.js';
import type { ModelMetadata } from '../../serving/inference-service.js';
import { classificationsOf, examplesToInputs, regressionsOf } from './example-tensors.js';
import { examplesFromJson, examplesFromProto } from './examples.js';
import type { WireFeature } from './tfs-messages.js';
import { checkSignature, classifyFit, regressFit, signatureDefMap } from './signatures.js';

function fails(code: ErrorCode, pattern: RegExp): (error: unknown) => boolean {
  return (error) => error instanceof CranberriesError && error.code === code && pattern.test(error.message);
}

const digits: ModelMetadata = {
  name: 'digits',
  versions: ['1'],
  platform: 'onnxruntime_onnx',
  inputs: [{ name: 'image', datatype: 'FP32', shape: [-1, 1, 2, 2] }],
  outputs: [
    { name: 'probabilities', datatype: 'FP32', shape: [-1, 3] },
    { name: 'label', datatype: 'INT64', shape: [-1, 1] },
  ],
};
const regressor: ModelMetadata = {
  name: 'reg',
  versions: ['2'],
  platform: 'onnxruntime_onnx',
  inputs: [
    { name: 'x', datatype: 'FP64', shape: [-1, 2] },
    { name: 'n', datatype: 'INT32', shape: [-1] },
  ],
  outputs: [{ name: 'y', datatype: 'FP64', shape: [-1, 1] }],
};
const unbatched: ModelMetadata = { ...regressor, name: 'fixed', inputs: [{ name: 'x', datatype: 'FP32', shape: [4] }], outputs: [{ name: 'y', datatype: 'FP32', shape: [4] }] };

describe('examples from JSON and protobuf', () => {
  test('JSON kinds: integers and booleans int64, fractions float, strings and b64 bytes; context merged', () => {
    const [first, second] = examplesFromJson({
      context: { c: 'ctx' },
      examples: [
        { i: 3, f: [1, 2.5], b: [true, false], s: ['a', { b64: 'Yg==' }] },
        { i: [1, 2], f: 0.5 },
      ],
    });
    assert.deepEqual(first!.get('i'), { kind: 'int64', values: [3n] });
    assert.deepEqual(first!.get('f'), { kind: 'float', values: [1, 2.5] });
    assert.deepEqual(first!.get('b'), { kind: 'int64', values: [1n, 0n] });
    assert.deepEqual(first!.get('s')?.kind, 'bytes');
    assert.deepEqual(
      (first!.get('s')!.values as Uint8Array[]).map((v) => Buffer.from(v).toString()),
      ['a', 'b'],
    );
    assert.deepEqual(second!.get('c')?.kind, 'bytes', 'context reaches every example');
  });

  test('JSON errors', () => {
    assert.throws(() => examplesFromJson({ examples: [] }), fails('INVALID_ARGUMENT', /non-empty array/));
    assert.throws(() => examplesFromJson({}), fails('INVALID_ARGUMENT', /'examples'/));
    assert.throws(() => examplesFromJson({ examples: [{ a: ['x', 1] }] }), fails('INVALID_ARGUMENT', /examples\[0\]: feature 'a': value 1 is a number/));
    assert.throws(() => examplesFromJson({ examples: [{ a: [1, 'x'] }] }), fails('INVALID_ARGUMENT', /value 1 is a string/));
    assert.throws(() => examplesFromJson({ examples: [{ a: null }] }), fails('INVALID_ARGUMENT', /null/));
    assert.throws(() => examplesFromJson({ examples: [{ a: [[1]] }] }), fails('INVALID_ARGUMENT', /nested list/));
    assert.throws(() => examplesFromJson({ examples: [{ a: [true, 0.5] }] }), fails('INVALID_ARGUMENT', /mixes booleans/));
    assert.throws(() => examplesFromJson({ context: { a: 1 }, examples: [{ a: 2 }] }), fails('INVALID_ARGUMENT', /repeats feature 'a' of the context/));
  });

  test('protobuf tf.Examples with and without context', () => {
    const feature = (kind: 'float_list' | 'int64_list' | 'bytes_list', value: unknown): WireFeature => ({ kind, [kind]: { value } });
    const examples = examplesFromProto({
      kind: 'example_list_with_context',
      example_list_with_context: {
        examples: [{ features: { feature: { f: feature('float_list', [0.5]), i: feature('int64_list', ['9007199254740993']) } } }],
        context: { features: { feature: { s: feature('bytes_list', [Buffer.from('z')]) } } },
      },
    });
    assert.deepEqual(examples[0]!.get('f'), { kind: 'float', values: [0.5] });
    assert.deepEqual(examples[0]!.get('i'), { kind: 'int64', values: [9007199254740993n] });
    assert.equal(examples[0]!.get('s')?.kind, 'bytes');
    assert.throws(() => examplesFromProto({ kind: 'example_list', example_list: { examples: [] } }), fails('INVALID_ARGUMENT', /no examples/));
    assert.throws(() => examplesFromProto({ example_list: { examples: [{ features: { feature: { x: {} } } }] } }), fails('INVALID_ARGUMENT', /feature 'x' has no value list/));
  });
});

describe('examples → inputs, outputs → results', () => {
  test('each input takes the feature of its name; examples stack along the batch', () => {
    const examples = examplesFromJson({
      examples: [
        { x: [1, 2], n: 5, extra: 'ignored' },
        { x: [3.5, 4], n: 6 },
      ],
    });
    const [x, n] = examplesToInputs(examples, regressor.inputs, 'reg');
    assert.deepEqual(x, { name: 'x', datatype: 'FP64', shape: [2, 2], data: new Float64Array([1, 2, 3.5, 4]) });
    assert.deepEqual(n, { name: 'n', datatype: 'INT32', shape: [2], data: new Int32Array([5, 6]) });
    const [image] = examplesToInputs(examplesFromJson({ examples: [{ image: [0, 1, 2, 16] }] }), digits.inputs, 'digits');
    assert.deepEqual(image!.shape, [1, 1, 2, 2]);
  });

  test('a variable row dimension is sized from the feature', () => {
    const [v] = examplesToInputs(examplesFromJson({ examples: [{ v: [1, 2, 3] }, { v: [4, 5, 6] }] }), [{ name: 'v', datatype: 'FP32', shape: [-1, -1] }], 'm');
    assert.deepEqual(v!.shape, [2, 3]);
  });

  test('missing features, wrong counts and kinds are INVALID_ARGUMENT', () => {
    assert.throws(
      () => examplesToInputs(examplesFromJson({ examples: [{ x: [1, 2] }] }), regressor.inputs, 'reg'),
      fails('INVALID_ARGUMENT', /examples\[0\] has no feature 'n': model 'reg' \(inputs: x, n\) takes each input from the example feature of the same name/),
    );
    assert.throws(() => examplesToInputs(examplesFromJson({ examples: [{ x: [1, 2, 3], n: 1 }] }), regressor.inputs, 'reg'), fails('INVALID_ARGUMENT', /holds 3 values; input 'x' takes 2/));
    assert.throws(() => examplesToInputs(examplesFromJson({ examples: [{ x: [1, 2], n: 1.5 }] }), regressor.inputs, 'reg'), fails('INVALID_ARGUMENT', /float values, which input 'n' \(DT_INT32\)/));
    assert.throws(() => examplesToInputs(examplesFromJson({ examples: [{ x: ['a', 'b'], n: 1 }] }), regressor.inputs, 'reg'), fails('INVALID_ARGUMENT', /bytes values/));
  });

  test('classifications pair labels (or indices) with scores in model order; regressions one per example', () => {
    const scores = { name: 'p', datatype: 'FP32' as const, shape: [2, 3], data: new Float32Array([0.5, 0.25, 0.25, 0, 1, 0]) };
    assert.deepEqual(classificationsOf(scores, 2, ['a', 'b']), [
      [
        ['a', 0.5],
        ['b', 0.25],
        ['2', 0.25],
      ],
      [
        ['a', 0],
        ['b', 1],
        ['2', 0],
      ],
    ]);
    assert.deepEqual(regressionsOf({ name: 'y', datatype: 'FP64', shape: [2, 1], data: new Float64Array([1.5, -2]) }, 2), [1.5, -2]);
  });
});

describe('signatures and fitting rules', () => {
  test('classify fits one float [batch, classes] output; regress one float [batch] / [batch, 1] output', () => {
    const classify = classifyFit(digits);
    assert.ok(classify.ok && classify.output.name === 'probabilities');
    const regressDigits = regressFit(digits);
    assert.ok(!regressDigits.ok && /does not fit Regress: no output qualifies/.test(regressDigits.reason));
    assert.equal((regressFit(regressor) as { output: { name: string } }).output.name, 'y');
    assert.ok(!classifyFit(regressor).ok);
    const fixed = classifyFit(unbatched);
    assert.ok(!fixed.ok && /'x' \[4\] lack/.test(fixed.reason));
    const twoScores = classifyFit({ ...digits, outputs: [digits.outputs[0]!, { name: 'q', datatype: 'FP32', shape: [-1, 4] }] });
    assert.ok(!twoScores.ok && /2 outputs qualify/.test(twoScores.reason));
  });

  test('signature maps and names', () => {
    const map = signatureDefMap(digits);
    assert.deepEqual(Object.keys(map), ['serving_default', 'tensorflow/serving/classify']);
    assert.deepEqual(map['serving_default']!.inputs['image'], {
      name: 'image',
      dtype: 'DT_FLOAT',
      tensor_shape: {
        dim: [
          { size: '-1', name: '' },
          { size: '1', name: '' },
          { size: '2', name: '' },
          { size: '2', name: '' },
        ],
        unknown_rank: false,
      },
    });
    assert.equal(map['serving_default']!.outputs['label']!.dtype, 'DT_INT64');
    assert.equal(map['serving_default']!.method_name, 'tensorflow/serving/predict');
    assert.deepEqual(Object.keys(signatureDefMap(regressor)), ['serving_default', 'tensorflow/serving/regress']);

    assert.equal(checkSignature('', 'predict', digits), 'serving_default');
    assert.equal(checkSignature('tensorflow/serving/classify', 'classify', digits), 'tensorflow/serving/classify');
    assert.equal(checkSignature('serving_default', 'classify', digits), 'serving_default');
    assert.throws(() => checkSignature('nope', 'predict', digits), fails('INVALID_ARGUMENT', /^Serving signature name: "nope" not found in signature def$/));
    assert.throws(() => checkSignature('', 'regress', digits), fails('INVALID_ARGUMENT', /does not fit Regress/));
    assert.throws(() => checkSignature('tensorflow/serving/classify', 'predict', digits), fails('INVALID_ARGUMENT', /cannot serve a predict request/));
  });
});
