/**
 * `InferenceClient` over OIP REST (the KServe v2 / Triton REST API), on an undici `Pool` that keeps
 * connections alive between calls. Inference uses the binary tensor extension by default (like
 * `tritonclient.http`), plain JSON on request. Every non-200 answer becomes an
 * `InferenceServerError` with the server's `{"error": ...}` message and the HTTP status.
 */
import { Readable } from 'node:stream';
import { Pool } from 'undici';
import { clientConnectionOptions, type ClientTlsOptions } from '../tls/index.js';
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
import type { InferResult } from './infer-result.js';
import { InferenceServerError, malformedResponse, statusNameOfHttp } from './inference-server-error.js';
import { decodeRestInferResponse, encodeRestInferRequest, parseJsonObject } from './rest-codec.js';
import { loadParameters, modelVersion, parseModelMetadata, parseIndexEntries, parseServerMetadata, parseStatistics, withDeadline } from './shared-calls.js';

export interface RestClientOptions {
  /** `http://host:port` (or `https://`), optionally with a path prefix. */
  readonly url: string;
  /** Default deadline of every call, in milliseconds (none by default). */
  readonly timeoutMs?: number | undefined;
  /** Connections kept open to the server (default 8). */
  readonly connections?: number | undefined;
  /** Headers sent with every call. */
  readonly headers?: Readonly<Record<string, string>> | undefined;
  /** `https://` only: the CA to trust (default: the system's roots) and a client certificate for mutual TLS. */
  readonly tls?: ClientTlsOptions | undefined;
}

interface Answer {
  readonly status: number;
  readonly headers: Record<string, string | string[] | undefined>;
  readonly body: Uint8Array;
}

/** Bodies up to this size are joined into one buffer; larger ones stream their chunks uncopied. */
const JOIN_LIMIT = 1 << 20;

export class RestClient implements InferenceClient {
  readonly transport = 'rest';
  readonly url: string;
  private readonly pool: Pool;
  private readonly prefix: string;
  private readonly timeoutMs: number | undefined;
  private readonly headers: Readonly<Record<string, string>>;

  constructor(options: RestClientOptions) {
    const url = new URL(options.url);
    if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new TypeError(`REST URL must be http:// or https://, got ${options.url}`);
    this.url = options.url;
    this.prefix = url.pathname.replace(/\/+$/, '');
    this.timeoutMs = options.timeoutMs;
    this.headers = options.headers ?? {};
    if (options.tls && url.protocol !== 'https:') throw new TypeError(`TLS options need an https:// URL, got ${options.url}`);
    const connect = options.tls ? { connect: clientConnectionOptions(options.tls) } : {};
    this.pool = new Pool(url.origin, { connections: options.connections ?? 8, keepAliveTimeout: 30_000, ...connect });
  }

  async serverLive(options?: CallOptions): Promise<boolean> {
    return (await this.call('GET', '/v2/health/live', undefined, options)).status === 200;
  }

  async serverReady(options?: CallOptions): Promise<boolean> {
    return (await this.call('GET', '/v2/health/ready', undefined, options)).status === 200;
  }

  async serverMetadata(options?: CallOptions): Promise<ServerMetadata> {
    return parseServerMetadata(await this.callJson('GET', '/v2', undefined, options));
  }

  async modelReady(model: string, options?: ModelCallOptions): Promise<boolean> {
    return (await this.call('GET', `${modelPath(model, options)}/ready`, undefined, options)).status === 200;
  }

  async modelMetadata(model: string, options?: ModelCallOptions): Promise<ModelMetadata> {
    return parseModelMetadata(await this.callJson('GET', modelPath(model, options), undefined, options));
  }

  async modelConfig(model: string, options?: ModelCallOptions): Promise<ModelConfigJson> {
    return this.callJson('GET', `${modelPath(model, options)}/config`, undefined, options);
  }

  async infer(model: string, inputs: readonly InputTensor[], options: InferOptions = {}): Promise<InferResult> {
    const request = encodeRestInferRequest(inputs, options);
    const headers: Record<string, string> = { 'content-type': request.jsonLength === undefined ? 'application/json' : 'application/octet-stream' };
    if (request.jsonLength !== undefined) headers['inference-header-content-length'] = String(request.jsonLength);
    const answer = await this.send('POST', `${modelPath(model, options)}/infer`, request.chunks, request.byteLength, options, headers);
    if (answer.status !== 200) throw httpError(answer);
    const header = answer.headers['inference-header-content-length'];
    const headerLength = typeof header === 'string' ? Number(header) : undefined;
    return decodeRestInferResponse(answer.body, headerLength);
  }

  async repositoryIndex(options: RepositoryIndexOptions = {}): Promise<ModelIndexEntry[]> {
    const body = options.ready === undefined ? '' : JSON.stringify({ ready: options.ready });
    const answer = await this.expectOk('POST', '/v2/repository/index', body, options);
    let json: unknown;
    try {
      json = JSON.parse(Buffer.from(answer.body.buffer, answer.body.byteOffset, answer.body.byteLength).toString('utf8'));
    } catch (error) {
      throw malformedResponse('the repository index is not JSON', error);
    }
    return parseIndexEntries(json);
  }

  async loadModel(model: string, options: LoadModelOptions = {}): Promise<void> {
    const parameters: Record<string, string> = {};
    for (const [key, value] of Object.entries(loadParameters(model, options))) {
      parameters[key] = typeof value === 'string' ? value : Buffer.from(value.buffer, value.byteOffset, value.byteLength).toString('base64');
    }
    const body = Object.keys(parameters).length > 0 ? JSON.stringify({ parameters }) : '';
    await this.expectOk('POST', `/v2/repository/models/${encodeModel(model)}/load`, body, options);
  }

  async unloadModel(model: string, options: UnloadModelOptions = {}): Promise<void> {
    const body = JSON.stringify({ parameters: { unload_dependents: options.unloadDependents ?? false } });
    await this.expectOk('POST', `/v2/repository/models/${encodeModel(model)}/unload`, body, options);
  }

  async modelStatistics(model?: string, options?: ModelCallOptions): Promise<ModelStatistics[]> {
    const path = model === undefined ? '/v2/models/stats' : `${modelPath(model, options)}/stats`;
    return parseStatistics(await this.callJson('GET', path, undefined, options));
  }

  async close(): Promise<void> {
    await this.pool.close();
  }

  private async callJson(method: 'GET' | 'POST', path: string, body: string | undefined, options: CallOptions | undefined): Promise<Record<string, unknown>> {
    return parseJsonObject((await this.expectOk(method, path, body, options)).body);
  }

  private async expectOk(method: 'GET' | 'POST', path: string, body: string | undefined, options: CallOptions | undefined): Promise<Answer> {
    const answer = await this.call(method, path, body, options);
    if (answer.status !== 200) throw httpError(answer);
    return answer;
  }

  private call(method: 'GET' | 'POST', path: string, body: string | undefined, options: CallOptions | undefined): Promise<Answer> {
    const chunks = body === undefined ? [] : [Buffer.from(body, 'utf8')];
    const headers: Record<string, string> = body === undefined ? {} : { 'content-type': 'application/json' };
    return this.send(method, path, chunks, chunks[0]?.byteLength ?? 0, options, headers);
  }

  private async send(method: 'GET' | 'POST', path: string, chunks: readonly Uint8Array[], byteLength: number, options: CallOptions | undefined, headers: Record<string, string>): Promise<Answer> {
    const allHeaders = { ...this.headers, ...options?.headers, ...headers };
    let body: Uint8Array | Readable | undefined;
    if (method === 'POST') {
      allHeaders['content-length'] = String(byteLength);
      if (chunks.length === 1) body = chunks[0];
      else if (byteLength <= JOIN_LIMIT) body = Buffer.concat(chunks);
      else body = Readable.from(chunks, { objectMode: false });
    }
    return withDeadline(options?.timeoutMs ?? this.timeoutMs, options?.signal, `${method} ${this.url}${path}`, async (signal) => {
      const response = await this.pool.request({ path: this.prefix + path, method, headers: allHeaders, body: body ?? null, signal });
      const data = new Uint8Array(await response.body.arrayBuffer());
      return { status: response.statusCode, headers: response.headers, body: data };
    });
  }
}

function encodeModel(model: string): string {
  if (typeof model !== 'string' || model === '') throw new InferenceServerError('INVALID_ARGUMENT', 'the model name is empty');
  return encodeURIComponent(model);
}

function modelPath(model: string, options: ModelCallOptions | undefined): string {
  const version = modelVersion(options?.version);
  return version === '' ? `/v2/models/${encodeModel(model)}` : `/v2/models/${encodeModel(model)}/versions/${version}`;
}

/** The server's `{"error": ...}` message with its HTTP status; any other body is quoted as text. */
function httpError(answer: Answer): InferenceServerError {
  const text = Buffer.from(answer.body.buffer, answer.body.byteOffset, answer.body.byteLength).toString('utf8');
  let message = text.trim() === '' ? `HTTP ${answer.status}` : text.slice(0, 500);
  try {
    const json = JSON.parse(text) as unknown;
    if (typeof json === 'object' && json !== null && typeof (json as { error?: unknown }).error === 'string') {
      message = (json as { error: string }).error;
    }
  } catch {
    // not JSON: keep the text
  }
  return new InferenceServerError(statusNameOfHttp(answer.status), message, { httpStatus: answer.status });
}
