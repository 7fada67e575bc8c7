/**
 * A child process of the scale simulation's `--processes` mode (forked by processes.ts): the REAL
 * controller, the REAL gateway table watcher, or a share of the simulated workers, alone in its
 * process over its own ZooKeeper session(s), so its event-loop delay is its own. Commands arrive
 * over the IPC channel (`ChildRequest`), answers go back (`ChildResponse`); see process-protocol.ts.
 */
import { Session } from 'node:inspector/promises';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Controller, ZooKeeperStore, clusterPaths, type ModelDeployment } from '../../src/cluster/index.js';
import { createLogger } from '../../src/core/index.js';
import { TableWatcher, type EndpointTable } from '../../src/gateway/routing/index.js';
import { CountingStore, diffCounts, sumCounts, type StoreCounts } from './counting-store.js';
import { PhaseMeter, epochMs, type ChildConfig, type ChildPoll, type ChildRequest, type ChildResponse } from './process-protocol.js';
import { SimulatedWorker } from './simulated-worker.js';
import { syntheticModels, syntheticWorkers } from './synthetic.js';
import { timeTableBuilds } from './table-timing.js';

type Handler = (args: Record<string, unknown>) => Promise<unknown>;

const config = JSON.parse(process.argv[2] ?? '{}') as ChildConfig;
const paths = clusterPaths(config.root);
const logger = createLogger('error', `scale-${config.role}`, 'json');
const meter = new PhaseMeter();
const stores: CountingStore[] = [];
const closers: (() => Promise<void>)[] = [];
let phaseName = '';
let countsAtStart: StoreCounts | undefined;
let reachedAt: number | undefined;
let profiler: Session | undefined;

const counts = (): StoreCounts => sumCounts(stores.map((s) => s.snapshot()));

async function openStore(): Promise<CountingStore> {
  const raw = new ZooKeeperStore({ connectionString: config.connectionString, sessionTimeoutMs: 30_000, operationTimeoutMs: 60_000, logger });
  await raw.start();
  closers.push(() => raw.stop());
  const store = new CountingStore(raw);
  stores.push(store);
  return store;
}

const common: Record<string, Handler> = {
  phaseStart: async (args) => {
    phaseName = String(args['phase']);
    reachedAt = undefined;
    countsAtStart = counts();
    if (config.cpuProfileDir !== undefined) {
      profiler = new Session();
      profiler.connect();
      await profiler.post('Profiler.enable');
      await profiler.post('Profiler.setSamplingInterval', { interval: 250 });
      await profiler.post('Profiler.start');
    }
    meter.start();
    return undefined;
  },
  phaseEnd: async () => {
    const figures = meter.end();
    if (profiler) {
      const { profile } = await profiler.post('Profiler.stop');
      profiler.disconnect();
      profiler = undefined;
      await writeFile(join(config.cpuProfileDir!, `${config.role}-${config.workers}x${config.models}-${phaseName}.cpuprofile`), JSON.stringify(profile));
    }
    return { figures, counts: diffCounts(counts(), countsAtStart!), ...phaseExtras() };
  },
  stop: async () => {
    for (const close of closers) await close().catch(() => undefined);
    return undefined;
  },
};

let phaseExtras = (): Record<string, unknown> => ({});
let busy = (): boolean => false;

async function controllerRole(): Promise<Record<string, Handler>> {
  const store = await openStore();
  const controller = new Controller({ store, root: paths.root, defaultReplicas: 1, logger, coalesceMs: 100, resyncMs: 600_000 });
  let rounds = 0;
  let decisions = 0;
  controller.reconciled.subscribe((result) => {
    rounds++;
    decisions += result.decisions.length;
    if (reachedAt === undefined && result.decisions.length > 0) reachedAt = epochMs();
  });
  let roundsAtStart = 0;
  let decisionsAtStart = 0;
  const start = common['phaseStart']!;
  busy = () => controller.roundInProgress;
  phaseExtras = () => ({ rounds: rounds - roundsAtStart, decisions: decisions - decisionsAtStart });
  return {
    phaseStart: async (args) => {
      roundsAtStart = rounds;
      decisionsAtStart = decisions;
      return start(args);
    },
    start: async () => {
      await controller.start();
      closers.unshift(() => controller.stop());
      return undefined;
    },
  };
}

/** Every replica READY in the fresh tier, checked 500 models per turn of the loop (the check is the harness's, not the gateway's). */
async function allReadyInSlices(table: EndpointTable, deployments: readonly ModelDeployment[], live: number, dead: ReadonlySet<string>): Promise<boolean> {
  for (let i = 0; i < deployments.length; i++) {
    const d = deployments[i]!;
    const want = Math.min(d.replicas, live);
    if (want > 0 && table.replicas(d.name, 1).fresh.filter((e) => !dead.has(e.nodeId)).length < want) return false;
    if (i % 500 === 499) await new Promise((resolve) => setImmediate(resolve));
  }
  return true;
}

async function gatewayRole(): Promise<Record<string, Handler>> {
  const timing = timeTableBuilds();
  const store = await openStore();
  const watcher = new TableWatcher({ store, paths, logger });
  const deployments = syntheticModels(config.models);
  let live = config.workers;
  let dead = new Set<string>();
  let checking = false;
  let checkAgain = false;
  let phaseActive = false;
  const check = async (): Promise<void> => {
    if (checking) {
      checkAgain = true;
      return;
    }
    checking = true;
    try {
      do {
        checkAgain = false;
        if (!phaseActive || reachedAt !== undefined) return;
        if (await allReadyInSlices(watcher.current, deployments, live, dead)) reachedAt ??= epochMs();
      } while (checkAgain);
    } finally {
      checking = false;
    }
  };
  watcher.updated.subscribe(() => void check());
  await watcher.start();
  closers.unshift(() => watcher.stop());
  let rebuildsAtStart = 0;
  const start = common['phaseStart']!;
  phaseExtras = () => {
    const phase = timing.rebuilds.slice(rebuildsAtStart);
    phaseActive = false;
    return {
      tableRebuilds: phase.length,
      tableRebuildMaxMs: Number(Math.max(0, ...phase).toFixed(1)),
      tableRebuildMeanMs: Number((phase.reduce((a, b) => a + b, 0) / Math.max(1, phase.length)).toFixed(1)),
      tableEndpoints: watcher.current.endpoints.length,
    };
  };
  return {
    phaseStart: (args) => {
      rebuildsAtStart = timing.rebuilds.length;
      return start(args);
    },
    // After the phase's action (the controller started, the worker gone): from now on the first table with every replica READY counts.
    watchReady: () => {
      phaseActive = true;
      void check();
      return Promise.resolve(undefined);
    },
    setDead: (args) => {
      dead = new Set(args['dead'] as string[]);
      live = config.workers - dead.size;
      return Promise.resolve(undefined);
    },
  };
}

async function workersRole(): Promise<Record<string, Handler>> {
  const deployments = new Map(syntheticModels(config.models).map((d) => [d.name, d]));
  const sessions: CountingStore[] = [];
  for (let i = 0; i < config.sessions; i++) sessions.push(await openStore());
  const workers = new Map<string, { worker: SimulatedWorker; store: CountingStore }>();
  const nodes = syntheticWorkers(config.workers).slice(config.from, config.to);
  nodes.forEach((node, i) => {
    const store = sessions[i % sessions.length]!;
    workers.set(node.id, { worker: new SimulatedWorker(node, store, paths, deployments, config.loadTimeScale), store });
  });
  closers.unshift(() => {
    for (const { worker } of workers.values()) worker.die();
    return Promise.resolve();
  });
  const one = (args: Record<string, unknown>): { worker: SimulatedWorker; store: CountingStore } => {
    const found = workers.get(String(args['id']));
    if (!found) throw new Error(`no simulated worker '${String(args['id'])}' in this process`);
    return found;
  };
  return {
    join: async () => {
      const all = [...workers.values()];
      for (let i = 0; i < all.length; i += 100) await Promise.all(all.slice(i, i + 100).map(({ worker }) => worker.join()));
      return undefined;
    },
    // Dies as session expiry would look: its two ephemerals deleted (the workers share sessions).
    kill: async (args) => {
      const { worker, store } = one(args);
      worker.die();
      await store.remove(paths.node(worker.node.id));
      await store.remove(paths.nodeStatus(worker.node.id));
      return undefined;
    },
    rejoin: async (args) => {
      await one(args).worker.join();
      return undefined;
    },
  };
}

async function main(): Promise<void> {
  const roles = { controller: controllerRole, gateway: gatewayRole, workers: workersRole };
  const handlers: Record<string, Handler> = { ...common, ...(await roles[config.role]()) };
  handlers['poll'] = () => Promise.resolve({ writes: counts().writes, busy: busy(), reachedAt } satisfies ChildPoll);
  process.on('message', (message: ChildRequest) => {
    const handler = handlers[message.command];
    const answer = (response: ChildResponse): void => {
      process.send?.(response);
      if (message.command === 'stop') process.disconnect();
    };
    if (!handler) {
      answer({ id: message.id, error: `unknown command '${message.command}' for ${config.role}` });
      return;
    }
    handler(message.args ?? {}).then(
      (result) => answer({ id: message.id, result }),
      (error: unknown) => answer({ id: message.id, error: error instanceof Error ? error.message : String(error) }),
    );
  });
  process.send?.({ id: 0, result: 'ready' } satisfies ChildResponse);
}

main().catch((error: unknown) => {
  process.send?.({ id: 0, error: error instanceof Error ? error.message : String(error) } satisfies ChildResponse);
  process.exitCode = 1;
});
