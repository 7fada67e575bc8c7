/**
 * `InferenceClient` over OIP gRPC (`inference.GRPCInferenceService`, grpc_service.proto)
 * with @grpc/grpc-js. One channel per client, opened on first use and reused by every call. Inputs
 * go out as `raw_input_contents`; a failed call becomes an `InferenceServerError` carrying the gRPC
 * status code and the server's details.
 */
import * as grpc from '@grpc/grpc-js';
import { grpcChannelCredentials, type ClientTlsOptions } from '../tls/index.js';
import type {
  CallOptions,
  InferOptions,
  InputTensor,
  LoadModelOptions,
  ModelCallOptions,
  ModelConfigJson,
  ModelIndexEntry,
  ModelMetadata,
  ModelStatistics,
  RepositoryIndexOptions,
  ServerMetadata,
  UnloadModelOptions,
} from './client-types.js';
import type { InferenceClient } from './inference-client.js';
import { decodeGrpcInferResponse, encodeGrpcInferRequest, type GrpcInferRequest, type GrpcInferResponse } from './grpc-codec.js';
import { CONFIG_JSON, oipMethod, type RpcMethod } from './grpc-protos.js';
import type { InferResult } from './infer-result.js';
import { InferenceServerError, clientArgumentError, statusNameOfGrpc } from './inference-server-error.js';
import { loadParameters, modelVersion, parseIndexEntries, parseModelMetadata, parseServerMetadata, parseStatistics } from './shared-calls.js';

export interface GrpcClientOptions {
  /** `grpc://host:port` (plaintext) or `grpcs://host:port` (TLS; trusting the system's roots unless `tls.ca` says otherwise). */
  readonly url: string;
  /** Default deadline of every call, in milliseconds (none by default). */
  readonly timeoutMs?: number | undefined;
  /** Largest message sent or received (default 2 GiB - 1, like `tritonclient`). */
  readonly maxMessageBytes?: number | undefined;
  /** Metadata sent with every call. */
  readonly headers?: Readonly<Record<string, string>> | undefined;
  /** `grpcs://` only: the CA to trust (default: the system's roots) and a client certificate for mutual TLS. */
  readonly tls?: ClientTlsOptions | undefined;
}

type Empty = Record<string, never>;
interface ModelRef {
  name: string;
  version: string;
}
interface RepositoryParameter {
  bool_param?: boolean;
  string_param?: string;
  bytes_param?: Uint8Array;
}
interface RepositoryModelRequest {
  repository_name: string;
  model_name: string;
  parameters: Record<string, RepositoryParameter>;
}

/** The RPCs the client calls, built once per process on first use. */
function methods() {
  return {
    ServerLive: oipMethod<Empty, { live: boolean }>('ServerLive', 'ServerLiveRequest', 'ServerLiveResponse'),
    ServerReady: oipMethod<Empty, { ready: boolean }>('ServerReady', 'ServerReadyRequest', 'ServerReadyResponse'),
    ModelReady: oipMethod<ModelRef, { ready: boolean }>('ModelReady', 'ModelReadyRequest', 'ModelReadyResponse'),
    ServerMetadata: oipMethod<Empty, unknown>('ServerMetadata', 'ServerMetadataRequest', 'ServerMetadataResponse'),
    ModelMetadata: oipMethod<ModelRef, unknown>('ModelMetadata', 'ModelMetadataRequest', 'ModelMetadataResponse'),
    ModelConfig: oipMethod<ModelRef, { config: Record<string, unknown> | null }>('ModelConfig', 'ModelConfigRequest', 'ModelConfigResponse', CONFIG_JSON),
    ModelInfer: oipMethod<GrpcInferRequest, GrpcInferResponse>('ModelInfer', 'ModelInferRequest', 'ModelInferResponse'),
    ModelStatistics: oipMethod<ModelRef, unknown>('ModelStatistics', 'ModelStatisticsRequest', 'ModelStatisticsResponse'),
    RepositoryIndex: oipMethod<{ repository_name: string; ready: boolean }, { models: unknown[] }>('RepositoryIndex', 'RepositoryIndexRequest', 'RepositoryIndexResponse'),
    RepositoryModelLoad: oipMethod<RepositoryModelRequest, Empty>('RepositoryModelLoad', 'RepositoryModelLoadRequest', 'RepositoryModelLoadResponse'),
    RepositoryModelUnload: oipMethod<RepositoryModelRequest, Empty>('RepositoryModelUnload', 'RepositoryModelUnloadRequest', 'RepositoryModelUnloadResponse'),
  };
}
let rpcs: ReturnType<typeof methods> | undefined;

const MAX_MESSAGE = 2 ** 31 - 1;

/** Removes the `null`s protobufjs sets for unset sub-messages, as the JSON form leaves them out. */
function withoutNulls(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(withoutNulls);
  if (typeof value !== 'object' || value === null || value instanceof Uint8Array) return value;
  const out: Record<string, unknown> = {};
  for (const [key, field] of Object.entries(value)) if (field !== null) out[key] = withoutNulls(field);
  return out;
}

export class GrpcClient implements InferenceClient {
  readonly transport = 'grpc';
  readonly url: string;
  private readonly client: grpc.Client;
  private readonly timeoutMs: number | undefined;
  private readonly headers: Readonly<Record<string, string>>;
  private readonly rpc = (rpcs ??= methods());

  constructor(options: GrpcClientOptions) {
    const url = new URL(options.url);
    if (url.protocol !== 'grpc:' && url.protocol !== 'grpcs:') throw new TypeError(`gRPC URL must be grpc:// or grpcs://, got ${options.url}`);
    this.url = options.url;
    this.timeoutMs = options.timeoutMs;
    this.headers = options.headers ?? {};
    if (options.tls && url.protocol !== 'grpcs:') throw new TypeError(`TLS options need a grpcs:// URL, got ${options.url}`);
    const credentials = url.protocol === 'grpcs:' ? grpcChannelCredentials(options.tls ?? {}) : grpc.credentials.createInsecure();
    const maxMessage = options.maxMessageBytes ?? MAX_MESSAGE;
    this.client = new grpc.Client(`${url.hostname}:${url.port || '8001'}`, credentials, {
      'grpc.max_receive_message_length': maxMessage,
      'grpc.max_send_message_length': maxMessage,
    });
  }

  async serverLive(options?: CallOptions): Promise<boolean> {
    return (await this.unary(this.rpc.ServerLive, {}, options)).live;
  }

  async serverReady(options?: CallOptions): Promise<boolean> {
    return (await this.unary(this.rpc.ServerReady, {}, options)).ready;
  }

  async serverMetadata(options?: CallOptions): Promise<ServerMetadata> {
    return parseServerMetadata(await this.unary(this.rpc.ServerMetadata, {}, options));
  }

  async modelReady(model: string, options?: ModelCallOptions): Promise<boolean> {
    return (await this.unary(this.rpc.ModelReady, modelRef(model, options), options)).ready;
  }

  async modelMetadata(model: string, options?: ModelCallOptions): Promise<ModelMetadata> {
    return parseModelMetadata(await this.unary(this.rpc.ModelMetadata, modelRef(model, options), options));
  }

  async modelConfig(model: string, options?: ModelCallOptions): Promise<ModelConfigJson> {
    const response = await this.unary(this.rpc.ModelConfig, modelRef(model, options), options);
    return withoutNulls(response.config ?? {}) as ModelConfigJson;
  }

  async infer(model: string, inputs: readonly InputTensor[], options: InferOptions = {}): Promise<InferResult> {
    const ref = modelRef(model, options);
    const request = encodeGrpcInferRequest(ref.name, ref.version, inputs, options);
    return decodeGrpcInferResponse(await this.unary(this.rpc.ModelInfer, request, options));
  }

  async repositoryIndex(options: RepositoryIndexOptions = {}): Promise<ModelIndexEntry[]> {
    const response = await this.unary(this.rpc.RepositoryIndex, { repository_name: '', ready: options.ready ?? false }, options);
    return parseIndexEntries(response.models);
  }

  async loadModel(model: string, options: LoadModelOptions = {}): Promise<void> {
    const parameters: Record<string, RepositoryParameter> = {};
    for (const [key, value] of Object.entries(loadParameters(model, options))) {
      parameters[key] = typeof value === 'string' ? { string_param: value } : { bytes_param: value };
    }
    await this.unary(this.rpc.RepositoryModelLoad, { repository_name: '', model_name: modelRef(model, undefined).name, parameters }, options);
  }

  async unloadModel(model: string, options: UnloadModelOptions = {}): Promise<void> {
    const parameters = { unload_dependents: { bool_param: options.unloadDependents ?? false } };
    await this.unary(this.rpc.RepositoryModelUnload, { repository_name: '', model_name: modelRef(model, undefined).name, parameters }, options);
  }

  async modelStatistics(model?: string, options?: ModelCallOptions): Promise<ModelStatistics[]> {
    const ref = model === undefined ? { name: '', version: '' } : modelRef(model, options);
    return parseStatistics(await this.unary(this.rpc.ModelStatistics, ref, options));
  }

  close(): Promise<void> {
    this.client.close();
    return Promise.resolve();
  }

  private unary<Req, Res>(method: RpcMethod<Req, Res>, request: Req, options: CallOptions | undefined): Promise<Res> {
    const metadata = new grpc.Metadata();
    for (const [key, value] of Object.entries({ ...this.headers, ...options?.headers })) metadata.set(key, value);
    const timeoutMs = options?.timeoutMs ?? this.timeoutMs;
    const callOptions: grpc.CallOptions = timeoutMs === undefined ? {} : { deadline: Date.now() + timeoutMs };
    const signal = options?.signal;
    return new Promise<Res>((resolve, reject) => {
      if (signal?.aborted) {
        reject(new InferenceServerError('CANCELLED', `${method.path}: cancelled by the caller`));
        return;
      }
      const onAbort = (): void => call.cancel();
      const call = this.client.makeUnaryRequest(method.path, method.serialize, method.deserialize, request, metadata, callOptions, (error, response) => {
        signal?.removeEventListener('abort', onAbort);
        if (error) reject(grpcError(error, method.path));
        else if (response === undefined) reject(new InferenceServerError('INTERNAL', `${method.path}: empty response`));
        else resolve(response);
      });
      signal?.addEventListener('abort', onAbort, { once: true });
    });
  }
}

function modelRef(model: string, options: ModelCallOptions | undefined): ModelRef {
  if (typeof model !== 'string' || model === '') throw clientArgumentError('the model name is empty');
  return { name: model, version: modelVersion(options?.version) };
}

function grpcError(error: grpc.ServiceError, path: string): InferenceServerError {
  const code = typeof error.code === 'number' ? error.code : grpc.status.UNKNOWN;
  const details = error.details || error.message || `${path} failed`;
  return new InferenceServerError(statusNameOfGrpc(code), details, { grpcCode: code, cause: error });
}
