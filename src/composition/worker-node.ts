/**
 * A complete cluster worker in one call: a `ModelServer` that serves only its assignment, and the
 * `WorkerAgent` that registers it, follows the assignment and publishes its status. Used by
 * `cranberries worker`, by tests (several in one process), and by a standalone server over the
 * embedded store.
 *
 * Start order: the server first (endpoints bound, nothing selected yet, so the agent can register
 * the real ports), then the agent (reads the assignment: the server loads it). Stop order is the
 * reverse: the agent leaves the cluster first so the gateway stops routing here, then the server
 * drains and unloads.
 *
 * The server's `/metrics` also shows the worker's membership (`cluster/worker-metrics.ts`) and its
 * coordination session (`cluster/coordination-metrics.ts`).
 */
import { availableParallelism, hostname, networkInterfaces } from 'node:os';
import type { Logger } from '../core/index.js';
import { createCoordinationMetrics, WorkerMetrics, AssignmentSelection, WorkerAgent } from '../cluster/index.js';
import { ModelServer, type BoundPorts, type ModelServerOptions } from './model-server.js';
import type { ReadinessCondition } from './readiness.js';
import type { CoordinationStore } from '../cluster/index.js';

export interface WorkerNodeOptions {
  readonly store: CoordinationStore;
  /** Layout root in the store. Default `/cranberries`. */
  readonly root?: string;
  /** Default: `<hostname>-<http port>` (`defaultNodeId`). */
  readonly nodeId?: string | undefined;
  readonly memoryCapacityBytes: number;
  readonly labels?: Readonly<Record<string, string>>;
  readonly modelRepository: string;
  readonly host: string;
  /** Host other processes reach this worker at. Default: `host`, or for a wildcard bind this machine's first external IPv4 address (else its hostname). */
  readonly advertiseHost?: string | undefined;
  readonly httpPort: number;
  readonly grpcPort: number;
  readonly metricsPort: number;
  /** `none`: files are read when the assignment changes; `poll`: model file changes are followed too. */
  readonly controlMode: 'none' | 'poll';
  readonly pollSeconds: number;
  readonly httpMaxBodyBytes: number;
  readonly grpcMaxMessageBytes: number;
  readonly logger: Logger;
  /** Further model-server options (metrics, cache, extra REST APIs); the selection is the agent's. */
  readonly server?: Partial<Omit<ModelServerOptions, 'selection'>> | undefined;
  /** More conditions the server's readiness waits for, by name (held from before the server starts). */
  readonly readinessHolds?: Readonly<Record<string, ReadinessCondition>> | undefined;
}

export interface WorkerNode {
  readonly nodeId: string;
  readonly server: ModelServer;
  readonly agent: WorkerAgent;
  readonly selection: AssignmentSelection;
  readonly ports: BoundPorts;
  readonly httpAddress: string;
  readonly grpcAddress: string;
  stop(): Promise<void>;
}

export async function startWorkerNode(options: WorkerNodeOptions): Promise<WorkerNode> {
  const selection = new AssignmentSelection();
  const server = new ModelServer({
    modelRepository: options.modelRepository,
    host: options.host,
    httpPort: options.httpPort,
    grpcPort: options.grpcPort,
    metricsPort: options.metricsPort,
    controlMode: options.controlMode,
    pollSeconds: options.pollSeconds,
    loadModels: [],
    httpMaxBodyBytes: options.httpMaxBodyBytes,
    grpcMaxMessageBytes: options.grpcMaxMessageBytes,
    logger: options.logger,
    ...options.server,
    selection,
  });
  for (const [name, condition] of Object.entries(options.readinessHolds ?? {})) server.readiness.hold(name, condition);
  const ports = await server.start();
  const nodeId = options.nodeId ?? defaultNodeId(ports.http);
  const advertised = options.advertiseHost ?? advertiseHostFor(options.host);
  const httpAddress = hostPort(advertised, ports.http);
  const grpcAddress = hostPort(advertised, ports.grpc);
  const agent = new WorkerAgent({
    store: options.store,
    root: options.root,
    nodeId,
    memoryCapacityBytes: options.memoryCapacityBytes,
    labels: options.labels,
    selection,
    models: server.manager,
    logger: options.logger,
    admission: { concurrency: options.server?.modelLoadThreadCount ?? availableParallelism() },
  });
  // A worker is ready when it serves its whole assignment (and, strictly, every model is READY).
  server.readiness.hold('assignment', () => agent.assignmentPending());
  const unsubscribeRegistered = agent.registrations.subscribe(() => server.readiness.changed());
  const detachMetrics = attachWorkerMetrics(server, agent, options.store);
  try {
    await agent.start({ httpAddress, grpcAddress });
  } catch (error) {
    await server.stop();
    detachMetrics();
    throw error;
  }
  server.readiness.report();
  return {
    nodeId,
    server,
    agent,
    selection,
    ports,
    httpAddress,
    grpcAddress,
    stop: async () => {
      server.readiness.close();
      unsubscribeRegistered();
      await agent.stop();
      await server.stop();
      detachMetrics();
    },
  };
}

/** A worker's id when none is given: `<hostname>-<http port>` (also its Graphite node name in `cranberries worker`). */
export function defaultNodeId(httpPort: number): string {
  return `${hostname()}-${httpPort}`;
}

/** Registers the membership and session metrics on the server's registry; returns the detach function. */
function attachWorkerMetrics(server: ModelServer, agent: WorkerAgent, store: CoordinationStore): () => void {
  const coordination = createCoordinationMetrics(server.registry, store);
  const metrics = new WorkerMetrics(server.registry, { assignedModels: () => agent.assignedModels().length, registered: () => agent.isRegistered });
  const unsubscribe = [agent.registrations.subscribe(() => metrics.registeredOnce()), agent.statusPublished.subscribe((ok) => metrics.statusPublished(ok))];
  return () => {
    for (const u of unsubscribe) u();
    coordination.close();
  };
}

/** The host to advertise for a bind address: itself, unless it is a wildcard. */
export function advertiseHostFor(bindHost: string): string {
  if (bindHost !== '0.0.0.0' && bindHost !== '::' && bindHost !== '') return bindHost;
  for (const addresses of Object.values(networkInterfaces())) {
    const external = addresses?.find((a) => a.family === 'IPv4' && !a.internal);
    if (external) return external.address;
  }
  return hostname();
}

function hostPort(host: string, port: number): string {
  return host.includes(':') && !host.startsWith('[') ? `[${host}]:${port}` : `${host}:${port}`;
}
