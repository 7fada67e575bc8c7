/**
 * Dynamic batching, queue policy and model instances, end to end: a real server on loopback
 * sockets with ONNX Runtime workers, driven over OIP REST (and gRPC for the status mapping), and
 * checked through the statistics API. Not timed: every assertion is about counts and contents.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import * as grpc from '@grpc/grpc-js';
import { oipPackageDefinition, serviceDefinition } from '../../src/protocols/grpc/proto-loader.js';
import { encodeModel, initializer, node, valueInfo } from '../fixtures/onnx-graph.js';
import { createTempModelRepository, mlpForward, mlpModel, type MlpOptions, type TempModelRepository } from '../fixtures/onnx-models.js';
import { infer, type InferResult } from '../helpers/oip-client.js';
import { startTestServer, waitFor, type TestServer } from '../helpers/test-server.js';

const MLP: MlpOptions = { inputSize: 6, hidden: [16], outputSize: 3, seed: 7 };
const MLP_V2: MlpOptions = { ...MLP, seed: 8 };
const SLOW_SIZE = 512;

/**
 * Like the fixtures' `slowModel` but with a batch dimension (dynamic batching needs one):
 * `x` FP32 [batch, S, S] → `repeats` chained MatMuls by a column-shift matrix → `y`.
 * At S = 512 one step costs ~1.5 ms on one thread, so 500 steps hold an instance for ~0.75 s.
 */
function slowBatchModel(size = SLOW_SIZE, repeats = 500): Uint8Array {
  const shift = new Float32Array(size * size);
  for (let k = 0; k < size; k++) shift[k * size + ((k + 1) % size)] = 1;
  const nodes = Array.from({ length: repeats }, (_, r) => node('MatMul', [r === 0 ? 'x' : `h${r}`, 'shift'], [r === repeats - 1 ? 'y' : `h${r + 1}`]));
  return encodeModel({
    name: 'slow_batch',
    inputs: [valueInfo('x', 'FP32', ['batch', size, size])],
    outputs: [valueInfo('y', 'FP32', ['batch', size, size])],
    nodes,
    initializers: [initializer('shift', 'FP32', [size, size], shift)],
  });
}

const ONE_THREAD = 'parameters { key: "intra_op_thread_count" value: { string_value: "1" } }\n';

interface Stats {
  inference_count: number;
  execution_count: number;
  inference_stats: Record<string, { count: number; ns: number }>;
  batch_stats: { batch_size: number }[];
}

async function stats(url: string, model: string, version?: number): Promise<Stats> {
  const path = version === undefined ? `/v2/models/${model}/stats` : `/v2/models/${model}/versions/${version}/stats`;
  const body = (await (await fetch(url + path)).json()) as { model_stats: Stats[] };
  assert.equal(body.model_stats.length, 1);
  return body.model_stats[0]!;
}

/** Distinct rows for request `r`: row i of request r is `[r*100 + i*10 + k for k in 0..size)]` / 100. */
function rowsOf(r: number, rows: number, size: number): Float32Array {
  const data = new Float32Array(rows * size);
  for (let i = 0; i < rows; i++) for (let k = 0; k < size; k++) data[i * size + k] = (r * 100 + i * 10 + k) / 100;
  return data;
}

function assertClose(actual: Float32Array, expected: Float32Array, what: string): void {
  assert.equal(actual.length, expected.length, `${what}: length`);
  for (let i = 0; i < actual.length; i++) {
    assert.ok(Math.abs(actual[i]! - expected[i]!) < 1e-4, `${what}: element ${i} is ${actual[i]}, expected ${expected[i]}`);
  }
}

function mlpRequest(url: string, model: string, data: Float32Array, rows: number, version?: number): Promise<InferResult> {
  return infer(url, model, [{ name: 'input', datatype: 'FP32', shape: [rows, MLP.inputSize], bytes: new Uint8Array(data.buffer) }], {
    binaryOutput: true,
    ...(version === undefined ? {} : { version: String(version) }),
  });
}

const outputOf = (result: InferResult): Float32Array => {
  assert.equal(result.status, 200, JSON.stringify(result.json));
  const bytes = result.binary.get('output')!;
  return new Float32Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength));
};

function slowRequest(url: string, model: string, parameters?: Record<string, unknown>): Promise<InferResult> {
  const bytes = new Uint8Array(SLOW_SIZE * SLOW_SIZE * 4);
  return infer(url, model, [{ name: 'x', datatype: 'FP32', shape: [1, SLOW_SIZE, SLOW_SIZE], bytes }], { binaryOutput: true, ...(parameters ? { parameters } : {}) });
}

/** Gives requests already sent time to reach the server (and its instance). */
const settle = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

let repo: TempModelRepository;
let server: TestServer;

before(async () => {
  repo = await createTempModelRepository({
    mlp: { versions: { 1: mlpModel(MLP) }, config: 'max_batch_size: 32\ndynamic_batching { max_queue_delay_microseconds: 200000 preferred_batch_size: [ 16 ] }\n' },
    mlp_nobatch: { versions: { 1: mlpModel(MLP) }, config: 'max_batch_size: 32\n' },
    versions: {
      versions: { 1: mlpModel(MLP), 2: mlpModel(MLP_V2) },
      config: 'max_batch_size: 32\nversion_policy: { all { } }\ndynamic_batching { max_queue_delay_microseconds: 200000 preferred_batch_size: [ 8 ] }\n',
    },
    slow_queue: { versions: { 1: slowBatchModel() }, config: `max_batch_size: 1\ndynamic_batching { default_queue_policy { max_queue_size: 2 } }\n${ONE_THREAD}` },
    slow_timeout: {
      versions: { 1: slowBatchModel() },
      config: `max_batch_size: 1\ndynamic_batching { default_queue_policy { default_timeout_microseconds: 100000 allow_timeout_override: true } }\n${ONE_THREAD}`,
    },
    slow_two: {
      versions: { 1: slowBatchModel() },
      config: `max_batch_size: 1\ninstance_group [ { count: 2 } ]\ndynamic_batching { default_queue_policy { max_queue_size: 1 } }\n${ONE_THREAD}`,
    },
  });
  server = await startTestServer({ modelRepository: repo.root });
});

after(async () => {
  await server?.stop();
  await repo?.remove();
});

describe('dynamic batching', () => {
  test('concurrent requests share executions and each caller gets its own rows back', async () => {
    const count = 16;
    const inputs = Array.from({ length: count }, (_, r) => rowsOf(r, 1, MLP.inputSize));
    const results = await Promise.all(inputs.map((data) => mlpRequest(server.url, 'mlp', data, 1)));
    results.forEach((result, r) => assertClose(outputOf(result), mlpForward(MLP, inputs[r]!, 1), `request ${r}`));
    const s = await stats(server.url, 'mlp');
    assert.equal(s.inference_count, count);
    assert.ok(s.execution_count < s.inference_count, `${s.execution_count} executions for ${s.inference_count} inferences`);
    assert.ok(
      s.batch_stats.some((b) => b.batch_size > 1),
      'some execution held more than one row',
    );
  });

  test('requests carrying several rows count by rows and get exactly their rows, in order', async () => {
    const before = await stats(server.url, 'mlp');
    const rows = [3, 1, 5, 2, 4, 1];
    const inputs = rows.map((n, r) => rowsOf(r + 20, n, MLP.inputSize));
    const results = await Promise.all(inputs.map((data, r) => mlpRequest(server.url, 'mlp', data, rows[r]!)));
    results.forEach((result, r) => {
      assert.deepEqual((result.json['outputs'] as { shape: number[] }[])[0]!.shape, [rows[r], MLP.outputSize]);
      assertClose(outputOf(result), mlpForward(MLP, inputs[r]!, rows[r]!), `request ${r}`);
    });
    const after = await stats(server.url, 'mlp');
    assert.equal(
      after.inference_count - before.inference_count,
      rows.reduce((a, b) => a + b, 0),
    );
    assert.ok(after.execution_count - before.execution_count < rows.length, 'the requests shared executions');
  });

  test('without dynamic_batching every request executes alone', async () => {
    const inputs = Array.from({ length: 8 }, (_, r) => rowsOf(r, 1, MLP.inputSize));
    const results = await Promise.all(inputs.map((data) => mlpRequest(server.url, 'mlp_nobatch', data, 1)));
    results.forEach((result, r) => assertClose(outputOf(result), mlpForward(MLP, inputs[r]!, 1), `request ${r}`));
    const s = await stats(server.url, 'mlp_nobatch');
    assert.equal(s.execution_count, 8);
    assert.equal(s.inference_count, 8);
  });

  test('versions never share a batch: each request is answered by the version it asked for', async () => {
    const inputs = Array.from({ length: 16 }, (_, r) => rowsOf(r, 1, MLP.inputSize));
    const results = await Promise.all(inputs.map((data, r) => mlpRequest(server.url, 'versions', data, 1, (r % 2) + 1)));
    results.forEach((result, r) => {
      const options = r % 2 === 0 ? MLP : MLP_V2;
      assert.equal(result.json['model_version'], String((r % 2) + 1));
      assertClose(outputOf(result), mlpForward(options, inputs[r]!, 1), `request ${r}`);
    });
    for (const version of [1, 2]) {
      const s = await stats(server.url, 'versions', version);
      assert.equal(s.inference_count, 8);
      assert.ok(s.execution_count < 8, `version ${version}: ${s.execution_count} executions`);
    }
  });
});

describe('queue policy', () => {
  test('a full queue rejects at once with 503 (gRPC UNAVAILABLE) while the instance is busy; queued requests still run', async () => {
    const grpcClient = await connectGrpc(server.ports.grpc);
    try {
      const running = slowRequest(server.url, 'slow_queue');
      await settle(150);
      let queuedDone = 0;
      const queued = [slowRequest(server.url, 'slow_queue'), slowRequest(server.url, 'slow_queue')].map((p) => p.finally(() => queuedDone++));
      await settle(100);
      const rejected = await slowRequest(server.url, 'slow_queue');
      assert.equal(rejected.status, 503, JSON.stringify(rejected.json));
      assert.match(String(rejected.json['error']), /max_queue_size/);
      assert.equal(await grpcClient.inferStatus('slow_queue'), grpc.status.UNAVAILABLE);
      // "At once": both answers came while the queue was still full, not after it moved.
      assert.equal(queuedDone, 0, 'the rejections came before any queued request was answered');
      for (const result of await Promise.all([running, ...queued])) assert.equal(result.status, 200);
      const s = await stats(server.url, 'slow_queue');
      assert.equal(s.execution_count, 3, 'the rejected requests never executed');
      assert.equal(s.inference_stats['fail']!.count, 2);
    } finally {
      grpcClient.close();
    }
  });

  test('a request that waits past its queue timeout gets 504 and never executes', async () => {
    const running = slowRequest(server.url, 'slow_timeout');
    await settle(150);
    const late = await slowRequest(server.url, 'slow_timeout');
    assert.equal(late.status, 504, JSON.stringify(late.json));
    // A shorter per-request timeout (allow_timeout_override) is honoured too.
    const shorter = await slowRequest(server.url, 'slow_timeout', { timeout: 20000 });
    assert.equal(shorter.status, 504);
    assert.equal((await running).status, 200);
    await waitFor(async () => (await stats(server.url, 'slow_timeout')).inference_stats['fail']!.count === 2, 5000, 'two failures');
    const s = await stats(server.url, 'slow_timeout');
    assert.equal(s.execution_count, 1, 'only the first request executed');
    assert.equal(s.inference_count, 1);
  });

  test('instance_group count 2 runs two executions at once: two requests execute while a third waits', async () => {
    // max_queue_size 1: with one instance the third request would be rejected; with two it queues.
    const executing = [slowRequest(server.url, 'slow_two'), slowRequest(server.url, 'slow_two')];
    await settle(150);
    const queued = slowRequest(server.url, 'slow_two');
    await settle(100);
    const rejected = await slowRequest(server.url, 'slow_two');
    assert.equal(rejected.status, 503, 'the fourth request finds the queue full');
    for (const result of await Promise.all([...executing, queued])) assert.equal(result.status, 200);
    assert.equal((await stats(server.url, 'slow_two')).execution_count, 3);
  });
});

/** A gRPC OIP client, connected, that sends slow-model requests and reports their status codes. */
async function connectGrpc(port: number): Promise<{ inferStatus(model: string): Promise<grpc.status>; close(): void }> {
  const Client = grpc.makeGenericClientConstructor(serviceDefinition(oipPackageDefinition(), 'inference.GRPCInferenceService'), 'GRPCInferenceService');
  const client = new Client(`127.0.0.1:${port}`, grpc.credentials.createInsecure());
  await new Promise<void>((resolve, reject) => client.waitForReady(Date.now() + 10_000, (error) => (error ? reject(error) : resolve())));
  const call = client as unknown as { ModelInfer(r: unknown, cb: (error: grpc.ServiceError | null) => void): void };
  return {
    inferStatus: (model) =>
      new Promise((resolve) => {
        const request = {
          model_name: model,
          inputs: [{ name: 'x', datatype: 'FP32', shape: [1, SLOW_SIZE, SLOW_SIZE] }],
          raw_input_contents: [Buffer.alloc(SLOW_SIZE * SLOW_SIZE * 4)],
        };
        call.ModelInfer(request, (error) => resolve(error ? error.code : grpc.status.OK));
      }),
    close: () => client.close(),
  };
}
