/**
 * The TensorFlow.js backend end to end: a real server on loopback sockets, tfjs-wasm workers, models
 * saved by tfjs (layers) and written by hand (graph), inferred over REST and gRPC and compared with
 * the sums computed by hand; dynamic batching; broken models UNAVAILABLE with a reason while the
 * others serve; a model on tfjs (`convert_to_onnx: never`) next to one converted to ONNX Runtime at
 * load; `convert_to_onnx: require` failing with the converter's reason for a model it cannot convert.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm, unlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createClient } from '../../src/client/index.js';
import { DENSE_IN, denseForward, GRAPH_INPUT, GRAPH_OUTPUT, LAYERS_INPUT, LAYERS_OUTPUT, writeGraphModel, writeLayersModel } from '../fixtures/tfjs-models.js';
import { startTestServer, waitFor, type TestServer } from '../helpers/test-server.js';

const CONFIGS: Record<string, string> = {
  // No inputs or outputs: completed from model.json.
  // Kept on tfjs-wasm so that batching runs there; dense_graph is converted to ONNX (auto).
  dense_layers: 'platform: "tensorflowjs_layers"\nmax_batch_size: 8\ndynamic_batching { max_queue_delay_microseconds: 300000 }\nparameters { key: "convert_to_onnx" value { string_value: "never" } }',
  dense_graph: 'backend: "tensorflowjs"\nmax_batch_size: 8',
  missing_shard: 'backend: "tensorflowjs"',
  wrong_signature: 'backend: "tensorflowjs"\nmax_batch_size: 8\ninput [ { name: "pixels" data_type: TYPE_FP32 dims: [ 4 ] } ]',
  onnx_required: 'backend: "tensorflowjs"\nparameters { key: "convert_to_onnx" value { string_value: "require" } }',
};

let root: string;
let server: TestServer;

before(async () => {
  root = await mkdtemp(join(tmpdir(), 'cranberries-tfjs-e2e-'));
  for (const [name, config] of Object.entries(CONFIGS)) {
    await mkdir(join(root, name), { recursive: true });
    await writeFile(join(root, name, 'config.pbtxt'), `name: "${name}"\n${config}\n`);
    if (name === 'dense_graph') await writeGraphModel(join(root, name, '1'));
    else if (name === 'onnx_required') await writeGraphModel(join(root, name, '1'), { outputOp: 'Atan' });
    else await writeLayersModel(join(root, name, '1'));
  }
  await unlink(join(root, 'missing_shard', '1', 'weights.bin'));
  server = await startTestServer({ modelRepository: root, strictReadiness: false });
});

after(async () => {
  await server?.stop();
  await rm(root, { recursive: true, force: true });
});

const X = Float32Array.from([1, 2, 3, 4, -1, 0.5, 0, 2]);

function assertClose(actual: ArrayLike<number>, expected: readonly number[]): void {
  assert.equal(actual.length, expected.length);
  for (let i = 0; i < expected.length; i++) assert.ok(Math.abs(actual[i]! - expected[i]!) < 1e-5, `element ${i}: ${actual[i]} vs ${expected[i]}`);
}

describe('tensorflowjs backend', () => {
  test('layers and graph models infer over REST (JSON and binary) and gRPC with the hand-computed numbers', async () => {
    const clients = [createClient({ url: server.url }), createClient({ url: `grpc://127.0.0.1:${server.ports.grpc}` })];
    try {
      for (const client of clients) {
        for (const [model, input, output] of [
          ['dense_layers', LAYERS_INPUT, LAYERS_OUTPUT],
          ['dense_graph', GRAPH_INPUT, GRAPH_OUTPUT],
        ] as const) {
          for (const binary of [true, false]) {
            const result = await client.infer(model, [{ name: input, datatype: 'FP32', shape: [2, DENSE_IN], data: X }], { binary });
            const out = result.output(output);
            assert.deepEqual(out.shape, [2, 3]);
            assertClose(out.data as Float32Array, denseForward(X, 2));
          }
        }
      }
      // The signature and the config were completed from model.json; the runtime is reported.
      const meta = await clients[0]!.modelMetadata('dense_layers');
      assert.deepEqual(
        meta.inputs.map((i) => [i.name, i.datatype, i.shape]),
        [[LAYERS_INPUT, 'FP32', [-1, 4]]],
      );
      assert.equal(meta.platform, 'tensorflowjs_layers');
      type Config = { backend: string; max_batch_size: number; parameters: Record<string, { string_value: string }> };
      const config = async (model: string): Promise<Config> => (await (await fetch(`${server.url}/v2/models/${model}/config`)).json()) as Config;
      const graph = await config('dense_graph');
      assert.equal(graph.backend, 'tensorflowjs');
      assert.equal(graph.max_batch_size, 8);
      assert.equal(graph.parameters['runtime']?.string_value, 'onnxruntime');
      assert.equal(graph.parameters['runtime_reason']?.string_value, 'converted from TensorFlow.js at load; parity checked');
      const layers = await config('dense_layers');
      assert.equal(layers.parameters['runtime']?.string_value, 'tensorflowjs');
      assert.equal(layers.parameters['runtime_reason']?.string_value, 'convert_to_onnx is "never"');
    } finally {
      await Promise.all(clients.map((c) => c.close()));
    }
  });

  test('dynamic batching joins concurrent requests into one tfjs execution, each answered with its own rows', async () => {
    const client = createClient({ url: server.url });
    try {
      const before = (await client.modelStatistics('dense_layers'))[0]!;
      const rows = Array.from({ length: 6 }, (_, r) => Float32Array.from({ length: DENSE_IN }, (_, i) => r - i * 0.5));
      const results = await Promise.all(rows.map((row) => client.infer('dense_layers', [{ name: LAYERS_INPUT, datatype: 'FP32', shape: [1, DENSE_IN], data: row }])));
      results.forEach((result, r) => assertClose(result.output(LAYERS_OUTPUT).data as Float32Array, denseForward(rows[r]!, 1)));
      const stats = (await client.modelStatistics('dense_layers'))[0]!;
      const inferences = stats.inference_count - before.inference_count;
      const executions = stats.execution_count - before.execution_count;
      assert.equal(inferences, 6);
      // 300 ms of queue delay: requests sent together share executions (all six in one on an idle machine).
      assert.ok(executions < inferences, `6 requests ran in ${executions} executions`);
    } finally {
      await client.close();
    }
  });

  test('a missing weight shard, a config input the model lacks and an unmet convert_to_onnx=require leave only those models UNAVAILABLE, with a reason', async () => {
    const client = createClient({ url: server.url });
    try {
      await waitFor(async () => (await client.repositoryIndex()).every((m) => m.state === 'READY' || m.state === 'UNAVAILABLE'), 60_000, 'every model to settle');
      const index = new Map((await client.repositoryIndex()).map((m) => [m.name, m]));
      assert.equal(index.get('dense_layers')?.state, 'READY');
      assert.equal(index.get('dense_graph')?.state, 'READY');
      assert.equal(index.get('missing_shard')?.state, 'UNAVAILABLE');
      assert.match(index.get('missing_shard')?.reason ?? '', /weight shard 1\/weights\.bin \(named by 1\/model\.json\) not found/);
      assert.equal(index.get('wrong_signature')?.state, 'UNAVAILABLE');
      assert.match(index.get('wrong_signature')?.reason ?? '', /pixels/);
      assert.equal(index.get('onnx_required')?.state, 'UNAVAILABLE');
      assert.match(index.get('onnx_required')?.reason ?? '', /convert_to_onnx is "require" but the model cannot run on ONNX Runtime: .*Atan/);
      // No server path leaks into the reasons.
      for (const name of ['missing_shard', 'wrong_signature', 'onnx_required']) assert.doesNotMatch(index.get(name)?.reason ?? '', new RegExp(root.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')));
      const answer = await fetch(`${server.url}/v2/models/missing_shard/infer`, {
        method: 'POST',
        body: JSON.stringify({ inputs: [{ name: LAYERS_INPUT, datatype: 'FP32', shape: [1, 4], data: [1, 2, 3, 4] }] }),
      });
      assert.ok(answer.status >= 400);
      assert.match(((await answer.json()) as { error: string }).error, /missing_shard/);
    } finally {
      await client.close();
    }
  });
});
