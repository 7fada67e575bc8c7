/**
 * The control plane at scale, simulated in one process: the REAL controller (leader election,
 * snapshot reads, placement, writes), the REAL gateway endpoint table (`TableWatcher`) and a real
 * coordination store (the embedded store, or a private ZooKeeper), against N simulated workers.
 *
 * A simulated worker is what a `WorkerAgent` looks like from the store, without a model server:
 * it registers its ephemeral node and status, watches its assignment, "loads" each assigned model
 * (LOADING, then READY after 200 ms + 3 ms per MiB, times `loadTimeScale`, two loads at a time),
 * reports the model's memory (equal to the estimate, so placement keeps its decisions) and writes
 * its status coalesced over 100 ms, one write at a time — as `WorkerAgent` does. A worker dies by
 * losing its session (embedded store: each worker has its own session, closed; ZooKeeper: workers
 * share a few sessions, so its two ephemerals are deleted, as session expiry would).
 */
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { Session } from 'node:inspector/promises';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { connect } from 'node:net';
import {
  Controller,
  MemoryStore,
  MemoryStoreServer,
  ZooKeeperStore,
  clusterPaths,
  encodeJson,
  ensureLayout,
  startZooKeeperProcess,
  type ClusterPaths,
  type CoordinationStore,
  type PlacementResult,
  type ZooKeeperProcess,
} from '../../src/cluster/index.js';
import { createLogger } from '../../src/core/index.js';
import { TableWatcher } from '../../src/gateway/routing/index.js';
import { CountingStore, diffCounts, sumCounts, type StoreCounts } from './counting-store.js';
import { syntheticModels, syntheticWorkers } from './synthetic.js';
import { SimulatedWorker, allReady } from './simulated-worker.js';
import { timeTableBuilds } from './table-timing.js';
import type { ProcessFigures } from './process-protocol.js';

export type StoreKind = 'memory' | 'zookeeper';

export interface ScaleOptions {
  readonly workers: number;
  readonly models: number;
  readonly store: StoreKind;
  /** Multiplies every simulated load time. Default 0.25. */
  readonly loadTimeScale?: number;
  /** ZooKeeper sessions the simulated workers share. Default 8. */
  readonly workerSessions?: number;
  /** Gives up waiting for a phase after this long. Default 120 s. */
  readonly phaseTimeoutMs?: number;
  readonly log?: (line: string) => void;
  /** Writes a V8 CPU profile of each phase here (`<store>-<W>x<M>-<phase>.cpuprofile`; read with profile-slices.js). */
  readonly cpuProfileDir?: string | undefined;
}

export interface LoopDelay {
  readonly p50Ms: number;
  readonly p99Ms: number;
  readonly maxMs: number;
}

export interface PhaseFigures {
  /** Time to the controller's first round whose decisions are written (ms). */
  readonly decisionsWrittenMs: number;
  /** Time until the gateway's table shows every replica READY (fresh tier) (ms). */
  readonly allReadyMs: number;
  /** Until the cluster is quiet again (ms). */
  readonly settledMs: number;
  readonly decisions: number;
  readonly controllerRounds: number;
  readonly controller: StoreCounts;
  readonly gateway: StoreCounts;
  readonly workers: StoreCounts;
  readonly tableRebuilds: number;
  readonly tableRebuildMaxMs: number;
  readonly tableRebuildMeanMs: number;
  /** Event-loop delay of the process (one-process mode: controller, gateway table and simulated workers share it; `--processes`: the controller's). */
  readonly loopDelay: LoopDelay;
  /** `--processes` only: each process's own figures (workers: the process with the highest p99). */
  readonly processes?: { readonly controller: ProcessFigures; readonly gateway: ProcessFigures; readonly workers: ProcessFigures } | undefined;
}

export interface ScaleResult {
  readonly workers: number;
  readonly models: number;
  readonly replicas: number;
  readonly store: StoreKind;
  readonly workerSessions: number;
  /** `--processes` only: child processes the simulated workers ran in. */
  readonly workerProcesses?: number | undefined;
  readonly cold: PhaseFigures;
  readonly loss: PhaseFigures;
  readonly rejoin: PhaseFigures;
  readonly znodes: number;
  readonly dataBytes: number;
  readonly largest: Record<string, number>;
  readonly zookeeper?: Record<string, string> | undefined;
  readonly tableHeapBytes: number | undefined;
  readonly tableEndpoints: number;
}

const QUIET_MS = 400;

function delayOf(h: ReturnType<typeof monitorEventLoopDelay>): LoopDelay {
  const ms = (ns: number): number => Number((ns / 1e6).toFixed(1));
  return { p50Ms: ms(h.percentile(50)), p99Ms: ms(h.percentile(99)), maxMs: ms(h.max) };
}

export async function fourLetterWord(port: number, word: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: '127.0.0.1', port });
    let text = '';
    socket.setTimeout(5000, () => socket.destroy(new Error('timeout')));
    socket.on('connect', () => socket.write(word));
    socket.on('data', (chunk) => (text += chunk.toString()));
    socket.on('end', () => resolve(text));
    socket.on('error', reject);
  });
}

/** Znode count, data bytes and the largest node per layout folder, by walking the tree. */
export async function walk(store: CoordinationStore, paths: ClusterPaths): Promise<{ znodes: number; dataBytes: number; largest: Record<string, number> }> {
  let znodes = 0;
  let dataBytes = 0;
  const largest: Record<string, number> = {};
  const folders = { models: paths.models, nodes: paths.nodes, assignments: paths.assignments, status: paths.status, placement: paths.placement };
  for (const [name, folder] of Object.entries(folders)) {
    const children = await store.children(folder);
    znodes += 1 + children.length;
    for (let i = 0; i < children.length; i += 500) {
      const nodes = await Promise.all(children.slice(i, i + 500).map((c) => store.get(`${folder}/${c}`)));
      for (const node of nodes) {
        const size = node?.data.byteLength ?? 0;
        dataBytes += size;
        largest[name] = Math.max(largest[name] ?? 0, size);
      }
    }
  }
  return { znodes, dataBytes, largest };
}

export async function runScale(options: ScaleOptions): Promise<ScaleResult> {
  const log = options.log ?? (() => {});
  const loadTimeScale = options.loadTimeScale ?? 0.25;
  const timeoutMs = options.phaseTimeoutMs ?? 120_000;
  const paths = clusterPaths('/scale');
  const logger = createLogger('error', 'scale', 'json');
  const deployments = syntheticModels(options.models);
  const deploymentByName = new Map(deployments.map((d) => [d.name, d]));
  const replicas = deployments.reduce((n, d) => n + d.replicas, 0);
  const nodes = syntheticWorkers(options.workers);

  // Stores: controller and gateway have their own session; workers their own (embedded) or share a few (ZooKeeper).
  let zookeeper: ZooKeeperProcess | undefined;
  const closers: (() => Promise<void>)[] = [];
  let openStore: () => CoordinationStore;
  const workerSessions = options.store === 'memory' ? options.workers : Math.min(options.workers, options.workerSessions ?? 8);
  if (options.store === 'zookeeper') {
    zookeeper = await startZooKeeperProcess({ heapMb: 1024, tickTimeMs: 2000 });
    const connectionString = zookeeper.connectionString;
    openStore = () => new ZooKeeperStore({ connectionString, sessionTimeoutMs: 30_000, operationTimeoutMs: 60_000, logger });
  } else {
    const server = new MemoryStoreServer();
    openStore = () => new MemoryStore(server);
  }
  const open = async (): Promise<CoordinationStore> => {
    const store = openStore();
    await store.start();
    closers.push(() => store.stop());
    return store;
  };

  // Table rebuilds: the real build and update steps, timed wherever the watcher calls them.
  const tableTiming = timeTableBuilds();
  const rebuilds = tableTiming.rebuilds;

  try {
    const admin = await open();
    await ensureLayout(admin, paths);
    log(`  ${options.store} ${options.workers}×${options.models}: writing ${options.models} deployments`);
    for (let i = 0; i < deployments.length; i += 500) {
      await Promise.all(deployments.slice(i, i + 500).map((d) => admin.create(paths.model(d.name), encodeJson(d), 'persistent')));
    }

    const workerStores: CountingStore[] = [];
    const rawWorkerStores: CoordinationStore[] = [];
    for (let i = 0; i < workerSessions; i++) {
      const raw = await open();
      rawWorkerStores.push(raw);
      workerStores.push(new CountingStore(raw));
    }
    const workers = nodes.map((node, i) => new SimulatedWorker(node, workerStores[i % workerSessions]!, paths, deploymentByName, loadTimeScale));
    log(`  registering ${workers.length} workers`);
    for (let i = 0; i < workers.length; i += 100) await Promise.all(workers.slice(i, i + 100).map((w) => w.join()));

    const gatewayStore = new CountingStore(await open());
    const watcher = new TableWatcher({ store: gatewayStore, paths, logger });
    await watcher.start();
    closers.unshift(() => watcher.stop());

    const controllerStore = new CountingStore(await open());
    const controller = new Controller({ store: controllerStore, root: paths.root, defaultReplicas: 1, logger, coalesceMs: 100, resyncMs: 600_000 });
    const rounds: { at: number; result: PlacementResult }[] = [];
    controller.reconciled.subscribe((result) => rounds.push({ at: performance.now(), result }));
    let lastWrite = performance.now();
    const counters = (): StoreCounts[] => [controllerStore.snapshot(), gatewayStore.snapshot(), sumCounts(workerStores.map((s) => s.snapshot()))];

    let live = workers.length;
    const dead = new Set<string>();
    const phase = async (name: string, act: () => Promise<void>): Promise<PhaseFigures> => {
      const histogram = monitorEventLoopDelay({ resolution: 1 });
      const [c0, g0, w0] = counters();
      const rounds0 = rounds.length;
      const rebuilds0 = rebuilds.length;
      const profiler = options.cpuProfileDir === undefined ? undefined : new Session();
      if (profiler) {
        profiler.connect();
        await profiler.post('Profiler.enable');
        await profiler.post('Profiler.setSamplingInterval', { interval: 250 });
        await profiler.post('Profiler.start');
      }
      histogram.enable();
      const t0 = performance.now();
      await act();
      let decisionsWrittenMs = NaN;
      let allReadyMs = NaN;
      let lastTotal = -1;
      const deadline = t0 + timeoutMs;
      for (;;) {
        await new Promise((resolve) => setTimeout(resolve, 20));
        const now = performance.now();
        if (Number.isNaN(decisionsWrittenMs)) {
          const first = rounds.slice(rounds0).find((r) => r.result.decisions.length > 0);
          if (first) decisionsWrittenMs = first.at - t0;
        }
        if (Number.isNaN(allReadyMs) && allReady(watcher.current, deployments, live, dead)) allReadyMs = now - t0;
        const total = counters().reduce((n, c) => n + c.writes, 0);
        // A round in progress is not quiet: it places in slices, writing nothing for a while.
        if (total !== lastTotal || controller.roundInProgress) {
          lastTotal = total;
          lastWrite = now;
        }
        if (!Number.isNaN(allReadyMs) && now - lastWrite > QUIET_MS) break;
        if (now > deadline) {
          log(`  ${name}: not settled within ${timeoutMs} ms`);
          break;
        }
      }
      histogram.disable();
      if (profiler) {
        const { profile } = await profiler.post('Profiler.stop');
        profiler.disconnect();
        await writeFile(join(options.cpuProfileDir!, `${options.store}-${options.workers}x${options.models}-${name}.cpuprofile`), JSON.stringify(profile));
      }
      const [c1, g1, w1] = counters();
      const phaseRounds = rounds.slice(rounds0);
      const phaseRebuilds = rebuilds.slice(rebuilds0);
      const figures: PhaseFigures = {
        decisionsWrittenMs: Math.round(decisionsWrittenMs),
        allReadyMs: Math.round(allReadyMs),
        settledMs: Math.round(lastWrite - t0),
        decisions: phaseRounds.reduce((n, r) => n + r.result.decisions.length, 0),
        controllerRounds: phaseRounds.length,
        controller: diffCounts(c1!, c0!),
        gateway: diffCounts(g1!, g0!),
        workers: diffCounts(w1!, w0!),
        tableRebuilds: phaseRebuilds.length,
        tableRebuildMaxMs: Number(Math.max(0, ...phaseRebuilds).toFixed(1)),
        tableRebuildMeanMs: Number((phaseRebuilds.reduce((a, b) => a + b, 0) / Math.max(1, phaseRebuilds.length)).toFixed(1)),
        loopDelay: delayOf(histogram),
      };
      log(
        `  ${name}: decisions written ${figures.decisionsWrittenMs} ms, all READY ${figures.allReadyMs} ms, ${figures.decisions} decisions, ` +
          `controller ${figures.controller.writes} writes/${figures.controller.reads} reads, loop p99 ${figures.loopDelay.p99Ms} ms max ${figures.loopDelay.maxMs} ms`,
      );
      return figures;
    };

    const cold = await phase('cold', async () => {
      await controller.start();
      closers.unshift(() => controller.stop());
    });

    // Lose the worker with the most replicas' neighbour: the first one (it holds a typical share).
    const victim = workers[0]!;
    const victimIndex = 0;
    const loss = await phase('loss', async () => {
      victim.die();
      dead.add(victim.node.id);
      live--;
      const store = rawWorkerStores[victimIndex % workerSessions]!;
      if (options.store === 'memory') {
        await store.stop(); // its own session: the embedded server removes its ephemerals
      } else {
        await store.remove(paths.node(victim.node.id));
        await store.remove(paths.nodeStatus(victim.node.id));
      }
    });
    const rejoin = await phase('rejoin', async () => {
      if (options.store === 'memory') await rawWorkerStores[victimIndex]!.start();
      live++;
      dead.delete(victim.node.id);
      await victim.join();
    });

    const { znodes, dataBytes, largest } = await walk(admin, paths);
    const zk = zookeeper
      ? Object.fromEntries(
          (await fourLetterWord(zookeeper.port, 'mntr'))
            .split('\n')
            .map((line) => line.split('\t') as [string, string])
            .filter(([k]) => /znode_count|watch_count|approximate_data_size|num_alive_connections|ephemerals_count/.test(k ?? '')),
        )
      : undefined;

    // Heap held by one table built from the last input (needs --expose-gc).
    let tableHeapBytes: number | undefined;
    const gc = (globalThis as { gc?: () => void }).gc;
    const lastTableInput = tableTiming.lastInput();
    if (gc && lastTableInput) {
      gc();
      const before = process.memoryUsage().heapUsed;
      const table = tableTiming.build(lastTableInput);
      gc();
      tableHeapBytes = process.memoryUsage().heapUsed - before;
      if (table.endpoints.length < 0) log('unreachable');
    }
    return {
      workers: options.workers,
      models: options.models,
      replicas,
      store: options.store,
      workerSessions,
      cold,
      loss,
      rejoin,
      znodes,
      dataBytes,
      largest,
      zookeeper: zk,
      tableHeapBytes,
      tableEndpoints: watcher.current.endpoints.length,
    };
  } finally {
    tableTiming.restore();
    for (const close of closers) await close().catch(() => undefined);
    await zookeeper?.close();
  }
}
