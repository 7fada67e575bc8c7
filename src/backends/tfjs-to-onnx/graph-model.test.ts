import { before, test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { convertTfjsToOnnx } from './index.js';
import type { TfjsArtifacts } from './index.js';
import { seededRandom } from '../../core/index.js';
import { TOLERANCE, converted, maxAbsDiff, runOnnx, seededInput } from './testing/parity.js';

before(async () => {
  await tf.setBackend('cpu');
  await tf.ready();
});

const b64 = (text: string): string => Buffer.from(text).toString('base64');
const ints = (values: number[]): { list: { i: string[] } } => ({ list: { i: values.map(String) } });
const strings = (values: string[]): { list: { s: string[] } } => ({ list: { s: values.map(b64) } });

interface ConstSpec {
  name: string;
  shape: number[];
  dtype: 'float32' | 'int32';
  values?: number[];
}

/**
 * A hand-written TF.js graph model (GraphDef JSON, constants in the weights, as
 * tensorflowjs_converter writes them): fused convolutions, depthwise with dilation, FusedBatchNorm,
 * SAME pools, ConcatV2, Mul by a constant, Pad, VALID Conv2D, Mean over H and W, Reshape,
 * fused MatMul, Sub and Softmax. Input `input` [-1, 9, 9, 3].
 */
function graphArtifacts(signature?: unknown): TfjsArtifacts {
  const consts: ConstSpec[] = [
    { name: 'conv/filter', shape: [3, 3, 3, 4], dtype: 'float32' },
    { name: 'conv/bias', shape: [4], dtype: 'float32' },
    { name: 'dw/filter', shape: [3, 3, 4, 2], dtype: 'float32' },
    { name: 'dw/bias', shape: [8], dtype: 'float32' },
    { name: 'bn/scale', shape: [8], dtype: 'float32' },
    { name: 'bn/offset', shape: [8], dtype: 'float32' },
    { name: 'bn/mean', shape: [8], dtype: 'float32' },
    { name: 'bn/variance', shape: [8], dtype: 'float32' },
    { name: 'concat/axis', shape: [], dtype: 'int32', values: [3] },
    { name: 'scale', shape: [16], dtype: 'float32' },
    { name: 'paddings', shape: [4, 2], dtype: 'int32', values: [0, 0, 1, 0, 0, 1, 0, 0] },
    { name: 'conv2/filter', shape: [2, 2, 16, 5], dtype: 'float32' },
    { name: 'mean/axes', shape: [2], dtype: 'int32', values: [1, 2] },
    { name: 'flat/shape', shape: [2], dtype: 'int32', values: [-1, 125] },
    { name: 'fc/weights', shape: [125, 3], dtype: 'float32' },
    { name: 'fc/bias', shape: [3], dtype: 'float32' },
    { name: 'shift', shape: [3], dtype: 'float32' },
  ];
  const random = seededRandom(11);
  const buffers: Buffer[] = [];
  for (const c of consts) {
    const size = c.shape.reduce((n, d) => n * d, 1);
    const values = c.values ?? Array.from({ length: size }, () => (c.name.includes('variance') ? 0.5 + random() : random() * 2 - 1));
    buffers.push(Buffer.from(c.dtype === 'int32' ? Int32Array.from(values).buffer : Float32Array.from(values).buffer));
  }
  const data = Buffer.concat(buffers);
  const T = { type: 'DT_FLOAT' };
  const node = (name: string, op: string, input: string[], attr: Record<string, unknown> = {}): unknown => ({ name, op, input, attr: { T, ...attr } });
  const nodes = [
    { name: 'input', op: 'Placeholder', attr: { dtype: T, shape: { shape: { dim: [{ size: '-1' }, { size: '9' }, { size: '9' }, { size: '3' }] } } } },
    ...consts.map((c) => ({
      name: c.name,
      op: 'Const',
      attr: {
        dtype: { type: c.dtype === 'int32' ? 'DT_INT32' : 'DT_FLOAT' },
        value: { tensor: { dtype: c.dtype === 'int32' ? 'DT_INT32' : 'DT_FLOAT', tensorShape: { dim: c.shape.map((d) => ({ size: String(d) })) } } },
      },
    })),
    node('conv', '_FusedConv2D', ['input', 'conv/filter', 'conv/bias'], {
      strides: ints([1, 2, 2, 1]),
      padding: { s: b64('SAME') },
      data_format: { s: b64('NHWC') },
      dilations: ints([1, 1, 1, 1]),
      fused_ops: strings(['BiasAdd', 'Relu']),
      num_args: { i: '1' },
      epsilon: { f: 0 },
    }),
    node('dw', 'FusedDepthwiseConv2dNative', ['conv', 'dw/filter', 'dw/bias'], {
      strides: ints([1, 1, 1, 1]),
      padding: { s: b64('SAME') },
      data_format: { s: b64('NHWC') },
      dilations: ints([1, 2, 2, 1]),
      fused_ops: strings(['BiasAdd', 'Relu6']),
      num_args: { i: '1' },
    }),
    node('bn', 'FusedBatchNormV3', ['dw', 'bn/scale', 'bn/offset', 'bn/mean', 'bn/variance'], { epsilon: { f: 0.001 }, data_format: { s: b64('NHWC') } }),
    node('avg', 'AvgPool', ['bn'], { ksize: ints([1, 3, 3, 1]), strides: ints([1, 1, 1, 1]), padding: { s: b64('SAME') }, data_format: { s: b64('NHWC') } }),
    node('max', 'MaxPool', ['bn'], { ksize: ints([1, 3, 3, 1]), strides: ints([1, 1, 1, 1]), padding: { s: b64('SAME') }, data_format: { s: b64('NHWC') } }),
    node('concat', 'ConcatV2', ['avg', 'max', 'concat/axis'], { N: { i: '2' } }),
    node('mul', 'Mul', ['concat', 'scale']),
    node('pad', 'Pad', ['mul', 'paddings']),
    node('conv2', 'Conv2D', ['pad', 'conv2/filter'], { strides: ints([1, 1, 1, 1]), padding: { s: b64('VALID') }, data_format: { s: b64('NHWC') }, dilations: ints([1, 1, 1, 1]) }),
    node('gap', 'Mean', ['conv2', 'mean/axes'], { keep_dims: { b: false } }),
    node('flat', 'Reshape', ['conv2', 'flat/shape']),
    node('fc', '_FusedMatMul', ['flat', 'fc/weights', 'fc/bias'], { transpose_a: { b: false }, transpose_b: { b: false }, fused_ops: strings(['BiasAdd']), num_args: { i: '1' } }),
    node('sub', 'Sub', ['fc', 'shift']),
    node('probs', 'Softmax', ['sub']),
  ];
  return {
    modelTopology: { node: nodes, versions: { producer: 1395 } },
    format: 'graph-model',
    weightSpecs: consts.map(({ name, shape, dtype }) => ({ name, shape, dtype })),
    weightData: data.buffer.slice(data.byteOffset, data.byteOffset + data.byteLength),
    signature,
  };
}

async function graphParity(artifacts: TfjsArtifacts, batch: number): Promise<{ diff: number; inputNames: string[]; outputNames: string[]; tfjsInputs: string[]; tfjsOutputs: string[] }> {
  const conversion = converted(convertTfjsToOnnx(artifacts));
  const model = await tf.loadGraphModel(tf.io.fromMemory(artifacts));
  const shape = [batch, 9, 9, 3];
  const data = seededInput(shape, 5);
  const inputName = conversion.inputNames[0] as string;
  const expected = model.execute({ [inputName]: tf.tensor(data, shape) }, conversion.outputNames) as tf.Tensor[];
  const actual = await runOnnx(conversion.onnx, { [inputName]: { data, shape } }, conversion.outputNames);
  let diff = 0;
  expected.forEach((e, i) => (diff = Math.max(diff, maxAbsDiff(e.dataSync(), actual[i] as Float32Array))));
  return { diff, inputNames: conversion.inputNames, outputNames: conversion.outputNames, tfjsInputs: model.inputNodes, tfjsOutputs: model.outputNodes };
}

test('a graph model (fused conv/depthwise/matmul, FusedBatchNorm, pools, ConcatV2, Mul, Pad, Mean, Reshape, Sub, Softmax) matches tfjs; names are node names', async () => {
  const { diff, inputNames, outputNames, tfjsInputs, tfjsOutputs } = await graphParity(graphArtifacts(), 3);
  assert.ok(diff <= TOLERANCE, `max abs diff ${diff}`);
  assert.deepEqual(inputNames, ['input']);
  assert.deepEqual(inputNames, tfjsInputs);
  assert.deepEqual([...outputNames].sort(), [...tfjsOutputs].sort());
});

test('with a signature the ONNX names are its keys, as tfjs reports them', async () => {
  const signature = { inputs: { images: { name: 'input:0', dtype: 'DT_FLOAT' } }, outputs: { scores: { name: 'probs:0', dtype: 'DT_FLOAT' }, pooled: { name: 'gap:0', dtype: 'DT_FLOAT' } } };
  const { diff, inputNames, outputNames, tfjsInputs, tfjsOutputs } = await graphParity(graphArtifacts(signature), 2);
  assert.ok(diff <= TOLERANCE, `max abs diff ${diff}`);
  assert.deepEqual(inputNames, ['images']);
  assert.deepEqual(outputNames, ['scores', 'pooled']);
  assert.deepEqual(inputNames, tfjsInputs);
  assert.deepEqual([...outputNames].sort(), [...tfjsOutputs].sort());
});

test('an unknown graph op is unsupported, naming the op and the node', () => {
  const artifacts = graphArtifacts();
  const topology = artifacts.modelTopology as { node: { name: string; op: string; attr: object }[] };
  const nodes = topology.node.map((n) => (n.name === 'sub' ? { ...n, op: 'Atan2' } : n));
  const result = convertTfjsToOnnx({ ...artifacts, modelTopology: { ...topology, node: nodes } });
  assert.equal(result.kind, 'unsupported');
  assert.match(result.kind === 'unsupported' ? result.reason : '', /node 'sub' has op 'Atan2'/);
  const fused = topology.node.map((n) => (n.name === 'conv' ? { ...n, attr: { ...n.attr, fused_ops: strings(['BiasAdd', 'Prelu']) } } : n));
  const fusedResult = convertTfjsToOnnx({ ...artifacts, modelTopology: { ...topology, node: fused } });
  assert.match(fusedResult.kind === 'unsupported' ? fusedResult.reason : '', /fuses 'Prelu'/);
});
