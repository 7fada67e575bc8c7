/**
 * The TensorFlow.js backend on real tfjs-wasm workers and real ONNX Runtime: graph and layers
 * models, the runtime choice of `convert_to_onnx` with the build's own converter and with injected
 * ones (to reach a conversion that fails its parity check), and memory released on unload.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DENSE_IN, DENSE_W, denseForward, denseOnnx, GRAPH_INPUT, GRAPH_OUTPUT, LAYERS_INPUT, LAYERS_OUTPUT, writeGraphModel, writeLayersModel } from '../../../test/fixtures/tfjs-models.js';
import { parseModelConfig } from '../../repository/config-parser.js';
import type { Tensor } from '../../tensors/tensor.js';
import { OnnxBackend } from '../onnx/onnx-backend.js';
import type { LoadSpec } from '../backend.js';
import type { OnnxConversion, TfjsArtifacts } from '../tfjs-to-onnx/index.js';
import { TfjsBackend } from './tfjs-backend.js';
import type { TfjsThread } from './tfjs-thread.js';

const X = Float32Array.from([1, 2, 3, 4, -1, 0.5, 0, 2]);

function spec(modelPath: string, convert?: string, extra = ''): LoadSpec {
  const parameters = convert ? `parameters { key: "convert_to_onnx" value { string_value: "${convert}" } }` : '';
  return { label: 'dense/1', modelPath, config: parseModelConfig(`name: "dense"\nbackend: "tensorflowjs"\n${parameters}\n${extra}`, 'dense'), intraOpThreads: 1 };
}

function backend(convert?: (a: TfjsArtifacts) => OnnxConversion): TfjsBackend {
  return TfjsBackend.family({ onnx: new OnnxBackend(), convert })[0]!;
}

function input(name: string): Tensor {
  return { name, datatype: 'FP32', shape: [2, DENSE_IN], data: X.slice() };
}

function assertClose(actual: ArrayLike<number>, expected: readonly number[]): void {
  assert.equal(actual.length, expected.length);
  for (let i = 0; i < expected.length; i++) assert.ok(Math.abs(actual[i]! - expected[i]!) < 1e-5, `element ${i}: ${actual[i]} vs ${expected[i]}`);
}

async function tempDir(t: { after(fn: () => Promise<void>): void }): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'cranberries-tfjs-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

test('a layers model saved by tfjs and a hand-written graph model run on tfjs-wasm with the numbers computed by hand', async (t) => {
  const dir = await tempDir(t);
  await writeLayersModel(join(dir, 'layers'));
  await writeGraphModel(join(dir, 'graph'));
  for (const [folder, inName, outName] of [
    ['layers', LAYERS_INPUT, LAYERS_OUTPUT],
    ['graph', GRAPH_INPUT, GRAPH_OUTPUT],
  ] as const) {
    const loaded = await backend().load(spec(join(dir, folder, 'model.json'), 'never'));
    try {
      assert.deepEqual(loaded.signature, { inputs: [{ name: inName, datatype: 'FP32', shape: [-1, 4] }], outputs: [{ name: outName, datatype: 'FP32', shape: [-1, 3] }] });
      assert.equal(loaded.parameters?.['runtime'], 'tensorflowjs');
      // Two requests of the batch (joined by the worker), rows answered in order.
      const half = (i: number): Tensor => ({ name: inName, datatype: 'FP32', shape: [1, DENSE_IN], data: X.slice(i * 4, i * 4 + 4) });
      const result = await loaded.instances[0]!.execute([[half(0)], [half(1)]], [outName]);
      assert.deepEqual(result.outputs[0]!.shape, [2, 3]);
      assertClose(result.outputs[0]!.data as Float32Array, denseForward(X, 2));
    } finally {
      await loaded.unload();
    }
  }
});

test("convert_to_onnx: the build's converter moves a convertible model to ONNX Runtime; one it cannot convert stays on tfjs (auto) or fails (require) with the reason", async (t) => {
  const dir = await tempDir(t);
  await writeLayersModel(join(dir, 'layers'));
  await writeGraphModel(join(dir, 'atan'), { outputOp: 'Atan' });
  for (const mode of [undefined, 'require']) {
    const converted = await backend().load(spec(join(dir, 'layers', 'model.json'), mode));
    try {
      assert.deepEqual(converted.parameters, { runtime: 'onnxruntime', runtime_reason: 'converted from TensorFlow.js at load; parity checked' });
      const result = await converted.instances[0]!.execute([[input(LAYERS_INPUT)]], [LAYERS_OUTPUT]);
      assertClose(result.outputs[0]!.data as Float32Array, denseForward(X, 2));
    } finally {
      await converted.unload();
    }
  }
  const atan = join(dir, 'atan', 'model.json');
  const auto = await backend().load(spec(atan));
  try {
    assert.equal(auto.parameters?.['runtime'], 'tensorflowjs');
    assert.match(auto.parameters?.['runtime_reason'] ?? '', /Atan/);
    const result = await auto.instances[0]!.execute([[input(GRAPH_INPUT)]], [GRAPH_OUTPUT]);
    assertClose(result.outputs[0]!.data as Float32Array, denseForward(X, 2).map(Math.atan));
  } finally {
    await auto.unload();
  }
  await assert.rejects(backend().load(spec(atan, 'require')), /convert_to_onnx is "require" but the model cannot run on ONNX Runtime: .*Atan/);
  await assert.rejects(backend().load(spec(atan, 'sometimes')), /convert_to_onnx must be one of auto, never, require/);
});

test("convert_to_onnx: a conversion that passes the parity check serves on ONNX Runtime under the model's own names", async (t) => {
  const dir = await tempDir(t);
  await writeLayersModel(dir);
  let seen: TfjsArtifacts | undefined;
  const convert = (artifacts: TfjsArtifacts): OnnxConversion => {
    seen = artifacts;
    return { kind: 'converted', onnx: denseOnnx('onnx_in', 'onnx_out'), inputNames: ['onnx_in'], outputNames: ['onnx_out'] };
  };
  for (const mode of ['auto', 'require']) {
    const loaded = await backend(convert).load(spec(join(dir, 'model.json'), mode, 'instance_group [ { count: 2 } ]'));
    try {
      assert.equal(loaded.parameters?.['runtime'], 'onnxruntime');
      assert.equal(loaded.instances.length, 2);
      assert.equal(loaded.signature.inputs[0]!.name, LAYERS_INPUT);
      const result = await loaded.instances[1]!.execute([[input(LAYERS_INPUT)]], [LAYERS_OUTPUT]);
      assert.equal(result.outputs[0]!.name, LAYERS_OUTPUT);
      assertClose(result.outputs[0]!.data as Float32Array, denseForward(X, 2));
    } finally {
      await loaded.unload();
    }
  }
  // The converter got the model's real artifacts: topology, the weight specs and all weight bytes.
  assert.equal(seen?.format, 'layers-model');
  assert.equal(seen?.weightData.byteLength, (DENSE_W.length + 3) * 4);
  assert.deepEqual(
    seen?.weightSpecs.map((s) => s.name),
    ['dense/kernel', 'dense/bias'],
  );
});

test('convert_to_onnx: a conversion that fails the parity check falls back to tfjs (auto) or fails the load (require)', async (t) => {
  const dir = await tempDir(t);
  await writeLayersModel(dir);
  const wrong = DENSE_W.map((v, i) => (i === 5 ? v + 0.5 : v));
  const convert = (): OnnxConversion => ({ kind: 'converted', onnx: denseOnnx('a', 'b', wrong), inputNames: ['a'], outputNames: ['b'] });
  const loaded = await backend(convert).load(spec(join(dir, 'model.json'), 'auto'));
  try {
    assert.equal(loaded.parameters?.['runtime'], 'tensorflowjs');
    assert.match(loaded.parameters?.['runtime_reason'] ?? '', /fails the parity check: output 'dense' differs from TensorFlow.js by up to/);
    const result = await loaded.instances[0]!.execute([[input(LAYERS_INPUT)]], [LAYERS_OUTPUT]);
    assertClose(result.outputs[0]!.data as Float32Array, denseForward(X, 2));
  } finally {
    await loaded.unload();
  }
  await assert.rejects(backend(convert).load(spec(join(dir, 'model.json'), 'require')), /"require" but .*parity check/);
  const throwing = (): OnnxConversion => {
    throw new Error('unknown op Foo');
  };
  const fallback = await backend(throwing).load(spec(join(dir, 'model.json')));
  assert.equal(fallback.parameters?.['runtime_reason'], 'the converter failed: unknown op Foo');
  await fallback.unload();
});

test('unloading disposes every tfjs tensor and ends the worker: repeated load/unload keeps memory bounded', async (t) => {
  const dir = await tempDir(t);
  await writeLayersModel(dir);
  const b = backend();
  const rssAfter: number[] = [];
  for (let i = 0; i < 6; i++) {
    const loaded = await b.load(spec(join(dir, 'model.json'), 'never', 'instance_group [ { count: 2 } ]'));
    await loaded.instances[0]!.execute([[input(LAYERS_INPUT)]], [LAYERS_OUTPUT]);
    await loaded.unload();
    for (const instance of loaded.instances) assert.equal((instance as TfjsThread).leftoverTensors, 0, 'no tensor is left in the worker after unload');
    rssAfter.push(process.memoryUsage().rss);
  }
  // Each load starts 2 wasm runtimes (~tens of MB each); ended workers give theirs back, so six
  // rounds grow the process by far less than six rounds' worth.
  const growth = rssAfter[5]! - rssAfter[0]!;
  assert.ok(growth < 150 * 1024 * 1024, `resident memory grew by ${(growth / 1e6).toFixed(0)} MB over 5 load/unload rounds`);
});
