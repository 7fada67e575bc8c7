import { before, test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { convertInWorker, convertTfjsToOnnx } from './index.js';
import { artifactsOf, randomizeWeights } from './testing/parity.js';

before(async () => {
  await tf.setBackend('cpu');
  await tf.ready();
});

test('the worker converts to the same ONNX bytes as the calling thread, and leaves the caller its weights', async () => {
  const model = tf.sequential({ layers: [tf.layers.conv2d({ inputShape: [8, 8, 3], filters: 4, kernelSize: 3 }), tf.layers.flatten(), tf.layers.dense({ units: 2 })] });
  randomizeWeights(model, 7);
  const artifacts = await artifactsOf(model);
  const bytes = artifacts.weightData.byteLength;
  const inThread = convertTfjsToOnnx(artifacts);
  const inWorker = await convertInWorker(artifacts);
  assert.equal(inWorker.kind, 'converted');
  assert.equal(inThread.kind, 'converted');
  if (inWorker.kind !== 'converted' || inThread.kind !== 'converted') return;
  assert.deepEqual(Buffer.from(inWorker.onnx), Buffer.from(inThread.onnx));
  assert.deepEqual([inWorker.inputNames, inWorker.outputNames], [inThread.inputNames, inThread.outputNames]);
  assert.equal(artifacts.weightData.byteLength, bytes, 'the weights were copied to the worker, not moved');
});

test('an unconvertible model comes back unsupported with the reason, answered off the calling thread', async () => {
  const model = tf.sequential({ layers: [tf.layers.lstm({ inputShape: [4, 3], units: 2 })] });
  const artifacts = await artifactsOf(model);
  // A conversion run inside the call would resolve before the event loop turns; the worker's cannot.
  let turned = false;
  setImmediate(() => (turned = true));
  const conversion = await convertInWorker(artifacts);
  assert.ok(turned, 'the event loop turned while the worker converted');
  assert.equal(conversion.kind, 'unsupported');
  assert.match(conversion.kind === 'unsupported' ? conversion.reason : '', /LSTM/);
  const malformed = await convertInWorker({ modelTopology: 'not a topology', weightSpecs: [], weightData: new ArrayBuffer(0) });
  assert.equal(malformed.kind, 'unsupported');
});
