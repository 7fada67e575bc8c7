/**
 * The two MobileNet v2 models nsfwjs ships: `mobilenet_v2` (a Keras layers model) and
 * `mobilenet_v2_mid` (a graph model written by tensorflowjs_converter: _FusedConv2D,
 * FusedDepthwiseConv2dNative, AddV2, AvgPool, Squeeze, _FusedMatMul, ...). Both convert and agree
 * with tfjs on a deterministic batch of two 224×224 images.
 */
import { before, test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { convertTfjsToOnnx } from './index.js';
import { nsfwjsArtifacts } from './testing/nsfwjs.js';
import { TOLERANCE, converted, maxAbsDiff, runOnnx } from './testing/parity.js';

before(async () => {
  await tf.setBackend('cpu');
  await tf.ready();
});

const SHAPE = [2, 224, 224, 3];
const IMAGES = Float32Array.from({ length: 2 * 224 * 224 * 3 }, (_, i) => 0.5 + 0.5 * Math.sin(i * 0.001));

for (const name of ['mobilenet_v2', 'mobilenet_v2_mid']) {
  test(`nsfwjs ${name} converts and matches tfjs`, async () => {
    const artifacts = nsfwjsArtifacts(name);
    const conversion = converted(convertTfjsToOnnx(artifacts));
    const [inputName] = conversion.inputNames as [string];
    const [outputName] = conversion.outputNames as [string];
    let expected: Float32Array;
    if (artifacts.format === 'graph-model') {
      const model = await tf.loadGraphModel(tf.io.fromMemory(artifacts));
      assert.deepEqual(conversion.inputNames, model.inputNodes);
      assert.deepEqual(conversion.outputNames, model.outputNodes);
      expected = (model.execute({ [inputName]: tf.tensor(IMAGES, SHAPE) }, outputName) as tf.Tensor).dataSync() as Float32Array;
    } else {
      const model = await tf.loadLayersModel(tf.io.fromMemory(artifacts));
      assert.deepEqual(conversion.inputNames, model.inputNames);
      assert.deepEqual(conversion.outputNames, model.outputNames);
      expected = (model.predict(tf.tensor(IMAGES, SHAPE)) as tf.Tensor).dataSync() as Float32Array;
    }
    const [actual] = await runOnnx(conversion.onnx, { [inputName]: { data: IMAGES, shape: SHAPE } }, [outputName]);
    assert.equal(actual?.length, 10);
    const diff = maxAbsDiff(expected, actual);
    assert.ok(diff <= TOLERANCE, `max abs diff ${diff}`);
  });
}
