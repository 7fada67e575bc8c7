/**
 * The bundled Inception v3 (models/inception_v3, generated from the nsfwjs package by
 * scripts/build-inception-v3.mjs) served end to end: a synthetic 299×299 image over REST and gRPC,
 * probabilities checked against tfjs itself running the model straight from nsfwjs's own bundles
 * in this process (so the rebuild, the backend and the protocols are all checked), and the
 * classification extension answering the nsfwjs class names; the bundled `inception_pipeline` ensemble
 * (PNG bytes → image_preprocess → inception_v3 → topk_labels) answering the same numbers.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { PNG } from 'pngjs';
import * as tf from '@tensorflow/tfjs';
import { setWasmPaths } from '@tensorflow/tfjs-backend-wasm';
import { createClient } from '../../src/client/index.js';
import { startTestServer, type TestServer } from '../helpers/test-server.js';

const ROOT = new URL('../../..', import.meta.url).pathname;
const MODELS = join(ROOT, 'models');
const SIZE = 299;
const require = createRequire(import.meta.url);
const NSFWJS = join(dirname(require.resolve('nsfwjs')), '..', '..');

/** A line drawing: black circles and strokes on white, RGB in 0..1 (nsfwjs divides pixels by 255). */
function drawing(): Float32Array {
  const data = new Float32Array(SIZE * SIZE * 3);
  for (let y = 0; y < SIZE; y++) {
    for (let x = 0; x < SIZE; x++) {
      const cx = x - 150;
      const cy = y - 150;
      const r = Math.hypot(cx, cy);
      const ink = Math.abs(r - 90) < 4 || Math.abs(r - 40) < 4 || (Math.abs(x - y) < 3 && r < 90) || (Math.abs(cy - 20) < 3 && Math.abs(cx) < 50);
      data.fill(ink ? 0 : 1, (y * SIZE + x) * 3, (y * SIZE + x) * 3 + 3);
    }
  }
  return data;
}

/** A gradient "photo". */
function gradient(): Float32Array {
  const data = new Float32Array(SIZE * SIZE * 3);
  for (let i = 0; i < SIZE * SIZE; i++) {
    const x = i % SIZE;
    const y = Math.floor(i / SIZE);
    data.set([x / (SIZE - 1), y / (SIZE - 1), ((x + y) % 64) / 63], i * 3);
  }
  return data;
}

/** The model as nsfwjs ships it (browserify bundles), run by tfjs-wasm here: the expectation. */
async function referencePredict(images: readonly Float32Array[]): Promise<Float32Array> {
  tf.env().set('WASM_HAS_MULTITHREAD_SUPPORT', false);
  setWasmPaths(`${join(dirname(require.resolve('@tensorflow/tfjs-backend-wasm/package.json')), 'dist')}/`);
  await tf.setBackend('wasm');
  const bundles = join(NSFWJS, 'dist', 'models', 'inception_v3');
  const json = require(join(bundles, 'model.min.js')) as { modelTopology: object; weightsManifest: { paths: string[]; weights: tf.io.WeightsManifestEntry[] }[] };
  const group = json.weightsManifest[0]!;
  const weights = Buffer.concat(group.paths.map((p) => Buffer.from(require(join(bundles, `${p}.min.js`)) as string, 'base64')));
  const model = await tf.loadLayersModel({
    load: () => Promise.resolve({ modelTopology: json.modelTopology, weightSpecs: group.weights, weightData: weights.buffer.slice(weights.byteOffset, weights.byteOffset + weights.length) }),
  });
  const batch = new Float32Array(images.length * SIZE * SIZE * 3);
  images.forEach((image, i) => batch.set(image, i * image.length));
  const x = tf.tensor(batch, [images.length, SIZE, SIZE, 3]);
  const y = model.predict(x) as tf.Tensor;
  const out = y.dataSync() as Float32Array;
  tf.dispose([x, y]);
  model.dispose();
  return out;
}

let server: TestServer;

before(async () => {
  // `npm ci` (prepare) and `npm start` generate the model; a bare checkout may not have yet.
  if (!existsSync(join(MODELS, 'inception_v3', '1', 'model.json'))) {
    const built = spawnSync(process.execPath, [join(ROOT, 'scripts', 'build-inception-v3.mjs')], { stdio: 'inherit' });
    assert.equal(built.status, 0, 'scripts/build-inception-v3.mjs failed');
  }
  server = await startTestServer({ modelRepository: MODELS, controlMode: 'explicit', loadModels: ['inception_v3', 'image_preprocess', 'topk_labels', 'inception_pipeline'] });
});

after(() => server?.stop());

test("inception_v3 classifies real images over REST and gRPC like nsfwjs's own model, with labels", { timeout: 120_000 }, async () => {
  // The labels are nsfwjs's classes, in its order.
  const classes = Object.values((require(join(NSFWJS, 'dist', 'cjs', 'nsfw_classes.js')) as { NSFW_CLASSES: Record<number, string> }).NSFW_CLASSES);
  assert.deepEqual(
    readFileSync(join(MODELS, 'inception_v3', 'labels.txt'), 'utf8')
      .trim()
      .split('\n'),
    classes,
  );

  const images = [drawing(), gradient()];
  const expected = await referencePredict(images);
  const rest = createClient({ url: server.url });
  const grpc = createClient({ url: `grpc://127.0.0.1:${server.ports.grpc}` });
  try {
    const meta = await rest.modelMetadata('inception_v3');
    assert.deepEqual(
      meta.inputs.map((i) => [i.name, i.shape]),
      [['input_1', [-1, 299, 299, 3]]],
    );
    assert.deepEqual(
      meta.outputs.map((o) => [o.name, o.shape]),
      [['dense_3', [-1, 5]]],
    );
    // The drawing alone over each protocol; then both images in one batch.
    {
      const image = images[0]!;
      const want = expected.subarray(0, 5);
      for (const client of [rest, grpc]) {
        const result = await client.infer('inception_v3', [{ name: 'input_1', datatype: 'FP32', shape: [1, SIZE, SIZE, 3], data: image }]);
        const probabilities = result.output('dense_3');
        assert.deepEqual(probabilities.shape, [1, 5]);
        const p = probabilities.data as Float32Array;
        assert.ok(Math.abs(p.reduce((a, b) => a + b, 0) - 1) < 1e-4, `probabilities sum to 1 (${[...p].join(', ')})`);
        for (let k = 0; k < 5; k++) assert.ok(Math.abs(p[k]! - want[k]!) < 1e-4, `class ${classes[k]}: served ${p[k]}, nsfwjs model ${want[k]}`);
      }
      // Classification extension: the top 3 as "<probability>:<index>:<label>", best first.
      const top = await rest.infer('inception_v3', [{ name: 'input_1', datatype: 'FP32', shape: [1, SIZE, SIZE, 3], data: image }], { outputs: [{ name: 'dense_3', classification: 3 }] });
      const entries = top.strings('dense_3').map((s) => s.split(':'));
      const order = [...want.keys()].sort((a, b) => want[b]! - want[a]!).slice(0, 3);
      assert.deepEqual(
        entries.map((e) => [Number(e[1]), e[2]]),
        order.map((k) => [k, classes[k]]),
      );
    }
    // Both images in one request (batch 2).
    const both = new Float32Array(images[0]!.length * 2);
    both.set(images[0]!, 0);
    both.set(images[1]!, images[0]!.length);
    const batched = await rest.infer('inception_v3', [{ name: 'input_1', datatype: 'FP32', shape: [2, SIZE, SIZE, 3], data: both }]);
    assert.deepEqual(batched.output('dense_3').shape, [2, 5]);
    const b = batched.output('dense_3').data as Float32Array;
    for (let k = 0; k < 10; k++) assert.ok(Math.abs(b[k]! - expected[k]!) < 1e-4);
  } finally {
    await Promise.all([rest.close(), grpc.close()]);
  }
});

/** An RGB image in 0..1 (values that are multiples of 1/255) as PNG bytes. */
function png(rgb: Float32Array): Buffer {
  const image = new PNG({ width: SIZE, height: SIZE });
  for (let i = 0; i < SIZE * SIZE; i++) image.data.set([Math.round(rgb[i * 3]! * 255), Math.round(rgb[i * 3 + 1]! * 255), Math.round(rgb[i * 3 + 2]! * 255), 255], i * 4);
  return PNG.sync.write(image);
}

test('inception_pipeline turns PNG bytes into the same scores and the top three labels', { timeout: 120_000 }, async () => {
  const image = drawing();
  const want = (await referencePredict([image])).subarray(0, 5);
  const labels = readFileSync(join(MODELS, 'inception_v3', 'labels.txt'), 'utf8')
    .trim()
    .split('\n');
  const client = createClient({ url: server.url });
  try {
    const result = await client.infer('inception_pipeline', [{ name: 'image', datatype: 'BYTES', shape: [1, 1], data: [png(image)] }]);
    const scores = result.output('scores').data as Float32Array;
    for (let k = 0; k < 5; k++) assert.ok(Math.abs(scores[k]! - want[k]!) < 1e-4, `class ${labels[k]}: pipeline ${scores[k]}, nsfwjs model ${want[k]}`);
    const order = [...want.keys()].sort((a, b) => want[b]! - want[a]!).slice(0, 3);
    assert.deepEqual(
      result.strings('top').map((entry) => entry.split(':')[0]),
      order.map((k) => labels[k]),
    );
  } finally {
    await client.close();
  }
});
