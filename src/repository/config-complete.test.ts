import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { ModelSignature } from './model-signature.js';
import { CranberriesError } from '../core/errors.js';
import { authoredFields, completeModelConfig, DEFAULT_MAX_BATCH_SIZE, modelConfigFromJson, parseModelConfig, validateAgainstSignature } from './config-parser.js';
import type { ModelConfig } from './model-config.js';

/** An image classifier whose batch dimension is symbolic. */
const BATCHABLE: ModelSignature = {
  inputs: [
    { name: 'image', datatype: 'FP32', shape: [-1, 1, 8, 8] },
    { name: 'text', datatype: 'BYTES', shape: [-1] },
  ],
  outputs: [{ name: 'scores', datatype: 'FP32', shape: [-1, 10] }],
};
/** The same model exported with a fixed batch of 1. */
const FIXED: ModelSignature = {
  inputs: [{ name: 'image', datatype: 'FP32', shape: [1, 1, 8, 8] }],
  outputs: [{ name: 'scores', datatype: 'FP32', shape: [1, 10] }],
};

function refusal(action: () => unknown): string {
  try {
    action();
  } catch (error) {
    assert.ok(error instanceof CranberriesError, `expected a CranberriesError, got ${String(error)}`);
    assert.equal(error.code, 'INVALID_ARGUMENT');
    return error.message;
  }
  assert.fail('expected an INVALID_ARGUMENT error');
}

const complete = (text: string, signature: ModelSignature): ModelConfig => {
  const config = completeModelConfig(parseModelConfig(text, 'm'), signature);
  validateAgainstSignature(config, signature, 'm');
  return config;
};
const shapes = (config: ModelConfig): Record<string, [string, number[], number[] | undefined]> =>
  Object.fromEntries([...config.input, ...config.output].map((t) => [t.name, [t.data_type, t.dims, t.reshape?.shape]]));

describe('completeModelConfig', () => {
  it('takes everything from a batchable model when there is no config', () => {
    const config = complete('', BATCHABLE);
    assert.equal(config.max_batch_size, DEFAULT_MAX_BATCH_SIZE);
    assert.deepEqual(shapes(config), {
      image: ['TYPE_FP32', [1, 8, 8], undefined],
      text: ['TYPE_STRING', [1], []], // per-item scalar: one element reshaped to []
      scores: ['TYPE_FP32', [10], undefined],
    });
    assert.deepEqual(config.input[0], {
      name: 'image',
      data_type: 'TYPE_FP32',
      format: 'FORMAT_NONE',
      dims: [1, 8, 8],
      is_shape_tensor: false,
      allow_ragged_batch: false,
      optional: false,
      is_non_linear_format_io: false,
    });
    assert.equal(config.default_model_filename, 'model.onnx');
    assert.ok(authoredFields(config)?.has('max_batch_size'), 'a completed config has a settled max_batch_size');
    assert.deepEqual(completeModelConfig(config, BATCHABLE), config, 'completing twice changes nothing');
  });

  it('keeps full shapes for a model that cannot batch', () => {
    const config = complete('', FIXED);
    assert.equal(config.max_batch_size, 0);
    assert.deepEqual(shapes(config), { image: ['TYPE_FP32', [1, 1, 8, 8], undefined], scores: ['TYPE_FP32', [1, 10], undefined] });
  });

  it('does not batch when one output has a fixed first dimension', () => {
    const signature: ModelSignature = { inputs: BATCHABLE.inputs, outputs: [{ name: 'scores', datatype: 'FP32', shape: [10] }] };
    assert.equal(complete('', signature).max_batch_size, 0);
  });

  it('respects an explicit max_batch_size: 0 on a batchable model', () => {
    const config = complete('max_batch_size: 0', BATCHABLE);
    assert.equal(config.max_batch_size, 0);
    assert.deepEqual(shapes(config).image, ['TYPE_FP32', [-1, 1, 8, 8], undefined]);
    assert.deepEqual(shapes(config).text, ['TYPE_STRING', [-1], undefined]);
  });

  it('keeps an explicit max_batch_size and strips the batch dimension', () => {
    const config = complete('max_batch_size: 3', BATCHABLE);
    assert.equal(config.max_batch_size, 3);
    assert.deepEqual(shapes(config).image, ['TYPE_FP32', [1, 8, 8], undefined]);
  });

  it('reads batching from the rank of dims the author wrote when max_batch_size is unstated', () => {
    const perItem = complete('input { name: "image" dims: [1, 8, 8] } input { name: "text" }', BATCHABLE);
    assert.equal(perItem.max_batch_size, DEFAULT_MAX_BATCH_SIZE);
    const full = complete('input { name: "image" dims: [-1, 1, 8, 8] } input { name: "text" }', BATCHABLE);
    assert.equal(full.max_batch_size, 0);
    assert.deepEqual(shapes(full).text, ['TYPE_STRING', [-1], undefined]);
  });

  it('raises the default to the largest preferred batch size', () => {
    assert.equal(complete('dynamic_batching { preferred_batch_size: [ 4, 32 ] }', BATCHABLE).max_batch_size, 32);
    assert.equal(complete('dynamic_batching { }', BATCHABLE).max_batch_size, DEFAULT_MAX_BATCH_SIZE);
  });

  it('fills a listed tensor only where the author left it empty', () => {
    const config = complete('output { name: "scores" label_filename: "labels.txt" } input { name: "image" data_type: TYPE_FP32 } input { name: "text" dims: [1] reshape { shape: [] } }', BATCHABLE);
    assert.deepEqual(shapes(config), { image: ['TYPE_FP32', [1, 8, 8], undefined], text: ['TYPE_STRING', [1], []], scores: ['TYPE_FP32', [10], undefined] });
    assert.equal(config.output[0]?.label_filename, 'labels.txt');
  });

  it('returns a copy and leaves the parsed config untouched', () => {
    const parsed = parseModelConfig('', 'm');
    const before = structuredClone(parsed);
    completeModelConfig(parsed, BATCHABLE);
    assert.deepEqual(parsed, before);
  });

  it('treats a config from elsewhere as stating max_batch_size only when it is positive, unless told', () => {
    const copy = { ...parseModelConfig('max_batch_size: 0', 'm') };
    assert.equal(authoredFields(copy), undefined);
    assert.equal(completeModelConfig(copy, BATCHABLE).max_batch_size, DEFAULT_MAX_BATCH_SIZE);
    assert.equal(completeModelConfig(copy, BATCHABLE, { maxBatchSizeSet: true }).max_batch_size, 0);
    const json = modelConfigFromJson({ max_batch_size: 0 }, 'm');
    assert.equal(completeModelConfig(json, BATCHABLE).max_batch_size, 0, 'the JSON form stated it');
  });

  it('validates the result: dynamic batching on a model that cannot batch', () => {
    assert.equal(
      refusal(() => completeModelConfig(parseModelConfig('dynamic_batching { }', 'm'), FIXED)),
      `model 'm': dynamic_batching needs max_batch_size > 0 (the model is configured not to batch)`,
    );
  });
});

describe('validateAgainstSignature', () => {
  const check = (text: string, signature: ModelSignature = BATCHABLE): string => refusal(() => validateAgainstSignature(completeModelConfig(parseModelConfig(text, 'm'), signature), signature, 'm'));
  const IMAGE_ONLY: ModelSignature = { inputs: [BATCHABLE.inputs[0]!], outputs: BATCHABLE.outputs };

  it('refuses names the model does not have', () => {
    assert.equal(check('input { name: "imag" data_type: TYPE_FP32 dims: [1, 8, 8] }', IMAGE_ONLY), `model 'm': input 'imag' is not an input of the model (it has: image)`);
    assert.equal(check('output { name: "score" data_type: TYPE_FP32 dims: [10] }'), `model 'm': output 'score' is not an output of the model (it has: scores)`);
    assert.equal(
      check('input { name: "extra" data_type: TYPE_FP32 dims: [1] optional: true } input { name: "image" } input { name: "text" }'),
      `model 'm': input 'extra' is not an input of the model (it has: image, text)`,
    );
  });

  it('names an unknown tensor even when completion could not fill it', () => {
    assert.equal(
      refusal(() => completeModelConfig(parseModelConfig('input { name: "image" } input { name: "txt" }', 'm'), BATCHABLE)),
      `model 'm': input 'txt' is not an input of the model (it has: image, text)`,
    );
  });

  it('refuses a config that leaves out a model input', () => {
    assert.equal(check('input { name: "image" data_type: TYPE_FP32 dims: [1, 8, 8] }'), `model 'm': model input 'text' is missing from the config (the config lists: image)`);
  });

  it('accepts a config that lists only some outputs', () => {
    const signature: ModelSignature = { inputs: IMAGE_ONLY.inputs, outputs: [...BATCHABLE.outputs, { name: 'embedding', datatype: 'FP16', shape: [-1, 4] }] };
    const config = completeModelConfig(parseModelConfig('output { name: "embedding" }', 'm'), signature);
    validateAgainstSignature(config, signature, 'm');
    assert.deepEqual(
      config.output.map((o) => [o.name, o.data_type, o.dims]),
      [['embedding', 'TYPE_FP16', [4]]],
    );
  });

  it('refuses a different data type', () => {
    assert.equal(check('input { name: "image" data_type: TYPE_INT32 } input { name: "text" }'), `model 'm': input 'image': data_type TYPE_INT32 in the config, but the model expects FP32`);
    assert.match(check('input [{ name: "image" }, { name: "text" data_type: TYPE_UINT8 }]'), /input 'text': data_type TYPE_UINT8 in the config, but the model expects BYTES/);
  });

  it('refuses a different rank, counting batching and reshape', () => {
    assert.equal(
      check('max_batch_size: 64 input { name: "image" data_type: TYPE_FP32 dims: [1, 8] }', IMAGE_ONLY),
      `model 'm': input 'image': config dims [1,8] with max_batch_size 64 give rank 3, the model has rank 4 [-1,1,8,8]`,
    );
    assert.equal(
      check('max_batch_size: 0 input { name: "image" dims: [1, 8, 8] }', IMAGE_ONLY),
      `model 'm': input 'image': config dims [1,8,8] with max_batch_size 0 give rank 3, the model has rank 4 [-1,1,8,8]`,
    );
    assert.equal(
      check('max_batch_size: 4 input { name: "image" dims: [64] reshape { shape: [8, 8] } }', IMAGE_ONLY),
      `model 'm': input 'image': config reshape [8,8] with max_batch_size 4 give rank 3, the model has rank 4 [-1,1,8,8]`,
    );
    // reshape that does give the model's rank is fine
    const config = completeModelConfig(parseModelConfig('max_batch_size: 4 input { name: "image" dims: [64] reshape { shape: [1, 8, 8] } }', 'm'), IMAGE_ONLY);
    validateAgainstSignature(config, IMAGE_ONLY, 'm');
  });

  it('refuses a fixed dimension that differs, including -1 where the model fixes a size', () => {
    assert.equal(
      check('max_batch_size: 4 input { name: "image" dims: [1, 8, 9] }', IMAGE_ONLY),
      `model 'm': input 'image': config dims [1,8,9] with max_batch_size 4 do not match the model's shape [-1,1,8,8] (dimension 3 is 9 in the config, 8 in the model)`,
    );
    assert.match(check('max_batch_size: 4 input { name: "image" dims: [1, -1, 8] }', IMAGE_ONLY), /dimension 2 is -1 in the config, 8 in the model/);
    assert.match(check('max_batch_size: 4 output { name: "scores" dims: [11] }', IMAGE_ONLY), /output 'scores': config dims \[11\].*dimension 1 is 11 in the config, 10 in the model/);
    // a fixed size where the model has a symbolic one narrows it: allowed
    const narrowed = completeModelConfig(parseModelConfig('max_batch_size: 0 input [{ name: "image" dims: [2, 1, 8, 8] }]', 'm'), IMAGE_ONLY);
    validateAgainstSignature(narrowed, IMAGE_ONLY, 'm');
  });

  it('refuses batching over a fixed first dimension', () => {
    assert.equal(
      check('max_batch_size: 8', FIXED),
      `model 'm': input 'image': max_batch_size 8 needs a variable first dimension, but the model fixes it to 1 [1,1,8,8]; set max_batch_size: 0 and give the full shape in dims`,
    );
  });
});
