/**
 * Open Inference Protocol gRPC for the load generator: one grpc-js channel (HTTP/2 multiplexes the
 * concurrent calls), tensors as `raw_input_contents`, protos from the server's own proto loader.
 */
import * as grpc from '@grpc/grpc-js';
import { grpcChannelCredentials, type ClientTlsOptions } from '../tls/index.js';
import { oipPackageDefinition, serviceDefinition } from '../protocols/grpc/index.js';
import { binaryByteLength, encodeBinaryTensor } from '../tensors/index.js';
import { parseStatistics, type StatisticsSnapshot } from './server-statistics.js';
import { tensorInfo, type BenchTransport, type InferTarget, type ModelInfo } from './transport.js';
import { RawGrpcUnary } from './raw-grpc-unary.js';

type Callback = (error: grpc.ServiceError | null, response?: unknown) => void;
type Unary = (request: unknown, callback: Callback) => void;

interface OipClient extends grpc.Client {
  ModelInfer: Unary;
  ModelMetadata: Unary;
  ModelConfig: Unary;
  ModelStatistics: Unary;
}

export class GrpcTransport implements BenchTransport {
  readonly protocol = 'grpc' as const;
  private readonly client: OipClient;
  /** The lean caller for ModelInfer over h2c; undefined for TLS targets (grpc-js then serves every call). */
  private readonly raw: RawGrpcUnary | undefined;
  private readonly serializeInfer: (request: unknown) => Buffer;

  /** `address` is `host:port` (a leading `http://` or `grpc://` is ignored; `grpcs://` or `tls` means TLS). */
  constructor(address: string, tls?: ClientTlsOptions) {
    const service = serviceDefinition(oipPackageDefinition(), 'inference.GRPCInferenceService');
    const Client = grpc.makeGenericClientConstructor(service, 'GRPCInferenceService');
    this.serializeInfer = service['ModelInfer']!.requestSerialize;
    const target = address.replace(/^[a-z]+:\/\//, '').replace(/\/$/, '');
    const secure = tls !== undefined || address.startsWith('grpcs://') || address.startsWith('https://');
    this.client = new Client(target, secure ? grpcChannelCredentials(tls ?? {}) : grpc.credentials.createInsecure(), {
      'grpc.max_receive_message_length': -1,
      'grpc.max_send_message_length': -1,
    }) as unknown as OipClient;
    this.raw = secure ? undefined : new RawGrpcUnary(target);
  }

  async metadata(model: string, version?: string): Promise<ModelInfo> {
    const metadata = (await this.call('ModelMetadata', { name: model, version: version ?? '' })) as { name: string; versions: string[]; inputs: unknown[]; outputs: unknown[] };
    const config = (await this.call('ModelConfig', { name: model, version: version ?? '' })) as { config?: { max_batch_size?: number } };
    return {
      name: metadata.name,
      versions: metadata.versions,
      inputs: metadata.inputs.map(tensorInfo),
      outputs: metadata.outputs.map(tensorInfo),
      maxBatchSize: config.config?.max_batch_size ?? 0,
    };
  }

  async statistics(model: string, version?: string): Promise<StatisticsSnapshot> {
    return parseStatistics(await this.call('ModelStatistics', { name: model, version: version ?? '' }));
  }

  prepare(target: InferTarget): () => Promise<void> {
    const request = {
      model_name: target.model,
      model_version: target.version ?? '',
      inputs: target.inputs.map((t) => ({ name: t.name, datatype: t.datatype, shape: [...t.shape] })),
      outputs: (target.outputs ?? []).map((name) => ({ name })),
      raw_input_contents: target.inputs.map((t) => Buffer.from(encodeBinaryTensor(t.data))),
    };
    if (this.raw) return this.raw.prepare('/inference.GRPCInferenceService/ModelInfer', this.serializeInfer(request));
    return () => this.call('ModelInfer', request).then(() => undefined);
  }

  payloadBytes(target: InferTarget): number {
    return target.inputs.reduce((n, t) => n + binaryByteLength(t.data), 0);
  }

  async close(): Promise<void> {
    this.client.close();
    await this.raw?.close();
  }

  private call(method: 'ModelInfer' | 'ModelMetadata' | 'ModelConfig' | 'ModelStatistics', request: unknown): Promise<unknown> {
    return new Promise((resolve, reject) => {
      this.client[method](request, (error, response) => {
        if (error) reject(new Error(`gRPC ${grpc.status[error.code] ?? error.code}: ${error.details.slice(0, 200)}`));
        else resolve(response);
      });
    });
  }
}
