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
import { resolve } from 'node:path';
import { Command, InvalidArgumentError, Option } from 'commander';
import { ZooKeeperStore } from '../cluster/index.js';
import { startControllerNode } from '../composition/index.js';
import { addZooKeeperAuthFlags, zooKeeperAuthFromFlags, type ZooKeeperAuthFlags } from './zookeeper-auth-flags.js';
import { LOG_LEVELS, createLogger, type LogLevel, PACKAGE_ROOT } from '../core/index.js';
import { addObservabilityFlags, observabilityOptions, type ObservabilityFlags } from './observability-flags.js';
import { port, VERSION_FOLDER_NAMES_HELP } from './options.js';
import type { VersionFolderNames } from '../repository/index.js';
import { positiveInteger, zookeeperAddress } from './worker.js';
import { addListenerLimitFlags, listenerLimitsFromFlags, type ListenerLimitFlags } from '../protocols/common/index.js';
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
