/**
 * TensorFlow Serving REST API end to end (TF Serving's REST API): real sockets, real ONNX Runtime workers,
 * the bundled example models plus built fixtures. Checks the wire shapes TF Serving clients read,
 * every error path with its status, and that the digits model answers exactly as over OIP REST.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { cp, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { addSubModel, createTempModelRepository, identityModel, mlpForward, mlpModel, type TempModelRepository } from '../fixtures/onnx-models.js';
import { infer } from '../helpers/oip-client.js';
import { startTestServer, type TestServer } from '../helpers/test-server.js';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const LINEAR = (seed: number): { inputSize: number; hidden: number[]; outputSize: number; seed: number } => ({ inputSize: 2, hidden: [], outputSize: 1, seed });
const ANIMALS = { inputSize: 4, hidden: [3], outputSize: 3, seed: 3 };

let repo: TempModelRepository;
let server: TestServer;
/** Two digit images (8×8 pixels 0..16): the example request's and its mirror image. */
let images: number[][];

interface Reply {
  status: number;
  text: string;
  json: Record<string, unknown>;
  contentType: string | null;
}

async function call(method: 'GET' | 'POST' | 'PUT', path: string, body?: unknown): Promise<Reply> {
  const response = await fetch(server.url + path, {
    method,
    body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
    headers: body === undefined ? {} : { 'content-type': 'application/json' },
  });
  const text = await response.text();
  let json: Record<string, unknown> = {};
  try {
    json = JSON.parse(text) as Record<string, unknown>;
  } catch {
    // Bodies holding NaN / Infinity tokens are checked as text.
  }
  return { status: response.status, text, json, contentType: response.headers.get('content-type') };
}

async function expectError(method: 'GET' | 'POST' | 'PUT', path: string, body: unknown, status: number, message: RegExp): Promise<void> {
  const reply = await call(method, path, body);
  assert.equal(reply.status, status, `${method} ${path}: ${reply.text}`);
  assert.match(String(reply.json['error']), message, `${method} ${path}`);
  assert.match(reply.contentType ?? '', /^application\/json/);
}

const rows = (flat: number[], width: number): number[][] => Array.from({ length: flat.length / width }, (_, i) => flat.slice(i * width, (i + 1) * width));
const imageNested = (image: number[]): number[][][] => [rows(image, 8)];

before(async () => {
  const example = JSON.parse(await readFile(join(ROOT, 'examples/digits/request.json'), 'utf8')) as { inputs: { data: number[] }[] };
  const first = example.inputs[0]!.data;
  images = [first, rows(first, 8).flatMap((row) => [...row].reverse())];
  repo = await createTempModelRepository({
    simple: {
      versions: { 1: addSubModel('FP32', [4]) },
      config:
        'max_batch_size: 8\ninput [ { name: "INPUT0" data_type: TYPE_FP32 dims: [ 4 ] }, { name: "INPUT1" data_type: TYPE_FP32 dims: [ 4 ] } ]\noutput [ { name: "OUTPUT0" data_type: TYPE_FP32 dims: [ 4 ] }, { name: "OUTPUT1" data_type: TYPE_FP32 dims: [ 4 ] } ]\n',
    },
    linear: { versions: { 1: mlpModel(LINEAR(1)), 2: mlpModel(LINEAR(2)) }, config: 'max_batch_size: 8\nversion_policy: { all { } }\n' },
    animals: {
      versions: { 1: mlpModel(ANIMALS) },
      config: 'max_batch_size: 8\noutput [ { name: "output" data_type: TYPE_FP32 dims: [ 3 ] label_filename: "labels.txt" } ]\n',
      files: { 'labels.txt': 'cat\ndog\nbird\n' },
    },
    identity_fp32: { versions: { 1: identityModel({ datatype: 'FP32', dims: [-1], batching: true }) } },
    identity_fp16: { versions: { 1: identityModel({ datatype: 'FP16', dims: [-1], batching: true }) } },
  });
  for (const model of ['digits', 'diabetes', 'word_ids']) await cp(join(ROOT, 'models', model), join(repo.root, model), { recursive: true });
  server = await startTestServer({ modelRepository: repo.root });
});

after(async () => {
  await server?.stop();
  await repo?.remove();
});

describe('model status and metadata', () => {
  test('status lists versions with TF Serving states; a version or label selects one', async () => {
    const all = await call('GET', '/v1/models/linear');
    assert.equal(all.status, 200);
    assert.match(all.contentType ?? '', /^application\/json/);
    const available = (version: string): unknown => ({ version, state: 'AVAILABLE', status: { error_code: 'OK', error_message: '' } });
    assert.deepEqual(all.json, { model_version_status: [available('1'), available('2')] });
    assert.deepEqual((await call('GET', '/v1/models/linear/versions/2')).json, { model_version_status: [available('2')] });
    await expectError('GET', '/v1/models/linear/versions/9', undefined, 404, /^Could not find version 9 of model linear$/);
    await expectError('GET', '/v1/models/nope', undefined, 404, /^Could not find any versions of model nope$/);
    await expectError('GET', '/v1/models/linear/labels/stable', undefined, 400, /^Unrecognized servable version label: stable$/);
  });

  test('metadata is the signature_def map TF Serving answers at /v1/models/{m}/metadata', async () => {
    const reply = await call('GET', '/v1/models/digits/metadata');
    assert.equal(reply.status, 200);
    const dims = (...sizes: number[]): unknown => ({ dim: sizes.map((size) => ({ size: String(size), name: '' })), unknown_rank: false });
    assert.deepEqual(reply.json['model_spec'], { name: 'digits', signature_name: '', version: '1' });
    const signatures = (reply.json['metadata'] as { signature_def: { signature_def: Record<string, unknown> } }).signature_def.signature_def;
    assert.deepEqual(signatures['serving_default'], {
      inputs: { image: { name: 'image', dtype: 'DT_FLOAT', tensor_shape: dims(-1, 1, 8, 8) } },
      outputs: {
        probabilities: { name: 'probabilities', dtype: 'DT_FLOAT', tensor_shape: dims(-1, 10) },
        label: { name: 'label', dtype: 'DT_INT64', tensor_shape: dims(-1, 1) },
      },
      method_name: 'tensorflow/serving/predict',
      defaults: {},
    });
    assert.equal((signatures['tensorflow/serving/classify'] as { method_name: string }).method_name, 'tensorflow/serving/classify');
    assert.deepEqual(Object.keys((await call('GET', '/v1/models/diabetes/metadata')).json['metadata'] as object), ['signature_def']);
    const linear = await call('GET', '/v1/models/linear/versions/1/metadata');
    assert.equal((linear.json['model_spec'] as { version: string }).version, '1');
    assert.ok(Object.hasOwn((linear.json['metadata'] as { signature_def: { signature_def: object } }).signature_def.signature_def, 'tensorflow/serving/regress'));
  });
});

describe('predict', () => {
  test('digits: TF Serving REST row and columnar give exactly what OIP REST JSON gives', async () => {
    const oip = await infer(server.url, 'digits', [{ name: 'image', datatype: 'FP32', shape: [2, 1, 8, 8], data: images.flat() }]);
    assert.equal(oip.status, 200);
    const oipOutputs = oip.json['outputs'] as { name: string; data: number[] }[];
    const oipProbabilities = oipOutputs.find((o) => o.name === 'probabilities')!.data;
    const oipLabels = oipOutputs.find((o) => o.name === 'label')!.data;

    const row = await call('POST', '/v1/models/digits:predict', { instances: images.map(imageNested) });
    assert.equal(row.status, 200, row.text);
    const predictions = row.json['predictions'] as { probabilities: number[]; label: number[] }[];
    assert.equal(predictions.length, 2);
    assert.deepEqual(predictions.flatMap((p) => p.probabilities).map(Math.fround), oipProbabilities.map(Math.fround));
    assert.deepEqual(
      predictions.flatMap((p) => p.label),
      oipLabels,
    );
    assert.equal(predictions[0]!.label[0], 1, 'the example image is a 1');

    const columnar = await call('POST', '/v1/models/digits/versions/1:predict', { inputs: { image: images.map(imageNested) } });
    assert.equal(columnar.status, 200, columnar.text);
    const outputs = columnar.json['outputs'] as { probabilities: number[][]; label: number[][] };
    assert.deepEqual(outputs.probabilities.flat().map(Math.fround), oipProbabilities.map(Math.fround));
    assert.deepEqual(outputs.label.flat(), oipLabels);
  });

  test('strings: raw and {"b64": ...} values in both formats (word_ids)', async () => {
    const b64 = (text: string): { b64: string } => ({ b64: Buffer.from(text).toString('base64') });
    const row = await call('POST', '/v1/models/word_ids:predict', { instances: ['apple', b64('kiwi'), b64('cranberry'), 'lemon'] });
    assert.deepEqual(row.json, { predictions: [1, -1, 0, 5] });
    const columnar = await call('POST', '/v1/models/word_ids:predict', { inputs: { words: [b64('banana'), 'grape'] } });
    assert.deepEqual(columnar.json, { outputs: [2, 4] });
  });

  test('several inputs and outputs: objects per row, an object of outputs', async () => {
    const row = await call('POST', '/v1/models/simple:predict', {
      instances: [
        { INPUT0: [1, 2, 3, 4], INPUT1: [1, 1, 1, 1] },
        { INPUT0: [0, 0, 0, 0], INPUT1: [1, 2, 3, 4] },
      ],
    });
    assert.deepEqual(row.json, {
      predictions: [
        { OUTPUT0: [2, 3, 4, 5], OUTPUT1: [0, 1, 2, 3] },
        { OUTPUT0: [1, 2, 3, 4], OUTPUT1: [-1, -2, -3, -4] },
      ],
    });
    assert.match(row.text, /"OUTPUT0":\[2\.0,3\.0,4\.0,5\.0\]/, 'float outputs keep a trailing .0');
    const columnar = await call('POST', '/v1/models/simple:predict', { signature_name: 'serving_default', inputs: { INPUT0: [[1, 2, 3, 4]], INPUT1: [[4, 3, 2, 1]] } });
    assert.deepEqual(columnar.json, { outputs: { OUTPUT0: [[5, 5, 5, 5]], OUTPUT1: [[-3, -1, 1, 3]] } });
  });

  test('NaN and Infinity tokens travel both ways', async () => {
    const reply = await call('POST', '/v1/models/identity_fp32:predict', '{"instances": [[NaN, Infinity, -Infinity, 0.1, 3]]}');
    assert.equal(reply.status, 200, reply.text);
    assert.equal(reply.text, '{"predictions":[[NaN,Infinity,-Infinity,0.1,3.0]]}');
  });

  test('a version or a label (set through the repository API) selects the version', async () => {
    const x = [[0.5, -1]];
    const expected = (seed: number): number => mlpForward(LINEAR(seed), Float32Array.from(x.flat()), 1)[0]!;
    const predict = async (path: string): Promise<number> => {
      const reply = await call('POST', `/v1/models/linear${path}:predict`, { instances: x });
      assert.equal(reply.status, 200, reply.text);
      return (reply.json['predictions'] as number[][])[0]![0]!;
    };
    assert.ok(Math.abs((await predict('')) - expected(2)) < 1e-5, 'no version: the latest');
    assert.ok(Math.abs((await predict('/versions/1')) - expected(1)) < 1e-5);
    const set = await call('POST', '/v2/repository/models/linear/labels', { labels: { stable: 1, canary: 2 } });
    assert.equal(set.status, 200, set.text);
    assert.deepEqual(set.json, { model: 'linear', labels: { canary: 2, stable: 1 } });
    assert.ok(Math.abs((await predict('/labels/stable')) - expected(1)) < 1e-5);
    assert.ok(Math.abs((await predict('/labels/canary')) - expected(2)) < 1e-5);
    assert.deepEqual((await call('GET', '/v1/models/linear/labels/canary')).json, {
      model_version_status: [{ version: '2', state: 'AVAILABLE', status: { error_code: 'OK', error_message: '' } }],
    });
    assert.deepEqual((await call('GET', '/v2/repository/models/linear/labels')).json, { model: 'linear', labels: { canary: 2, stable: 1 } });
    await expectError('POST', '/v2/repository/models/linear/labels', { labels: { stable: 2, canary: 7 } }, 400, /'canary' of model 'linear' cannot point at version 7/);
    assert.deepEqual((await call('POST', '/v2/repository/models/linear/labels', { labels: { canary: null } })).json, { model: 'linear', labels: { stable: 1 } });
    await expectError('POST', '/v1/models/linear/labels/canary:predict', { instances: x }, 400, /^Unrecognized servable version label: canary$/);
    await expectError('GET', '/v2/repository/models/nope/labels', undefined, 404, /nope/);
    await expectError('POST', '/v2/repository/models/linear/labels', { labels: ['stable'] }, 400, /"labels"/);
    await expectError('PUT', '/v2/repository/models/linear/labels', {}, 405, /Method Not Allowed/);
  });
});

describe('classify and regress', () => {
  test('classify: [label, score] per class, labels from the label file, scores as predict gives them', async () => {
    const features = [0.5, -1, 2, 0.25];
    const predicted = await call('POST', '/v1/models/animals:predict', { instances: [features] });
    const scores = (predicted.json['predictions'] as number[][])[0]!;
    const reply = await call('POST', '/v1/models/animals:classify', { examples: [{ output: 1, input: features }] });
    assert.equal(reply.status, 200, reply.text);
    assert.deepEqual(reply.json, {
      results: [
        [
          ['cat', scores[0]],
          ['dog', scores[1]],
          ['bird', scores[2]],
        ],
      ],
    });

    const digits = await call('POST', '/v1/models/digits:classify', { signature_name: 'tensorflow/serving/classify', context: {}, examples: images.map((image) => ({ image })) });
    assert.equal(digits.status, 200, digits.text);
    const results = digits.json['results'] as [string, number][][];
    assert.equal(results.length, 2);
    assert.deepEqual(
      results[0]!.map(([label]) => label),
      ['0', '1', '2', '3', '4', '5', '6', '7', '8', '9'],
    );
    const best = results[0]!.reduce((a, b) => (b[1] > a[1] ? b : a));
    assert.equal(best[0], '1');
  });

  test('regress: one value per example (context features shared), float32 as in TF Serving', async () => {
    const oip = await infer(server.url, 'linear', [{ name: 'input', datatype: 'FP32', shape: [2, 2], data: [0.5, -1, 2, 3] }], { version: '1' });
    const expected = (oip.json['outputs'] as { data: number[] }[])[0]!.data;
    const reply = await call('POST', '/v1/models/linear/versions/1:regress', { examples: [{ input: [0.5, -1] }, { input: [2, 3] }] });
    assert.equal(reply.status, 200, reply.text);
    assert.deepEqual((reply.json['results'] as number[]).map(Math.fround), expected.map(Math.fround));

    const diabetes = JSON.parse(await readFile(join(ROOT, 'examples/diabetes/request.json'), 'utf8')) as { inputs: { data: number[] }[] };
    const [first] = rows(diabetes.inputs[0]!.data, 10);
    const progression = await call('POST', '/v1/models/diabetes:regress', { signature_name: 'tensorflow/serving/regress', examples: [{ features: first }] });
    const expectedProgression = JSON.parse(await readFile(join(ROOT, 'examples/diabetes/request.expected.json'), 'utf8')) as { torch_progression: number[] };
    assert.ok(Math.abs((progression.json['results'] as number[])[0]! - expectedProgression.torch_progression[0]!) < 1e-3, progression.text);
  });

  test('models that do not fit, and bad examples, are clear 400s', async () => {
    await expectError('POST', '/v1/models/digits:regress', { examples: [{ image: images[0] }] }, 400, /model 'digits' does not fit Regress: no output qualifies/);
    await expectError('POST', '/v1/models/diabetes:classify', { examples: [{ features: [1] }] }, 400, /model 'diabetes' does not fit Classify/);
    await expectError('POST', '/v1/models/simple:classify', { examples: [{ INPUT0: [1, 2, 3, 4] }] }, 400, /2 outputs qualify, which is ambiguous/);
    await expectError('POST', '/v1/models/word_ids:classify', { examples: [{ words: 'a' }] }, 400, /model 'word_ids' does not fit Classify: no output qualifies \(outputs: 'ids' INT64 \[-1\]\)/);
    await expectError('POST', '/v1/models/animals:classify', { examples: [{ pixels: [1, 2, 3, 4] }] }, 400, /examples\[0\] has no feature 'input'/);
    await expectError('POST', '/v1/models/animals:classify', { examples: [{ input: [1, 2] }] }, 400, /holds 2 values; input 'input' takes 4/);
    await expectError('POST', '/v1/models/animals:classify', { examples: [] }, 400, /non-empty array/);
    await expectError('POST', '/v1/models/animals:classify', { signature_name: 'tensorflow/serving/regress', examples: [{ input: [1, 2, 3, 4] }] }, 400, /not found in signature def/);
  });
});

describe('errors', () => {
  test('every error path has its status and message, and the server keeps serving', async () => {
    const ok = { instances: [[1, 2]] };
    await expectError('GET', '/v1/models', undefined, 400, /^Missing model name in request\.$/);
    await expectError('GET', '/v1/models/identity_fp32:predict', undefined, 400, /^Malformed request: GET \/v1\/models\/identity_fp32:predict$/);
    await expectError('POST', '/v1/models/identity_fp32/metadata', ok, 400, /^Malformed request: POST \/v1\/models\/identity_fp32\/metadata$/);
    await expectError('PUT', '/v1/models/identity_fp32', ok, 400, /^Malformed request: PUT/);
    await expectError('POST', '/v1/models/identity_fp32:explain', ok, 400, /^Malformed request/);
    await expectError('POST', '/v1/models/nope:predict', ok, 404, /nope/);
    await expectError('POST', '/v1/models/identity_fp32/versions/4:predict', ok, 404, /version 4/);
    await expectError('POST', '/v1/models/identity_fp32:predict', '{"instances": [1,', 400, /malformed JSON/);
    await expectError('POST', '/v1/models/identity_fp32:predict', { instances: [[1]], inputs: [[1]] }, 400, /both 'instances' and 'inputs'/);
    await expectError('POST', '/v1/models/identity_fp32:predict', { signature_name: '' }, 400, /^Missing 'inputs' or 'instances' key$/);
    await expectError('POST', '/v1/models/identity_fp32:predict', { signature_name: 'other', instances: [[1]] }, 400, /^Serving signature name: "other" not found in signature def$/);
    await expectError('POST', '/v1/models/identity_fp32:predict', { instances: [['a']] }, 400, /input 'INPUT0': element 0 is "a", expected a number for DT_FLOAT/);
    await expectError('POST', '/v1/models/identity_fp32:predict', { instances: [[1, 2], [3]] }, 400, /instance 1/);
    await expectError('POST', '/v1/models/identity_fp16:predict', { instances: [[1]] }, 501, /DT_HALF/);
    await expectError('POST', '/v1/models/simple:predict', { inputs: { INPUT0: [[1, 2, 3, 4]] } }, 400, /^Missing named input: INPUT1 in 'inputs' object\.$/);
    await expectError('POST', '/v1/models/word_ids:predict', { instances: [{ b64: '!!' }] }, 400, /base64/);
    const still = await call('POST', '/v1/models/identity_fp32:predict', ok);
    assert.deepEqual(still.json, { predictions: [[1, 2]] });
  });
});
