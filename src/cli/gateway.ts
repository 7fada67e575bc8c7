/**
 * `cranberries gateway`: the cluster's front door. Serves the same OIP REST/gRPC and TF Serving
 * APIs as a worker, routing each request to a READY replica found through ZooKeeper.
 */
import { Command, InvalidArgumentError, Option } from 'commander';
import { LOG_LEVELS, createLogger, type LogLevel } from '../core/index.js';
import { ZooKeeperStore } from '../cluster/index.js';
import { GatewayServer } from '../composition/index.js';
import { addObservabilityFlags, observabilityOptions, type ObservabilityFlags } from './observability-flags.js';
import { port, positiveNumber, TENSOR_CONTENT_HELP } from './options.js';
import { addListenerLimitFlags, listenerLimitsFromFlags, type ListenerLimitFlags } from '../protocols/common/index.js';
import { addDrainTimeoutFlag, stopOnSignals, type DrainTimeoutFlags } from './shutdown.js';
import { addAccessFlags, accessPolicyFromFlags, type AccessFlags } from './access-flags.js';
import { addZooKeeperAuthFlags, zooKeeperAuthFromFlags, type ZooKeeperAuthFlags } from './zookeeper-auth-flags.js';
import { logFormatOption, type LogFormatFlags } from './log-flags.js';
import { addTlsFlags, addUpstreamTlsFlags, tlsOptions, upstreamTlsOptions, type TlsFlags, type UpstreamTlsFlags } from './tls-flags.js';

function positiveInteger(value: string): number {
  const n = positiveNumber(value);
  if (!Number.isInteger(n)) throw new InvalidArgumentError(`"${value}" is not a whole number`);
  return n;
}

interface GatewayFlags extends ObservabilityFlags, ListenerLimitFlags, DrainTimeoutFlags, AccessFlags, ZooKeeperAuthFlags, TlsFlags, UpstreamTlsFlags, LogFormatFlags {
  zookeeper: string;
  host: string;
  httpPort: number;
  grpcPort: number;
  metricsPort: number;
  logLevel: LogLevel;
  zookeeperSessionTimeoutMs: number;
  defaultReplicas: number;
  httpMaxBodyMb: number;
  grpcMaxMessageMb: number;
  enableSerializationAsTensorContent: boolean;
}

export function gatewayCommand(): Command {
  const command = new Command('gateway')
    .description('Run the cluster gateway: OIP REST/gRPC and TF Serving APIs in front of the workers registered in ZooKeeper.')
    .requiredOption('--zookeeper <connection>', 'ZooKeeper connection string, HOST:PORT[,HOST:PORT...][/chroot]')
    .option('--host <address>', 'address to bind the endpoints to', '0.0.0.0')
    .option('--http-port <port>', 'HTTP port (OIP REST, TF Serving REST, cluster admin API); 0 picks a free port', port, 8000)
    .option('--grpc-port <port>', 'gRPC port (OIP gRPC, TF Serving gRPC); 0 picks a free port', port, 8001)
    .option('--metrics-port <port>', 'Prometheus metrics port; 0 picks a free port', port, 8002)
    .addOption(new Option('--log-level <level>', 'log level').choices(LOG_LEVELS).default('info'))
    .addOption(logFormatOption())
    .option('--zookeeper-session-timeout-ms <ms>', 'ZooKeeper session timeout (the server may clamp it)', positiveInteger, 10_000)
    .option('--default-replicas <n>', 'replicas of a model loaded through the repository or admin API without a count', positiveInteger, 1)
    .option('--http-max-body-mb <mb>', 'largest HTTP request body relayed, in MiB', positiveNumber, 64)
    .option('--grpc-max-message-mb <mb>', 'largest gRPC message relayed, in MiB', positiveNumber, 64)
    .option('--enable-serialization-as-tensor-content', `${TENSOR_CONTENT_HELP}; the gateway asks the workers for that form`, false);
  // --log-requests-sample-rate is accepted for symmetry: request logs are written by the workers, under the id the gateway forwards.
  return addDrainTimeoutFlag(addListenerLimitFlags(addObservabilityFlags(addUpstreamTlsFlags(addTlsFlags(addZooKeeperAuthFlags(addAccessFlags(command))))))).action(async (flags: GatewayFlags) => {
    const logger = createLogger(flags.logLevel, undefined, flags.logFormat);
    const tls = tlsOptions(flags);
    const upstreamTls = upstreamTlsOptions(flags);
    const store = new ZooKeeperStore({
      connectionString: flags.zookeeper,
      sessionTimeoutMs: flags.zookeeperSessionTimeoutMs,
      logger: logger.child({ component: 'zookeeper' }),
      auth: zooKeeperAuthFromFlags(flags),
    });
    const server = new GatewayServer({
      store,
      host: flags.host,
      httpPort: flags.httpPort,
      grpcPort: flags.grpcPort,
      metricsPort: flags.metricsPort,
      httpMaxBodyBytes: Math.round(flags.httpMaxBodyMb * 1024 * 1024),
      grpcMaxMessageBytes: Math.round(flags.grpcMaxMessageMb * 1024 * 1024),
      logger,
      defaultReplicas: flags.defaultReplicas,
      graphite: observabilityOptions(flags).graphite,
      listenerLimits: listenerLimitsFromFlags(flags),
      access: accessPolicyFromFlags(flags, logger),
      tls,
      upstreamTls,
      enableSerializationAsTensorContent: flags.enableSerializationAsTensorContent,
    });
    stopOnSignals({ logger, stop: () => server.stop(), drainTimeoutMs: flags.drainTimeoutSecs * 1000, message: 'stopping the gateway' });
    await server.start();
  });
}
