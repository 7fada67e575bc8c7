/**
 * `cranberries admin`: the administration UI as a process of its own, over the cluster's ZooKeeper
 * (state and actions) and a gateway (inference, statistics, metrics). See `admin/admin-service.ts`.
 */
import { resolve } from 'node:path';
import { Command, InvalidArgumentError, Option } from 'commander';
import { LOG_LEVELS, createLogger, type LogLevel } from '../core/index.js';
import { ZooKeeperStore } from '../cluster/index.js';
import { AdminService } from '../composition/index.js';
import { addAccessFlags, accessPolicyFromFlags, type AccessFlags } from './access-flags.js';
import { addZooKeeperAuthFlags, zooKeeperAuthFromFlags, type ZooKeeperAuthFlags } from './zookeeper-auth-flags.js';
import { logFormatOption, type LogFormatFlags } from './log-flags.js';
import { port, positiveNumber } from './options.js';
import { stopOnSignals } from './shutdown.js';

interface AdminFlags extends AccessFlags, ZooKeeperAuthFlags, LogFormatFlags {
  zookeeper: string;
  host: string;
  httpPort: number;
  gateway?: string;
  gatewayMetrics?: string;
  modelRepository?: string;
  defaultReplicas: number;
  zookeeperSessionTimeoutMs: number;
  logLevel: LogLevel;
}

function httpUrl(value: string): string {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new InvalidArgumentError(`"${value}" is not a URL (expected http://HOST:PORT)`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new InvalidArgumentError(`"${value}": only http:// and https:// URLs are supported`);
  return value.replace(/\/+$/, '');
}

function wholePositive(value: string): number {
  const n = positiveNumber(value);
  if (!Number.isInteger(n)) throw new InvalidArgumentError(`"${value}" is not a whole number`);
  return n;
}

export function adminCommand(): Command {
  const command = new Command('admin')
    .description("Run the administration UI (a web app at /ui) over the cluster's ZooKeeper and a gateway.")
    .requiredOption('--zookeeper <connection>', 'ZooKeeper connection string, HOST:PORT[,HOST:PORT...][/chroot]')
    .option('--host <address>', 'address to bind the UI to', '0.0.0.0')
    .option('--http-port <port>', 'HTTP port of the UI and its API; 0 picks a free port', port, 8080)
    .option('--gateway <url>', 'gateway base URL (e.g. http://127.0.0.1:8000) for inference, statistics and model metadata')
    .option('--gateway-metrics <url>', "the gateway's Prometheus endpoint (e.g. http://127.0.0.1:8002/metrics) for the model page's latency and failure charts")
    .option('--model-repository <dir>', 'the model repository, when this host can read it: its models not yet served can be added from the UI')
    .option('--default-replicas <n>', 'replicas of a model loaded or added without a count', wholePositive, 1)
    .option('--zookeeper-session-timeout-ms <ms>', 'ZooKeeper session timeout (the server may clamp it)', wholePositive, 10_000)
    .addOption(new Option('--log-level <level>', 'log level').choices(LOG_LEVELS).default('info'))
    .addOption(logFormatOption());
  return addZooKeeperAuthFlags(addAccessFlags(command)).action(async (flags: AdminFlags) => {
    const logger = createLogger(flags.logLevel, undefined, flags.logFormat);
    if (flags.gateway !== undefined) flags.gateway = httpUrl(flags.gateway);
    if (flags.gatewayMetrics !== undefined) flags.gatewayMetrics = httpUrl(flags.gatewayMetrics);
    const store = new ZooKeeperStore({
      connectionString: flags.zookeeper,
      sessionTimeoutMs: flags.zookeeperSessionTimeoutMs,
      logger: logger.child({ component: 'zookeeper' }),
      auth: zooKeeperAuthFromFlags(flags),
    });
    const service = new AdminService({
      store,
      storeLabel: `ZooKeeper ${flags.zookeeper}`,
      host: flags.host,
      httpPort: flags.httpPort,
      gatewayUrl: flags.gateway,
      gatewayMetricsUrl: flags.gatewayMetrics,
      modelRepository: flags.modelRepository === undefined ? undefined : resolve(flags.modelRepository),
      defaultReplicas: flags.defaultReplicas,
      access: accessPolicyFromFlags(flags, logger),
      logger,
    });
    stopOnSignals({ logger, stop: () => service.stop(), drainTimeoutMs: 5000, message: 'stopping the admin UI' });
    await service.start();
  });
}
