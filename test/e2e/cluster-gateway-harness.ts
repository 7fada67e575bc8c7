/**
 * A whole cluster of real processes for the gateway's end-to-end tests: a private ZooKeeper, one
 * `cranberries controller`, N `cranberries worker`s and a `cranberries gateway`, all on loopback
 * with ports chosen by the processes themselves (port 0), plus a steady-load generator whose every
 * failure is recorded. Every wait is bounded.
 *
 * Set TEST_LOG_LEVEL=info to see the processes' logs on stderr.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { Pool } from 'undici';
import * as grpc from '@grpc/grpc-js';
import { ClusterAdmin } from '../../src/cluster/admin-api.js';
import { clusterPaths, decodeJson, NodeInfo } from '../../src/cluster/layout.js';
import { ZooKeeperStore } from '../../src/cluster/store/zookeeper-store.js';
import { addSubModel, createTempModelRepository, type RepositoryModel, type TempModelRepository } from '../fixtures/onnx-models.js';
import { startZooKeeper, type TestZooKeeper } from '../helpers/zookeeper.js';
import { eventually } from '../helpers/eventually.js';

const MAIN = fileURLToPath(new URL('../../src/cli/main.js', import.meta.url));
const SHOW_LOGS = process.env['TEST_LOG_LEVEL'] !== undefined && process.env['TEST_LOG_LEVEL'] !== 'silent';
const paths = clusterPaths();

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** A child process with its JSON log lines kept (the last 500) for assertions and failure reports. */
export class ClusterProcess {
  readonly child: ChildProcess;
  readonly lines: Record<string, unknown>[] = [];
  readonly exited: Promise<void>;

  constructor(
    readonly name: string,
    args: readonly string[],
  ) {
    this.child = spawn(process.execPath, [MAIN, ...args], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, MALLOC_TRIM_THRESHOLD_: '0' } });
    let buffered = '';
    const onData = (chunk: Buffer): void => {
      buffered += chunk.toString('utf8');
      let cut;
      while ((cut = buffered.indexOf('\n')) >= 0) {
        const line = buffered.slice(0, cut);
        buffered = buffered.slice(cut + 1);
        if (SHOW_LOGS) process.stderr.write(`[${name}] ${line}\n`);
        try {
          this.lines.push(JSON.parse(line) as Record<string, unknown>);
          if (this.lines.length > 500) this.lines.shift();
        } catch {
          this.lines.push({ msg: line });
        }
      }
    };
    this.child.stdout?.on('data', onData);
    this.child.stderr?.on('data', onData);
    this.exited = new Promise((resolve) => this.child.once('exit', () => resolve()));
  }

  get running(): boolean {
    return this.child.exitCode === null && this.child.signalCode === null;
  }

  /** The first log line whose message starts with `prefix`, waiting for it. */
  logLine(prefix: string, timeoutMs = 30_000): Promise<Record<string, unknown>> {
    return eventually(() => {
      if (!this.running) throw new Error(`${this.name} exited: ${this.tail()}`);
      return this.lines.find((l) => typeof l['msg'] === 'string' && l['msg'].startsWith(prefix));
    }, `${this.name} to log '${prefix}'`, timeoutMs);
  }

  tail(n = 15): string {
    return this.lines.slice(-n).map((l) => JSON.stringify(l)).join('\n');
  }

  async kill(signal: NodeJS.Signals = 'SIGTERM', timeoutMs = 15_000): Promise<void> {
    if (!this.running) return;
    this.child.kill(signal);
    const timer = setTimeout(() => this.child.kill('SIGKILL'), timeoutMs);
    await this.exited;
    clearTimeout(timer);
  }
}

export interface WorkerProcess {
  readonly id: string;
  readonly process: ClusterProcess;
  readonly url: string;
  readonly grpcAddress: string;
}

export interface GatewayProcess {
  readonly process: ClusterProcess;
  readonly url: string;
  readonly grpcAddress: string;
  readonly metricsUrl: string;
}

export interface ProcessClusterOptions {
  readonly models: Record<string, RepositoryModel>;
  readonly workers: number;
  readonly defaultReplicas: number;
  /** ZooKeeper session timeout of every process. Default 2000 ms (tickTime 500 ms allows 1–10 s). */
  readonly sessionTimeoutMs?: number;
  /** More command-line arguments per kind of process (e.g. access flags). */
  readonly extraArgs?: { readonly controller?: readonly string[]; readonly worker?: readonly string[]; readonly gateway?: readonly string[] } | undefined;
  /** The cluster's ZooKeeper identity, for the test's own store client too. */
  readonly storeAuth?: { readonly user: string; readonly password: string } | undefined;
}

/**
 * The cluster most gateway tests need: model `add_sub` (FP32 [4], `max_batch_size: 8`) with 2
 * replicas on `workers` workers, resolved once both replicas are READY and the gateway routes to both.
 */
export async function startAddSubCluster(
  options: { workers: number; sessionTimeoutMs?: number } & Pick<ProcessClusterOptions, 'extraArgs' | 'storeAuth'>,
): Promise<ProcessCluster> {
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

export class ProcessCluster {
  readonly workers = new Map<string, WorkerProcess>();
  controller!: ClusterProcess;
  gateway!: GatewayProcess;
  /** The test's own ZooKeeper client and admin API (to read and change the cluster). */
  store!: ZooKeeperStore;
  admin!: ClusterAdmin;
  private constructor(
    readonly zk: TestZooKeeper,
    readonly repo: TempModelRepository,
    readonly options: ProcessClusterOptions,
  ) {}

  get sessionTimeoutMs(): number {
    return this.options.sessionTimeoutMs ?? 2000;
  }

  static async start(options: ProcessClusterOptions): Promise<ProcessCluster> {
    const zk = await startZooKeeper();
    const repo = await createTempModelRepository(options.models);
    const cluster = new ProcessCluster(zk, repo, options);
    try {
      cluster.store = new ZooKeeperStore({ connectionString: zk.connectionString, sessionTimeoutMs: 4000, auth: options.storeAuth });
      await cluster.store.start();
      cluster.admin = new ClusterAdmin(cluster.store);
      const session = ['--zookeeper', zk.connectionString, '--zookeeper-session-timeout-ms', String(cluster.sessionTimeoutMs)];
      cluster.controller = new ClusterProcess('controller', ['controller', '--host', '127.0.0.1', '--metrics-port', '0', ...session, '--model-repository', repo.root, '--default-replicas', String(options.defaultReplicas), '--log-level', 'info', ...(options.extraArgs?.controller ?? [])]);
      await Promise.all(Array.from({ length: options.workers }, (_, i) => cluster.startWorker(`w${i + 1}`)));
      const gateway = new ClusterProcess('gateway', ['gateway', ...session, '--host', '127.0.0.1', '--http-port', '0', '--grpc-port', '0', '--metrics-port', '0', '--log-level', 'info', ...(options.extraArgs?.gateway ?? [])]);
      const listening = await gateway.logLine('gateway listening');
      cluster.gateway = {
        process: gateway,
        url: `http://127.0.0.1:${String(listening['http'])}`,
        grpcAddress: `127.0.0.1:${String(listening['grpc'])}`,
        metricsUrl: `http://127.0.0.1:${String(listening['metrics'])}/metrics`,
      };
      return cluster;
    } catch (error) {
      await cluster.close();
      throw error;
    }
  }

  async startWorker(id: string): Promise<WorkerProcess> {
    const child = new ClusterProcess(id, [
      'worker',
      '--zookeeper',
      this.zk.connectionString,
      '--zookeeper-session-timeout-ms',
      String(this.sessionTimeoutMs),
      '--model-repository',
      this.repo.root,
      '--node-id',
      id,
      '--memory-limit',
      '1GiB',
      '--host',
      '127.0.0.1',
      '--http-port',
      '0',
      '--grpc-port',
      '0',
      '--metrics-port',
      '0',
      '--log-level',
      'info',
      ...(this.options.extraArgs?.worker ?? []),
    ]);
    const info = await eventually(async () => {
      if (!child.running) throw new Error(`worker ${id} exited: ${child.tail()}`);
      return decodeJson(NodeInfo, (await this.store.get(paths.node(id)))?.data);
    }, `worker ${id} to register`);
    const worker = { id, process: child, url: `http://${info.httpAddress}`, grpcAddress: info.grpcAddress };
    this.workers.set(id, worker);
    return worker;
  }

  /** The nodes holding READY replicas of `model`, per the admin API (the workers' own reports). */
  async readyNodes(model: string): Promise<string[]> {
    const view = await this.admin.getModel(model);
    return view.replicaStates.filter((r) => r.live && r.state === 'READY').map((r) => r.node).sort();
  }

  /** Gateway metrics as `name{labels}` → value. */
  async metrics(): Promise<Map<string, number>> {
    const text = await (await fetch(this.gateway.metricsUrl)).text();
    const values = new Map<string, number>();
    for (const line of text.split('\n')) {
      if (line.startsWith('#') || line.trim() === '') continue;
      const space = line.lastIndexOf(' ');
      values.set(line.slice(0, space), Number(line.slice(space + 1)));
    }
    return values;
  }

  async close(): Promise<void> {
    await this.gateway?.process.kill();
    await Promise.all([...this.workers.values()].map((w) => w.process.kill()));
    await this.controller?.kill();
    await this.store?.stop().catch(() => undefined);
    await this.zk.close();
    await this.repo.remove();
  }
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
