/**
 * Test support (not used in production): a TF Serving gRPC client built from the project's protos
 * with grpc-js' generic unary calls, the way generated stubs call the services, and a helper that
 * reads the status of a failed call.
 */
import * as grpc from '@grpc/grpc-js';
import { serviceDefinition, tfServingPackageDefinition } from '../grpc/proto-loader.js';
import { MODEL_SERVICE_NAME, PREDICTION_SERVICE_NAME } from './tfs-grpc-service.js';

export class TfsGrpcClient {
  private readonly client: grpc.Client;

  constructor(address: string, channelOptions: grpc.ChannelOptions = {}) {
    this.client = new grpc.Client(address, grpc.credentials.createInsecure(), { 'grpc.max_receive_message_length': -1, ...channelOptions });
  }

  /** Calls `rpc` of PredictionService or ModelService (found by name), with `metadata` if given. */
  call<Res = Record<string, unknown>>(rpc: string, request: object, options: grpc.CallOptions = {}, metadata: Readonly<Record<string, string>> = {}): Promise<Res> {
    const definitions = tfServingPackageDefinition();
    const method = serviceDefinition(definitions, PREDICTION_SERVICE_NAME)[rpc] ?? serviceDefinition(definitions, MODEL_SERVICE_NAME)[rpc];
    if (!method) return Promise.reject(new Error(`no TF Serving RPC ${rpc}`));
    return new Promise<Res>((resolve, reject) => {
      const sent = new grpc.Metadata();
      for (const [key, value] of Object.entries(metadata)) sent.set(key, value);
      this.client.makeUnaryRequest(method.path, method.requestSerialize, method.responseDeserialize, request, sent, options, (error, value) => (error ? reject(error) : resolve(value as Res)));
    });
  }

  close(): void {
    this.client.close();
  }
}

/** The gRPC status of a call that must fail. */
export async function grpcFailure(promise: Promise<unknown>): Promise<{ code: grpc.status; details: string }> {
  try {
    await promise;
  } catch (error) {
    const { code, details } = error as grpc.ServiceError;
    return { code, details };
  }
  throw new Error('the call succeeded; a failure was expected');
}
