/**
 * The load generator's lean gRPC client (raw node:http2, request serialized once) against a real
 * server: ModelInfer calls execute (the server's statistics count them), gRPC errors surface with
 * their status name and a bounded message, and an unreachable server fails the call.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type AddressInfo } from 'node:net';
import { addSubModel, createTempModelRepository, type TempModelRepository } from '../fixtures/onnx-models.js';
import { startTestServer, type TestServer } from '../helpers/test-server.js';
import { GrpcTransport } from '../../src/load-generator/grpc-transport.js';
import { RawGrpcUnary } from '../../src/load-generator/raw-grpc-unary.js';
import { buildInputs } from '../../src/load-generator/bench-inputs.js';
import { oipPackageDefinition, serviceDefinition } from '../../src/protocols/grpc/index.js';

const INFER_PATH = '/inference.GRPCInferenceService/ModelInfer';

let repo: TempModelRepository;
let server: TestServer;
let address: string;

before(async () => {
  repo = await createTempModelRepository({ simple: { versions: { 1: addSubModel('FP32', [4]) }, config: 'max_batch_size: 8\n' } });
  server = await startTestServer({ modelRepository: repo.root });
  address = `127.0.0.1:${server.ports.grpc}`;
});

after(async () => {
  await server?.stop();
  await repo?.remove();
});

const serializeInfer = (request: unknown): Buffer => serviceDefinition(oipPackageDefinition(), 'inference.GRPCInferenceService')['ModelInfer']!.requestSerialize(request);

const rejection = async (promise: Promise<unknown>): Promise<Error> => {
  try {
    await promise;
  } catch (error) {
    return error as Error;
  }
  assert.fail('the call succeeded');
};

describe('load generator gRPC client over raw HTTP/2', () => {
  test('ModelInfer calls run on the server: its statistics count every one', async () => {
    const transport = new GrpcTransport(address);
    try {
      const info = await transport.metadata('simple');
      const inputs = await buildInputs(info, { inputs: [], shapes: new Map(), batchSize: 1 });
      const send = transport.prepare({ model: 'simple', inputs });
      const before = await transport.statistics('simple');
      // 3 waves of 8 concurrent calls on the one shared session.
      for (let wave = 0; wave < 3; wave++) await Promise.all(Array.from({ length: 8 }, () => send()));
      const after = await transport.statistics('simple');
      assert.equal(after.inferenceCount - before.inferenceCount, 24);
    } finally {
      await transport.close();
    }
  });

  test('a gRPC error rejects with the status name and the server message', async () => {
    const caller = new RawGrpcUnary(address);
    try {
      const unknown = await rejection(caller.prepare(INFER_PATH, serializeInfer({ model_name: 'nope', inputs: [] }))());
      assert.match(unknown.message, /^gRPC NOT_FOUND: .*nope/);
      const badShape = serializeInfer({ model_name: 'simple', inputs: [{ name: 'INPUT0', datatype: 'FP32', shape: [1, 3] }], raw_input_contents: [Buffer.alloc(12)] });
      assert.match((await rejection(caller.prepare(INFER_PATH, badShape)())).message, /^gRPC INVALID_ARGUMENT: /);
      assert.match((await rejection(caller.prepare('/inference.GRPCInferenceService/NoSuchMethod', Buffer.alloc(0))())).message, /^gRPC UNIMPLEMENTED/);
    } finally {
      await caller.close();
    }
  });

  test('an unreachable server (closed loopback port) fails the call', async () => {
    const port = await new Promise<number>((resolve) => {
      const probe = createServer().listen(0, '127.0.0.1', () => {
        const { port: free } = probe.address() as AddressInfo;
        probe.close(() => resolve(free));
      });
    });
    const caller = new RawGrpcUnary(`127.0.0.1:${port}`);
    try {
      await rejection(caller.prepare(INFER_PATH, serializeInfer({ model_name: 'simple' }))());
    } finally {
      await caller.close();
    }
  });
});
