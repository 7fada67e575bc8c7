/**
 * The bundled example repository (`models/`) is usable as shipped: every model loads in
 * onnxruntime-node, agrees with its config.pbtxt, and answers its example request in `examples/`
 * as the training script recorded. Loads ONNX Runtime directly (not through the server) on purpose.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, statSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import ort from 'onnxruntime-node';
import type { InferenceSession, Tensor } from 'onnxruntime-node';
import { dataTypeFromConfig, ortTypeOf } from '../src/tensors/data-type.js';
import { BUNDLED_MODELS } from './helpers/bundled-models.js';

// Compiled to dist/test/: resolve from the repository root, not from the cwd.
const ROOT = new URL('../../', import.meta.url);
const MODELS = new URL('models/', ROOT);

interface RequestBody {
  inputs: { name: string; shape: number[]; datatype: string; data: (number | string)[] }[];
}

async function readJson<T>(relative: string): Promise<T> {
  return JSON.parse(await readFile(new URL(relative, ROOT), 'utf8')) as T;
}

async function loadModel(name: string): Promise<InferenceSession> {
  return ort.InferenceSession.create(fileURLToPath(new URL(`${name}/1/model.onnx`, MODELS)), { intraOpNumThreads: 1 });
}

async function firstInput(example: string): Promise<RequestBody['inputs'][number]> {
  const body = await readJson<RequestBody>(`examples/${example}/request.json`);
  const input = body.inputs[0];
  assert.ok(input && body.inputs.length === 1, `examples/${example}/request.json holds one input`);
  return input;
}

function output(result: InferenceSession.OnnxValueMapType, name: string): Tensor {
  const tensor = result[name];
  assert.ok(tensor, `output ${name} missing`);
  return tensor;
}

interface ConfigTensor {
  name: string;
  dataType: string;
  dims: number[];
}

/** Just enough of config.pbtxt to cross-check it against the ONNX file (the real parser lives in src/). */
function configTensors(text: string, section: 'input' | 'output'): ConfigTensor[] {
  const start = text.search(new RegExp(`^${section} \\[`, 'm'));
  assert.ok(start >= 0, `config has an ${section} block`);
  const block = text.slice(start, text.indexOf('\n]', start));
  return [...block.matchAll(/name:\s*"([^"]+)"\s*data_type:\s*(TYPE_\w+)\s*dims:\s*\[([^\]]*)\]/g)].map((m) => ({
    name: m[1] ?? '',
    dataType: m[2] ?? '',
    dims: (m[3] ?? '').split(',').map((d) => Number(d.trim())),
  }));
}

const allModels = readdirSync(MODELS)
  .filter((name) => statSync(new URL(name, MODELS)).isDirectory())
  .sort();
// The Python-backend examples are checked through the server by test/e2e/python-backend.test.ts,
// the JavaScript models and ensembles by test/e2e/ensemble.test.ts.
const PYTHON_MODELS = ['digits_torchscript', 'iris', 'signal_filter'];
/** TensorFlow.js models (test/e2e/inception-v3.test.ts checks inception_v3). */
const TFJS_MODELS = ['inception_v3'];
const JAVASCRIPT_AND_ENSEMBLE_MODELS = ['digits_pipeline', 'digits_postprocess', 'digits_preprocess', 'image_preprocess', 'inception_pipeline', 'topk_labels'];
const modelNames = allModels.filter((name) => !PYTHON_MODELS.includes(name) && !TFJS_MODELS.includes(name) && !JAVASCRIPT_AND_ENSEMBLE_MODELS.includes(name));

void test('the example repository holds digits, diabetes and word_ids (ONNX), the Python examples, inception_v3 (TF.js), the JavaScript models and two ensembles', () => {
  assert.deepEqual(modelNames, ['diabetes', 'digits', 'word_ids']);
  assert.deepEqual(allModels, BUNDLED_MODELS);
});

for (const name of modelNames) {
  void test(`models/${name}: config.pbtxt agrees with the ONNX file`, async () => {
    const config = await readFile(new URL(`${name}/config.pbtxt`, MODELS), 'utf8');
    assert.match(config, new RegExp(`^name: "${name}"$`, 'm'));
    assert.match(config, /^backend: "onnxruntime"$/m);
    const maxBatch = Number(/^max_batch_size:\s*(\d+)/m.exec(config)?.[1]);
    assert.ok(Number.isInteger(maxBatch), 'max_batch_size is set');

    const session = await loadModel(name);
    for (const [section, metadata] of [
      ['input', session.inputMetadata],
      ['output', session.outputMetadata],
    ] as const) {
      const declared = configTensors(config, section);
      assert.deepEqual(declared.map((t) => t.name).sort(), metadata.map((m) => m.name).sort(), `${section} names`);
      for (const tensor of declared) {
        const meta = metadata.find((m) => m.name === tensor.name);
        assert.ok(meta?.isTensor, `${tensor.name} is a tensor`);
        const datatype = dataTypeFromConfig(tensor.dataType);
        assert.ok(datatype, `${tensor.name}: known data_type ${tensor.dataType}`);
        assert.equal(meta.type, ortTypeOf(datatype), `${tensor.name} type`);
        // the config leaves out the batch dim; symbolic ONNX dims are -1 in the config
        const onnxDims = meta.shape.map((d) => (typeof d === 'number' ? d : -1));
        assert.deepEqual(onnxDims, maxBatch > 0 ? [-1, ...tensor.dims] : tensor.dims, `${tensor.name} dims`);
      }
    }
    await session.release();
  });
}

void test('digits: the example request is classified as its true label, as torch did', async () => {
  const input = await firstInput('digits');
  const expected = await readJson<{ label: number; index_in_dataset: number; torch_probabilities: number[] }>('examples/digits/request.expected.json');
  assert.equal(input.name, 'image');
  assert.equal(input.datatype, 'FP32');
  assert.deepEqual(input.shape, [1, 1, 8, 8]);
  assert.equal(input.data.length, 64);
  const pixels = Float32Array.from(input.data as number[]);
  assert.ok(
    pixels.every((p) => p >= 0 && p <= 16),
    'raw dataset pixels 0..16',
  );

  const session = await loadModel('digits');
  // the same digit twice: the batch dim is dynamic and rows are independent
  const batch = new Float32Array(128);
  batch.set(pixels, 0);
  batch.set(pixels, 64);
  const result = await session.run({ image: new ort.Tensor('float32', batch, [2, 1, 8, 8]) });
  const probabilities = output(result, 'probabilities');
  const label = output(result, 'label');
  assert.deepEqual(probabilities.dims, [2, 10]);
  assert.deepEqual(label.dims, [2, 1]);
  assert.equal(label.type, 'int64');

  const probs = Array.from((probabilities.data as Float32Array).subarray(0, 10));
  const argmax = probs.indexOf(Math.max(...probs));
  assert.equal(argmax, expected.label);
  assert.deepEqual(label.data, BigInt64Array.of(BigInt(expected.label), BigInt(expected.label)));
  assert.ok(Math.abs(probs.reduce((a, b) => a + b, 0) - 1) < 1e-5, 'softmax sums to 1');
  for (const [i, p] of expected.torch_probabilities.entries()) {
    assert.ok(Math.abs((probs[i] ?? NaN) - p) < 1e-5, `probability ${i}: onnxruntime ${probs[i]} vs torch ${p}`);
  }
  const labels = (await readFile(new URL('digits/labels.txt', MODELS), 'utf8')).trim().split('\n');
  assert.deepEqual(labels, ['0', '1', '2', '3', '4', '5', '6', '7', '8', '9']);
  await session.release();
});

void test('digits: the committed ONNX file stays small', () => {
  const size = statSync(new URL('digits/1/model.onnx', MODELS)).size;
  assert.ok(size > 50_000 && size < 250_000, `model.onnx is ${size} bytes`);
});

void test('diabetes: FP64 predictions are finite, shaped [batch, 1] and match torch', async () => {
  const input = await firstInput('diabetes');
  const expected = await readJson<{ targets: number[]; torch_progression: number[] }>('examples/diabetes/request.expected.json');
  assert.equal(input.datatype, 'FP64');
  const rows = input.shape[0] ?? 0;
  assert.deepEqual(input.shape, [rows, 10]);

  const session = await loadModel('diabetes');
  const result = await session.run({ features: new ort.Tensor('float64', Float64Array.from(input.data as number[]), input.shape) });
  const progression = output(result, 'progression');
  assert.equal(progression.type, 'float64');
  assert.deepEqual(progression.dims, [rows, 1]);
  const values = Array.from(progression.data as Float64Array);
  assert.equal(values.length, expected.torch_progression.length);
  for (const [i, v] of values.entries()) {
    assert.ok(Number.isFinite(v), `prediction ${i} is finite`);
    assert.ok(Math.abs(v - (expected.torch_progression[i] ?? NaN)) < 1e-6, `prediction ${i}: ${v} vs torch ${expected.torch_progression[i]}`);
    assert.ok(v > 0 && v < 400, `prediction ${i} (${v}) lies in the target's range`);
  }
  await session.release();
});

void test('word_ids: known words map to their ids, unknown words to -1', async () => {
  const input = await firstInput('word_ids');
  const expected = await readJson<{ ids: number[]; vocabulary: Record<string, number> }>('examples/word_ids/request.expected.json');
  assert.equal(input.datatype, 'BYTES');
  const session = await loadModel('word_ids');

  async function lookup(words: string[]): Promise<bigint[]> {
    const ids = output(await session.run({ words: new ort.Tensor('string', words, [words.length]) }), 'ids');
    assert.equal(ids.type, 'int64');
    assert.deepEqual(ids.dims, [words.length]);
    return Array.from(ids.data as BigInt64Array);
  }

  assert.deepEqual(await lookup(input.data as string[]), expected.ids.map(BigInt));
  assert.ok(expected.ids.includes(-1) && expected.ids.some((id) => id >= 0), 'the example mixes known and unknown words');
  const vocabulary = Object.entries(expected.vocabulary);
  assert.deepEqual(
    await lookup(vocabulary.map(([word]) => word)),
    vocabulary.map(([, id]) => BigInt(id)),
  );
  assert.deepEqual(await lookup(['kiwi', 'Apple', '', 'apple ']), [-1n, -1n, -1n, -1n]);
  await session.release();
});
