/**
 * Test support for the gRPC adapters (not used in production): an in-memory InferenceService
 * double that records what reaches it, and a real grpc-js server + client pair on 127.0.0.1:0,
 * the client built from the same protos through the generic `makeUnaryRequest` /
 * `makeBidiStreamRequest` calls.
 */
import * as grpc from '@grpc/grpc-js';
import { notFound, unavailable } from '../../core/errors.js';
import type { ModelConfig } from '../../repository/model-config.js';
import type { InferenceRequest, InferenceResponse } from '../../serving/inference.js';
import type {
  InferenceService,
  LoadModelOptions,
  ModelIndexEntry,
  ModelMetadata,
  ModelStatistics,
  RequestContext,
  ServerMetadata,
} from '../../serving/inference-service.js';
import { createGrpcServer } from './grpc-server.js';
import { OIP_SERVICE_NAME } from './oip-service.js';
import { oipPackageDefinition, serviceDefinition } from './proto-loader.js';

export interface FakeModel {
  readonly metadata: ModelMetadata;
  readonly config: ModelConfig;
  ready: boolean;
}

export type InferHandler = (request: InferenceRequest, context: RequestContext | undefined) => Promise<InferenceResponse>;

/** Echoes every input back as an output of the same name, version 1 unless one was asked for. */
export const echoInfer = (request: InferenceRequest): Promise<InferenceResponse> =>
  Promise.resolve({ model: request.model, version: request.version ?? 1, id: request.id, outputs: request.inputs });

export class FakeInferenceService implements InferenceService {
  isLive = true;
  isReady = true;
  readonly models = new Map<string, FakeModel>();
  readonly inferRequests: InferenceRequest[] = [];
  readonly inferContexts: (RequestContext | undefined)[] = [];
  readonly loads: { model: string; options: LoadModelOptions | undefined }[] = [];
  readonly unloads: string[] = [];
  readonly readyCalls: { model: string; version: number | undefined }[] = [];
  index: readonly ModelIndexEntry[] = [];
  indexReadyOnly: boolean | undefined;
  statistics: readonly ModelStatistics[] = [];
  statisticsCalls: { model: string | undefined; version: number | undefined }[] = [];
  inferHandler: InferHandler = echoInfer;
  /** Thrown by every façade call that looks up a model, when set. */
  failure: Error | undefined;

  live(): boolean {
    return this.isLive;
  }

  ready(): boolean {
    return this.isReady;
  }

  serverMetadata(): ServerMetadata {
    return { name: 'cranberries', version: '0.1.0', extensions: ['classification', 'model_repository', 'statistics'] };
  }

  modelReady(model: string, version?: number): boolean {
    this.readyCalls.push({ model, version });
    return this.models.get(model)?.ready ?? false;
  }

  modelMetadata(model: string, version?: number): ModelMetadata {
    const metadata = this.lookup(model).metadata;
    return version === undefined ? metadata : { ...metadata, versions: [String(version)] };
  }

  modelConfig(model: string): ModelConfig {
    return this.lookup(model).config;
  }

  infer(request: InferenceRequest, context?: RequestContext): Promise<InferenceResponse> {
    this.inferRequests.push(request);
    this.inferContexts.push(context);
    if (this.failure) return Promise.reject(this.failure);
    if (!this.models.has(request.model)) return Promise.reject(notFound(`Request for unknown model: '${request.model}' is not found`));
    return this.inferHandler(request, context);
  }

  repositoryIndex(readyOnly: boolean): Promise<readonly ModelIndexEntry[]> {
    this.indexReadyOnly = readyOnly;
    return Promise.resolve(this.index);
  }

  loadModel(model: string, options?: LoadModelOptions): Promise<void> {
    this.loads.push({ model, options });
    return this.failure ? Promise.reject(this.failure) : Promise.resolve();
  }

  unloadModel(model: string): Promise<void> {
    this.unloads.push(model);
    return this.failure ? Promise.reject(this.failure) : Promise.resolve();
  }

  modelStatistics(model?: string, version?: number): readonly ModelStatistics[] {
    this.statisticsCalls.push({ model, version });
    if (model === undefined) return this.statistics;
    this.lookup(model);
    return this.statistics.filter((s) => s.name === model && (version === undefined || s.version === String(version)));
  }

  private lookup(model: string): FakeModel {
    if (this.failure) throw this.failure;
    const found = this.models.get(model);
    if (!found) throw notFound(`Request for unknown model: '${model}' is not found`);
    if (!found.ready) throw unavailable(`model '${model}' is not ready`);
    return found;
  }
}

/** A small but complete config in the façade's (protobuf JSON) shape. */
export function sampleConfig(name: string): ModelConfig {
  return {
    name,
    platform: 'onnxruntime_onnx',
    backend: 'onnxruntime',
    version_policy: { latest: { num_versions: 2 } },
    max_batch_size: 8,
    input: [{ name: 'x', data_type: 'TYPE_FP32', format: 'FORMAT_NONE', dims: [3], is_shape_tensor: false, allow_ragged_batch: false, optional: false }],
    output: [{ name: 'y', data_type: 'TYPE_FP32', dims: [3], label_filename: 'labels.txt', is_shape_tensor: false }],
    instance_group: [{ name: `${name}_0`, kind: 'KIND_CPU', count: 2, gpus: [] }],
    default_model_filename: 'model.onnx',
    dynamic_batching: {
      preferred_batch_size: [4, 8],
      max_queue_delay_microseconds: 200,
      preserve_ordering: false,
      priority_levels: 0,
      default_priority_level: 0,
    },
    parameters: { intra_op_thread_count: { string_value: '1' } },
    model_warmup: [],
  };
}

export function addModel(fake: FakeInferenceService, name: string, ready = true): void {
  fake.models.set(name, {
    ready,
    config: sampleConfig(name),
    metadata: {
      name,
      versions: ['1', '2'],
      platform: 'onnxruntime_onnx',
      inputs: [{ name: 'x', datatype: 'FP32', shape: [-1, 3] }],
      outputs: [{ name: 'y', datatype: 'FP32', shape: [-1, 3] }],
    },
  });
}

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
        client.makeUnaryRequest(m.path, m.requestSerialize, m.responseDeserialize, request, new grpc.Metadata(), options, (error, value) =>
          error ? reject(error) : resolve(value as Res),
        );
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
