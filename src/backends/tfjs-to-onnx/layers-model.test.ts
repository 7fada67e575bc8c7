import { before, test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { convertTfjsToOnnx } from './index.js';
import { TOLERANCE, artifactsOf, parityOf, randomizeWeights } from './testing/parity.js';

// The CPU backend: deterministic, and quick for these small models (the wasm backend is measured
// with Inception v3 in inception-v3.test.ts).
before(async () => {
  await tf.setBackend('cpu');
  await tf.ready();
});

const { layers } = tf;

test('a Sequential CNN (same/valid padding, strides 2, odd sizes, BatchNorm, max pool, Flatten after conv, Dense softmax) matches tfjs', async () => {
  const model = tf.sequential({
    layers: [
      layers.conv2d({ inputShape: [17, 15, 3], filters: 8, kernelSize: 3, padding: 'same', activation: 'relu' }),
      layers.conv2d({ filters: 6, kernelSize: [3, 2], strides: 2, padding: 'valid' }),
      layers.batchNormalization({ epsilon: 0.01 }),
      layers.conv2d({ filters: 5, kernelSize: 4, strides: 2, padding: 'same', useBias: false }),
      layers.maxPooling2d({ poolSize: 3, strides: 2, padding: 'same' }),
      layers.flatten(),
      layers.dense({ units: 4, activation: 'softmax' }),
    ],
  });
  randomizeWeights(model, 1);
  const { diff, conversion } = await parityOf(model, 3);
  assert.ok(diff <= TOLERANCE, `max abs diff ${diff}`);
  assert.deepEqual(conversion.inputNames, model.inputNames);
  assert.deepEqual(conversion.outputNames, model.outputNames);
});

test('a functional model (dilation, depthwise, separable, avg pool same padding, concatenate, merges, zero padding, global pools) matches tfjs', async () => {
  const input = layers.input({ shape: [13, 11, 4], name: 'image' });
  const dilated = layers.conv2d({ filters: 6, kernelSize: 3, dilationRate: 2, padding: 'same', activation: 'relu6' }).apply(input) as tf.SymbolicTensor;
  const depthwise = layers.depthwiseConv2d({ kernelSize: 3, depthMultiplier: 2, strides: 2, padding: 'same', activation: 'relu' }).apply(input) as tf.SymbolicTensor;
  const separable = layers.separableConv2d({ filters: 8, kernelSize: 3, strides: 2, padding: 'same', depthMultiplier: 2 }).apply(input) as tf.SymbolicTensor;
  // Average pooling with 'same' padding averages only the cells inside the image (TF semantics).
  const avgSame = layers.averagePooling2d({ poolSize: 3, strides: 1, padding: 'same' }).apply(dilated) as tf.SymbolicTensor;
  const avgStrided = layers.averagePooling2d({ poolSize: 3, strides: 2, padding: 'same' }).apply(avgSame) as tf.SymbolicTensor;
  const joined = layers.concatenate({ axis: -1 }).apply([depthwise, separable, avgStrided]) as tf.SymbolicTensor;
  const bn = layers.batchNormalization({ center: false }).apply(joined) as tf.SymbolicTensor;
  const sum = layers.add().apply([joined, bn]) as tf.SymbolicTensor;
  const product = layers.multiply().apply([sum, joined]) as tf.SymbolicTensor;
  const padded = layers
    .zeroPadding2d({
      padding: [
        [1, 2],
        [0, 3],
      ],
    })
    .apply(product) as tf.SymbolicTensor;
  const conv = layers.conv2d({ filters: 5, kernelSize: 2, padding: 'valid', activation: 'tanh' }).apply(padded) as tf.SymbolicTensor;
  const gap = layers.globalAveragePooling2d({}).apply(conv) as tf.SymbolicTensor;
  const gmp = layers.globalMaxPooling2d({}).apply(conv) as tf.SymbolicTensor;
  const head = layers.dense({ units: 3, activation: 'sigmoid', name: 'scores' }).apply(layers.concatenate().apply([gap, gmp])) as tf.SymbolicTensor;
  const image = layers.activation({ activation: 'elu', name: 'features' }).apply(conv) as tf.SymbolicTensor;
  const model = tf.model({ inputs: input, outputs: [head, image] });
  randomizeWeights(model, 2);
  const { diff, conversion } = await parityOf(model, 2);
  assert.ok(diff <= TOLERANCE, `max abs diff ${diff}`);
  assert.deepEqual(conversion.inputNames, ['image']);
  assert.deepEqual(conversion.outputNames, ['scores', 'features']);
});

test('activations, ReLU/LeakyReLU/Softmax layers, Reshape, Dropout and the other merges match tfjs', async () => {
  const input = layers.input({ shape: [6, 4, 2], name: 'x' });
  const reshaped = layers.reshape({ targetShape: [12, 4] }).apply(input) as tf.SymbolicTensor;
  const dense = layers.dense({ units: 5 }).apply(reshaped) as tf.SymbolicTensor; // Dense on rank 3
  const bn3 = layers.batchNormalization().apply(dense) as tf.SymbolicTensor; // BatchNorm on rank 3
  const flat = layers.flatten().apply(bn3) as tf.SymbolicTensor;
  const branches = ['sigmoid', 'tanh', 'elu', 'selu', 'softplus', 'softsign', 'hardSigmoid', 'swish', 'mish', 'gelu', 'relu6', 'linear'].map(
    (activation) => layers.dense({ units: 4, activation: activation as 'relu' }).apply(flat) as tf.SymbolicTensor,
  );
  const relu = layers.reLU({ maxValue: 0.5 }).apply(branches[0] as tf.SymbolicTensor) as tf.SymbolicTensor;
  const leaky = layers.leakyReLU({ alpha: 0.2 }).apply(branches[1] as tf.SymbolicTensor) as tf.SymbolicTensor;
  const dropped = layers.dropout({ rate: 0.5 }).apply(branches[2] as tf.SymbolicTensor) as tf.SymbolicTensor;
  const merged = [
    layers.add().apply([relu, leaky]),
    layers.average().apply([dropped, branches[3] as tf.SymbolicTensor, branches[4] as tf.SymbolicTensor]),
    layers.maximum().apply([branches[5] as tf.SymbolicTensor, branches[6] as tf.SymbolicTensor]),
    layers.minimum().apply([branches[7] as tf.SymbolicTensor, branches[8] as tf.SymbolicTensor]),
    layers.multiply().apply([branches[9] as tf.SymbolicTensor, branches[10] as tf.SymbolicTensor, branches[11] as tf.SymbolicTensor]),
  ] as tf.SymbolicTensor[];
  const joined = layers.concatenate().apply(merged) as tf.SymbolicTensor;
  const bn2 = layers.batchNormalization({ scale: false }).apply(joined) as tf.SymbolicTensor;
  const out = layers.softmax({ name: 'probabilities' }).apply(bn2) as tf.SymbolicTensor;
  const model = tf.model({ inputs: input, outputs: out });
  randomizeWeights(model, 3);
  const { diff } = await parityOf(model, 4);
  assert.ok(diff <= TOLERANCE, `max abs diff ${diff}`);
});

test('a Sequential model without an InputLayer takes tfjs input name <first layer>_input and any batch size', async () => {
  const model = tf.sequential({ layers: [layers.dense({ inputShape: [5], units: 3, activation: 'relu', name: 'first' }), layers.dense({ units: 2, name: 'last' })] });
  randomizeWeights(model, 4);
  for (const batch of [1, 5]) {
    const { diff, conversion } = await parityOf(model, batch);
    assert.ok(diff <= TOLERANCE, `batch ${batch}: max abs diff ${diff}`);
    assert.deepEqual(conversion.inputNames, ['first_input']);
    assert.deepEqual(conversion.inputNames, model.inputNames);
    assert.deepEqual(conversion.outputNames, ['last']);
  }
});

test('a layer with no ONNX mapping (LSTM) is unsupported, naming the layer class', async () => {
  const model = tf.sequential({ layers: [layers.lstm({ inputShape: [4, 3], units: 2 }), layers.dense({ units: 1 })] });
  const result = convertTfjsToOnnx(await artifactsOf(model));
  assert.equal(result.kind, 'unsupported');
  assert.match(result.kind === 'unsupported' ? result.reason : '', /'LSTM'/);
});

test('quantized weights: uint8 converts (dequantized as tfjs does); an unknown quantization or int32 weight is unsupported', async () => {
  const model = tf.sequential({ layers: [layers.dense({ inputShape: [3], units: 2, name: 'd' })] });
  const artifacts = await artifactsOf(model);
  // Hand-quantize: kernel (6 values) and bias (2 values) as uint8 with min/scale.
  const quantized = new Uint8Array([0, 10, 20, 30, 40, 255, 128, 1]);
  const specs = artifacts.weightSpecs.map((spec) => ({ ...spec, quantization: { dtype: 'uint8', min: -1, scale: 0.01 } }));
  const asUint8 = { ...artifacts, weightSpecs: specs, weightData: quantized.buffer };
  const ok = convertTfjsToOnnx(asUint8);
  assert.equal(ok.kind, 'converted');
  const loaded = await tf.loadLayersModel(tf.io.fromMemory(asUint8));
  const x = tf.tensor([[0.5, -1, 2]]);
  const expected = (loaded.predict(x) as tf.Tensor).dataSync();
  const { runOnnx, maxAbsDiff } = await import('./testing/parity.js');
  const [actual] = await runOnnx(ok.kind === 'converted' ? ok.onnx : new Uint8Array(), { d_input: { data: Float32Array.of(0.5, -1, 2), shape: [1, 3] } }, ['d']);
  assert.ok(maxAbsDiff(expected, actual as Float32Array) <= TOLERANCE);

  const int4 = convertTfjsToOnnx({ ...asUint8, weightSpecs: specs.map((s) => ({ ...s, quantization: { dtype: 'int4', min: 0, scale: 1 } })) });
  assert.deepEqual(int4.kind, 'unsupported');
  assert.match(int4.kind === 'unsupported' ? int4.reason : '', /quantized as 'int4'/);
  const int32 = convertTfjsToOnnx({ ...artifacts, weightSpecs: artifacts.weightSpecs.map((s) => ({ ...s, dtype: 'int32' })) });
  assert.match(int32.kind === 'unsupported' ? int32.reason : '', /dtype 'int32'; layers take float32/);
});

test('malformed artifacts are unsupported, never thrown', async () => {
  const model = tf.sequential({ layers: [layers.dense({ inputShape: [3], units: 2, name: 'd' }), layers.dense({ units: 1, name: 'e' })] });
  const good = await artifactsOf(model);
  const topology = good.modelTopology as { config: { layers: { config: Record<string, unknown> }[] } };
  const cases: Record<string, unknown> = {
    'topology is a string': { ...good, modelTopology: 'garbage' },
    'topology is null': { ...good, modelTopology: null },
    'empty object': { ...good, modelTopology: {} },
    'layers not a list': { ...good, modelTopology: { class_name: 'Sequential', config: { layers: 5 } } },
    'no layers': { ...good, modelTopology: { class_name: 'Sequential', config: { layers: [] } } },
    'truncated weights': { ...good, weightData: good.weightData.slice(0, 10) },
    'missing weights': { ...good, weightSpecs: [], weightData: new ArrayBuffer(0) },
    'kernel of wrong shape': { ...good, weightSpecs: good.weightSpecs.map((s) => ({ ...s, shape: s.shape.length === 2 ? [s.shape[1], s.shape[0]] : s.shape })) },
    'weight specs not a list': { ...good, weightSpecs: 'x' },
    'layer config mangled': { ...good, modelTopology: { ...topology, config: { ...topology.config, layers: [{ class_name: 'Dense', config: { name: 3 } }] } } },
    'inbound references a missing layer': {
      ...good,
      modelTopology: {
        class_name: 'Model',
        config: { layers: [{ name: 'a', class_name: 'Dense', config: {}, inbound_nodes: [[['nowhere', 0, 0, {}]]] }], input_layers: [], output_layers: [['a', 0, 0]] },
      },
    },
    'a cycle': {
      ...good,
      modelTopology: {
        class_name: 'Model',
        config: {
          layers: [
            { name: 'a', class_name: 'Dropout', config: {}, inbound_nodes: [[['b', 0, 0, {}]]] },
            { name: 'b', class_name: 'Dropout', config: {}, inbound_nodes: [[['a', 0, 0, {}]]] },
          ],
          input_layers: [],
          output_layers: [['a', 0, 0]],
        },
      },
    },
  };
  for (const [what, artifacts] of Object.entries(cases)) {
    const result = convertTfjsToOnnx(artifacts as Parameters<typeof convertTfjsToOnnx>[0]);
    assert.equal(result.kind, 'unsupported', what);
    assert.ok(result.kind === 'unsupported' && result.reason.length > 0 && result.reason.length < 400, `${what}: ${JSON.stringify(result)}`);
  }
});
