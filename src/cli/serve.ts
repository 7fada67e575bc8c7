/** `cranberries serve`: one process serving a model repository. */
import { resolve } from 'node:path';
import { Command, InvalidArgumentError, Option } from 'commander';
import { LOG_LEVELS, createLogger, type LogLevel, PACKAGE_ROOT } from '../core/index.js';
import {
  ModelServer,
  type ModelServerOptions,
  startStandalone,
  SERVER_NAME_HELP,
  checkStartupInputs,
  finishStartup,
  type StartingServer,
  startupFailures,
  type ReadinessModels,
  bannerModels,
  logStartupBanner,
} from '../composition/index.js';
import { addObservabilityFlags, observabilityOptions, type ObservabilityFlags } from './observability-flags.js';
import type { ModelControlMode } from '../serving/index.js';
import { addListenerLimitFlags, listenerLimitsFromFlags, type ListenerLimitFlags } from '../protocols/common/index.js';
import { addDrainTimeoutFlag, stopOnSignals, type DrainTimeoutFlags } from './shutdown.js';
import { collect, EXECUTION_TIMEOUT_HELP, executionTimeoutSeconds, port, positiveNumber, TENSOR_CONTENT_HELP, VERSION_FOLDER_NAMES_HELP } from './options.js';
import type { VersionFolderNames } from '../repository/index.js';
import { addAccessFlags, accessPolicyFromFlags, type AccessFlags } from './access-flags.js';
import { addResourceCapFlags, resourceCapsFromFlags, type ResourceCapFlags } from './resource-cap-flags.js';
import { addTlsFlags, tlsOptions, type TlsFlags } from './tls-flags.js';
import { addSharedMemoryFlags, type SharedMemoryFlags } from './shm-flags.js';
import { addStartupFlags, type ServeStartupFlags } from './startup-flags.js';
import { logFormatOption, type LogFormatFlags } from './log-flags.js';
import { addTraceFlags, tracerOptionsFromFlags, type TraceFlags } from '../tracing/index.js';
import type { BoundPorts } from '../composition/index.js';

interface ServeFlags extends ObservabilityFlags, ListenerLimitFlags, DrainTimeoutFlags, AccessFlags, ResourceCapFlags, TlsFlags, ServeStartupFlags, LogFormatFlags, SharedMemoryFlags, TraceFlags {
  serverName: string;
  modelRepository: string;
  host: string;
  httpPort: number;
  grpcPort: number;
  metricsPort: number;
  logLevel: LogLevel;
  modelControlMode: ModelControlMode;
  repositoryPollSecs: number;
  loadModel: string[];
  httpMaxBodyMb: number;
  grpcMaxMessageMb: number;
  cacheSizeMb: number;
  modelConfigFile?: string;
  modelConfigFilePollWaitSeconds: number;
  allowVersionLabelsForUnavailableModels: boolean;
  enableSerializationAsTensorContent: boolean;
  versionFolderNames: VersionFolderNames;
  executionTimeoutSecs: number;
}

export function serveCommand(): Command {
  const command = new Command('serve')
    .description('Serve the models of a model repository (Triton layout) over OIP REST/gRPC.')
    .option('--model-repository <dir>', 'model repository folder', resolve(PACKAGE_ROOT, 'models'))
    .option('--host <address>', 'address to bind the endpoints to', '0.0.0.0')
    .option('--http-port <port>', 'HTTP port (OIP REST); 0 picks a free port', port, 8000)
    .option('--grpc-port <port>', 'gRPC port (OIP gRPC); 0 picks a free port', port, 8001)
    .option('--metrics-port <port>', 'Prometheus metrics port; 0 picks a free port', port, 8002)
    .addOption(new Option('--log-level <level>', 'log level').choices(LOG_LEVELS).default('info'))
    .addOption(logFormatOption())
    .addOption(
      new Option('--model-control-mode <mode>', 'none: load all at start; poll: follow repository changes; explicit: load/unload only through the repository API')
        .choices(['none', 'poll', 'explicit'])
        .default('none'),
    )
    .option('--repository-poll-secs <seconds>', 'poll interval in poll mode', positiveNumber, 15)
    .option('--load-model <name>', 'explicit mode: load this model at startup (repeatable; * = all)', collect, [])
    .option('--http-max-body-mb <mb>', 'largest HTTP request body accepted, in MiB', positiveNumber, 64)
    .option('--grpc-max-message-mb <mb>', 'largest gRPC message accepted or sent, in MiB', positiveNumber, 64)
    .option('--cache-size-mb <mb>', 'response cache size in MiB for models with response_cache { enable: true }; 0 = no cache', nonNegativeNumber, 0)
    .option('--model-config-file <file>', "TF Serving model list (model_config_list text format): serve exactly the models it lists (base_path = a model folder) instead of the repository's")
    .option('--model-config-file-poll-wait-seconds <seconds>', 're-read the model config file (and rescan its base paths) this often; 0 = read once', nonNegativeNumber, 0)
    .option('--allow-version-labels-for-unavailable-models', 'let a new version label point at a version that is not READY yet', false)
    .option('--enable-serialization-as-tensor-content', TENSOR_CONTENT_HELP, false)
    .option('--server-name <name>', SERVER_NAME_HELP, 'cranberries')
    .addOption(new Option('--version-folder-names <rule>', VERSION_FOLDER_NAMES_HELP).choices(['strict', 'digits']).default('strict'))
    .option('--execution-timeout-secs <seconds>', EXECUTION_TIMEOUT_HELP, executionTimeoutSeconds, 0);
  return addDrainTimeoutFlag(
    addListenerLimitFlags(addStartupFlags(addSharedMemoryFlags(addObservabilityFlags(addTlsFlags(addResourceCapFlags(addAccessFlags(addTraceFlags(command)))))), { exitOnError: true })),
  ).action(async (flags: ServeFlags) => {
    const logger = createLogger(flags.logLevel, undefined, flags.logFormat);
    if (flags.loadModel.length > 0 && flags.modelControlMode !== 'explicit') {
      logger.warn('--load-model only applies with --model-control-mode explicit; ignored');
    }
    if (flags.loadModel.includes('*') && flags.loadModel.length > 1) throw new Error('--load-model=* must be given alone');
    if (flags.modelConfigFile !== undefined && flags.modelControlMode !== 'none') {
      throw new Error('--model-config-file decides the served models itself; it cannot be combined with --model-control-mode poll or explicit');
    }
    const options: ModelServerOptions = {
      modelRepository: resolve(flags.modelRepository),
      host: flags.host,
      httpPort: flags.httpPort,
      grpcPort: flags.grpcPort,
      metricsPort: flags.metricsPort,
      controlMode: flags.modelControlMode,
      pollSeconds: flags.repositoryPollSecs,
      loadModels: flags.loadModel,
      httpMaxBodyBytes: Math.round(flags.httpMaxBodyMb * 1024 * 1024),
      grpcMaxMessageBytes: Math.round(flags.grpcMaxMessageMb * 1024 * 1024),
      cacheSizeBytes: Math.round(flags.cacheSizeMb * 1024 * 1024),
      modelConfigFile: flags.modelConfigFile === undefined ? undefined : resolve(flags.modelConfigFile),
      modelConfigFilePollSeconds: flags.modelConfigFilePollWaitSeconds,
      allowVersionLabelsForUnavailableModels: flags.allowVersionLabelsForUnavailableModels,
      enableSerializationAsTensorContent: flags.enableSerializationAsTensorContent,
      versionFolderNames: flags.versionFolderNames,
      listenerLimits: listenerLimitsFromFlags(flags),
      executionTimeoutMs: Math.round(flags.executionTimeoutSecs * 1000),
      strictReadiness: flags.strictReadiness,
      modelLoadThreadCount: flags.modelLoadThreadCount,
      allowClientShm: flags.allowClientShm,
      serverName: flags.serverName,
      ...observabilityOptions(flags),
      access: accessPolicyFromFlags(flags, logger),
      resourceCaps: resourceCapsFromFlags(flags),
      tls: tlsOptions(flags),
      trace: tracerOptionsFromFlags(flags.traceConfig),
      logger,
    };
    await checkStartupInputs({
      modelRepository: options.modelRepository,
      modelRepositoryGiven: flags.modelRepository,
      modelConfigFile: options.modelConfigFile,
      modelConfigFileGiven: flags.modelConfigFile,
      controlMode: flags.modelControlMode,
      loadModels: flags.loadModel,
    });
    // Mode none (the default) runs a one-node cluster over the embedded store, so the cluster
    // admin API works here too; the other modes keep Triton's single-server model control.
    const server = flags.modelControlMode === 'none' && flags.modelConfigFile === undefined ? await startStandalone(options) : await startServer(options);
    stopOnSignals({ logger, stop: () => server.stop(), drainTimeoutMs: flags.drainTimeoutSecs * 1000, message: 'stopping: draining requests and unloading models' });
    await finishStartup(server, { exitOnError: flags.exitOnError, logger });
    logStartupBanner(logger, { host: flags.host, ...server.ports, tls: options.tls !== undefined }, bannerModels(server.models, server.startupFailures()));
  });
}

function nonNegativeNumber(value: string): number {
  const n = Number(value);
  if (!Number.isFinite(n) || n < 0) throw new InvalidArgumentError(`"${value}" is not a number ≥ 0`);
  return n;
}

async function startServer(options: ModelServerOptions): Promise<StartingServer & { ports: BoundPorts; models: ReadinessModels }> {
  const server = new ModelServer(options);
  const ports = await server.start();
  return { ports, models: server.manager, readiness: server.readiness, startupFailures: () => startupFailures(server.manager, server.startupModels()), stop: () => server.stop() };
}
