/**
 * The gateway's end-to-end tests' cluster (the real-process cluster of test/helpers/process-cluster.ts
 * with model `add_sub`) plus a steady-load generator whose every failure is recorded. Every wait is
 * bounded.
 */
import { Pool } from 'undici';
import * as grpc from '@grpc/grpc-js';
import { addSubModel } from '../fixtures/onnx-models.js';
import { ProcessCluster, sleep, type GatewayProcess, type ProcessClusterOptions } from '../helpers/process-cluster.js';
import { eventually } from '../helpers/eventually.js';

export { ClusterProcess, ProcessCluster, sleep, type GatewayProcess, type ProcessClusterOptions, type WorkerProcess } from '../helpers/process-cluster.js';

/**
 * The cluster most gateway tests need: model `add_sub` (FP32 [4], `max_batch_size: 8`) with 2
 * replicas on `workers` workers, resolved once both replicas are READY and the gateway routes to both.
 */
export async function startAddSubCluster(options: { workers: number; sessionTimeoutMs?: number } & Pick<ProcessClusterOptions, 'extraArgs' | 'storeAuth'>): Promise<ProcessCluster> {
  const cluster = await ProcessCluster.start({
    models: { add_sub: { versions: { 1: addSubModel('FP32', [4]) }, config: 'max_batch_size: 8\n' } },
    defaultReplicas: 2,
    ...options,
  });
  try {
    await eventually(async () => (await cluster.readyNodes('add_sub')).length === 2, 'two READY replicas', 60_000);
    await eventually(async () => (await cluster.metrics()).get('cranberries_gateway_ready_replicas{model="add_sub",version="1"}') === 2, 'the gateway to see both');
  } catch (error) {
    await cluster.close();
    throw error;
  }
  return cluster;
}

/** Outcome of one request of a load run. */
export interface LoadFailure {
  readonly at: number;
  readonly protocol: 'rest' | 'grpc';
  readonly detail: string;
}

export interface LoadResult {
  readonly ok: number;
  readonly failures: readonly LoadFailure[];
}

/**
 * Steady closed-loop load through the gateway: `restConcurrency` REST loops and `grpcConcurrency`
 * gRPC loops sending the same small inference until `stop()` (or `maxMs`, whichever comes first).
 */
export class SteadyLoad {
  private stopped = false;
  private readonly pool: Pool;
  private readonly client: grpc.Client;
  private ok = 0;
  private readonly failures: LoadFailure[] = [];
  private readonly loops: Promise<void>[];

  constructor(
    gateway: GatewayProcess,
    private readonly request: { path: string; body: Buffer; grpcMethod: string; grpcMessage: Buffer },
    options: { restConcurrency: number; grpcConcurrency: number; maxMs: number },
  ) {
    this.pool = new Pool(gateway.url, { connections: options.restConcurrency });
    this.client = new grpc.Client(gateway.grpcAddress, grpc.credentials.createInsecure());
    const deadline = Date.now() + options.maxMs;
    const running = (): boolean => !this.stopped && Date.now() < deadline;
    this.loops = [
      ...Array.from({ length: options.restConcurrency }, async () => {
        while (running()) await this.rest();
      }),
      ...Array.from({ length: options.grpcConcurrency }, async () => {
        while (running()) await this.grpc(request.grpcMethod, request.grpcMessage);
      }),
    ];
  }

  get completed(): number {
    return this.ok + this.failures.length;
  }

  /** Stops the loops (idempotent) and returns the outcome. */
  async stop(): Promise<LoadResult> {
    if (!this.stopped) {
      this.stopped = true;
      await Promise.all(this.loops);
      await this.pool.close();
      this.client.close();
    }
    return { ok: this.ok, failures: this.failures };
  }

  private async rest(): Promise<void> {
    try {
      const response = await this.pool.request({ method: 'POST', path: this.request.path, body: this.request.body, headersTimeout: 30_000, bodyTimeout: 30_000 });
      const text = await response.body.text();
      if (response.statusCode === 200) this.ok++;
      else this.failures.push({ at: Date.now(), protocol: 'rest', detail: `${response.statusCode} ${text}` });
    } catch (error) {
      this.failures.push({ at: Date.now(), protocol: 'rest', detail: String(error) });
      await sleep(10);
    }
  }

  private grpc(method: string, message: Buffer): Promise<void> {
    const identity = (b: Buffer): Buffer => b;
    return new Promise((resolve) => {
      this.client.makeUnaryRequest(method, identity, identity, message, new grpc.Metadata(), { deadline: Date.now() + 30_000 }, (error) => {
        if (error) this.failures.push({ at: Date.now(), protocol: 'grpc', detail: `${error.code} ${error.details}` });
        else this.ok++;
        resolve();
      });
    });
  }
}

/** A small `add_sub` (FP32 [batch, 4]) inference as REST JSON, REST binary and gRPC bytes. */
export async function addSubRequests(model = 'add_sub'): Promise<{ json: Buffer; binary: { body: Buffer; jsonLength: number }; grpcMessage: Buffer }> {
  const { oipPackageDefinition, serviceDefinition } = await import('../../src/protocols/grpc/index.js');
  const infer = serviceDefinition(oipPackageDefinition(), 'inference.GRPCInferenceService')['ModelInfer'] as grpc.MethodDefinition<object, object>;
  const a = [1, 2, 3, 4];
  const b = [0.5, 0.25, -1, 8];
  const json = Buffer.from(
    JSON.stringify({
      inputs: [
        { name: 'INPUT0', datatype: 'FP32', shape: [1, 4], data: a },
        { name: 'INPUT1', datatype: 'FP32', shape: [1, 4], data: b },
      ],
    }),
  );
  const header = Buffer.from(
    JSON.stringify({
      inputs: [
        { name: 'INPUT0', datatype: 'FP32', shape: [1, 4], parameters: { binary_data_size: 16 } },
        { name: 'INPUT1', datatype: 'FP32', shape: [1, 4], parameters: { binary_data_size: 16 } },
      ],
      parameters: { binary_data_output: true },
    }),
  );
  const raw = [Buffer.from(new Float32Array(a).buffer), Buffer.from(new Float32Array(b).buffer)];
  const grpcMessage = infer.requestSerialize({
    model_name: model,
    inputs: [
      { name: 'INPUT0', datatype: 'FP32', shape: [1, 4] },
      { name: 'INPUT1', datatype: 'FP32', shape: [1, 4] },
    ],
    raw_input_contents: raw,
  });
  return { json, binary: { body: Buffer.concat([header, ...raw]), jsonLength: header.length }, grpcMessage };
}

export const MODEL_INFER = '/inference.GRPCInferenceService/ModelInfer';
