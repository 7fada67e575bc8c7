/**
 * Sequence affinity through the gateway: two real model servers (in this process, on loopback,
 * registered in the embedded coordination store) serve Triton's example sequence models; many
 * sequences run at once through the gateway over REST, gRPC and the gRPC stream. The accumulator
 * keeps its running sum in one worker's implicit state, so a request routed to the other replica
 * would be refused (no START there) or answer a wrong sum: every answer being right proves that
 * every request of a sequence reached the same worker, while the sequences spread over both.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import { clusterPaths, encodeJson, type NodeStatus } from '../../src/cluster/layout.js';
import { MemoryStore, MemoryStoreServer } from '../../src/cluster/store/memory-store.js';
import { createLogger, type LogLevel } from '../../src/core/logger.js';
import { PACKAGE_ROOT } from '../../src/core/version.js';
import { createClient, InferenceServerError, type InferenceClient } from '../../src/client/index.js';
import { GatewayServer, type GatewayPorts } from '../../src/composition/index.js';
import { createTempModelRepository, type TempModelRepository } from '../fixtures/onnx-models.js';
import { expectedOutputs, sequenceModels } from '../fixtures/sequence-models.js';
import { startTestServer, waitFor, type TestServer } from '../helpers/test-server.js';

const paths = clusterPaths();
const logLevel = (process.env['TEST_LOG_LEVEL'] as LogLevel | undefined) ?? 'silent';
const MODELS = ['simple_sequence', 'simple_dyna_sequence', 'simple_string_dyna_sequence'];
const ACCUMULATOR = 'simple_string_dyna_sequence';

interface StreamAnswer {
  error_message: string;
  infer_response: { id: string; raw_output_contents: Buffer[] } | null;
}

describe('gateway: every request of a sequence goes to one replica', () => {
  let repo: TempModelRepository;
  const workers: TestServer[] = [];
  const workerStores: MemoryStore[] = [];
  let storeServer: MemoryStoreServer;
  let gateway: GatewayServer;
  let ports: GatewayPorts;
  let rest: InferenceClient;
  let grpcClient: InferenceClient;
  const ready: NodeStatus = { models: Object.fromEntries(MODELS.map((m) => [m, { versions: { '1': { state: 'READY' as const } } }])) };

  before(async () => {
    repo = await createTempModelRepository(sequenceModels());
    storeServer = new MemoryStoreServer();
    const admin = new MemoryStore(storeServer);
    await admin.start();
    await admin.ensurePath(paths.models);
    for (const name of MODELS) await admin.create(paths.model(name), encodeJson({ name, replicas: 2, memoryBytes: 0, memoryMeasured: false }), 'persistent');
    for (const id of ['w1', 'w2']) {
      const worker = await startTestServer({ modelRepository: repo.root });
      workers.push(worker);
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
    rest = createClient({ url: `http://127.0.0.1:${ports.http}` });
    grpcClient = createClient({ url: `grpc://127.0.0.1:${ports.grpc}` });
    await waitFor(async () => (await rest.modelReady(ACCUMULATOR).catch(() => false)) === true, 10_000, 'the gateway to route the accumulator');
  });

  after(async () => {
    await rest?.close();
    await grpcClient?.close();
    await gateway?.stop();
    await Promise.all(workers.map((w) => w.stop()));
    await Promise.all(workerStores.map((s) => s.stop()));
    await repo?.remove();
  });

  async function send(client: InferenceClient, model: string, value: number, id: number | string, start: boolean, end: boolean): Promise<number> {
    const result = await client.infer(model, [{ name: 'INPUT', datatype: 'INT32', shape: [1, 1], data: Int32Array.of(value) }], {
      parameters: { sequence_id: id, sequence_start: start, sequence_end: end },
    });
    return Number((result.output('OUTPUT').data as Int32Array)[0]);
  }

  /** Requests the accumulator served on each worker (read from the workers themselves). */
  async function servedPerWorker(): Promise<number[]> {
    return Promise.all(
      workers.map(async (w) => {
        const client = createClient({ url: w.url });
        try {
          return (await client.modelStatistics(ACCUMULATOR))[0]!.inference_count;
        } finally {
          await client.close();
        }
      }),
    );
  }

  it('16 concurrent sequences over REST and gRPC (int-like string ids) keep their running sums, spread over both workers', async () => {
    const before = await servedPerWorker();
    await Promise.all(
      Array.from({ length: 16 }, async (_, s) => {
        const id = String(2000 + s);
        const values = Array.from({ length: 6 }, (_, i) => s + i * 3 + 1);
        const client = s % 2 === 0 ? rest : grpcClient;
        const results: number[] = [];
        for (let i = 0; i < values.length; i++) results.push(await send(client, ACCUMULATOR, values[i]!, id, i === 0, i === values.length - 1));
        assert.deepEqual(results, expectedOutputs('string_dyna', values, 2000 + s), `sequence ${id}`);
      }),
    );
    const served = (await servedPerWorker()).map((n, i) => n - before[i]!);
    assert.equal(served[0]! + served[1]!, 96);
    assert.ok(served[0]! > 0 && served[1]! > 0, `sequences spread over both workers: ${served.join(' / ')}`);
  });

  it('integer ids on the dyna model; the same sequences interleaved on one gRPC stream through the gateway', async () => {
    const values = [0, 11, 7, 5, 3, 2, 0, 1];
    await Promise.all([1000, 1001, 1002, 1003].map(async (id) => assert.deepEqual(await syncSequence(rest, 'simple_dyna_sequence', values, id), expectedOutputs('dyna', values, id))));

    const definition = protoLoader.loadSync(join(PACKAGE_ROOT, 'proto/grpc_service.proto'), {
      keepCase: true,
      longs: String,
      enums: String,
      defaults: true,
      oneofs: true,
      includeDirs: [join(PACKAGE_ROOT, 'proto')],
    });
    const loaded = grpc.loadPackageDefinition(definition) as unknown as { inference: { GRPCInferenceService: grpc.ServiceClientConstructor } };
    const client = new loaded.inference.GRPCInferenceService(`127.0.0.1:${ports.grpc}`, grpc.credentials.createInsecure()) as unknown as grpc.Client & {
      ModelStreamInfer(): grpc.ClientDuplexStream<object, StreamAnswer>;
    };
    try {
      const stream = client.ModelStreamInfer();
      const ids = Array.from({ length: 8 }, (_, s) => String(3000 + s));
      const results = new Map(ids.map((id) => [id, [] as number[]]));
      const total = ids.length * values.length;
      const done = new Promise<void>((resolve, reject) => {
        let received = 0;
        const timer = setTimeout(() => reject(new Error(`only ${received} of ${total} answers`)), 30_000);
        stream.on('data', (response: StreamAnswer) => {
          if (response.error_message) {
            clearTimeout(timer);
            reject(new Error(response.error_message));
            return;
          }
          const id = response.infer_response!.id;
          results.get(id.slice(0, id.lastIndexOf('_')))!.push(response.infer_response!.raw_output_contents[0]!.readInt32LE(0));
          if (++received === total) {
            clearTimeout(timer);
            resolve();
          }
        });
        stream.on('error', reject);
      });
      // Interleaved: request i of every sequence before request i + 1 of any, written without waiting.
      values.forEach((value, i) => {
        for (const id of ids) {
          stream.write({
            model_name: ACCUMULATOR,
            id: `${id}_${i + 1}`,
            inputs: [{ name: 'INPUT', datatype: 'INT32', shape: [1, 1] }],
            parameters: { sequence_id: { string_param: id }, sequence_start: { bool_param: i === 0 }, sequence_end: { bool_param: i === values.length - 1 } },
            raw_input_contents: [Buffer.from(Int32Array.of(value).buffer)],
          });
        }
      });
      await done;
      stream.end();
      for (const id of ids) assert.deepEqual(results.get(id), expectedOutputs('string_dyna', values, Number(id)), id);
    } finally {
      client.close();
    }
  });

  it('a worker that leaves takes its sequences with it; new sequences go to the other one', async () => {
    // Find a live sequence on w2 (ids hash over both workers).
    const before = await servedPerWorker();
    let onW2: string | undefined;
    for (let s = 0; s < 40 && onW2 === undefined; s++) {
      const id = String(6000 + s); // the accumulator casts its string CORRID to a number
      await send(rest, ACCUMULATOR, 1, id, true, false);
      const now = await servedPerWorker();
      if (now[1]! > before[1]!) onW2 = id;
      before.splice(0, 2, ...now);
    }
    assert.ok(onW2, 'some sequence hashed to w2');
    await workerStores[1]!.stop(); // w2's session ends: its ephemeral nodes go, the gateway drops it
    await waitFor(async () => (await servedAfterDrop(onW2)) !== 'routed-to-w2', 10_000, 'the gateway to drop w2');
    const error = await send(rest, ACCUMULATOR, 1, onW2, false, false).then(
      () => undefined,
      (e: unknown) => e,
    );
    assert.ok(error instanceof InferenceServerError && /must specify the START flag/.test(error.message), `the sequence is not live on w1: ${String(error)}`);
    assert.deepEqual(await syncSequence(grpcClient, ACCUMULATOR, [4, 5, 6], '4242'), [4, 9, 15 + 4242]);
  });

  async function servedAfterDrop(id: string): Promise<string> {
    const counts = await servedPerWorker();
    try {
      await send(rest, ACCUMULATOR, 0, id, false, false);
    } catch {
      return 'refused';
    }
    return (await servedPerWorker())[1]! > counts[1]! ? 'routed-to-w2' : 'routed-to-w1';
  }
});

async function syncSequence(client: InferenceClient, model: string, values: readonly number[], id: number | string): Promise<number[]> {
  const results: number[] = [];
  for (let i = 0; i < values.length; i++) {
    const result = await client.infer(model, [{ name: 'INPUT', datatype: 'INT32', shape: [1, 1], data: Int32Array.of(values[i]!) }], {
      parameters: { sequence_id: id, sequence_start: i === 0, sequence_end: i === values.length - 1 },
    });
    results.push(Number((result.output('OUTPUT').data as Int32Array)[0]));
  }
  return results;
}
