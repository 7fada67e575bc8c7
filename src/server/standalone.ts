/**
 * `cranberries serve` with no flags: a whole cluster of one in one process. An embedded
 * coordination store holds the desired state; the controller seeds it from the repository (every
 * model, one replica) and places the models; the worker serves its assignment; the cluster admin
 * API (`/v2/cluster/...`) on the HTTP port changes the desired state at run time. The same code
 * runs a ZooKeeper cluster: only the store differs.
 */
import { totalmem } from 'node:os';
import { Controller } from '../cluster/controller.js';
import { clusterAdminRoutes } from '../cluster/admin-routes.js';
import { MemoryStore, MemoryStoreServer } from '../cluster/store/memory-store.js';
import { startWorkerNode } from '../cluster/worker-node.js';
import type { BoundPorts, ModelServerOptions } from './model-server.js';

/** Memory the embedded worker offers to models: most of the machine's. */
const MEMORY_FRACTION = 0.8;
const NODE_ID = 'local';

export interface Standalone {
  readonly ports: BoundPorts;
  stop(): Promise<void>;
}

export async function startStandalone(options: ModelServerOptions & { readonly defaultReplicas?: number }): Promise<Standalone> {
  const backing = new MemoryStoreServer();
  const stores = [new MemoryStore(backing), new MemoryStore(backing), new MemoryStore(backing)] as const;
  const [controllerStore, workerStore, adminStore] = stores;
  await Promise.all(stores.map((s) => s.start()));
  const logger = options.logger;
  const controller = new Controller({
    store: controllerStore,
    modelRepository: options.modelRepository,
    defaultReplicas: options.defaultReplicas ?? 1,
    logger: logger.child({ component: 'controller' }),
  });
  await controller.start();
  const worker = await startWorkerNode({
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
    server: { ...options, httpPlugins: [...(options.httpPlugins ?? []), clusterAdminRoutes(adminStore)] },
  });
  return {
    ports: worker.ports,
    stop: async () => {
      await controller.stop();
      await worker.stop();
      await Promise.all(stores.map((s) => s.stop()));
    },
  };
}
