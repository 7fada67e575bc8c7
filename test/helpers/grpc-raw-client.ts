/**
 * gRPC test clients for decoder tests: the OIP inference service called with message objects (as
 * generated stubs do) or with arbitrary bytes as the request message (what a fuzzer or a broken
 * client sends), and the status of a call.
 */
import * as grpc from '@grpc/grpc-js';
import { oipPackageDefinition, serviceDefinition, tfServingPackageDefinition } from '../../src/protocols/grpc/proto-loader.js';

export interface CallOutcome<Res> {
  readonly code: grpc.status;
  readonly details: string;
  readonly value?: Res | undefined;
}

const identity = (bytes: Buffer): Buffer => bytes;

export class DecoderTestClient {
  private readonly client: grpc.Client;

  constructor(address: string) {
    this.client = new grpc.Client(address, grpc.credentials.createInsecure(), { 'grpc.max_receive_message_length': -1, 'grpc.max_send_message_length': -1 });
  }

  /** Calls `service`/`rpc` (e.g. `inference.GRPCInferenceService`, `ModelInfer`) with a message object. */
  call<Res = Record<string, unknown>>(service: string, rpc: string, request: object, deadlineMs = 20_000): Promise<CallOutcome<Res>> {
    const method = methodOf(service, rpc);
    return this.unary(method.path, method.requestSerialize, method.responseDeserialize as (bytes: Buffer) => Res, request, deadlineMs);
  }

  /** Calls `service`/`rpc` with `bytes` as the serialized request message. */
  callRaw(service: string, rpc: string, bytes: Uint8Array, deadlineMs = 20_000): Promise<CallOutcome<unknown>> {
    const method = methodOf(service, rpc);
    return this.unary(method.path, identity, method.responseDeserialize, Buffer.from(bytes), deadlineMs);
  }

  private unary<Req, Res>(path: string, serialize: (value: Req) => Buffer, deserialize: (bytes: Buffer) => Res, request: Req, deadlineMs: number): Promise<CallOutcome<Res>> {
    return new Promise((resolve) => {
      this.client.makeUnaryRequest(path, serialize, deserialize, request, new grpc.Metadata(), { deadline: Date.now() + deadlineMs }, (error, value) => {
        if (error) resolve({ code: error.code, details: error.details });
        else resolve({ code: grpc.status.OK, details: '', value });
      });
    });
  }

  close(): void {
    this.client.close();
  }
}

function methodOf(service: string, rpc: string): grpc.MethodDefinition<unknown, unknown> {
  const definitions = service.startsWith('tensorflow.') ? tfServingPackageDefinition() : oipPackageDefinition();
  const method = serviceDefinition(definitions, service)[rpc];
  if (!method) throw new Error(`no RPC ${service}/${rpc}`);
  return method;
}

export const OIP_SERVICE = 'inference.GRPCInferenceService';
export const TFS_PREDICTION_SERVICE = 'tensorflow.serving.PredictionService';
