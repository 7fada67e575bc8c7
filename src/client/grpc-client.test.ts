/**
 * The gRPC transport against a scripted `inference.GRPCInferenceService`: status codes and details
 * reach the caller, deadlines and aborts end calls, metadata is sent.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import * as grpc from '@grpc/grpc-js';
import { oipPackageDefinition, serviceDefinition } from '../protocols/grpc/proto-loader.js';
import { GrpcClient } from './grpc-client.js';
import { InferenceServerError } from './inference-server-error.js';

let server: grpc.Server;
let url: string;
const metadataSeen: grpc.Metadata[] = [];
const pending: grpc.sendUnaryData<unknown>[] = [];

before(async () => {
  server = new grpc.Server();
  const implementation: grpc.UntypedServiceImplementation = {
    ServerLive: (call: grpc.ServerUnaryCall<unknown, unknown>, callback: grpc.sendUnaryData<unknown>) => {
      metadataSeen.push(call.metadata);
      callback(null, { live: true });
    },
    ModelMetadata: (call: grpc.ServerUnaryCall<{ name: string }, unknown>, callback: grpc.sendUnaryData<unknown>) => {
      callback({ code: grpc.status.NOT_FOUND, details: `Request for unknown model: '${call.request.name}' is not found` });
    },
    // Never answers by itself: deadlines and cancellation end these calls.
    ModelInfer: (_call: grpc.ServerUnaryCall<unknown, unknown>, callback: grpc.sendUnaryData<unknown>) => {
      pending.push(callback);
    },
  };
  server.addService(serviceDefinition(oipPackageDefinition(), 'inference.GRPCInferenceService'), implementation);
  const port = await new Promise<number>((resolve, reject) => server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (error, bound) => (error ? reject(error) : resolve(bound))));
  url = `grpc://127.0.0.1:${port}`;
});

after(() => {
  server.forceShutdown();
});

const isError = (code: string, grpcCode: number, message: RegExp) => (e: unknown) =>
  e instanceof InferenceServerError && e.code === code && e.grpcCode === grpcCode && e.httpStatus === undefined && message.test(e.message);

const input = { name: 'x', datatype: 'FP32', shape: [1], data: Float32Array.of(1) } as const;

test('status codes and details reach the caller; metadata is sent', async () => {
  const client = new GrpcClient({ url, headers: { 'x-client': 'a' } });
  try {
    assert.equal(await client.serverLive({ headers: { 'x-call': 'b' } }), true);
    assert.deepEqual(metadataSeen.at(-1)!.get('x-client'), ['a']);
    assert.deepEqual(metadataSeen.at(-1)!.get('x-call'), ['b']);
    await assert.rejects(client.modelMetadata('nope'), isError('NOT_FOUND', 5, /^Request for unknown model: 'nope' is not found$/));
    await assert.rejects(client.modelConfig('x'), isError('UNIMPLEMENTED', 12, /./), 'an RPC the server does not serve');
  } finally {
    await client.close();
  }
});

test('deadlines and caller aborts end a call that gets no answer', async () => {
  const client = new GrpcClient({ url });
  try {
    await assert.rejects(client.infer('m', [input], { timeoutMs: 100 }), isError('DEADLINE_EXCEEDED', 4, /./));
    const controller = new AbortController();
    setTimeout(() => controller.abort(), 50);
    await assert.rejects(client.infer('m', [input], { signal: controller.signal }), isError('CANCELLED', 1, /./));
    await assert.rejects(client.infer('m', [input], { signal: AbortSignal.abort() }), (e: unknown) => e instanceof InferenceServerError && e.code === 'CANCELLED');
    assert.equal(await client.serverLive(), true, 'the channel still works');
  } finally {
    await client.close();
  }
});

test('a refused connection is UNAVAILABLE; bad URLs and arguments are refused before sending', async () => {
  const client = new GrpcClient({ url: 'grpc://127.0.0.1:1', timeoutMs: 5_000 });
  try {
    await assert.rejects(client.serverLive(), isError('UNAVAILABLE', 14, /ECONNREFUSED/));
    await assert.rejects(client.modelReady('m', { version: 'latest' }), (e: unknown) => e instanceof InferenceServerError && e.code === 'INVALID_ARGUMENT' && e.grpcCode === undefined);
  } finally {
    await client.close();
  }
  assert.throws(() => new GrpcClient({ url: 'http://x:1' }), TypeError);
});
