/**
 * `cranberries worker`: one cluster worker. It serves, over the same OIP REST/gRPC endpoints as
 * `serve`, exactly the models the leader controller assigns to it (read from ZooKeeper), registers
 * itself and publishes the state of every model version. If ZooKeeper becomes unreachable it keeps
 * serving what it has; after a session expiry it registers again without reloading anything.
 */
import { totalmem } from 'node:os';
import { resolve } from 'node:path';
import { Command, InvalidArgumentError, Option } from 'commander';
import { LOG_LEVELS, createLogger, type LogLevel, PACKAGE_ROOT } from '../core/index.js';
import { formatBytes, parseMemorySize, parseZooKeeperAddress, ZooKeeperStore } from '../cluster/index.js';
import { defaultNodeId, startWorkerNode, SERVER_NAME_HELP, bannerModels, logStartupBanner } from '../composition/index.js';
import { addObservabilityFlags, observabilityOptions, type ObservabilityFlags } from './observability-flags.js';
import { addListenerLimitFlags, listenerLimitsFromFlags, type ListenerLimitFlags } from '../protocols/common/index.js';
import { addDrainTimeoutFlag, stopOnSignals, type DrainTimeoutFlags } from './shutdown.js';
import { collect, EXECUTION_TIMEOUT_HELP, executionTimeoutSeconds, port, positiveNumber, TENSOR_CONTENT_HELP, VERSION_FOLDER_NAMES_HELP } from './options.js';
import type { VersionFolderNames } from '../repository/index.js';

import { addAccessFlags, accessPolicyFromFlags, type AccessFlags } from './access-flags.js';
import { addResourceCapFlags, resourceCapsFromFlags, type ResourceCapFlags } from './resource-cap-flags.js';
import { addZooKeeperAuthFlags, zooKeeperAuthFromFlags, type ZooKeeperAuthFlags } from './zookeeper-auth-flags.js';
import { addTlsFlags, tlsOptions, type TlsFlags } from './tls-flags.js';
import { addSharedMemoryFlags, type SharedMemoryFlags } from './shm-flags.js';
import { addStartupFlags, type StartupFlags } from './startup-flags.js';
import { logFormatOption, type LogFormatFlags } from './log-flags.js';
import { addTraceFlags, tracerOptionsFromFlags, type TraceFlags } from '../tracing/index.js';

interface WorkerFlags
  extends ObservabilityFlags, ListenerLimitFlags, DrainTimeoutFlags, AccessFlags, ResourceCapFlags, ZooKeeperAuthFlags, TlsFlags, StartupFlags, LogFormatFlags, SharedMemoryFlags, TraceFlags {
  serverName: string;
  zookeeper: string;
  zookeeperSessionTimeoutMs: number;
  modelRepository: string;
  memoryLimit: number;
  nodeId?: string;
  label: string[];
  host: string;
  advertiseHost?: string;
  httpPort: number;
  grpcPort: number;
  metricsPort: number;
  modelControlMode: 'none' | 'poll';
  repositoryPollSecs: number;
  httpMaxBodyMb: number;
  grpcMaxMessageMb: number;
  logLevel: LogLevel;
  executionTimeoutSecs: number;
  enableSerializationAsTensorContent: boolean;
  versionFolderNames: VersionFolderNames;
}

/** Default memory limit: 80 % of this machine's memory. */
const DEFAULT_MEMORY_FRACTION = 0.8;

export function workerCommand(): Command {
  const command = new Command('worker')
    .description('Join a ZooKeeper-coordinated cluster as a worker: serve the models the controller assigns to this node.')
    .requiredOption('--zookeeper <connect>', 'ZooKeeper connection string host:port[,host:port...][/chroot]', zookeeperAddress)
    .option('--zookeeper-session-timeout-ms <ms>', 'ZooKeeper session timeout (the server may clamp it)', positiveInteger, 10_000)
    .option('--model-repository <dir>', 'model repository folder (the same models as the controller sees)', resolve(PACKAGE_ROOT, 'models'))
    .addOption(
      new Option('--memory-limit <size>', 'memory this worker offers to models, e.g. 4GiB, 512MiB, 2G (binary: KiB/MiB/GiB; decimal: K/M/G)')
        .argParser(memorySize)
        .default(Math.floor(totalmem() * DEFAULT_MEMORY_FRACTION), '80% of RAM'),
    )
    .option('--node-id <id>', "this worker's id in the cluster (default: <hostname>-<http port>)")
    .option('--label <key=value>', 'a label on this node (repeatable)', collect, [])
    .option('--host <address>', 'address to bind the endpoints to', '0.0.0.0')
    .option('--advertise-host <host>', "host the gateway and clients reach this worker at (default: --host, or this machine's address for a wildcard bind)")
    .option('--http-port <port>', 'HTTP port (OIP REST); 0 picks a free port', port, 8000)
    .option('--grpc-port <port>', 'gRPC port (OIP gRPC); 0 picks a free port', port, 8001)
    .option('--metrics-port <port>', 'Prometheus metrics port; 0 picks a free port', port, 8002)
    .addOption(new Option('--model-control-mode <mode>', 'none: read model files when assigned; poll: also follow changes to them').choices(['none', 'poll']).default('none'))
    .option('--repository-poll-secs <seconds>', 'poll interval in poll mode', positiveNumber, 15)
    .option('--http-max-body-mb <mb>', 'largest HTTP request body accepted, in MiB', positiveNumber, 64)
    .option('--grpc-max-message-mb <mb>', 'largest gRPC message accepted or sent, in MiB', positiveNumber, 64)
    .option('--execution-timeout-secs <seconds>', EXECUTION_TIMEOUT_HELP, executionTimeoutSeconds, 0)
    .option('--enable-serialization-as-tensor-content', TENSOR_CONTENT_HELP, false)
    .option('--server-name <name>', SERVER_NAME_HELP, 'cranberries')
    .addOption(new Option('--version-folder-names <rule>', VERSION_FOLDER_NAMES_HELP).choices(['strict', 'digits']).default('strict'))
    .addOption(new Option('--log-level <level>', 'log level').choices(LOG_LEVELS).default('info'))
    .addOption(logFormatOption());
  // Graphite paths name the worker by its node id (known up front unless the HTTP port is 0 and no --node-id is given).
  return addDrainTimeoutFlag(
    addListenerLimitFlags(
      addStartupFlags(addSharedMemoryFlags(addObservabilityFlags(addTlsFlags(addZooKeeperAuthFlags(addResourceCapFlags(addAccessFlags(addTraceFlags(command))))))), { exitOnError: false }),
    ),
  ).action(async (flags: WorkerFlags) => {
    const logger = createLogger(flags.logLevel, undefined, flags.logFormat);
    const labels = Object.fromEntries(flags.label.map(parseLabel));
    const tls = tlsOptions(flags);
    const store = new ZooKeeperStore({
      connectionString: flags.zookeeper,
      sessionTimeoutMs: flags.zookeeperSessionTimeoutMs,
      logger: logger.child({ component: 'zookeeper' }),
      auth: zooKeeperAuthFromFlags(flags),
    });
    await store.start();
    const worker = await startWorkerNode({
      store,
      nodeId: flags.nodeId,
      memoryCapacityBytes: flags.memoryLimit,
      labels,
      modelRepository: resolve(flags.modelRepository),
      host: flags.host,
      advertiseHost: flags.advertiseHost,
      httpPort: flags.httpPort,
      grpcPort: flags.grpcPort,
      metricsPort: flags.metricsPort,
      controlMode: flags.modelControlMode,
      pollSeconds: flags.repositoryPollSecs,
      httpMaxBodyBytes: Math.round(flags.httpMaxBodyMb * 1024 * 1024),
      grpcMaxMessageBytes: Math.round(flags.grpcMaxMessageMb * 1024 * 1024),
      logger,
      server: {
        ...observabilityOptions(flags, flags.nodeId ?? (flags.httpPort !== 0 ? defaultNodeId(flags.httpPort) : undefined)),
        listenerLimits: listenerLimitsFromFlags(flags),
        executionTimeoutMs: Math.round(flags.executionTimeoutSecs * 1000),
        enableSerializationAsTensorContent: flags.enableSerializationAsTensorContent,
        versionFolderNames: flags.versionFolderNames,
        access: accessPolicyFromFlags(flags, logger),
        resourceCaps: resourceCapsFromFlags(flags),
        tls,
        strictReadiness: flags.strictReadiness,
        modelLoadThreadCount: flags.modelLoadThreadCount,
        allowClientShm: flags.allowClientShm,
        serverName: flags.serverName,
        trace: tracerOptionsFromFlags(flags.traceConfig),
      },
    }).catch(async (error: unknown) => {
      await store.stop();
      throw error;
    });
    logger.info(
      { node: worker.nodeId, http: worker.httpAddress, grpc: worker.grpcAddress, memoryLimit: flags.memoryLimit },
      `worker ${worker.nodeId} started (HTTP ${worker.httpAddress}, gRPC ${worker.grpcAddress}, memory ${formatBytes(flags.memoryLimit)})`,
    );
    // The banner the first time the worker is ready after a model event: a worker starts ready with
    // an empty assignment, which is not worth a banner; it is printed once its first models load.
    const { manager, readiness } = worker.server;
    let bannerShown = false;
    const showBanner = (): void => {
      if (bannerShown || !readiness.ready()) return;
      bannerShown = true;
      for (const stop of unsubscribeBanner) stop();
      logStartupBanner(logger, { host: flags.host, ...worker.ports, tls: tls !== undefined }, bannerModels(manager));
    };
    // After the readiness has seen the same event.
    const unsubscribeBanner = [manager.stateChanged.subscribe(() => setImmediate(showBanner)), manager.modelSettled.subscribe(() => setImmediate(showBanner))];
    stopOnSignals({
      logger,
      stop: () => worker.stop().then(() => store.stop()),
      drainTimeoutMs: flags.drainTimeoutSecs * 1000,
      message: 'stopping: leaving the cluster, draining requests and unloading models',
    });
  });
}

export function zookeeperAddress(value: string): string {
  try {
    parseZooKeeperAddress(value);
  } catch (error) {
    throw new InvalidArgumentError(error instanceof Error ? error.message : String(error));
  }
  return value.trim();
}

export function memorySize(value: string): number {
  try {
    return parseMemorySize(value);
  } catch (error) {
    throw new InvalidArgumentError(error instanceof Error ? error.message : String(error));
  }
}

export function positiveInteger(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n <= 0) throw new InvalidArgumentError(`"${value}" is not a positive whole number`);
  return n;
}

function parseLabel(text: string): [string, string] {
  const cut = text.indexOf('=');
  if (cut <= 0) throw new InvalidArgumentError(`--label "${text}": expected key=value`);
  return [text.slice(0, cut), text.slice(cut + 1)];
}
