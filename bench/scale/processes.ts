/**
 * The scale simulation with each loop in its own process (`--processes`, ZooKeeper only): the
 * controller in one child, the gateway's table watcher in another, the simulated workers in one or
 * more others, each over its own ZooKeeper session(s) against a private ZooKeeper server. The
 * parent (this module) starts ZooKeeper, writes the deployments, drives the phases over IPC and
 * times them; every child reports its own event-loop delay, CPU, heap and GC per phase, so the
 * controller's and the gateway's delays are theirs alone, not those of 1,000 simulated workers
 * sharing their loop (the one-process mode of simulation.ts).
 */
import { fork, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { ZooKeeperStore, clusterPaths, encodeJson, ensureLayout, startZooKeeperProcess, type CoordinationStore } from '../../src/cluster/index.js';
import { createLogger } from '../../src/core/index.js';
import { sumCounts, type StoreCounts } from './counting-store.js';
import { epochMs, type ChildConfig, type ChildPoll, type ChildRequest, type ChildResponse, type ChildRole, type ProcessFigures } from './process-protocol.js';
import { fourLetterWord, walk, type PhaseFigures, type ScaleOptions, type ScaleResult } from './simulation.js';
import { syntheticModels, workerId } from './synthetic.js';

const QUIET_MS = 400;
const POLL_MS = 25;

/** A forked child and its request/answer channel. */
class Child {
  private nextId = 1;
  private readonly pending = new Map<number, { resolve: (value: unknown) => void; reject: (error: Error) => void }>();
  private readonly ready: Promise<unknown>;
  private exited = false;

  constructor(
    readonly name: string,
    private readonly process: ChildProcess,
  ) {
    this.ready = new Promise((resolve, reject) => this.pending.set(0, { resolve, reject }));
    process.on('message', (message: ChildResponse) => {
      const waiter = this.pending.get(message.id);
      if (!waiter) return;
      this.pending.delete(message.id);
      if (message.error !== undefined) waiter.reject(new Error(`${name}: ${message.error}`));
      else waiter.resolve(message.result);
    });
    process.on('exit', (code, signal) => {
      this.exited = true;
      for (const waiter of this.pending.values()) waiter.reject(new Error(`${name} exited (${signal ?? code})`));
      this.pending.clear();
    });
  }

  static async start(name: string, config: ChildConfig): Promise<Child> {
    const entry = fileURLToPath(new URL('./process-child.js', import.meta.url));
    const child = new Child(name, fork(entry, [JSON.stringify(config)], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'], execArgv: ['--expose-gc'] }));
    await child.ready;
    return child;
  }

  call<T>(command: string, args?: Record<string, unknown>): Promise<T> {
    if (this.exited) return Promise.reject(new Error(`${this.name} has exited`));
    const id = this.nextId++;
    return new Promise<T>((resolve, reject) => {
      this.pending.set(id, { resolve: resolve as (value: unknown) => void, reject });
      this.process.send({ id, command, args } satisfies ChildRequest);
    });
  }

  /** Asks the child to stop; kills it if it has not exited 10 s later. */
  async stop(): Promise<void> {
    if (this.exited) return;
    const exited = new Promise<void>((resolve) => this.process.once('exit', () => resolve()));
    await this.call('stop').catch(() => undefined);
    const timer = setTimeout(() => this.process.kill('SIGKILL'), 10_000);
    await exited;
    clearTimeout(timer);
  }
}

interface PhaseEnd {
  readonly figures: ProcessFigures;
  readonly counts: StoreCounts;
  readonly rounds?: number;
  readonly decisions?: number;
  readonly tableRebuilds?: number;
  readonly tableRebuildMaxMs?: number;
  readonly tableRebuildMeanMs?: number;
  readonly tableEndpoints?: number;
}

export interface ProcessesOptions extends ScaleOptions {
  /** Child processes the simulated workers are spread over. Default 1. */
  readonly workerProcesses?: number | undefined;
}

export async function runScaleInProcesses(options: ProcessesOptions): Promise<ScaleResult> {
  if (options.store !== 'zookeeper') throw new Error('--processes needs the ZooKeeper store (the embedded store lives in one process)');
  const log = options.log ?? (() => {});
  const loadTimeScale = options.loadTimeScale ?? 0.25;
  const timeoutMs = options.phaseTimeoutMs ?? 120_000;
  const paths = clusterPaths('/scale');
  const deployments = syntheticModels(options.models);
  const replicas = deployments.reduce((n, d) => n + d.replicas, 0);
  const workerProcesses = Math.max(1, Math.min(options.workers, options.workerProcesses ?? 1));
  const workerSessions = Math.max(workerProcesses, Math.min(options.workers, options.workerSessions ?? 8));

  const zookeeper = await startZooKeeperProcess({ heapMb: 1024, tickTimeMs: 2000 });
  const children: Child[] = [];
  let admin: CoordinationStore | undefined;
  try {
    admin = new ZooKeeperStore({ connectionString: zookeeper.connectionString, sessionTimeoutMs: 30_000, operationTimeoutMs: 60_000, logger: createLogger('error', 'scale', 'json') });
    await admin.start();
    await ensureLayout(admin, paths);
    log(`  zookeeper (processes) ${options.workers}×${options.models}: writing ${options.models} deployments`);
    for (let i = 0; i < deployments.length; i += 500) {
      await Promise.all(deployments.slice(i, i + 500).map((d) => admin!.create(paths.model(d.name), encodeJson(d), 'persistent')));
    }
    const base = {
      connectionString: zookeeper.connectionString,
      root: paths.root,
      workers: options.workers,
      models: options.models,
      from: 0,
      to: 0,
      sessions: 1,
      loadTimeScale,
      cpuProfileDir: options.cpuProfileDir,
    };
    const start = async (name: string, role: ChildRole, extra: Partial<ChildConfig> = {}): Promise<Child> => {
      const child = await Child.start(name, { ...base, role, ...extra });
      children.push(child);
      return child;
    };

    // Workers first (registered, as in the one-process mode), then the gateway, then the controller.
    const workerChildren: Child[] = [];
    const owner = new Map<string, Child>();
    for (let p = 0; p < workerProcesses; p++) {
      const from = Math.floor((p * options.workers) / workerProcesses);
      const to = Math.floor(((p + 1) * options.workers) / workerProcesses);
      const sessions = Math.floor(((p + 1) * workerSessions) / workerProcesses) - Math.floor((p * workerSessions) / workerProcesses);
      const child = await start(`workers ${p + 1}`, 'workers', { from, to, sessions, ...(options.cpuProfileDir === undefined ? {} : { cpuProfileDir: options.cpuProfileDir }) });
      for (let i = from; i < to; i++) owner.set(workerId(i), child);
      workerChildren.push(child);
    }
    log(`  registering ${options.workers} workers in ${workerProcesses} process(es)`);
    await Promise.all(workerChildren.map((c) => c.call('join')));
    const gateway = await start('gateway', 'gateway');
    const controller = await start('controller', 'controller');

    const phase = async (name: string, act: () => Promise<void>): Promise<PhaseFigures> => {
      await Promise.all(children.map((c) => c.call('phaseStart', { phase: name })));
      const t0 = epochMs();
      await act();
      await gateway.call('watchReady');
      let decisionsWrittenAt: number | undefined;
      let allReadyAt: number | undefined;
      let lastTotal = -1;
      let lastWrite = epochMs();
      const deadline = t0 + timeoutMs;
      for (;;) {
        await new Promise((resolve) => setTimeout(resolve, POLL_MS));
        const [c, g, ...w] = await Promise.all([controller, gateway, ...workerChildren].map((child) => child.call<ChildPoll>('poll')));
        const now = epochMs();
        decisionsWrittenAt ??= c!.reachedAt;
        allReadyAt ??= g!.reachedAt;
        const total = c!.writes + g!.writes + w.reduce((n, p) => n + p.writes, 0);
        if (total !== lastTotal || c!.busy) {
          lastTotal = total;
          lastWrite = now;
        }
        if (allReadyAt !== undefined && now - lastWrite > QUIET_MS) break;
        if (now > deadline) {
          log(`  ${name}: not settled within ${timeoutMs} ms`);
          break;
        }
      }
      const [c, g, ...w] = await Promise.all([controller, gateway, ...workerChildren].map((child) => child.call<PhaseEnd>('phaseEnd')));
      const worst = (all: readonly ProcessFigures[]): ProcessFigures => all.reduce((a, b) => (b.loopDelay.p99Ms > a.loopDelay.p99Ms ? b : a));
      const figures: PhaseFigures = {
        decisionsWrittenMs: decisionsWrittenAt === undefined ? NaN : Math.round(decisionsWrittenAt - t0),
        allReadyMs: allReadyAt === undefined ? NaN : Math.round(allReadyAt - t0),
        settledMs: Math.round(lastWrite - t0),
        decisions: c!.decisions ?? 0,
        controllerRounds: c!.rounds ?? 0,
        controller: c!.counts,
        gateway: g!.counts,
        workers: sumCounts(w.map((p) => p.counts)),
        tableRebuilds: g!.tableRebuilds ?? 0,
        tableRebuildMaxMs: g!.tableRebuildMaxMs ?? 0,
        tableRebuildMeanMs: g!.tableRebuildMeanMs ?? 0,
        loopDelay: c!.figures.loopDelay,
        processes: { controller: c!.figures, gateway: g!.figures, workers: worst(w.map((p) => p.figures)) },
      };
      const show = (f: ProcessFigures): string => `p99 ${f.loopDelay.p99Ms} max ${f.loopDelay.maxMs} ms, cpu ${f.cpuMs} ms, gc max ${f.gcMaxMs} ms`;
      log(
        `  ${name}: decisions written ${figures.decisionsWrittenMs} ms, all READY ${figures.allReadyMs} ms, controller ${figures.controller.writes} writes/${figures.controller.reads} reads; ` +
          `controller ${show(c!.figures)}; gateway ${show(g!.figures)}; workers ${show(figures.processes!.workers)}`,
      );
      return figures;
    };

    const cold = await phase('cold', () => controller.call('start'));
    const victim = workerId(0);
    const loss = await phase('loss', async () => {
      await gateway.call('setDead', { dead: [victim] });
      await owner.get(victim)!.call('kill', { id: victim });
    });
    const rejoin = await phase('rejoin', async () => {
      await gateway.call('setDead', { dead: [] });
      await owner.get(victim)!.call('rejoin', { id: victim });
    });

    const { znodes, dataBytes, largest } = await walk(admin, paths);
    const zk = Object.fromEntries(
      (await fourLetterWord(zookeeper.port, 'mntr'))
        .split('\n')
        .map((line) => line.split('\t') as [string, string])
        .filter(([k]) => /znode_count|watch_count|approximate_data_size|num_alive_connections|ephemerals_count/.test(k ?? '')),
    );
    return {
      workers: options.workers,
      models: options.models,
      replicas,
      store: 'zookeeper',
      workerSessions,
      workerProcesses,
      cold,
      loss,
      rejoin,
      znodes,
      dataBytes,
      largest,
      zookeeper: zk,
      tableHeapBytes: undefined,
      tableEndpoints: NaN,
    };
  } finally {
    for (const child of children.reverse()) await child.stop().catch(() => undefined);
    await admin?.stop().catch(() => undefined);
    await zookeeper.close();
  }
}
