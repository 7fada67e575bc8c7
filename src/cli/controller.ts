/**
 * `cranberries controller`: the placement controller of a ZooKeeper-coordinated cluster. Run two
 * or more; leader election picks the one that acts and a standby takes over within the session
 * timeout when it dies. The leader seeds the desired state from the model repository (models not
 * yet in ZooKeeper get `--default-replicas`, or their config's `replicas` parameter) and places
 * replicas on workers.
 */
import { resolve } from 'node:path';
import { Command, InvalidArgumentError, Option } from 'commander';
import { Controller } from '../cluster/controller.js';
import { ZooKeeperStore } from '../cluster/store/zookeeper-store.js';
import { LOG_LEVELS, createLogger, type LogLevel } from '../core/logger.js';
import { PACKAGE_ROOT } from '../core/version.js';
import { positiveInteger, zookeeperAddress } from './worker.js';

interface ControllerFlags {
  zookeeper: string;
  zookeeperSessionTimeoutMs: number;
  modelRepository: string;
  defaultReplicas: number;
  logLevel: LogLevel;
}

export function controllerCommand(): Command {
  return new Command('controller')
    .description('Run the leader-elected placement controller of a ZooKeeper-coordinated cluster.')
    .requiredOption('--zookeeper <connect>', 'ZooKeeper connection string host:port[,host:port...][/chroot]', zookeeperAddress)
    .option('--zookeeper-session-timeout-ms <ms>', 'ZooKeeper session timeout: how soon a standby takes over from a dead leader', positiveInteger, 10_000)
    .option('--model-repository <dir>', 'model repository that seeds the desired state', resolve(PACKAGE_ROOT, 'models'))
    .option('--default-replicas <n>', 'replicas of each repository model (a config.pbtxt "replicas" parameter overrides)', replicaCount, 1)
    .addOption(new Option('--log-level <level>', 'log level').choices(LOG_LEVELS).default('info'))
    .action(async (flags: ControllerFlags) => {
      const logger = createLogger(flags.logLevel);
      const store = new ZooKeeperStore({ connectionString: flags.zookeeper, sessionTimeoutMs: flags.zookeeperSessionTimeoutMs, logger: logger.child({ component: 'zookeeper' }) });
      await store.start();
      const controller = new Controller({ store, modelRepository: resolve(flags.modelRepository), defaultReplicas: flags.defaultReplicas, logger });
      await controller.start().catch(async (error: unknown) => {
        await store.stop();
        throw error;
      });
      logger.info({ leader: controller.isLeader }, controller.isLeader ? 'controller started as the leader' : 'controller started as a standby');
      let stopping = false;
      const stop = (signal: string): void => {
        if (stopping) return;
        stopping = true;
        logger.info({ signal }, 'stopping: stepping down');
        void controller
          .stop()
          .then(() => store.stop())
          .then(() => process.exit(0));
      };
      process.on('SIGINT', () => stop('SIGINT'));
      process.on('SIGTERM', () => stop('SIGTERM'));
    });
}

function replicaCount(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0) throw new InvalidArgumentError(`"${value}" is not a replica count (a whole number ≥ 0)`);
  return n;
}
