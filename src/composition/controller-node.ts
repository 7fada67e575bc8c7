/**
 * A controller process's parts: the leader-elected placement controller with its metrics endpoint
 * (placement, leadership, live workers, its coordination session, process metrics) and the optional
 * Graphite push. `cranberries controller` and the standalone server start one.
 */
import { hostname } from 'node:os';
import { Controller, ControllerMetrics, type PlacementRound, createCoordinationMetrics, type CoordinationStore } from '../cluster/index.js';
import { EventChannel, type Logger } from '../core/index.js';
import { GraphiteReporter, type GraphiteOptions, MetricsServer } from '../metrics/index.js';
import type { VersionFolderNames } from '../repository/index.js';
import type { HttpListenerLimits } from '../protocols/common/index.js';

export interface ControllerNodeOptions {
  readonly store: CoordinationStore;
  /** Layout root in the store. Default `/cranberries`. */
  readonly root?: string | undefined;
  readonly modelRepository?: string | undefined;
  /** Which folder names of the repository are versions; default `strict`. */
  readonly versionFolderNames?: VersionFolderNames | undefined;
  readonly defaultReplicas: number;
  readonly logger: Logger;
  /** Address and port of `/metrics` (0 picks a free port). */
  readonly host: string;
  readonly metricsPort: number;
  /** Also push the metrics to Graphite; the node defaults to `<hostname>-controller-<metrics port>`. */
  readonly graphite?: GraphiteOptions | undefined;
  /** Shown in the election node and logs. */
  readonly candidate?: string | undefined;
  /** Timeouts and connection limit of the metrics endpoint. Default `DEFAULT_LISTENER_LIMITS.http`. */
  readonly listenerLimits?: HttpListenerLimits | undefined;
}

export interface ControllerNode {
  readonly controller: Controller;
  readonly metrics: MetricsServer;
  readonly metricsPort: number;
  stop(): Promise<void>;
}

/**
 * A controller with its metrics endpoint (and Graphite push): the metrics are attached before the
 * election starts, so the first gain of leadership is counted. `stop` does not stop the store.
 */
export async function startControllerNode(options: ControllerNodeOptions): Promise<ControllerNode> {
  const { store, logger } = options;
  const controller = new Controller({
    store,
    root: options.root,
    modelRepository: options.modelRepository,
    versionFolders: options.versionFolderNames,
    defaultReplicas: options.defaultReplicas,
    logger,
    ...(options.candidate === undefined ? {} : { candidate: options.candidate }),
  });
  const metrics = new MetricsServer(undefined, options.listenerLimits);
  // The metrics read only part of each round's result: a channel of that narrower type, fed by the controller's.
  const rounds = new EventChannel<PlacementRound>();
  const forwardRounds = controller.reconciled.subscribe((round) => rounds.publish(round));
  const controllerMetrics = new ControllerMetrics(metrics.registry, {
    isLeader: () => controller.isLeader,
    reconciled: rounds,
    leadershipChanged: controller.leadershipChanged,
    liveNodes: () => store.children(controller.paths.nodes),
  });
  const coordination = createCoordinationMetrics(metrics.registry, store);
  const detach = (): void => {
    forwardRounds();
    controllerMetrics.close();
    coordination.close();
  };
  let metricsPort: number;
  try {
    metricsPort = await metrics.listen(options.host, options.metricsPort);
  } catch (error) {
    detach();
    throw error;
  }
  const graphite = options.graphite
    ? new GraphiteReporter(metrics.registry, { ...options.graphite, node: options.graphite.node ?? `${hostname()}-controller-${metricsPort}` }, logger.child({ component: 'graphite' }))
    : undefined;
  graphite?.start();
  const stopMetrics = async (): Promise<void> => {
    await graphite?.close();
    await metrics.close();
    detach();
  };
  try {
    await controller.start();
  } catch (error) {
    await stopMetrics();
    throw error;
  }
  logger.info({ host: options.host, metrics: metricsPort }, `controller metrics on ${options.host}:${metricsPort}`);
  return {
    controller,
    metrics,
    metricsPort,
    stop: async () => {
      await controller.stop();
      await stopMetrics();
    },
  };
}
