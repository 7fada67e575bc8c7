/**
 * `cranberries/client`: a typed Open Inference Protocol client for Cranberries, Triton and any other
 * OIP server. `createClient` picks the transport from the URL: `http(s)://` speaks REST (binary
 * tensor extension by default), `grpc(s)://` speaks gRPC. Tensors go in and come out as TypedArrays.
 *
 * ```ts
 * const client = createClient({ url: 'http://localhost:8000' });
 * const result = await client.infer('digits', [{ name: 'image', datatype: 'FP32', shape: [1, 1, 8, 8], data: pixels }]);
 * console.log(result.output('probabilities').data);
 * await client.close();
 * ```
 */
import type { ClientTlsOptions } from '../tls/index.js';
import type { InferenceClient } from './inference-client.js';
import { GrpcClient } from './grpc-client.js';
import { RestClient } from './rest-client.js';

export interface ClientOptions {
  /** `http://host:8000`, `https://...`, `grpc://host:8001` or `grpcs://...`. */
  readonly url: string;
  /** Default deadline of every call, in milliseconds (none by default). */
  readonly timeoutMs?: number | undefined;
  /** Headers (REST) or metadata (gRPC) sent with every call. */
  readonly headers?: Readonly<Record<string, string>> | undefined;
  /** REST: connections kept open to the server (default 8). */
  readonly connections?: number | undefined;
  /** gRPC: largest message sent or received (default 2 GiB - 1). */
  readonly maxMessageBytes?: number | undefined;
  /** `https://` and `grpcs://`: the CA to trust (default: the system's roots) and a client certificate for mutual TLS. */
  readonly tls?: ClientTlsOptions | undefined;
}

export function createClient(options: ClientOptions): InferenceClient {
  const scheme = /^([a-z]+):\/\//i.exec(options.url)?.[1]?.toLowerCase();
  if (scheme === 'http' || scheme === 'https') return new RestClient(options);
  if (scheme === 'grpc' || scheme === 'grpcs') return new GrpcClient(options);
  throw new TypeError(`unsupported URL '${options.url}': use http://host:port (REST) or grpc://host:port (gRPC)`);
}

export type * from './client-types.js';
export type * from './inference-client.js';
export { InferResult } from './infer-result.js';
export { InferenceServerError, STATUS_NAMES, type StatusName } from './inference-server-error.js';
export { bytesToStrings } from './tensor-data.js';
export { RestClient, type RestClientOptions } from './rest-client.js';
export { GrpcClient, type GrpcClientOptions } from './grpc-client.js';
export { parseNpy, encodeNpy, type NpyArray } from './npy.js';
export type { ClientTlsOptions } from '../tls/index.js';
export { tensorFromNested, castTensorData, nestedShape } from './nested-arrays.js';
export { jsonWithBigInts } from './rest-codec.js';
