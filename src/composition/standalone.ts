/**
 * `cranberries serve` with no flags: a whole cluster of one in one process. An embedded
 * coordination store holds the desired state; the controller seeds it from the repository (every
 * model, one replica) and places the models; the worker serves its assignment; the cluster admin
 * API (`/v2/cluster/...`) on the HTTP port changes the desired state at run time. The same code
 * runs a ZooKeeper cluster: only the store differs.
 */
import { readdir } from 'node:fs/promises';
import { totalmem } from 'node:os';
import { Controller, clusterAdminRoutes, MemoryStore, MemoryStoreServer } from '../cluster/index.js';
import { startWorkerNode, type WorkerNode } from './worker-node.js';
import type { PlacementResult } from '../cluster/index.js';
import type { BoundPorts, ModelServerOptions } from './model-server.js';
import { startupFailures, type ReadinessModels, type ServerReadiness } from './readiness.js';
import { adminUi } from '../admin/index.js';

/** Memory the embedded worker offers to models: most of the machine's. */
const MEMORY_FRACTION = 0.8;
const NODE_ID = 'local';

export interface Standalone {
  readonly ports: BoundPorts;
  readonly readiness: ServerReadiness;
  /** The served models and their states (the startup banner lists them). */
  readonly models: ReadinessModels;
  /** Once settled: the repository's models (replicas > 0) that are not READY, each with its reason. */
  startupFailures(): { model: string; reason: string }[];
  stop(): Promise<void>;
}

/** The repository's model folders (what the admin API may add); none when it cannot be read. */
async function repositoryModels(root: string): Promise<string[]> {
  const entries = await readdir(root, { withFileTypes: true }).catch(() => []);
  return entries.filter((e) => e.isDirectory() && !e.name.startsWith('.')).map((e) => e.name);
}

export async function startStandalone(options: ModelServerOptions & { readonly defaultReplicas?: number }): Promise<Standalone> {
  const backing = new MemoryStoreServer();
  const stores = [new MemoryStore(backing), new MemoryStore(backing), new MemoryStore(backing)] as const;
  const [controllerStore, workerStore, adminStore] = stores;
  await Promise.all(stores.map((s) => s.start()));
  const logger = options.logger;
  // Readiness waits for the controller's first placement that includes this worker, and for the
  // worker to follow it: before that the worker's (empty) assignment says nothing.
  let lastRound: PlacementResult | undefined;
  const started: { worker?: WorkerNode } = {};
  const placementPending = (): string | undefined => {
    const assigned = lastRound?.assignments.get(NODE_ID);
    if (!lastRound || !assigned) return 'waiting for the controller to place the repository models';
    const following = started.worker?.agent.assignedModels() ?? [];
    if (following.length !== assigned.length || assigned.some((m) => !following.includes(m))) return 'waiting for the worker to follow its assignment';
    if (options.strictReadiness !== false) {
      const unplaced = [...lastRound.placement].filter(([, s]) => s.state !== 'PLACED');
      if (unplaced.length > 0) return `strict readiness: not placed: ${unplaced.map(([m, s]) => `${m}: ${s.reason ?? s.state}`).join('; ')}`;
    }
    return undefined;
  };
  const controller = new Controller({
    store: controllerStore,
    modelRepository: options.modelRepository,
    versionFolders: options.versionFolderNames,
    defaultReplicas: options.defaultReplicas ?? 1,
    // The controller binds its own `component` field; a second binding would repeat the key in every line.
    logger,
  });
  const unsubscribeRounds = controller.reconciled.subscribe((round) => {
    lastRound = round;
    started.worker?.server.readiness.changed();
  });
  await controller.start();
  const node = await startWorkerNode({
    store: workerStore,
    nodeId: NODE_ID,
    memoryCapacityBytes: Math.floor(totalmem() * MEMORY_FRACTION),
    modelRepository: options.modelRepository,
    host: options.host,
    httpPort: options.httpPort,
    grpcPort: options.grpcPort,
    metricsPort: options.metricsPort,
    controlMode: options.controlMode === 'poll' ? 'poll' : 'none',
    pollSeconds: options.pollSeconds,
    httpMaxBodyBytes: options.httpMaxBodyBytes,
    grpcMaxMessageBytes: options.grpcMaxMessageBytes,
    logger,
    server: {
      ...options,
      httpPlugins: [
        ...(options.httpPlugins ?? []),
        clusterAdminRoutes(adminStore, { knownModels: () => repositoryModels(options.modelRepository) }),
        // The administration UI at /ui over the same store (`admin/`).
        adminUi({
          store: adminStore,
          storeLabel: 'embedded (in this process)',
          repositoryModels: () => repositoryModels(options.modelRepository),
          extraComponents: () => Promise.resolve([{ name: 'server', state: 'up', detail: 'this process serves inference, statistics and metrics (one-process mode: no separate gateway)' }]),
          metricsText: () => (started.worker ? started.worker.server.registry.metrics() : Promise.reject(new Error('the server is starting'))),
        }),
      ],
    },
    readinessHolds: { placement: placementPending },
  }).catch(async (error: unknown) => {
    unsubscribeRounds();
    await controller.stop();
    await Promise.all(stores.map((s) => s.stop()));
    throw error;
  });
  started.worker = node;
  return {
    ports: node.ports,
    readiness: node.server.readiness,
    models: node.server.manager,
    startupFailures: () => {
      const placement = [...(lastRound?.placement ?? [])].filter(([, s]) => !(s.state === 'PLACED' && s.nodes.length === 0)); // replicas 0: not asked for
      const unplaced = placement.filter(([, s]) => s.state === 'PENDING').map(([model, s]) => ({ model, reason: `not placed: ${s.reason ?? 'no room'}` }));
      const placed = placement.filter(([, s]) => s.state !== 'PENDING').map(([model]) => model);
      return [...unplaced, ...startupFailures(node.server.manager, placed)].sort((a, b) => a.model.localeCompare(b.model));
    },
    stop: async () => {
      unsubscribeRounds();
      await controller.stop();
      await node.stop();
      await Promise.all(stores.map((s) => s.stop()));
    },
  };
}
