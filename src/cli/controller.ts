/**
 * `cranberries controller`: the placement controller of a ZooKeeper-coordinated cluster. Run two
 * or more; leader election picks the one that acts and a standby takes over within the session
 * timeout when it dies. The leader seeds the desired state from the model repository (models not
 * yet in ZooKeeper get `--default-replicas`, or their config's `replicas` parameter) and places
 * replicas on workers.
 *
 * Every controller, leader or standby, serves `/metrics` on `--metrics-port` (placement, leadership,
 * live workers, its coordination session and process metrics) and can push them to Graphite.
 */
import { hostname } from 'node:os';
import { resolve } from 'node:path';
import { Command, InvalidArgumentError, Option } from 'commander';
import { Controller, ZooKeeperStore, ControllerMetrics, type PlacementRound, createCoordinationMetrics } from '../cluster/index.js';
import type { CoordinationStore } from '../cluster/index.js';
import { addZooKeeperAuthFlags, zooKeeperAuthFromFlags, type ZooKeeperAuthFlags } from './zookeeper-auth-flags.js';
import { EventChannel, LOG_LEVELS, createLogger, type LogLevel, type Logger, PACKAGE_ROOT } from '../core/index.js';
import { GraphiteReporter, type GraphiteOptions, MetricsServer } from '../metrics/index.js';
import { addObservabilityFlags, observabilityOptions, type ObservabilityFlags } from './observability-flags.js';
import { port, VERSION_FOLDER_NAMES_HELP } from './options.js';
import type { VersionFolderNames } from '../repository/index.js';
import { positiveInteger, zookeeperAddress } from './worker.js';
import { addListenerLimitFlags, listenerLimitsFromFlags, type HttpListenerLimits, type ListenerLimitFlags } from '../protocols/common/index.js';
import { addDrainTimeoutFlag, stopOnSignals, type DrainTimeoutFlags } from './shutdown.js';
import { logFormatOption, type LogFormatFlags } from './log-flags.js';

interface ControllerFlags extends ObservabilityFlags, ListenerLimitFlags, DrainTimeoutFlags, ZooKeeperAuthFlags, LogFormatFlags {
  zookeeper: string;
  zookeeperSessionTimeoutMs: number;
  modelRepository: string;
  defaultReplicas: number;
  versionFolderNames: VersionFolderNames;
  host: string;
  metricsPort: number;
  logLevel: LogLevel;
}

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

export function controllerCommand(): Command {
  const command = new Command('controller')
    .description('Run the leader-elected placement controller of a ZooKeeper-coordinated cluster.')
    .requiredOption('--zookeeper <connect>', 'ZooKeeper connection string host:port[,host:port...][/chroot]', zookeeperAddress)
    .option('--zookeeper-session-timeout-ms <ms>', 'ZooKeeper session timeout: how soon a standby takes over from a dead leader', positiveInteger, 10_000)
    .option('--model-repository <dir>', 'model repository that seeds the desired state', resolve(PACKAGE_ROOT, 'models'))
    .option('--default-replicas <n>', 'replicas of each repository model (a config.pbtxt "replicas" parameter overrides)', replicaCount, 1)
    .addOption(new Option('--version-folder-names <rule>', VERSION_FOLDER_NAMES_HELP).choices(['strict', 'digits']).default('strict'))
    .option('--host <address>', 'address to bind the metrics endpoint to', '0.0.0.0')
    .option('--metrics-port <port>', 'Prometheus metrics port; 0 picks a free port', port, 8002)
    .addOption(new Option('--log-level <level>', 'log level').choices(LOG_LEVELS).default('info'))
    .addOption(logFormatOption());
  // --log-requests-sample-rate is accepted for symmetry with the other commands; a controller serves no requests.
  return addDrainTimeoutFlag(addListenerLimitFlags(addObservabilityFlags(addZooKeeperAuthFlags(command)), { grpc: false })).action(async (flags: ControllerFlags) => {
    const logger = createLogger(flags.logLevel, undefined, flags.logFormat);
    const store = new ZooKeeperStore({
      connectionString: flags.zookeeper,
      sessionTimeoutMs: flags.zookeeperSessionTimeoutMs,
      logger: logger.child({ component: 'zookeeper' }),
      auth: zooKeeperAuthFromFlags(flags),
    });
    await store.start();
    const node = await startControllerNode({
      store,
      modelRepository: resolve(flags.modelRepository),
      defaultReplicas: flags.defaultReplicas,
      versionFolderNames: flags.versionFolderNames,
      logger,
      host: flags.host,
      metricsPort: flags.metricsPort,
      graphite: observabilityOptions(flags).graphite,
      listenerLimits: listenerLimitsFromFlags(flags).http,
    }).catch(async (error: unknown) => {
      await store.stop();
      throw error;
    });
    const { controller } = node;
    logger.info({ leader: controller.isLeader }, controller.isLeader ? 'controller started as the leader' : 'controller started as a standby');
    stopOnSignals({ logger, stop: () => node.stop().then(() => store.stop()), drainTimeoutMs: flags.drainTimeoutSecs * 1000, message: 'stopping: stepping down' });
  });
}

function replicaCount(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0) throw new InvalidArgumentError(`"${value}" is not a replica count (a whole number ≥ 0)`);
  return n;
}
