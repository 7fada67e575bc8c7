/**
 * Inception v3 as the nsfwjs npm package ships it (a Keras layers model, uint8-quantized weights):
 * it converts, the ONNX model agrees with tfjs (wasm backend) on a deterministic image, and the
 * conversion time and the per-image times of both runtimes are reported (test diagnostics).
 */
import { before, test } from 'node:test';
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { dirname } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { setWasmPaths } from '@tensorflow/tfjs-backend-wasm';
import ort from 'onnxruntime-node';
import { convertTfjsToOnnx } from './index.js';
import { nsfwjsArtifacts } from './testing/nsfwjs.js';
import { TOLERANCE, converted, maxAbsDiff } from './testing/parity.js';

const require = createRequire(import.meta.url);

/** A smooth deterministic "image" in [0, 1] (what nsfwjs feeds after its /255 scaling). */
function image(batch: number): Float32Array {
  const data = new Float32Array(batch * 299 * 299 * 3);
  for (let i = 0; i < data.length; i++) data[i] = 0.5 + 0.5 * Math.sin(i * 0.001 + Math.floor(i / (299 * 299 * 3)));
  return data;
}

before(async () => {
  setWasmPaths(dirname(require.resolve('@tensorflow/tfjs-backend-wasm')) + '/');
  assert.ok(await tf.setBackend('wasm'));
  await tf.ready();
});

test('nsfwjs Inception v3 converts, matches tfjs wasm within tolerance, and is timed', async (t) => {
  const artifacts = nsfwjsArtifacts('inception_v3');
  const started = performance.now();
  const cpuBefore = process.cpuUsage();
  const conversion = converted(convertTfjsToOnnx(artifacts));
  const conversionMs = performance.now() - started;
  // Conversion is single-threaded: its CPU time is about what it takes on an idle core.
  const conversionCpuMs = process.cpuUsage(cpuBefore).user / 1000;
  assert.deepEqual(conversion.inputNames, ['input_1']);
  assert.deepEqual(conversion.outputNames, ['dense_3']);

  const model = await tf.loadLayersModel(tf.io.fromMemory(artifacts));
  const session = await ort.InferenceSession.create(conversion.onnx);
  try {
    for (const batch of [1, 4]) {
      const input = image(batch);
      const x = tf.tensor4d(input, [batch, 299, 299, 3]);
      const feeds = { input_1: new ort.Tensor('float32', input, [batch, 299, 299, 3]) };
      // One warm-up run each, then the best of two timed runs (the machine is shared).
      const tfjsRun = (): Float32Array => {
        const y = model.predict(x) as tf.Tensor;
        const data = y.dataSync() as Float32Array;
        y.dispose();
        return data;
      };
      const expected = tfjsRun();
      const onnxRun = async (): Promise<Float32Array> => (await session.run(feeds))['dense_3']?.data as Float32Array;
      const actual = await onnxRun();
      const diff = maxAbsDiff(expected, actual);
      assert.equal(actual.length, batch * 5);
      assert.ok(diff <= TOLERANCE, `batch ${batch}: max abs diff ${diff}`);
      let tfjsMs = Infinity;
      let onnxMs = Infinity;
      for (let i = 0; i < 2; i++) {
        let at = performance.now();
        tfjsRun();
        tfjsMs = Math.min(tfjsMs, performance.now() - at);
        at = performance.now();
        await onnxRun();
        onnxMs = Math.min(onnxMs, performance.now() - at);
      }
      x.dispose();
      t.diagnostic(`batch ${batch}: max abs diff ${diff.toExponential(2)}; per image: tfjs wasm ${(tfjsMs / batch).toFixed(0)} ms, ONNX Runtime ${(onnxMs / batch).toFixed(0)} ms`);
    }
  } finally {
    await session.release();
    model.dispose();
  }
  t.diagnostic(`conversion ${conversionMs.toFixed(0)} ms wall, ${conversionCpuMs.toFixed(0)} ms CPU; ONNX model ${(conversion.onnx.byteLength / 2 ** 20).toFixed(1)} MiB`);
});
