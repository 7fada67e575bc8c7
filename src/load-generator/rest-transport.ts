/**
 * Open Inference Protocol REST for the load generator, over an undici keep-alive pool with one
 * connection per concurrent caller (no pipelining), like perf_analyzer's HTTP client.
 *
 * `rest-json` sends tensors as JSON `data` arrays and reads JSON answers; `rest-binary` uses the
 * binary tensor extension both ways (`Inference-Header-Content-Length`, `binary_data_output`).
 * Answers are read to the last byte but not decoded: the generator measures the server.
 */
import { clientConnectionOptions, type ClientTlsOptions } from '../tls/index.js';
import { Pool } from 'undici';
import { binaryByteLength, encodeBinaryTensor, jsonDataText } from '../tensors/index.js';
import { parseStatistics, type StatisticsSnapshot } from './server-statistics.js';
import { tensorInfo, type BenchTransport, type InferTarget, type ModelInfo } from './transport.js';

export interface RestTransportOptions {
  /** `http://host:port` or `https://host:port` */
  readonly url: string;
  readonly binary: boolean;
  /** Connections to keep open: at least the number of concurrent callers. */
  readonly connections: number;
  /** https: the CA to trust and a client certificate for mutual TLS. */
  readonly tls?: ClientTlsOptions | undefined;
}

export interface PreparedHttpRequest {
  readonly path: string;
  readonly headers: Record<string, string>;
  readonly body: Buffer;
}

export class RestTransport implements BenchTransport {
  readonly protocol;
  private readonly pool: Pool;

  constructor(private readonly options: RestTransportOptions) {
    this.protocol = options.binary ? ('rest-binary' as const) : ('rest-json' as const);
    const connect = options.tls ? { connect: clientConnectionOptions(options.tls) } : {};
    this.pool = new Pool(new URL(options.url).origin, { connections: options.connections, pipelining: 1, keepAliveTimeout: 60_000, ...connect });
  }

  async metadata(model: string, version?: string): Promise<ModelInfo> {
    const base = modelPath(model, version);
    const metadata = (await this.getJson(base)) as { name: string; versions?: string[]; inputs: unknown[]; outputs: unknown[] };
    const config = (await this.getJson(`${base}/config`)) as { max_batch_size?: number };
    return {
      name: metadata.name,
      versions: metadata.versions ?? [],
      inputs: metadata.inputs.map(tensorInfo),
      outputs: metadata.outputs.map(tensorInfo),
      maxBatchSize: config.max_batch_size ?? 0,
    };
  }

  async statistics(model: string, version?: string): Promise<StatisticsSnapshot> {
    return parseStatistics(await this.getJson(`${modelPath(model, version)}/stats`));
  }

  prepare(target: InferTarget): () => Promise<void> {
    return this.sender(encodeRestRequest(target, this.options.binary));
  }

  /** A sender for any prepared request (also used against servers that only mimic the answers). */
  sender(request: PreparedHttpRequest): () => Promise<void> {
    const { path, headers, body } = request;
    return async () => {
      const answer = await this.pool.request({ path, method: 'POST', headers, body });
      if (answer.statusCode !== 200) {
        const text = await answer.body.text();
        throw new Error(`HTTP ${answer.statusCode}: ${text.slice(0, 200)}`);
      }
      // Read every byte, as a real client must, without copying it anywhere.
      for await (const chunk of answer.body) void chunk;
    };
  }

  payloadBytes(target: InferTarget): number {
    return target.inputs.reduce((n, t) => n + binaryByteLength(t.data), 0);
  }

  async close(): Promise<void> {
    await this.pool.close();
  }

  private async getJson(path: string): Promise<unknown> {
    const answer = await this.pool.request({ path, method: 'GET' });
    const text = await answer.body.text();
    if (answer.statusCode !== 200) throw new Error(`GET ${path}: HTTP ${answer.statusCode}: ${text.slice(0, 300)}`);
    return JSON.parse(text) as unknown;
  }
}

export function modelPath(model: string, version?: string): string {
  const name = encodeURIComponent(model);
  return version ? `/v2/models/${name}/versions/${encodeURIComponent(version)}` : `/v2/models/${name}`;
}

/** The HTTP request for an inference, JSON or with binary tensors, encoded once. */
export function encodeRestRequest(target: InferTarget, binary: boolean): PreparedHttpRequest {
  const path = `${modelPath(target.model, target.version)}/infer`;
  const outputs = target.outputs?.map((name) => (binary ? { name, parameters: { binary_data: true } } : { name }));
  if (!binary) {
    const inputs = target.inputs.map((t) => `{"name":${JSON.stringify(t.name)},"shape":${JSON.stringify(t.shape)},"datatype":"${t.datatype}","data":${jsonDataText(t.data, t.datatype, t.name)}}`);
    const text = `{"inputs":[${inputs.join(',')}]${outputs ? `,"outputs":${JSON.stringify(outputs)}` : ''}}`;
    return { path, headers: { 'content-type': 'application/json' }, body: Buffer.from(text) };
  }
  const tensors = target.inputs.map((t) => encodeBinaryTensor(t.data));
  const header = JSON.stringify({
    inputs: target.inputs.map((t, i) => ({ name: t.name, shape: t.shape, datatype: t.datatype, parameters: { binary_data_size: tensors[i]!.byteLength } })),
    ...(outputs ? { outputs } : {}),
    parameters: { binary_data_output: true },
  });
  const json = Buffer.from(header);
  return {
    path,
    headers: { 'content-type': 'application/octet-stream', 'inference-header-content-length': String(json.byteLength) },
    body: Buffer.concat([json, ...tensors]),
  };
}
