/**
 * A whole cluster of real processes on loopback: a private ZooKeeper, one or more
 * `cranberries controller`s, N `cranberries worker`s and a `cranberries gateway`, with ports chosen
 * by the processes themselves (port 0) and read from their startup logs. Used by the gateway's
 * end-to-end tests and by the soak run (bench/soak), which also kills and restarts single processes
 * (a worker under the same node id, the leading controller, ZooKeeper). Every wait is bounded.
 *
 * Set TEST_LOG_LEVEL=info to see the processes' logs on stderr.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { cp } from 'node:fs/promises';
import { hostname } from 'node:os';
import { basename, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ClusterAdmin } from '../../src/cluster/admin-api.js';
import { clusterPaths } from '../../src/cluster/layout.js';
import { ZooKeeperStore } from '../../src/cluster/store/zookeeper-store.js';
import { createTempModelRepository, type RepositoryModel, type TempModelRepository } from '../fixtures/onnx-models.js';
import { startZooKeeper, type TestZooKeeper } from './zookeeper.js';
import { eventually } from './eventually.js';

const MAIN = fileURLToPath(new URL('../../src/cli/main.js', import.meta.url));
const SHOW_LOGS = process.env['TEST_LOG_LEVEL'] !== undefined && process.env['TEST_LOG_LEVEL'] !== 'silent';
const paths = clusterPaths();

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Children still running: killed if this process exits without stopping them (an error, a second Ctrl-C). */
const running = new Set<ChildProcess>();
process.on('exit', () => {
  for (const child of running) child.kill('SIGKILL');
});

/** A `cranberries` child process with its JSON log lines kept (the last 500) for assertions and failure reports. */
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
        } catch {
          this.lines.push({ msg: line });
        }
        if (this.lines.length > 500) this.lines.shift();
      }
    };
    this.child.stdout?.on('data', onData);
    this.child.stderr?.on('data', onData);
    running.add(this.child);
    this.exited = new Promise((resolve) =>
      this.child.once('exit', () => {
        running.delete(this.child);
        resolve();
      }),
    );
  }

  get running(): boolean {
    return this.child.exitCode === null && this.child.signalCode === null;
  }

  /** The first log line whose message starts with `prefix`, waiting for it. */
  logLine(prefix: string, timeoutMs = 30_000): Promise<Record<string, unknown>> {
    return eventually(
      () => {
        if (!this.running) throw new Error(`${this.name} exited: ${this.tail()}`);
        return this.lines.find((l) => typeof l['msg'] === 'string' && l['msg'].startsWith(prefix));
      },
      `${this.name} to log '${prefix}'`,
      timeoutMs,
    );
  }

  tail(n = 15): string {
    return this.lines
      .slice(-n)
      .map((l) => JSON.stringify(l))
      .join('\n');
  }

  /** Sends `signal` (SIGKILL after `timeoutMs`) and waits for the exit. */
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
  /** Models built in code, written to the temp repository. */
  readonly models: Record<string, RepositoryModel>;
  /** Model folders copied as they are into the temp repository (e.g. the bundled `models/digits`). */
  readonly copyModelDirs?: readonly string[];
  readonly workers: number;
  readonly defaultReplicas: number;
  /** Controller processes; the first leads, the others stand by. Default 1. */
  readonly controllers?: number;
  /** ZooKeeper session timeout of every process. Default 2000 ms (tickTime 500 ms allows 1–10 s). */
  readonly sessionTimeoutMs?: number;
  /** Extra `cranberries worker` flags, e.g. `['--model-control-mode', 'poll']`. */
  readonly workerFlags?: readonly string[];
  /** More command-line arguments per kind of process (e.g. access flags); worker ones add to `workerFlags`. */
  readonly extraArgs?: { readonly controller?: readonly string[]; readonly worker?: readonly string[]; readonly gateway?: readonly string[] } | undefined;
  /** The cluster's ZooKeeper identity, for the test's own store client too. */
  readonly storeAuth?: { readonly user: string; readonly password: string } | undefined;
}

export class ProcessCluster {
  readonly workers = new Map<string, WorkerProcess>();
  /** Every controller started and still running, oldest first. */
  readonly controllers: ClusterProcess[] = [];
  gateway!: GatewayProcess;
  /** The test's own ZooKeeper client and admin API (to read and change the cluster). */
  store!: ZooKeeperStore;
  admin!: ClusterAdmin;
  private controllersStarted = 0;
  private constructor(
    readonly zk: TestZooKeeper,
    readonly repo: TempModelRepository,
    readonly options: ProcessClusterOptions,
  ) {}

  get sessionTimeoutMs(): number {
    return this.options.sessionTimeoutMs ?? 2000;
  }

  /** The first controller started (the leader, unless it was killed). */
  get controller(): ClusterProcess {
    const first = this.controllers[0];
    if (!first) throw new Error('no controller is running');
    return first;
  }

  static async start(options: ProcessClusterOptions): Promise<ProcessCluster> {
    const zk = await startZooKeeper();
    const repo = await createTempModelRepository(options.models);
    const cluster = new ProcessCluster(zk, repo, options);
    try {
      for (const dir of options.copyModelDirs ?? []) await cp(dir, join(repo.root, basename(dir)), { recursive: true });
      cluster.store = new ZooKeeperStore({ connectionString: zk.connectionString, sessionTimeoutMs: 4000, auth: options.storeAuth });
      await cluster.store.start();
      cluster.admin = new ClusterAdmin(cluster.store);
      cluster.startController();
      await Promise.all(Array.from({ length: options.workers }, (_, i) => cluster.startWorker(`w${i + 1}`)));
      for (let i = 1; i < (options.controllers ?? 1); i++) cluster.startController();
      const gateway = new ClusterProcess('gateway', [
        'gateway',
        ...cluster.sessionFlags(),
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
        ...(options.extraArgs?.gateway ?? []),
      ]);
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

  /** Starts one more controller (a standby while another leads). */
  startController(): ClusterProcess {
    const name = `controller-${++this.controllersStarted}`;
    const controller = new ClusterProcess(name, [
      'controller',
      '--host',
      '127.0.0.1',
      '--metrics-port',
      '0',
      ...this.sessionFlags(),
      '--model-repository',
      this.repo.root,
      '--default-replicas',
      String(this.options.defaultReplicas),
      '--log-level',
      'info',
      ...(this.options.extraArgs?.controller ?? []),
    ]);
    this.controllers.push(controller);
    void controller.exited.then(() => {
      const index = this.controllers.indexOf(controller);
      if (index >= 0) this.controllers.splice(index, 1);
    });
    return controller;
  }

  /** The running controller holding the lowest election node (the leader), if it is one of ours. */
  async leader(): Promise<ClusterProcess | undefined> {
    const candidates = [...(await this.store.children(paths.election))].sort();
    const lowest = candidates[0];
    if (!lowest) return undefined;
    const text = new TextDecoder().decode((await this.store.get(`${paths.election}/${lowest}`))?.data ?? new Uint8Array());
    const pid = text.startsWith(`${hostname()}:`) ? Number(text.slice(hostname().length + 1)) : NaN;
    return this.controllers.find((c) => c.child.pid === pid && c.running);
  }

  /**
   * Starts worker `id` (again, after a kill: the same node id, new ports) and resolves once it
   * serves. The addresses come from its own startup line, not from ZooKeeper, where the node of a
   * killed predecessor may linger until its session times out.
   */
  async startWorker(id: string): Promise<WorkerProcess> {
    const child = new ClusterProcess(id, [
      'worker',
      ...this.sessionFlags(),
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
      ...(this.options.workerFlags ?? []),
      ...(this.options.extraArgs?.worker ?? []),
    ]);
    const started = await child.logLine(`worker ${id} started`, 60_000);
    const worker = { id, process: child, url: `http://${String(started['http'])}`, grpcAddress: String(started['grpc']) };
    this.workers.set(id, worker);
    return worker;
  }

  /** The nodes holding READY replicas of `model`, per the admin API (the workers' own reports). */
  async readyNodes(model: string): Promise<string[]> {
    const view = await this.admin.getModel(model);
    return view.replicaStates
      .filter((r) => r.live && r.state === 'READY')
      .map((r) => r.node)
      .sort();
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
    await Promise.all([...this.controllers].map((c) => c.kill()));
    await this.store?.stop().catch(() => undefined);
    await this.zk.close();
    await this.repo.remove();
  }

  private sessionFlags(): string[] {
    return ['--zookeeper', this.zk.connectionString, '--zookeeper-session-timeout-ms', String(this.sessionTimeoutMs)];
  }
}
