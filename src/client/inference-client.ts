/**
 * The client's one interface over two transports (REST and gRPC), in a file of its own: the types it
 * uses (`client-types.ts`) and the result class (`infer-result.ts`) then need not import each other.
 */
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
import type { InferResult } from './infer-result.js';

/** One interface, two transports: `createClient` picks REST or gRPC from the URL scheme. */
export interface InferenceClient {
  readonly transport: 'rest' | 'grpc';
  /** The URL the client was created with. */
  readonly url: string;

  serverLive(options?: CallOptions): Promise<boolean>;
  serverReady(options?: CallOptions): Promise<boolean>;
  serverMetadata(options?: CallOptions): Promise<ServerMetadata>;
  modelReady(model: string, options?: ModelCallOptions): Promise<boolean>;
  modelMetadata(model: string, options?: ModelCallOptions): Promise<ModelMetadata>;
  modelConfig(model: string, options?: ModelCallOptions): Promise<ModelConfigJson>;
  infer(model: string, inputs: readonly InputTensor[], options?: InferOptions): Promise<InferResult>;
  repositoryIndex(options?: RepositoryIndexOptions): Promise<ModelIndexEntry[]>;
  loadModel(model: string, options?: LoadModelOptions): Promise<void>;
  unloadModel(model: string, options?: UnloadModelOptions): Promise<void>;
  /** Statistics of one model (or one version of it); every model when `model` is omitted. */
  modelStatistics(model?: string, options?: ModelCallOptions): Promise<ModelStatistics[]>;
  /** Closes the connections; the client cannot be used afterwards. */
  close(): Promise<void>;
}
