/**
 * The single place that wires a model server together: a model source (`sources/`) → manager →
 * serving core, and the protocol adapters around it (OIP REST + gRPC). Start order: endpoints
 * first (so liveness answers while models load), then the models; stop order is the reverse.
 */
import { availableParallelism } from 'node:os';
import type { AddressInfo } from 'node:net';
import { duplexPair } from 'node:stream';
import * as grpc from '@grpc/grpc-js';
import type { FastifyInstance, FastifyPluginAsync, FastifyPluginCallback } from 'fastify';
import { Registry } from 'prom-client';
import type { Logger } from '../core/index.js';
import { registerServerFolder, VERSION, logSettingsOf } from '../core/index.js';
import { BackendRegistry, PythonBackend, OnnxBackend, TfjsBackend, JavaScriptBackend } from '../backends/index.js';
import { ensembleHostOf } from './ensemble-host.js';
import type { InstanceEvents } from '../backends/index.js';
import { ModelRepository, type VersionFolderNames, defaultResourceCaps, type ResourceCaps } from '../repository/index.js';
import { AssignmentSource, ModelConfigListSource, RepositorySource, type AspiredModelsTarget, type ModelSelection, type ModelSource } from '../sources/index.js';
import { VersionLabels, ModelManager, ServingCore, type ModelControlMode, ResponseCache, EnsembleBackend } from '../serving/index.js';
import { createHttpApp, installHttpRequestTracking } from '../protocols/http/index.js';
import { createGrpcServer, H2UnaryFront, oipFastPaths } from '../protocols/grpc/index.js';
import { tfServingFastPaths, tfServingGrpcServices, tfServingRoutes } from '../protocols/tfserving/index.js';
import { DEFAULT_LISTENER_LIMITS, type ListenerLimits } from '../protocols/common/index.js';
import { GraphiteReporter, type GraphiteOptions, logSampledRequests, createServerMetrics, type ServerMetrics, MetricsServer } from '../metrics/index.js';
import { grpcFrontAdmits, type AccessPolicy } from '../access/index.js';
import { ServerTls, type ServerTlsConfig } from '../tls/index.js';
import { ServerReadiness } from './readiness.js';
import { logModelFailures } from './model-failure-log.js';
import { listenError } from './startup-errors.js';
import { SystemSharedMemory } from '../shared-memory/index.js';
import { Tracer, tracerOptionsFromFlags, type TracerOptions } from '../tracing/index.js';

export interface ModelServerOptions {
  readonly modelRepository: string;
  readonly host: string;
  readonly httpPort: number;
  readonly grpcPort: number;
  readonly metricsPort: number;
  readonly controlMode: ModelControlMode;
  readonly pollSeconds: number;
  /** Models to load at startup in explicit mode (`*` = all). */
  readonly loadModels: readonly string[];
  readonly httpMaxBodyBytes: number;
  readonly grpcMaxMessageBytes: number;
  readonly logger: Logger;
  /** Serve only these models of the repository (a cluster worker's assignment). */
  readonly selection?: ModelSelection | undefined;
  /** More REST APIs on the HTTP port (e.g. the cluster admin API of a standalone server). */
  readonly httpPlugins?: readonly (FastifyPluginCallback | FastifyPluginAsync)[] | undefined;
  /** Byte budget of the response cache; 0 or absent: no cache (models' `response_cache` is ignored). */
  readonly cacheSizeBytes?: number | undefined;
  /** Push metrics to Graphite too (`--graphite`); absent: Prometheus only. */
  readonly graphite?: GraphiteOptions | undefined;
  /** Share of inference requests logged, 0..1 (`--log-requests-sample-rate`); absent or 0: none. */
  readonly logRequestsSampleRate?: number | undefined;
  /** TF Serving model list (`--model-config-file`): the served models are exactly those it lists, not the repository's. */
  readonly modelConfigFile?: string | undefined;
  /** Seconds between re-reads of the model config file (and rescans of its base paths); 0 or absent: read once. */
  readonly modelConfigFilePollSeconds?: number | undefined;
  /** A version label that does not exist yet may point at a version that is not READY. */
  readonly allowVersionLabelsForUnavailableModels?: boolean | undefined;
  /** TF Serving gRPC Predict answers numbers in `tensor_content` instead of the typed `*_val` lists (TF Serving's default). */
  readonly enableSerializationAsTensorContent?: boolean | undefined;
  /** Which folder names of the repository are versions (`--version-folder-names`); default `strict`. */
  readonly versionFolderNames?: VersionFolderNames | undefined;
  /** Timeouts and connection limits of every listener (HTTP, gRPC, metrics). Default `DEFAULT_LISTENER_LIMITS`. */
  readonly listenerLimits?: ListenerLimits | undefined;
  /** Execution timeout of models whose config sets no `execution_timeout_ms` (milliseconds); 0 or absent = none. */
  readonly executionTimeoutMs?: number | undefined;
  /** Access control of the REST and gRPC endpoints (`access/`); absent: open. The caller closes it. */
  readonly access?: AccessPolicy | undefined;
  /** Limits on what a model config may ask for; absent: `defaultResourceCaps()` (cores-based). */
  readonly resourceCaps?: Partial<ResourceCaps> | undefined;
  /** TLS on every listener (REST, gRPC, metrics), reloaded when the files change; a CA file makes it mutual TLS. Absent: plaintext. */
  readonly tls?: ServerTlsConfig | undefined;
  /** Ready only when every model is READY (`--strict-readiness`, default true); false: once the startup loads settled. */
  readonly strictReadiness?: boolean | undefined;
  /** Version loads that run at once (`--model-load-thread-count`); default: the number of cores. */
  readonly modelLoadThreadCount?: number | undefined;
  /** Clients may register system shared-memory regions (`--allow-client-shm`); default false, as in Triton. */
  readonly allowClientShm?: boolean | undefined;
  /** The `name` of server metadata (`--server-name`); default `cranberries`. */
  readonly serverName?: string | undefined;
  /** Request tracing (`--trace-config`); absent: OFF, with no trace file (the trace extension can still change rate, count and level). */
  readonly trace?: Omit<TracerOptions, 'onError'> | undefined;
}

export type { ModelSelection } from '../sources/index.js';

export interface BoundPorts {
  readonly http: number;
  readonly grpc: number;
  readonly metrics: number;
}

export const SERVER_NAME_HELP = 'the name server metadata answers (GET /v2, ServerMetadata); clients that insist on Triton (e.g. its health_metadata examples) want "triton"';

/** OIP extensions this server implements (advertised in server metadata). */
export const EXTENSIONS = ['binary_tensor_data', 'classification', 'model_repository', 'model_configuration', 'statistics', 'parameters', 'schedule_policy', 'trace'];
/** Advertised only when clients may register regions (`--allow-client-shm`): otherwise it cannot be used. */
const SYSTEM_SHARED_MEMORY = 'system_shared_memory';

export class ModelServer {
  readonly manager: ModelManager;
  /** Error answers show paths inside the repository relative to it (`core/server-paths.ts`). */
  private readonly forgetRepositoryFolder: () => void;
  readonly core: ServingCore;
  /** Whether the server is ready; more parts (a cluster worker) may hold it. */
  readonly readiness: ServerReadiness;
  /** Every metric of this server; cluster components register theirs here too. */
  readonly registry = new Registry();
  private readonly repository: ModelRepository;
  private readonly http: FastifyInstance;
  /** The grpc-js server: every gRPC call the front does not answer itself, over an in-memory connection. */
  private readonly grpc: grpc.Server;
  /** The public gRPC port: answers unary ModelInfer and TF Serving Predict, proxies the rest to `grpc`. */
  private readonly grpcFront: H2UnaryFront;
  private readonly limits: ListenerLimits;
  private readonly metrics: MetricsServer;
  private readonly serverMetrics: ServerMetrics;
  private readonly graphite: GraphiteReporter | undefined;
  private readonly stopRequestLog: () => void;
  /** What decides the served models (`sources/`): picked by `modelSource()`, started with the server. */
  private source: ModelSource | undefined;
  /** The TF Serving model list: the config file, and lists given by HandleReloadConfigRequest. */
  private readonly modelList: ModelConfigListSource;
  /** The model manager as the sources see it. */
  private readonly target: AspiredModelsTarget;
  private readonly onnx: OnnxBackend;
  private readonly tls: ServerTls | undefined;
  private readonly stopFailureLog: () => void;
  private readonly sharedMemory: SystemSharedMemory;
  private readonly tracer: Tracer;

  constructor(private readonly options: ModelServerOptions) {
    const log = options.logger;
    this.forgetRepositoryFolder = registerServerFolder(options.modelRepository);
    this.limits = options.listenerLimits ?? DEFAULT_LISTENER_LIMITS;
    this.tls = options.tls ? new ServerTls(options.tls, log.child({ component: 'tls' })) : undefined;
    this.sharedMemory = new SystemSharedMemory({ allowClientShm: options.allowClientShm ?? false });
    this.onnx = new OnnxBackend({ defaultExecutionTimeoutMs: options.executionTimeoutMs, instanceEvents: instanceLogEvents(log) });
    const python = PythonBackend.family({ defaultExecutionTimeoutMs: options.executionTimeoutMs, logger: log.child({ component: 'python' }) });
    const tfjs = TfjsBackend.family({ onnx: this.onnx, logger: log.child({ component: 'tensorflowjs' }) });
    const javascript = new JavaScriptBackend({ defaultExecutionTimeoutMs: options.executionTimeoutMs });
    const ensembles = new EnsembleBackend();
    const backends = new BackendRegistry([this.onnx, ...python, ...tfjs, javascript, ensembles]);
    const modelFilename = backends.modelFilename.bind(backends);
    this.repository = new ModelRepository({
      root: options.modelRepository,
      modelFilename,
      versionFolders: options.versionFolderNames,
      onRefused: onceEach((name, reason) => log.warn({ model: name, reason }, 'model folder refused')),
    });
    const cores = availableParallelism();
    this.manager = new ModelManager({ backends, cores, caps: { ...defaultResourceCaps(cores), ...options.resourceCaps }, loadConcurrency: options.modelLoadThreadCount });
    this.readiness = new ServerReadiness({ models: this.manager, strict: options.strictReadiness, logger: log });
    const versionLabels = new VersionLabels({
      isReady: (model, version) => this.manager.versions(model).some((v) => v.version === version && v.state === 'READY'),
      allowUnavailableForNewLabels: options.allowVersionLabelsForUnavailableModels,
    });
    this.target = {
      setAspired: (model, aspired) => this.manager.setAspired(model, aspired),
      servedModels: () => this.manager.modelNames().filter((model) => this.manager.isAspired(model)),
    };
    this.modelList = new ModelConfigListSource({
      file: options.modelConfigFile,
      pollSeconds: options.modelConfigFilePollSeconds ?? 0,
      modelFilename,
      setLabels: (model, labels) => versionLabels.replace(model, labels),
      onError: (error) => log.warn({ err: error.message, file: options.modelConfigFile }, 'model config list not fully applied'),
    });
    // Model lists may replace the served set unless the repository poller keeps deciding it.
    const listsAllowed = options.modelConfigFile !== undefined || (options.controlMode !== 'poll' && !options.selection);
    if (listsAllowed) this.modelList.connect(this.target);
    const traceLog = log.child({ component: 'trace' });
    this.tracer = new Tracer({ ...(options.trace ?? tracerOptionsFromFlags([])), onError: (error) => traceLog.warn({ err: (error as Error).message }, 'trace output failed') });
    this.core = new ServingCore({
      versionLabels,
      modelConfigList: listsAllowed ? this.modelList : undefined,
      modelConfigListRefusal: modelListRefusal(options),
      modelDirectory: (model) => this.modelList.directoryOf(model),
      manager: this.manager,
      repository: this.repository,
      controlMode: options.controlMode,
      metadata: {
        name: options.serverName ?? 'cranberries',
        version: VERSION,
        // `logging` only where the run-time log settings exist (a logger from `createLogger`).
        extensions: [...EXTENSIONS, ...(logSettingsOf(log) ? ['logging'] : []), ...(options.allowClientShm ? [SYSTEM_SHARED_MEMORY] : [])],
      },
      modelFilename,
      responseCache: options.cacheSizeBytes ? new ResponseCache({ maxBytes: options.cacheSizeBytes }) : undefined,
      readiness: () => this.readiness.ready(),
      notServedReason: options.selection ? () => 'not assigned to this server' : undefined,
      tracer: this.tracer,
    });
    ensembles.attach(ensembleHostOf({ core: this.core, manager: this.manager, repository: this.repository, controlMode: options.controlMode, logger: log }));
    this.stopFailureLog = logModelFailures(this.manager.modelSettled, log);
    this.manager.stateChanged.subscribe((e) => {
      const fields = { model: e.model, version: e.version, state: e.state, reason: e.reason, loadSeconds: e.loadSeconds, warmup: e.warmup };
      if (e.state === 'UNAVAILABLE' && e.reason !== 'unloaded') log.warn(fields, 'model version state changed');
      else log.info(fields, 'model version state changed');
    });
    this.http = createHttpApp({
      service: this.core,
      maxBodyBytes: options.httpMaxBodyBytes,
      logger: log.child({ component: 'http' }),
      directInference: true,
      limits: this.limits.http,
      access: options.access,
      https: this.tls?.serverOptions(),
      sharedMemory: this.sharedMemory,
      apis: [tfServingRoutes(this.core, options.httpMaxBodyBytes)],
    });
    for (const plugin of options.httpPlugins ?? []) void this.http.register(plugin);
    installHttpRequestTracking(this.http, { recorder: this.core });
    const grpcLog = log.child({ component: 'grpc' });
    const serialization = options.enableSerializationAsTensorContent ? 'tensor_content' : 'proto_field';
    this.grpc = createGrpcServer({
      service: this.core,
      maxMessageBytes: options.grpcMaxMessageBytes,
      logger: grpcLog,
      // The front applies the listener limits to client connections; this one only has the front's.
      limits: { ...this.limits.grpc, idleTimeoutMs: 0, maxConnectionAgeMs: 0, maxConnections: 0, maxConcurrentStreams: 2 ** 32 - 1 },
      access: options.access,
      sharedMemory: this.sharedMemory,
      services: tfServingGrpcServices(this.core, grpcLog, options.grpcMaxMessageBytes, serialization),
    });
    const injector = this.grpc.createConnectionInjector(grpc.ServerCredentials.createInsecure());
    const fast = { maxMessageBytes: options.grpcMaxMessageBytes, logger: grpcLog };
    const access = options.access;
    this.grpcFront = new H2UnaryFront({
      handlers: new Map([
        ...oipFastPaths(this.core, { ...fast, sharedMemory: { regions: this.sharedMemory, maxInputBytes: options.grpcMaxMessageBytes } }),
        ...tfServingFastPaths(this.core, { ...fast, maxDecodedBytes: options.grpcMaxMessageBytes, serialization }),
      ]),
      connectFallback: () => {
        const [front, server] = duplexPair();
        injector.injectConnection(server);
        return front;
      },
      maxMessageBytes: options.grpcMaxMessageBytes,
      limits: this.limits.grpc,
      admits: access && !access.open ? (path, headers) => grpcFrontAdmits(access, path, headers) : undefined,
      tls: this.tls?.serverOptions(),
    });
    this.serverMetrics = createServerMetrics(this.registry, { core: this.core, manager: this.manager });
    this.metrics = new MetricsServer(this.registry, this.limits.http, this.tls?.serverOptions());
    this.graphite = options.graphite ? new GraphiteReporter(this.registry, options.graphite, log.child({ component: 'graphite' })) : undefined;
    this.stopRequestLog = logSampledRequests(this.core.requestCompleted, log.child({ component: 'requests' }), options.logRequestsSampleRate ?? 0);
  }

  /**
   * Opens the endpoints, then loads the models; resolves once the startup loads have settled.
   * Readiness stays false until then. An endpoint that cannot listen rejects with a
   * `StartupError` naming its flag, after closing what was already open.
   */
  async start(): Promise<BoundPorts> {
    const { host, logger } = this.options;
    const releaseStartup = this.readiness.hold('startup', 'loading the startup models');
    let ports: BoundPorts;
    try {
      ports = await this.listenAll();
    } catch (error) {
      await this.stop();
      throw error;
    }
    this.tls?.followAll([this.http.server, this.metrics.nodeServer, this.grpcFront.nodeServer]);
    this.graphite?.start();
    const scheme = this.tls ? (this.tls.mutual ? 'mutual TLS' : 'TLS') : 'plaintext';
    logger.info({ host, ...ports, tls: scheme }, `listening (${scheme}): HTTP ${host}:${ports.http}, gRPC ${host}:${ports.grpc}, metrics ${host}:${ports.metrics}`);
    await this.loadStartupModels();
    releaseStartup();
    // A cluster worker's readiness also waits for its assignment: the worker reports it.
    if (!this.options.selection) this.readiness.report('warn');
    return ports;
  }

  /** The models the server was asked to serve at startup (none for a cluster worker: see its assignment). */
  startupModels(): readonly string[] {
    return this.source?.startupModels() ?? [];
  }

  private async listenAll(): Promise<BoundPorts> {
    const { host, httpPort, grpcPort, metricsPort } = this.options;
    await this.http.listen({ host, port: httpPort }).catch((error: unknown) => {
      throw listenError('--http-port', host, httpPort, error);
    });
    const http = (this.http.server.address() as AddressInfo).port;
    const grpcBound = await this.grpcFront.listen(host, grpcPort).catch((error: unknown) => {
      throw listenError('--grpc-port', host, grpcPort, error);
    });
    const metrics = await this.metrics.listen(host, metricsPort).catch((error: unknown) => {
      throw listenError('--metrics-port', host, metricsPort, error);
    });
    return { http, grpc: grpcBound, metrics };
  }

  async stop(): Promise<void> {
    this.core.beginStopping();
    this.readiness.close();
    await this.source?.stop();
    await this.modelList.stop();
    await Promise.allSettled([this.http.close(), this.grpcFront.close(), new Promise<void>((resolve) => this.grpc.tryShutdown(() => resolve())), this.metrics.close()]);
    this.tls?.close();
    // The listeners are closed: no request can name a region any more.
    this.sharedMemory.close();
    await this.manager.stop();
    if (this.onnx.abandonedRuns > 0) {
      this.options.logger.warn({ runs: this.onnx.abandonedRuns }, 'waiting for runs abandoned after an execution timeout to return before exiting');
      await this.onnx.whenAbandonedRunsEnd();
    }
    await this.core.close();
    await this.tracer.close();
    this.stopRequestLog();
    await this.graphite?.close();
    this.serverMetrics.close();
    this.stopFailureLog();
    this.forgetRepositoryFolder();
  }

  private async loadStartupModels(): Promise<void> {
    this.source = this.modelSource();
    await this.source.start(this.target);
  }

  /**
   * The one source that decides the served models: the model list file, else the repository's
   * explicit mode, else the cluster assignment, else the repository (modes none and poll).
   */
  private modelSource(): ModelSource {
    const { controlMode, logger, selection } = this.options;
    if (this.options.modelConfigFile !== undefined) return this.modelList;
    const onModelFailed = (model: string, error: Error): void => logger.warn({ model, err: error.message }, 'model did not load');
    const pollSeconds = this.options.pollSeconds;
    if (selection && controlMode !== 'explicit') return new AssignmentSource({ repository: this.repository, selection, poll: controlMode === 'poll', pollSeconds, onModelFailed });
    return new RepositorySource({ repository: this.repository, mode: controlMode, pollSeconds, loadModels: this.options.loadModels, onModelFailed });
  }
}

/** Execution timeouts are logged: each leaves a run computing in an abandoned thread until it returns. */
function instanceLogEvents(log: Logger): InstanceEvents {
  return {
    timedOut: ({ label, timeoutMs }) => log.warn({ model: label, timeoutMs }, 'execution timed out: instance replaced, the stuck run is abandoned until it returns'),
    abandonedEnded: ({ label, afterMs }) => log.info({ model: label, afterMs }, 'abandoned run returned; its thread is released'),
    replacementFailed: ({ label, error }) => log.error({ model: label, err: error }, 'could not start a replacement instance after an execution timeout'),
  };
}

/** Calls `report` for a (name, reason) pair only when the name's reason changed: repository scans repeat. */
function onceEach(report: (name: string, reason: string) => void): (name: string, reason: string) => void {
  const last = new Map<string, string>();
  return (name, reason) => {
    if (last.get(name) === reason) return;
    if (last.size >= 10_000) last.clear();
    last.set(name, reason);
    report(name, reason);
  };
}

/**
 * Why this server refuses TF Serving model lists (HandleReloadConfigRequest) at run time, naming
 * what to use instead; undefined where lists are taken. TF Serving takes a list on any server; here
 * a list would fight whoever else decides the served models: the repository poller, or the cluster
 * (a worker, and `cranberries serve` without flags, which runs a one-node cluster).
 */
function modelListRefusal(options: ModelServerOptions): string | undefined {
  if (options.modelConfigFile !== undefined) return undefined;
  const instead = 'start the server with --model-config-file <file> or --model-control-mode explicit to replace its models with a model list';
  if (options.selection) {
    return `HandleReloadConfigRequest is refused: this server serves the models its cluster assigns it (cranberries serve without --model-config-file or --model-control-mode runs a one-node cluster); change them with the cluster admin API (/v2/cluster/models), or ${instead}`;
  }
  if (options.controlMode === 'poll') return `HandleReloadConfigRequest is refused: this server's models follow its repository poller (--model-control-mode poll); ${instead}`;
  return undefined;
}
