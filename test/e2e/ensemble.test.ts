/**
 * Ensembles end to end (`platform: "ensemble"`): the bundled digits_pipeline (JavaScript →
 * ONNX → JavaScript) against the real digits model, per-step batching and statistics, errors
 * naming the failing step, load-time validation, and an image pipeline (JPEG / PNG bytes →
 * image_preprocess → an ONNX stand-in for Inception v3 → topk_labels).
 */
import { strict as assert } from 'node:assert';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import jpeg from 'jpeg-js';
import { PNG } from 'pngjs';
import { createClient } from '../../src/client/index.js';
import { attr, encodeModel, initializer, node, valueInfo } from '../fixtures/onnx-graph.js';
import { createMixedRepository, type MixedRepository } from '../fixtures/javascript-models.js';
import { startTestServer, waitFor, type TestServer } from '../helpers/test-server.js';

/** A hand-drawn 0 and 1 on the 8x8 grid, pixels 0..255 (load_digits images are 8x8 greys). */
const ZERO = [
  0, 0, 80, 208, 192, 16, 0, 0, 0, 48, 255, 96, 176, 192, 0, 0, 0, 64, 224, 0, 48, 192, 16, 0, 0, 64, 192, 0, 0, 128, 128, 0, 0, 80, 128, 0, 0, 144, 128, 0, 0, 64, 176, 0, 16, 208, 64, 0, 0, 32, 224,
  64, 176, 176, 0, 0, 0, 0, 96, 224, 160, 16, 0, 0,
];
const ONE = [
  0, 0, 0, 96, 240, 80, 0, 0, 0, 0, 64, 255, 255, 64, 0, 0, 0, 0, 160, 255, 255, 32, 0, 0, 0, 0, 0, 240, 240, 0, 0, 0, 0, 0, 0, 240, 240, 0, 0, 0, 0, 0, 0, 240, 240, 0, 0, 0, 0, 0, 32, 255, 255, 48,
  0, 0, 0, 0, 48, 240, 255, 64, 0, 0,
];

/** Stand-in for Inception v3: mean colour of a [-1, 299, 299, 3] image times W [3, 5]. */
const W = Float32Array.of(1, 0, 0, 0.5, 0.2, 0, 1, 0, 0.5, 0.2, 0, 0, 1, 0, 0.2);
function standInModel(): Uint8Array {
  return encodeModel({
    name: 'inception_stand_in',
    inputs: [valueInfo('input_1', 'FP32', ['batch', 299, 299, 3])],
    outputs: [valueInfo('dense_3', 'FP32', ['batch', 5])],
    nodes: [node('ReduceMean', ['input_1'], ['mean'], [attr.ints('axes', [1, 2]), attr.int('keepdims', 0)]), node('MatMul', ['mean', 'w'], ['dense_3'])],
    initializers: [initializer('w', 'FP32', [3, 5], W)],
  });
}

const PASS = (inputs: string, outputs: string) => `
backend: "javascript"
max_batch_size: 8
input [ ${inputs} ]
output [ ${outputs} ]
`;
const PASS_MODULE = `export function execute(inputs, context) { const first = Object.values(inputs)[0]; return Object.fromEntries(context.outputs.map((n) => [n, { shape: first.shape, data: first.data }])); }`;
const REJECT_MODULE = `export function execute() { throw Object.assign(new Error('this image is refused'), { code: 'INVALID_ARGUMENT' }); }`;

const ensemble = (name: string, io: string, steps: string) => `
name: "${name}"
platform: "ensemble"
max_batch_size: 8
${io}
ensemble_scheduling { step [ ${steps} ] }
`;
const step = (model: string, inputs: Record<string, string>, outputs: Record<string, string>) =>
  `{ model_name: "${model}" model_version: -1 ${Object.entries(inputs)
    .map(([k, v]) => `input_map { key: "${k}" value: "${v}" }`)
    .join(' ')} ${Object.entries(outputs)
    .map(([k, v]) => `output_map { key: "${k}" value: "${v}" }`)
    .join(' ')} }`;
const FP32_IO = 'input [ { name: "IN" data_type: TYPE_FP32 dims: [ 1 ] } ] output [ { name: "OUT" data_type: TYPE_FP32 dims: [ 1 ] } ]';

/** The inception_pipeline config the lead places in models/ (its steps' names and tensors). */
const INCEPTION_PIPELINE = `
name: "inception_pipeline"
platform: "ensemble"
max_batch_size: 4
input [ { name: "image" data_type: TYPE_STRING dims: [ 1 ] } ]
output [
  { name: "top" data_type: TYPE_STRING dims: [ -1 ] },
  { name: "scores" data_type: TYPE_FP32 dims: [ 5 ] }
]
ensemble_scheduling {
  step [
    { model_name: "image_preprocess" model_version: -1 input_map { key: "image" value: "image" } output_map { key: "pixels" value: "pixels" } },
    { model_name: "inception_v3" model_version: -1 input_map { key: "input_1" value: "pixels" } output_map { key: "dense_3" value: "scores" } },
    { model_name: "topk_labels" model_version: -1 input_map { key: "scores" value: "scores" } output_map { key: "top" value: "top" } }
  ]
}
`;

let repo: MixedRepository;
let server: TestServer;

interface Output {
  name: string;
  datatype: string;
  shape: number[];
  data: (number | string)[];
}

async function post(path: string, body: unknown): Promise<{ status: number; json: Record<string, unknown> }> {
  const response = await fetch(`${server.url}${path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  const text = await response.text();
  return { status: response.status, json: (text === '' ? {} : JSON.parse(text)) as Record<string, unknown> };
}
const outputsOf = (json: Record<string, unknown>): Output[] => json['outputs'] as Output[];
const output = (json: Record<string, unknown>, name: string): Output => outputsOf(json).find((o) => o.name === name)!;

interface Stats {
  name: string;
  inference_count: number;
  execution_count: number;
  inference_stats: { success: { count: number }; fail: { count: number } };
  batch_stats: { batch_size: number; compute_infer: { count: number } }[];
}
async function stats(model: string): Promise<Stats> {
  const json = (await (await fetch(`${server.url}/v2/models/${model}/stats`)).json()) as { model_stats: Stats[] };
  return json.model_stats[0]!;
}

before(async () => {
  repo = await createMixedRepository({
    onnx: { inception_v3: { versions: { 1: standInModel() }, config: 'max_batch_size: 4\ndynamic_batching { max_queue_delay_microseconds: 2000 }' } },
    bundled: ['digits', 'digits_preprocess', 'digits_postprocess', 'digits_pipeline', 'image_preprocess', 'topk_labels'],
    javascript: {
      js_pass: { config: PASS('{ name: "X" data_type: TYPE_FP32 dims: [ 1 ] }', '{ name: "Y" data_type: TYPE_FP32 dims: [ 1 ] }'), versions: { 1: PASS_MODULE } },
      js_pass2: {
        config: PASS('{ name: "X" data_type: TYPE_FP32 dims: [ 1 ] }, { name: "Z" data_type: TYPE_FP32 dims: [ 1 ] }', '{ name: "Y" data_type: TYPE_FP32 dims: [ 1 ] }'),
        versions: { 1: PASS_MODULE },
      },
      js_reject: { config: PASS('{ name: "image" data_type: TYPE_FP32 dims: [ 1, 8, 8 ] }', '{ name: "Y" data_type: TYPE_FP32 dims: [ 1 ] }'), versions: { 1: REJECT_MODULE } },
    },
    ensembles: {
      inception_pipeline: INCEPTION_PIPELINE,
      fail_pipeline: ensemble(
        'fail_pipeline',
        'input [ { name: "pixels" data_type: TYPE_UINT8 dims: [ 64 ] } ] output [ { name: "OUT" data_type: TYPE_FP32 dims: [ 1 ] } ]',
        `${step('digits_preprocess', { pixels: 'pixels' }, { image: 'image' })}, ${step('js_reject', { image: 'image' }, { Y: 'OUT' })}`,
      ),
      unknown_step: ensemble('unknown_step', FP32_IO, step('no_such_model', { X: 'IN' }, { Y: 'OUT' })),
      cycle: ensemble('cycle', FP32_IO, `${step('js_pass2', { X: 'IN', Z: 't2' }, { Y: 't1' })}, ${step('js_pass', { X: 't1' }, { Y: 't2' })}, ${step('js_pass', { X: 't1' }, { Y: 'OUT' })}`),
      unmapped_output: ensemble(
        'unmapped_output',
        'input [ { name: "IN" data_type: TYPE_FP32 dims: [ 1 ] } ] output [ { name: "OUT" data_type: TYPE_FP32 dims: [ 1 ] }, { name: "OUT2" data_type: TYPE_FP32 dims: [ 1 ] } ]',
        step('js_pass', { X: 'IN' }, { Y: 'OUT' }),
      ),
      unread_input: ensemble(
        'unread_input',
        'input [ { name: "IN" data_type: TYPE_FP32 dims: [ 1 ] }, { name: "SPARE" data_type: TYPE_FP32 dims: [ 1 ] } ] output [ { name: "OUT" data_type: TYPE_FP32 dims: [ 1 ] } ]',
        step('js_pass', { X: 'IN' }, { Y: 'OUT' }),
      ),
      loop_a: ensemble('loop_a', FP32_IO, step('loop_b', { IN: 'IN' }, { OUT: 'OUT' })),
      loop_b: ensemble('loop_b', FP32_IO, step('loop_a', { IN: 'IN' }, { OUT: 'OUT' })),
      type_mismatch: ensemble(
        'type_mismatch',
        'input [ { name: "IN" data_type: TYPE_INT32 dims: [ 1 ] } ] output [ { name: "OUT" data_type: TYPE_FP32 dims: [ 1 ] } ]',
        step('js_pass', { X: 'IN' }, { Y: 'OUT' }),
      ),
    },
  });
  // A longer queue delay on the digits step makes its batching under concurrency certain on a loaded machine.
  const digitsConfig = join(repo.root, 'digits', 'config.pbtxt');
  await writeFile(digitsConfig, (await readFile(digitsConfig, 'utf8')).replace('max_queue_delay_microseconds: 500', 'max_queue_delay_microseconds: 100000'));
  server = await startTestServer({ modelRepository: repo.root, strictReadiness: false });
});

after(async () => {
  await server?.stop();
  await repo?.remove();
});

describe('ensembles', () => {
  it('digits_pipeline: raw pixels → the label digits gives for the same pixels', async () => {
    for (const pixels of [ZERO, ONE]) {
      const pipeline = await post('/v2/models/digits_pipeline/infer', { inputs: [{ name: 'pixels', datatype: 'UINT8', shape: [1, 64], data: pixels }] });
      assert.equal(pipeline.status, 200, JSON.stringify(pipeline.json));
      const scaled = Array.from(Float32Array.from(pixels, (p) => p * (16 / 255)));
      const direct = await post('/v2/models/digits/infer', { inputs: [{ name: 'image', datatype: 'FP32', shape: [1, 1, 8, 8], data: scaled }] });
      assert.equal(direct.status, 200);
      const directLabel = String(output(direct.json, 'label').data[0]);
      assert.deepEqual(output(pipeline.json, 'label'), { name: 'label', datatype: 'BYTES', shape: [1, 1], data: [directLabel] });
      assert.deepEqual(output(pipeline.json, 'probabilities').data, output(direct.json, 'probabilities').data);
    }
    const labels = [];
    for (const pixels of [ZERO, ONE]) {
      const answer = await post('/v2/models/digits_pipeline/infer', { inputs: [{ name: 'pixels', datatype: 'UINT8', shape: [1, 64], data: pixels }] });
      labels.push(output(answer.json, 'label').data[0]);
    }
    assert.deepEqual(labels, ['0', '1'], 'the hand-drawn digits are read as drawn');
  });

  it('serves over gRPC, and counts each step in its own statistics and the whole in the ensemble’s', async () => {
    const before = await Promise.all(['digits_pipeline', 'digits_preprocess', 'digits', 'digits_postprocess'].map(stats));
    const client = createClient({ url: `grpc://127.0.0.1:${server.ports.grpc}` });
    try {
      for (let i = 0; i < 3; i++) {
        const result = await client.infer('digits_pipeline', [{ name: 'pixels', datatype: 'UINT8', shape: [1, 64], data: Uint8Array.from(ONE) }]);
        assert.equal(new TextDecoder().decode((result.output('label').data as Uint8Array[])[0]), '1');
      }
    } finally {
      await client.close();
    }
    const afterStats = await Promise.all(['digits_pipeline', 'digits_preprocess', 'digits', 'digits_postprocess'].map(stats));
    for (let i = 0; i < afterStats.length; i++) {
      assert.equal(afterStats[i]!.inference_stats.success.count - before[i]!.inference_stats.success.count, 3, `${afterStats[i]!.name} counted 3 requests`);
      assert.equal(afterStats[i]!.inference_count - before[i]!.inference_count, 3, `${afterStats[i]!.name} counted 3 rows`);
    }
  });

  it('batches a step under concurrent ensemble requests (the step’s own batch statistics)', async () => {
    const pixels = [ZERO, ONE];
    const answers = await Promise.all(
      Array.from({ length: 12 }, (_, i) => post('/v2/models/digits_pipeline/infer', { inputs: [{ name: 'pixels', datatype: 'UINT8', shape: [1, 64], data: pixels[i % 2] }] })),
    );
    answers.forEach((a, i) => assert.equal(output(a.json, 'label').data[0], String(i % 2), 'each request gets its own row back'));
    const digits = await stats('digits');
    const batched = digits.batch_stats.filter((b) => b.batch_size > 1);
    assert.ok(batched.length > 0, `digits ran batches of more than one row: ${JSON.stringify(digits.batch_stats.map((b) => [b.batch_size, b.compute_infer.count]))}`);
    assert.ok(digits.execution_count < digits.inference_count);
  });

  it('names the failing step in the error, with the step’s own code', async () => {
    const failed = await post('/v2/models/fail_pipeline/infer', { inputs: [{ name: 'pixels', datatype: 'UINT8', shape: [1, 64], data: ZERO }] });
    assert.equal(failed.status, 400);
    assert.match(String(failed.json['error']), /^ensemble 'fail_pipeline' step 2 \(model 'js_reject'\): js_reject\/1: model\.mjs execute failed: this image is refused$/);
    const ensembleStats = await stats('fail_pipeline');
    assert.equal(ensembleStats.inference_stats.fail.count, 1);
    const bad = await post('/v2/models/digits_pipeline/infer', { inputs: [{ name: 'pixels', datatype: 'UINT8', shape: [1, 63], data: ZERO.slice(1) }] });
    assert.equal(bad.status, 400, 'a request that does not fit the ensemble is refused before any step');
  });

  it('leaves an invalid ensemble UNAVAILABLE with the reason', async () => {
    const index = (await post('/v2/repository/index', {})).json as unknown as { name: string; state: string; reason?: string }[];
    const reason = (name: string) => {
      const entry = index.find((e) => e.name === name);
      assert.equal(entry?.state, 'UNAVAILABLE', `${name}: ${JSON.stringify(entry)}`);
      return entry?.reason ?? '';
    };
    assert.match(reason('unknown_step'), /ensemble 'unknown_step': step 1: model 'no_such_model' is not in the repository/);
    assert.match(reason('cycle'), /ensemble 'cycle': the steps form a cycle: step 1 \(model 'js_pass2'\), step 2 \(model 'js_pass'\)/);
    assert.match(reason('unmapped_output'), /ensemble output 'OUT2' is written by no step/);
    assert.match(reason('unread_input'), /ensemble input 'SPARE' is read by no step/);
    assert.match(reason('loop_a'), /ensemble 'loop_a': its steps lead back to it \('loop_a' → 'loop_b' → 'loop_a'\)/);
    assert.match(reason('loop_b'), /ensemble 'loop_b': its steps lead back to it/);
    assert.match(reason('type_mismatch'), /step 1 \(model 'js_pass'\) input 'X' is FP32, but tensor 'IN' is INT32/);
    const answer = await post('/v2/models/cycle/infer', { inputs: [{ name: 'IN', datatype: 'FP32', shape: [1, 1], data: [1] }] });
    assert.equal(answer.status, 503);
    assert.match(String(answer.json['error']), /the steps form a cycle/);
  });

  it('image pipeline: PNG and JPEG bytes → resized pixels → stand-in classifier → top-k labels', async () => {
    const png = new PNG({ width: 40, height: 30 });
    for (let i = 0; i < 40 * 30; i++) png.data.set([255, 0, 0, 255], i * 4);
    const pngBytes = PNG.sync.write(png);
    const rgba = Buffer.alloc(64 * 48 * 4);
    for (let i = 0; i < 64 * 48; i++) rgba.set([0, 0, 255, 255], i * 4);
    const jpegBytes = jpeg.encode({ data: rgba, width: 64, height: 48 }, 95).data;
    // Images travel as BYTES elements (the client sends them with the binary tensor extension).
    const client = createClient({ url: server.url });
    try {
      const result = await client.infer('inception_pipeline', [{ name: 'image', datatype: 'BYTES', shape: [2, 1], data: [new Uint8Array(pngBytes), new Uint8Array(jpegBytes)] }]);
      const top = (result.output('top').data as Uint8Array[]).map((b) => new TextDecoder().decode(b));
      assert.deepEqual(result.output('top').shape, [2, 3]);
      // Red: mean (1, 0, 0) → scores (1, 0, 0, 0.5, 0.2); blue: (0, 0, 1) → (0, 0, 1, 0, 0.2).
      assert.deepEqual(top.slice(0, 3), ['Drawing:1.0000', 'Porn:0.5000', 'Sexy:0.2000']);
      assert.match(top[3]!, /^Neutral:0\.9[89]\d\d|^Neutral:1\.0000/);
      assert.equal(top[4]!.split(':')[0], 'Sexy');
      const scores = result.output('scores').data as Float32Array;
      assert.ok(Math.abs(scores[0]! - 1) < 1e-5 && Math.abs(scores[3]! - 0.5) < 1e-5, `red scores ${[...scores.slice(0, 5)].join(',')}`);
    } finally {
      await client.close();
    }
  });

  it('refuses an oversized or undecodable image with INVALID_ARGUMENT naming the step', async () => {
    const wide = new PNG({ width: 5000, height: 2 });
    wide.data.fill(255);
    const client = createClient({ url: server.url });
    try {
      await assert.rejects(
        client.infer('inception_pipeline', [{ name: 'image', datatype: 'BYTES', shape: [1, 1], data: [new Uint8Array(PNG.sync.write(wide))] }]),
        (e: Error & { code?: string; httpStatus?: number }) =>
          e.code === 'INVALID_ARGUMENT' &&
          e.httpStatus === 400 &&
          /ensemble 'inception_pipeline' step 1 \(model 'image_preprocess'\): .*the image is 5000x2 pixels; at most 4096x4096 are allowed/.test(e.message),
      );
      await assert.rejects(
        client.infer('inception_pipeline', [{ name: 'image', datatype: 'BYTES', shape: [1, 1], data: [new TextEncoder().encode('GIF89a not an image')] }]),
        (e: Error & { code?: string }) => e.code === 'INVALID_ARGUMENT' && /the image is neither PNG nor JPEG/.test(e.message),
      );
    } finally {
      await client.close();
    }
    const preprocess = await stats('image_preprocess');
    assert.ok(preprocess.inference_stats.fail.count >= 2);
  });
});

describe('ensembles under explicit model control', () => {
  it('loading an ensemble loads its step models; it is ready once they are', async () => {
    const explicit = await startTestServer({ modelRepository: repo.root, controlMode: 'explicit', strictReadiness: false });
    try {
      const ready = async (model: string) => (await fetch(`${explicit.url}/v2/models/${model}/ready`)).status === 200;
      assert.equal(await ready('digits'), false);
      const load = await fetch(`${explicit.url}/v2/repository/models/digits_pipeline/load`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' });
      assert.equal(load.status, 200);
      await waitFor(() => ready('digits_pipeline'), 30_000, 'digits_pipeline and its steps to be ready');
      for (const model of ['digits_preprocess', 'digits', 'digits_postprocess']) assert.equal(await ready(model), true, model);
      const answer = await fetch(`${explicit.url}/v2/models/digits_pipeline/infer`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ inputs: [{ name: 'pixels', datatype: 'UINT8', shape: [1, 64], data: ONE }] }),
      });
      assert.equal(((await answer.json()) as { outputs: Output[] }).outputs.find((o) => o.name === 'label')?.data[0], '1');
      // Unloading a step model makes the ensemble unready, naming the step.
      await fetch(`${explicit.url}/v2/repository/models/digits/unload`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' });
      assert.equal(await ready('digits_pipeline'), false);
      const index = (await (await fetch(`${explicit.url}/v2/repository/index`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' })).json()) as {
        name: string;
        state: string;
        reason?: string;
      }[];
      assert.match(index.find((e) => e.name === 'digits_pipeline')?.reason ?? '', /step 2: model 'digits' is not ready/);
    } finally {
      await explicit.stop();
    }
  });
});
