/**
 * The gateway in front of real model servers (in this process, on loopback) with the embedded
 * coordination store: what a client gets through the gateway is byte for byte what it gets from a
 * worker (REST JSON, REST binary, compressed, gRPC unary and streaming, TF Serving-style paths),
 * the aggregated APIs answer for the cluster, and a worker that stops is routed around.
 *
 * The real-process, real-ZooKeeper scenarios are in the other cluster-gateway-*.test.ts files.
 */
import assert from 'node:assert/strict';
import { gzipSync } from 'node:zlib';
import { after, before, describe, it } from 'node:test';
import * as grpc from '@grpc/grpc-js';
import { clusterPaths, encodeJson, type NodeStatus } from '../../src/cluster/layout.js';
import { MemoryStore, MemoryStoreServer } from '../../src/cluster/store/memory-store.js';
import { CranberriesError } from '../../src/core/errors.js';
import { createLogger, type LogLevel } from '../../src/core/logger.js';
import { GatewayServer, type GatewayPorts } from '../../src/composition/index.js';
import { addSubModel, createTempModelRepository, type TempModelRepository } from '../fixtures/onnx-models.js';
import { startTestServer, waitFor, type TestServer } from '../helpers/test-server.js';

const paths = clusterPaths();
const identity = (b: Buffer): Buffer => b;
const logLevel = (process.env['TEST_LOG_LEVEL'] as LogLevel | undefined) ?? 'silent';

interface Raw {
  status: number;
  headers: Record<string, string>;
  body: Buffer;
}

/** Headers that legitimately differ between two answers (connection, time). */
const VOLATILE = new Set(['date', 'connection', 'keep-alive', 'transfer-encoding']);

async function post(url: string, path: string, body: Buffer, headers: Record<string, string> = {}): Promise<Raw> {
  const response = await fetch(url + path, { method: 'POST', body, headers: { 'x-request-id': 'fixed-id', ...headers } });
  const out: Record<string, string> = {};
  response.headers.forEach((value, name) => {
    if (!VOLATILE.has(name)) out[name] = value;
  });
  return { status: response.status, headers: out, body: Buffer.from(await response.arrayBuffer()) };
}

function jsonRequest(values: number[], extra: Record<string, unknown> = {}): Buffer {
  return Buffer.from(
    JSON.stringify({
      id: 'abc',
      inputs: [
        { name: 'INPUT0', datatype: 'FP32', shape: [1, 4], data: values },
        { name: 'INPUT1', datatype: 'FP32', shape: [1, 4], data: [1, 1, 1, 1] },
      ],
      ...extra,
    }),
  );
}

function binaryRequest(values: number[]): { body: Buffer; headers: Record<string, string> } {
  const json = Buffer.from(
    JSON.stringify({
      inputs: [
        { name: 'INPUT0', datatype: 'FP32', shape: [1, 4], parameters: { binary_data_size: 16 } },
        { name: 'INPUT1', datatype: 'FP32', shape: [1, 4], parameters: { binary_data_size: 16 } },
      ],
      outputs: [{ name: 'OUTPUT0', parameters: { binary_data: true } }, { name: 'OUTPUT1' }],
    }),
  );
  const tail = Buffer.concat([Buffer.from(new Float32Array(values).buffer), Buffer.from(new Float32Array([0.5, 0.5, 0.5, 0.5]).buffer)]);
  return { body: Buffer.concat([json, tail]), headers: { 'inference-header-content-length': String(json.length) } };
}

function setStatus(store: MemoryStore, id: string, status: NodeStatus): Promise<number> {
  return store.set(paths.nodeStatus(id), encodeJson(status));
}

describe('gateway relaying to in-process workers', () => {
  let repo: TempModelRepository;
  const workers: TestServer[] = [];
  const workerStores: MemoryStore[] = [];
  let storeServer: MemoryStoreServer;
  let gateway: GatewayServer;
  let ports: GatewayPorts;
  let gatewayUrl: string;
  const ready: NodeStatus = { models: { add_sub: { versions: { '1': { state: 'READY' } } } } };

  before(async () => {
    repo = await createTempModelRepository({ add_sub: { versions: { 1: addSubModel('FP32', [4]) }, config: 'max_batch_size: 8\n' } });
    storeServer = new MemoryStoreServer();
    const admin = new MemoryStore(storeServer);
    await admin.start();
    await admin.ensurePath(paths.models);
    await admin.create(paths.model('add_sub'), encodeJson({ name: 'add_sub', replicas: 2, memoryBytes: 0, memoryMeasured: false }), 'persistent');
    for (const id of ['w1', 'w2']) {
      const worker = await startTestServer({ modelRepository: repo.root });
      workers.push(worker);
      // Register as `cranberries worker` does: ephemeral node and status in the worker's session.
      const store = new MemoryStore(storeServer);
      await store.start();
      workerStores.push(store);
      const node = { id, httpAddress: `127.0.0.1:${worker.ports.http}`, grpcAddress: `127.0.0.1:${worker.ports.grpc}`, memoryCapacityBytes: 1 << 30, labels: {}, startedAt: Date.now() };
      await store.ensurePath(paths.nodes);
      await store.ensurePath(paths.status);
      await store.create(paths.node(id), encodeJson(node), 'ephemeral');
      await store.create(paths.nodeStatus(id), encodeJson(ready), 'ephemeral');
    }
    gateway = new GatewayServer({
      store: new MemoryStore(storeServer),
      host: '127.0.0.1',
      httpPort: 0,
      grpcPort: 0,
      metricsPort: 0,
      httpMaxBodyBytes: 64 << 20,
      grpcMaxMessageBytes: 64 << 20,
      logger: createLogger(logLevel),
      probeDelayMs: 50,
    });
    ports = await gateway.start();
    gatewayUrl = `http://127.0.0.1:${ports.http}`;
  });

  after(async () => {
    await gateway?.stop();
    await Promise.all(workers.map((w) => w.stop()));
    await Promise.all(workerStores.map((s) => s.stop()));
    await repo?.remove();
  });

  it('relays REST inference (JSON, binary, gzip request and response) byte for byte', async () => {
    const direct = workers[0]?.url ?? '';
    const cases: { path: string; body: Buffer; headers?: Record<string, string> }[] = [
      { path: '/v2/models/add_sub/infer', body: jsonRequest([1, 2, 3, 4]) },
      { path: '/v2/models/add_sub/versions/1/infer', body: jsonRequest([5, 6, 7, 8], { outputs: [{ name: 'OUTPUT1' }] }) },
      { path: '/v2/models/add_sub/infer', ...binaryRequest([1.5, -2, 3, 1e6]) },
      { path: '/v2/models/add_sub/infer', body: gzipSync(jsonRequest([9, 9, 9, 9])), headers: { 'content-encoding': 'gzip', 'accept-encoding': 'gzip' } },
      // Errors are relayed too: a bad input (400 in the worker's own wording).
      { path: '/v2/models/add_sub/infer', body: Buffer.from('{"inputs":[{"name":"INPUT0","datatype":"FP32","shape":[1,4],"data":[1]}]}') },
      // TF Serving REST: predict (columnar), and its own error style.
      { path: '/v1/models/add_sub:predict', body: Buffer.from('{"inputs":{"INPUT0":[[1,2,3,4]],"INPUT1":[[1,1,1,1]]}}') },
      { path: '/v1/models/add_sub/versions/1:predict', body: Buffer.from('{"instances":[{"INPUT0":[1,2,3,4],"INPUT1":[0,0,0,0]}]}') },
      { path: '/v1/models/add_sub:predict', body: Buffer.from('{"nothing":1}') },
    ];
    for (const { path, body, headers } of cases) {
      const [fromWorker, fromGateway] = [await post(direct, path, body, headers), await post(gatewayUrl, path, body, headers)];
      assert.equal(fromGateway.status, fromWorker.status, path);
      assert.deepEqual(fromGateway.headers, fromWorker.headers, path);
      assert.ok(fromGateway.body.equals(fromWorker.body), `${path}: ${fromGateway.body.toString()} vs ${fromWorker.body.toString()}`);
    }
    for (const path of ['/v1/models/add_sub', '/v1/models/add_sub/metadata', '/v1/models/nope']) {
      const headers = { 'x-request-id': 'get-id' };
      const [fromWorker, fromGateway] = await Promise.all([fetch(direct + path, { headers }), fetch(gatewayUrl + path, { headers })]);
      assert.equal(fromGateway.status, fromWorker.status, path);
      assert.equal(await fromGateway.text(), await fromWorker.text(), path);
    }
  });

  it("relays gRPC ModelInfer byte for byte and forwards the worker's error status", async () => {
    const definition = (await import('../../src/protocols/grpc/index.js')).serviceDefinition(
      (await import('../../src/protocols/grpc/index.js')).oipPackageDefinition(),
      'inference.GRPCInferenceService',
    );
    const infer = definition['ModelInfer'] as grpc.MethodDefinition<object, object>;
    const message = infer.requestSerialize({
      model_name: 'add_sub',
      id: 'g1',
      inputs: [
        { name: 'INPUT0', datatype: 'FP32', shape: [1, 4] },
        { name: 'INPUT1', datatype: 'FP32', shape: [1, 4] },
      ],
      raw_input_contents: [Buffer.from(new Float32Array([1, 2, 3, 4]).buffer), Buffer.from(new Float32Array([4, 3, 2, 1]).buffer)],
    });
    const call = (port: number, bytes: Buffer, requestId = 'grpc-id'): Promise<{ error: grpc.ServiceError | null; response: Buffer | undefined }> => {
      const client = new grpc.Client(`127.0.0.1:${port}`, grpc.credentials.createInsecure());
      const metadata = new grpc.Metadata();
      if (requestId) metadata.set('x-request-id', requestId);
      return new Promise((resolve) => {
        client.makeUnaryRequest('/inference.GRPCInferenceService/ModelInfer', identity, identity, bytes, metadata, (error, response) => {
          client.close();
          resolve({ error, response });
        });
      });
    };
    const direct = await call(workers[0]?.ports.grpc ?? 0, message);
    const relayed = await call(ports.grpc, message);
    assert.equal(direct.error, null);
    assert.equal(relayed.error, null);
    assert.ok(relayed.response?.equals(direct.response ?? Buffer.alloc(0)), 'identical response bytes');

    const wrongShape = infer.requestSerialize({ model_name: 'add_sub', inputs: [{ name: 'INPUT0', datatype: 'FP32', shape: [1, 4] }], raw_input_contents: [Buffer.alloc(4)] });
    const [directError, relayedError] = [await call(workers[0]?.ports.grpc ?? 0, wrongShape), await call(ports.grpc, wrongShape)];
    assert.equal(relayedError.error?.code, directError.error?.code);
    assert.equal(relayedError.error?.details, directError.error?.details);

    // Without a caller id the gateway makes one, forwards it and names it in errors.
    const generated = await call(ports.grpc, wrongShape, '');
    assert.match(generated.error?.details ?? '', /^input 'INPUT0': .* \(request id: [^)]+\)$/);
    const unknown = await call(ports.grpc, infer.requestSerialize({ model_name: 'nope' }), '');
    assert.equal(unknown.error?.code, grpc.status.NOT_FOUND);
    assert.match(unknown.error?.details ?? '', /^Request for unknown model: 'nope' is not found \(request id: [^)]+\)$/);
  });

  it('relays TF Serving gRPC Predict and GetModelStatus byte for byte', async () => {
    const grpcIndex = await import('../../src/protocols/grpc/index.js');
    const prediction = grpcIndex.serviceDefinition(grpcIndex.tfServingPackageDefinition(), 'tensorflow.serving.PredictionService');
    const predict = prediction['Predict'] as grpc.MethodDefinition<object, object>;
    const status = grpcIndex.serviceDefinition(grpcIndex.tfServingPackageDefinition(), 'tensorflow.serving.ModelService')['GetModelStatus'] as grpc.MethodDefinition<object, object>;
    const tensor = (values: number[]): object => ({ dtype: 'DT_FLOAT', tensor_shape: { dim: [{ size: 1 }, { size: 4 }] }, float_val: values });
    const calls: [string, Buffer][] = [
      ['/tensorflow.serving.PredictionService/Predict', predict.requestSerialize({ model_spec: { name: 'add_sub' }, inputs: { INPUT0: tensor([1, 2, 3, 4]), INPUT1: tensor([1, 1, 1, 1]) } })],
      ['/tensorflow.serving.PredictionService/Predict', predict.requestSerialize({ model_spec: { name: 'add_sub', version: { value: 1 } }, inputs: { INPUT0: tensor([1, 2, 3, 4]) } })],
      ['/tensorflow.serving.ModelService/GetModelStatus', status.requestSerialize({ model_spec: { name: 'add_sub' } })],
    ];
    const call = (port: number, path: string, bytes: Buffer): Promise<{ error: grpc.ServiceError | null; response: Buffer | undefined }> => {
      const client = new grpc.Client(`127.0.0.1:${port}`, grpc.credentials.createInsecure());
      const metadata = new grpc.Metadata();
      metadata.set('x-request-id', 'tf-id');
      return new Promise((resolve) => {
        client.makeUnaryRequest(path, identity, identity, bytes, metadata, (error, response) => {
          client.close();
          resolve({ error, response });
        });
      });
    };
    for (const [path, bytes] of calls) {
      const [direct, relayed] = [await call(workers[0]?.ports.grpc ?? 0, path, bytes), await call(ports.grpc, path, bytes)];
      assert.equal(relayed.error?.code, direct.error?.code, path);
      assert.equal(relayed.error?.details, direct.error?.details, path);
      if (!direct.error) assert.ok(relayed.response?.equals(direct.response ?? Buffer.alloc(0)), `${path}: identical bytes`);
    }
    const served = await call(workers[0]?.ports.grpc ?? 0, calls[0]![0], calls[0]![1]);
    assert.equal(served.error, null, 'the worker serves TF Serving Predict');
    // Through the gateway, a TF Serving client reads the typed list, as from TF Serving itself.
    const relayedPredict = await call(ports.grpc, calls[0]![0], calls[0]![1]);
    const answer = predict.responseDeserialize(relayedPredict.response ?? Buffer.alloc(0)) as { outputs: Record<string, { float_val: number[]; tensor_content: Buffer }> };
    assert.deepEqual(answer.outputs['OUTPUT0']?.float_val, [2, 3, 4, 5]);
    assert.equal(answer.outputs['OUTPUT0']?.tensor_content.length, 0);
  });

  it('--enable-serialization-as-tensor-content on the gateway: workers are asked for tensor_content, on the fast relay and the grpc-js one', async () => {
    const contentGateway = new GatewayServer({
      store: new MemoryStore(storeServer),
      host: '127.0.0.1',
      httpPort: 0,
      grpcPort: 0,
      metricsPort: 0,
      httpMaxBodyBytes: 64 << 20,
      grpcMaxMessageBytes: 64 << 20,
      logger: createLogger(logLevel),
      probeDelayMs: 50,
      enableSerializationAsTensorContent: true,
    });
    const contentPorts = await contentGateway.start();
    const { TfsGrpcClient } = await import('../../src/protocols/tfserving/tfs-test-client.js');
    // A gzip-compressed call is left to the gateway's grpc-js server, which relays it too.
    const clients = [new TfsGrpcClient(`127.0.0.1:${contentPorts.grpc}`), new TfsGrpcClient(`127.0.0.1:${contentPorts.grpc}`, { 'grpc.default_compression_algorithm': 2 })];
    const direct = new TfsGrpcClient(`127.0.0.1:${workers[0]?.ports.grpc ?? 0}`);
    type Reply = { outputs: Record<string, { float_val: number[]; tensor_content: Buffer }> };
    const tensor = (values: number[]): object => ({ dtype: 'DT_FLOAT', tensor_shape: { dim: [{ size: 1 }, { size: 4 }] }, float_val: values });
    const request = { model_spec: { name: 'add_sub' }, inputs: { INPUT0: tensor([1, 2, 3, 4]), INPUT1: tensor([1, 1, 1, 1]) } };
    try {
      await waitFor(
        async () => {
          try {
            await clients[0]!.call('Predict', request);
            return true;
          } catch {
            return false;
          }
        },
        10_000,
        'the second gateway to route',
      );
      for (const [i, client] of clients.entries()) {
        const answer = (await client.call<Reply>('Predict', request)).outputs['OUTPUT0']!;
        assert.deepEqual(answer.float_val, [], `client ${i}`);
        assert.deepEqual([...new Float32Array(new Uint8Array(answer.tensor_content).buffer)], [2, 3, 4, 5], `client ${i}`);
        // A client's own choice wins.
        const typed = (await client.call<Reply>('Predict', request, {}, { 'cranberries-tensor-serialization': 'proto_field' })).outputs['OUTPUT0']!;
        assert.deepEqual(typed.float_val, [2, 3, 4, 5], `client ${i}`);
      }
      // The workers themselves still answer in typed lists by default.
      assert.deepEqual((await direct.call<Reply>('Predict', request)).outputs['OUTPUT0']!.float_val, [2, 3, 4, 5]);
    } finally {
      for (const client of [...clients, direct]) client.close();
      await contentGateway.stop();
    }
  });

  it('relays ModelStreamInfer, answering each request on the stream, with the final-response flag', async () => {
    const grpcIndex = await import('../../src/protocols/grpc/index.js');
    const definition = grpcIndex.serviceDefinition(grpcIndex.oipPackageDefinition(), 'inference.GRPCInferenceService');
    const Client = grpc.makeGenericClientConstructor({ ModelStreamInfer: definition['ModelStreamInfer'] as grpc.MethodDefinition<object, object> }, 'S');
    const client = new Client(`127.0.0.1:${ports.grpc}`, grpc.credentials.createInsecure()) as unknown as {
      ModelStreamInfer(): grpc.ClientDuplexStream<
        object,
        { error_message: string; infer_response: { id: string; model_name: string; parameters: Record<string, { bool_param: boolean }>; raw_output_contents: Buffer[] } }
      >;
      close(): void;
    };
    const stream = client.ModelStreamInfer();
    const answers: { error_message: string; infer_response: { id: string; parameters: Record<string, { bool_param: boolean }>; raw_output_contents: Buffer[] } }[] = [];
    const done = new Promise<void>((resolve, reject) => {
      stream.on('data', (answer: (typeof answers)[number]) => answers.push(answer));
      stream.on('end', () => resolve());
      stream.on('error', reject);
    });
    const input = (id: string, v: number, extra: Record<string, unknown> = {}): object => ({
      model_name: 'add_sub',
      id,
      inputs: [
        { name: 'INPUT0', datatype: 'FP32', shape: [1, 4] },
        { name: 'INPUT1', datatype: 'FP32', shape: [1, 4] },
      ],
      raw_input_contents: [Buffer.from(new Float32Array([v, v, v, v]).buffer), Buffer.from(new Float32Array([1, 1, 1, 1]).buffer)],
      ...extra,
    });
    for (let i = 0; i < 6; i++) stream.write(input(`s${i}`, i));
    stream.write(input('final', 1, { parameters: { triton_enable_empty_final_response: { bool_param: true } } }));
    stream.write({ model_name: 'nope', id: 'bad' });
    stream.end();
    await done;
    client.close();
    assert.equal(answers.length, 8);
    for (let i = 0; i < 6; i++) {
      const answer = answers.find((a) => a.infer_response.id === `s${i}`);
      assert.equal(answer?.error_message, '');
      assert.deepEqual([...new Float32Array(new Uint8Array(answer?.infer_response.raw_output_contents[0] ?? []).buffer)], [i + 1, i + 1, i + 1, i + 1]);
    }
    assert.equal(answers.find((a) => a.infer_response.id === 'final')?.infer_response.parameters['triton_final_response']?.bool_param, true);
    assert.equal(answers.find((a) => a.infer_response.id === 's0')?.infer_response.parameters['triton_final_response'], undefined);
    assert.match(answers.find((a) => a.infer_response.id === 'bad')?.error_message ?? '', /unknown model: 'nope'/);
  });

  it("infers decoded requests through a worker (the façade path), with the worker's errors", async () => {
    const response = await gateway.service.infer({
      model: 'add_sub',
      id: 'decoded',
      inputs: [
        { name: 'INPUT0', datatype: 'FP32', shape: [1, 4], data: new Float32Array([1, 2, 3, 4]) },
        { name: 'INPUT1', datatype: 'FP32', shape: [1, 4], data: new Float32Array([1, 1, 1, 1]) },
      ],
      outputs: [{ name: 'OUTPUT1' }],
    });
    assert.equal(response.model, 'add_sub');
    assert.equal(response.version, 1);
    assert.equal(response.id, 'decoded');
    assert.deepEqual(
      response.outputs.map((t) => [t.name, t.datatype, t.shape, [...(t.data as Float32Array)]]),
      [['OUTPUT1', 'FP32', [1, 4], [0, 1, 2, 3]]],
    );
    await assert.rejects(
      gateway.service.infer({ model: 'add_sub', inputs: [{ name: 'INPUT0', datatype: 'FP32', shape: [1, 4], data: new Float32Array(4) }] }),
      (error: unknown) => error instanceof CranberriesError && error.code === 'INVALID_ARGUMENT',
    );
  });

  it('answers metadata, config, readiness, statistics and the repository index for the cluster', async () => {
    const get = async (path: string): Promise<{ status: number; json: unknown }> => {
      const response = await fetch(gatewayUrl + path);
      const text = await response.text();
      return { status: response.status, json: text === '' ? undefined : JSON.parse(text) };
    };
    const direct = async (path: string): Promise<unknown> => (await fetch((workers[0]?.url ?? '') + path)).json();
    assert.deepEqual((await get('/v2/models/add_sub')).json, await direct('/v2/models/add_sub'));
    assert.deepEqual((await get('/v2/models/add_sub/versions/1/config')).json, await direct('/v2/models/add_sub/versions/1/config'));
    // The workers' metadata, but for the trace extension: its settings are each worker's own.
    const workerMetadata = (await direct('/v2')) as { extensions: string[] };
    assert.ok(workerMetadata.extensions.includes('trace'));
    assert.deepEqual((await get('/v2')).json, { ...workerMetadata, extensions: workerMetadata.extensions.filter((e) => e !== 'trace') });
    assert.equal((await get('/v2/health/ready')).status, 200);
    assert.equal((await get('/v2/health/live')).status, 200);
    assert.equal((await get('/v2/models/add_sub/ready')).status, 200);
    assert.equal((await get('/v2/models/nope/ready')).status, 400);
    assert.equal((await get('/v2/models/nope')).status, 404);

    // Statistics: requests through the gateway spread over both workers; the merged count is their sum.
    const before = (await get('/v2/models/add_sub/stats')).json as { model_stats: { inference_count: number }[] };
    const n = 10;
    for (let i = 0; i < n; i++) assert.equal((await post(gatewayUrl, '/v2/models/add_sub/infer', jsonRequest([i, i, i, i]))).status, 200);
    const afterStats = (await get('/v2/models/add_sub/stats')).json as { model_stats: { inference_count: number; version: string }[] };
    assert.equal((afterStats.model_stats[0]?.inference_count ?? 0) - (before.model_stats[0]?.inference_count ?? 0), n);
    const perWorker = await Promise.all(
      workers.map(async (w) => ((await (await fetch(`${w.url}/v2/models/add_sub/stats`)).json()) as { model_stats: { inference_count: number }[] }).model_stats[0]?.inference_count ?? 0),
    );
    assert.equal(afterStats.model_stats[0]?.inference_count, perWorker[0]! + perWorker[1]!);
    assert.ok(
      perWorker.every((count) => count > 0),
      `both workers served requests: ${perWorker.join(', ')}`,
    );
    assert.equal((await get('/v2/models/nope/stats')).status, 404);

    const index = await fetch(`${gatewayUrl}/v2/repository/index`, { method: 'POST' });
    assert.deepEqual(await index.json(), [{ name: 'add_sub', version: '1', state: 'READY' }]);
  });

  it('turns repository unload/load into desired state (admin API) and waits for the workers to follow', async () => {
    const replicas = async (): Promise<number> => ((await (await fetch(`${gatewayUrl}/v2/cluster/models/add_sub`)).json()) as { replicas: number }).replicas;
    assert.equal(await replicas(), 2);
    const unloading = fetch(`${gatewayUrl}/v2/repository/models/add_sub/unload`, { method: 'POST' });
    await waitFor(async () => (await replicas()) === 0, 3000, 'replicas 0 in the desired state');
    // Act as the workers would once the controller unassigns the model.
    const unloaded: NodeStatus = { models: { add_sub: { versions: { '1': { state: 'UNAVAILABLE', reason: 'unloaded' } } } } };
    await Promise.all(workerStores.map((store, i) => setStatus(store, `w${i + 1}`, unloaded)));
    assert.equal((await unloading).status, 200);
    assert.equal((await fetch(`${gatewayUrl}/v2/models/add_sub/ready`)).status, 400);

    const loading = fetch(`${gatewayUrl}/v2/repository/models/add_sub/load`, { method: 'POST' });
    await waitFor(async () => (await replicas()) === 1, 3000, 'the default replica count in the desired state');
    await Promise.all(workerStores.map((store, i) => setStatus(store, `w${i + 1}`, ready)));
    assert.equal((await loading).status, 200);
    await fetch(`${gatewayUrl}/v2/cluster/models/add_sub/replicas`, { method: 'PUT', body: '{"replicas":2}', headers: { 'content-type': 'application/json' } });
    assert.equal(await replicas(), 2);
    assert.equal((await post(gatewayUrl, '/v2/models/add_sub/infer', jsonRequest([1, 2, 3, 4]))).status, 200);
  });

  it('routes around a worker that stops, with no failed request, and marks it down', async () => {
    const stopped = workers[1];
    assert.ok(stopped);
    await stopped.stop();
    // The store still lists it as READY (its session lives on): only the gateway's health check knows.
    const results: number[] = [];
    for (let i = 0; i < 30; i++) results.push((await post(gatewayUrl, '/v2/models/add_sub/infer', jsonRequest([i, 0, 0, 0]))).status);
    assert.deepEqual(new Set(results), new Set([200]));
    const metrics = await (await fetch(`http://127.0.0.1:${ports.metrics}/metrics`)).text();
    assert.match(metrics, /cranberries_gateway_worker_up\{node="w2"\} 0/);
    assert.match(metrics, /cranberries_gateway_worker_up\{node="w1"\} 1/);
    // Gone from the store too: the table drops it after the retention time; status changes are seen.
    await setStatus(workerStores[0]!, 'w1', { models: { add_sub: { versions: { '1': { state: 'UNLOADING' } } } } });
    await waitFor(async () => (await fetch(`${gatewayUrl}/v2/models/add_sub/ready`)).status === 400, 3000, 'the model to be unready');
    const refused = await post(gatewayUrl, '/v2/models/add_sub/infer', jsonRequest([1, 1, 1, 1]));
    assert.equal(refused.status, 503);
    assert.match((JSON.parse(refused.body.toString()) as { error: string }).error, /no reachable replica|not at ready state/);
    await setStatus(workerStores[0]!, 'w1', ready);
  });
});
