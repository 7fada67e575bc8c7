import { test } from 'node:test';
import assert from 'node:assert/strict';
import onnxProto from 'onnx-proto';
import { permute } from './layout.js';
import { OnnxGraphBuilder } from './onnx-builder.js';

test('the hand-written initializers decode as one graph with its nodes (protobufjs reads it back whole)', () => {
  const graph = new OnnxGraphBuilder();
  graph.reserve('x');
  graph.reserve('y');
  graph.addInput('x', [null, 3]);
  // 300 values: lengths above 127 take two-byte varints.
  const weight = graph.floatConst(
    'w',
    [3, 100],
    Float32Array.from({ length: 300 }, (_, i) => i / 7),
  );
  const shape = graph.int64Const('shape', [0, -1]);
  const product = graph.op('MatMul', ['x', weight]);
  graph.op('Reshape', [product, shape], {}, 'y', 'y');
  graph.addOutput('y');
  const model = onnxProto.onnx.ModelProto.decode(graph.encode('g'));
  assert.equal(model.graph?.name, 'g');
  assert.deepEqual(
    model.graph?.node?.map((n) => n.opType),
    ['MatMul', 'Reshape'],
  );
  const [w, s] = model.graph?.initializer ?? [];
  assert.equal(w?.name, weight);
  assert.deepEqual(w?.dims?.map(Number), [3, 100]);
  const raw = w?.rawData ?? new Uint8Array();
  assert.deepEqual(
    new Float32Array(raw.slice().buffer),
    Float32Array.from({ length: 300 }, (_, i) => i / 7),
  );
  assert.deepEqual(Array.from(new BigInt64Array((s?.rawData ?? new Uint8Array()).slice().buffer)), [0n, -1n]);
});

test('permute matches a direct index computation', () => {
  const shape = [2, 3, 4, 5];
  const values = Float32Array.from({ length: 120 }, (_, i) => i);
  const out = permute(values, shape, [3, 2, 0, 1]);
  // out[e][d][a][b] = in[a][b][d][e]
  for (let a = 0; a < 2; a++)
    for (let b = 0; b < 3; b++) for (let d = 0; d < 4; d++) for (let e = 0; e < 5; e++) assert.equal(out[((e * 4 + d) * 2 + a) * 3 + b], values[((a * 3 + b) * 4 + d) * 5 + e]);
});
