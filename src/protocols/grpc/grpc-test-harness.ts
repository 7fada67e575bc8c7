/**
 * Test support for the gRPC adapters (not used in production): a real grpc-js server + client
 * pair on 127.0.0.1:0 around any InferenceService (tests use `test/doubles/fake-inference-service.ts`),
 * the client built from the same protos through the generic `makeUnaryRequest` /
 * `makeBidiStreamRequest` calls.
 */
import * as grpc from '@grpc/grpc-js';
import type { InferenceService } from '../../serving/inference-service.js';
import { createGrpcServer } from './grpc-server.js';
import { OIP_SERVICE_NAME } from './oip-service.js';
import { oipPackageDefinition, serviceDefinition } from './proto-loader.js';

export interface TestServer {
  readonly server: grpc.Server;
  readonly client: grpc.Client;
  readonly address: string;
  unary<Res = Record<string, unknown>>(rpc: string, request: object, options?: grpc.CallOptions): Promise<Res>;
  stream<Req = object, Res = Record<string, unknown>>(rpc: string): grpc.ClientDuplexStream<Req, Res>;
  close(): Promise<void>;
}

export async function startTestServer(service: InferenceService, maxMessageBytes = 64 * 1024 * 1024): Promise<TestServer> {
  const server = createGrpcServer({ service, maxMessageBytes });
  const port = await new Promise<number>((resolve, reject) => {
    server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (error, bound) => (error ? reject(error) : resolve(bound)));
  });
  const address = `127.0.0.1:${port}`;
  // The client accepts anything so the limits under test are the server's.
  const client = new grpc.Client(address, grpc.credentials.createInsecure(), {
    'grpc.max_receive_message_length': -1,
    'grpc.max_send_message_length': -1,
  });
  const definitions = oipPackageDefinition();
  const method = (rpc: string): grpc.MethodDefinition<object, unknown> => {
    const service = rpc === 'Check' ? 'grpc.health.v1.Health' : OIP_SERVICE_NAME;
    const found = serviceDefinition(definitions, service)[rpc];
    if (!found) throw new Error(`no RPC ${rpc}`);
    return found as grpc.MethodDefinition<object, unknown>;
  };
  return {
    server,
    client,
    address,
    unary<Res>(rpc: string, request: object, options: grpc.CallOptions = {}): Promise<Res> {
      const m = method(rpc);
      return new Promise<Res>((resolve, reject) => {
        client.makeUnaryRequest(m.path, m.requestSerialize, m.responseDeserialize, request, new grpc.Metadata(), options, (error, value) => (error ? reject(error) : resolve(value as Res)));
      });
    },
    stream<Req, Res>(rpc: string): grpc.ClientDuplexStream<Req, Res> {
      const m = method(rpc) as unknown as grpc.MethodDefinition<Req, Res>;
      return client.makeBidiStreamRequest(m.path, m.requestSerialize, m.responseDeserialize);
    },
    async close(): Promise<void> {
      client.close();
      await new Promise<void>((resolve) => server.tryShutdown(() => resolve()));
    },
  };
}

/** The gRPC status code of a failed call. */
export async function statusOf(promise: Promise<unknown>): Promise<{ code: number; details: string }> {
  try {
    await promise;
  } catch (error) {
    const { code, details } = error as grpc.ServiceError;
    return { code, details };
  }
  throw new Error('the call succeeded, a failure was expected');
}
