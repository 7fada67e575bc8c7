/**
 * The one place that wires a gateway together: coordination store → table watcher → picker,
 * health and retry budget → request router → REST and gRPC front ends (the shared OIP adapters
 * over GatewayService, with the relaying hooks installed) and the metrics endpoint (routing,
 * upstream latency, marked-down workers, the coordination session, process metrics; optionally
 * pushed to Graphite).
 *
 * Relayed inference takes the short way on both protocols: REST through the fast lane ahead of
 * fastify (rest/rest-fast-lane.ts), gRPC through the raw HTTP/2 front (grpc/grpc-front.ts) on the public
 * port, which hands every other gRPC call to the grpc-js server over an in-memory connection (no port).
 *
 * Start order: store, first table read, then the endpoints (so the first request already has a
 * table); stop order is the reverse, closing upstream connections last.
 */
import type { IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';
import { duplexPair } from 'node:stream';
import { hostname } from 'node:os';
import * as grpc from '@grpc/grpc-js';
import type { FastifyInstance } from 'fastify';
import type { Logger } from '../core/index.js';
import { VERSION } from '../core/index.js';
import { ClusterAdmin, clusterAdminRoutes, clusterPaths, DEFAULT_ROOT, createCoordinationMetrics, type CoordinationMetrics } from '../cluster/index.js';
import { adminUi } from '../admin/index.js';
import type { CoordinationStore } from '../cluster/index.js';
import { createHttpApp, installHttpRequestTracking } from '../protocols/http/index.js';
import { createGrpcServer } from '../protocols/grpc/index.js';
import { tfServingGrpcServices, tfServingRoutes } from '../protocols/tfserving/index.js';
import { GatewayUpstreamMetrics, GraphiteReporter, type GraphiteOptions, MetricsServer } from '../metrics/index.js';
import { DEFAULT_LISTENER_LIMITS, type ListenerLimits } from '../protocols/common/index.js';
import { collectDefaultMetrics, Registry } from 'prom-client';
import {
  adminModelControl,
  EndpointHealth,
  type EndpointTable,
  GatewayMetrics,
  GatewayService,
  GrpcFront,
  GrpcUpstreams,
  H2Upstreams,
  HttpUpstreams,
  installGrpcForwarding,
  installRestFastLane,
  installRestForwarding,
  Picker,
  RequestRouter,
  RetryBudget,
  type RetryBudgetOptions,
  type RouterObserver,
  TableWatcher,
} from '../gateway/index.js';
import { grpcFrontAdmits, restFastLaneAdmits, type AccessPolicy } from '../access/index.js';
import { GATEWAY_SHM_REFUSAL, refusingSharedMemory } from '../shared-memory/index.js';
import { ServerTls, TlsWatcher, clientTlsOf, type ServerTlsConfig, type TlsFiles } from '../tls/index.js';

export interface GatewayServerOptions {
  /** Not yet started; the gateway starts and stops it. */
  readonly store: CoordinationStore;
  /** Root of the cluster's nodes in the store. Default `/cranberries`. */
  readonly root?: string | undefined;
  readonly host: string;
  readonly httpPort: number;
  readonly grpcPort: number;
  readonly metricsPort: number;
  readonly httpMaxBodyBytes: number;
  readonly grpcMaxMessageBytes: number;
  readonly logger: Logger;
  /** Replicas a model gets when loaded (repository API or admin API) without a count. Default 1. */
  readonly defaultReplicas?: number | undefined;
  /** How long repository load/unload wait for the cluster to follow. Default 120 s. */
  readonly controlTimeoutMs?: number | undefined;
  /** How long workers that vanish from the store stay usable as a fallback. Default 15 s. */
  readonly retainVanishedMs?: number | undefined;
  readonly retryBudget?: RetryBudgetOptions | undefined;
  /** First health probe of a down worker after this many ms (then backoff to 5 s). Default 100. */
  readonly probeDelayMs?: number | undefined;
  /** Push metrics to Graphite too (`--graphite`); the node defaults to `<hostname>-gateway-<http port>`. */
  readonly graphite?: GraphiteOptions | undefined;
  /** Timeouts and connection limits of every listener (REST with its fast lane and the admin API, gRPC front, metrics). Default `DEFAULT_LISTENER_LIMITS`. */
  readonly listenerLimits?: ListenerLimits | undefined;
  /**
   * Access control of the gateway's REST and gRPC endpoints (`access/`); absent: open. The gateway
   * checks every call itself and forwards the client's credentials (Authorization, the restricted
   * headers, all gRPC metadata) to the worker, so workers given the same flags accept it.
   */
  readonly access?: AccessPolicy | undefined;
  /** TLS on the gateway's listeners (REST incl. the admin API, gRPC, metrics); a CA file makes it mutual TLS. */
  readonly tls?: ServerTlsConfig | undefined;
  /**
   * Connect to the workers over TLS: the CA their certificates chain to (else the system's roots)
   * and, for workers that require mutual TLS, the gateway's client certificate. Absent: plaintext.
   */
  readonly upstreamTls?: (TlsFiles & { readonly reloadPollMs?: number | undefined }) | undefined;
  /**
   * TF Serving gRPC Predict answers in `tensor_content` (`--enable-serialization-as-tensor-content`):
   * the gateway relays answers as the workers write them, so it asks the workers for that form.
   */
  readonly enableSerializationAsTensorContent?: boolean | undefined;
}

export interface GatewayPorts {
  readonly http: number;
  readonly grpc: number;
  readonly metrics: number;
}

export class GatewayServer {
  readonly watcher: TableWatcher;
  readonly health: EndpointHealth;
  readonly picker: Picker;
  readonly router: RequestRouter;
  readonly service: GatewayService;
  readonly metricsServer: MetricsServer;
  private readonly httpUpstreams: HttpUpstreams;
  private readonly grpcUpstreams: GrpcUpstreams;
  private readonly h2Upstreams: H2Upstreams;
  /** A region is one machine's memory and a relayed request may run on another: registration is refused here. */
  private readonly sharedMemory = refusingSharedMemory(GATEWAY_SHM_REFUSAL);
  private readonly http: FastifyInstance;
  /** The grpc-js server, reached over in-memory connections: answers every gRPC call the front does not relay itself. */
  private readonly grpc: grpc.Server;
  /** The public gRPC port: relays unary inference to the workers, proxies the rest to `grpc`. */
  private readonly grpcFront: GrpcFront;
  private readonly unsubscribe: (() => void)[] = [];
  private readonly coordination: CoordinationMetrics;
  private graphite: GraphiteReporter | undefined;
  private readonly tls: ServerTls | undefined;
  private readonly upstreamTls: TlsWatcher | undefined;

  constructor(private readonly options: GatewayServerOptions) {
    const log = options.logger;
    const limits = options.listenerLimits ?? DEFAULT_LISTENER_LIMITS;
    this.tls = options.tls ? new ServerTls(options.tls, log.child({ component: 'tls' })) : undefined;
    this.upstreamTls = options.upstreamTls ? new TlsWatcher(options.upstreamTls, { logger: log.child({ component: 'upstream-tls' }), pollMs: options.upstreamTls.reloadPollMs }) : undefined;
    const upstreamTls = this.upstreamTls ? clientTlsOf(this.upstreamTls.current) : undefined;
    const table = (): EndpointTable => this.watcher.current;
    const root = options.root ?? DEFAULT_ROOT;
    const adminOptions = { root, defaultReplicas: options.defaultReplicas };
    this.httpUpstreams = new HttpUpstreams({ tls: upstreamTls });
    this.grpcUpstreams = new GrpcUpstreams({ maxMessageBytes: options.grpcMaxMessageBytes, tls: upstreamTls });
    this.h2Upstreams = new H2Upstreams({ maxMessageBytes: options.grpcMaxMessageBytes, tls: upstreamTls });
    this.watcher = new TableWatcher({
      store: options.store,
      paths: clusterPaths(root),
      retainVanishedMs: options.retainVanishedMs,
      logger: log.child({ component: 'endpoint-table' }),
    });
    this.health = new EndpointHealth({ probe: (endpoint) => this.httpUpstreams.live(endpoint), initialProbeDelayMs: options.probeDelayMs });
    this.picker = new Picker(this.health);
    const registry = new Registry();
    collectDefaultMetrics({ register: registry });
    this.metricsServer = new MetricsServer(registry, limits.http, this.tls?.serverOptions());
    const metrics = new GatewayMetrics(this.metricsServer.registry, { table, stale: () => this.watcher.stale, health: this.health, picker: this.picker });
    const upstream = new GatewayUpstreamMetrics(registry);
    this.coordination = createCoordinationMetrics(registry, options.store);
    const observer: RouterObserver = {
      attempted: (endpoint, outcome, seconds) => {
        metrics.attempted(endpoint, outcome);
        upstream.observeUpstream(endpoint.nodeId, seconds);
      },
      retried: (kind) => metrics.retried(kind),
      budgetExhausted: () => metrics.budgetExhausted(),
    };
    this.router = new RequestRouter({ table, picker: this.picker, health: this.health, budget: new RetryBudget(options.retryBudget), observer });
    this.service = new GatewayService({
      table,
      tableUpdated: this.watcher.updated,
      router: this.router,
      http: this.httpUpstreams,
      grpc: this.grpcUpstreams,
      health: this.health,
      metadata: { name: 'cranberries', version: VERSION, extensions: [] },
      control: adminModelControl(new ClusterAdmin(options.store, adminOptions)),
      controlTimeoutMs: options.controlTimeoutMs,
      logger: log.child({ component: 'gateway' }),
    });

    const access = options.access;
    this.http = createHttpApp({
      service: this.service,
      maxBodyBytes: options.httpMaxBodyBytes,
      logger: log.child({ component: 'http' }),
      limits: limits.http,
      access,
      https: this.tls?.serverOptions(),
      sharedMemory: this.sharedMemory,
      apis: [tfServingRoutes(this.service, options.httpMaxBodyBytes)],
    });
    installHttpRequestTracking(this.http);
    const rest = {
      service: this.service,
      router: this.router,
      http: this.httpUpstreams,
      maxBodyBytes: options.httpMaxBodyBytes,
      logger: log.child({ component: 'http' }),
      forwardHeaders: access?.restHeaderNames,
      fastLaneAdmits:
        access && (!access.open || access.corsOrigins.size > 0)
          ? (method: string | undefined, url: string, headers: IncomingHttpHeaders) => restFastLaneAdmits(access, method, url, headers)
          : undefined,
    };
    installRestForwarding(this.http, rest);
    installRestFastLane(this.http.server, rest);
    void this.http.register(clusterAdminRoutes(options.store, adminOptions));
    // The administration UI at /ui over the same store; this gateway answers its inference and statistics.
    void this.http.register(
      adminUi({
        store: options.store,
        root,
        storeLabel: 'ZooKeeper',
        metricsText: () => registry.metrics(),
        extraComponents: () => Promise.resolve([{ name: 'gateway', state: 'up', detail: 'this gateway (serving this page)' }]),
      }),
    );
    // Behind the front on loopback, reached by one long-lived front session carrying every proxied
    // call: the client-facing limits are the front's; this one only keeps keepalive.
    this.grpc = createGrpcServer({
      service: this.service,
      maxMessageBytes: options.grpcMaxMessageBytes,
      logger: log.child({ component: 'grpc' }),
      limits: { ...limits.grpc, idleTimeoutMs: 0, maxConnectionAgeMs: 0, maxConnections: 0, maxConcurrentStreams: 2 ** 32 - 1 },
      access,
      sharedMemory: this.sharedMemory,
      services: tfServingGrpcServices(this.service, log.child({ component: 'grpc' }), options.grpcMaxMessageBytes, 'proto_field'),
    });
    installGrpcForwarding(this.grpc, {
      service: this.service,
      router: this.router,
      upstreams: this.grpcUpstreams,
      logger: log.child({ component: 'grpc' }),
      tfsTensorContent: options.enableSerializationAsTensorContent,
    });
    const injector = this.grpc.createConnectionInjector(grpc.ServerCredentials.createInsecure());
    this.grpcFront = new GrpcFront({
      router: this.router,
      upstreams: this.h2Upstreams,
      connectFallback: () => {
        const [front, server] = duplexPair();
        injector.injectConnection(server);
        return front;
      },
      maxMessageBytes: options.grpcMaxMessageBytes,
      logger: log.child({ component: 'grpc' }),
      limits: limits.grpc,
      admits: access && !access.open ? (path, headers) => grpcFrontAdmits(access, path, headers) : undefined,
      tls: this.tls?.serverOptions(),
      tfsTensorContent: options.enableSerializationAsTensorContent,
    });

    if (this.upstreamTls) {
      this.unsubscribe.push(
        this.upstreamTls.changed.subscribe((material) => {
          const tls = clientTlsOf(material);
          this.httpUpstreams.setTls(tls);
          this.grpcUpstreams.setTls(tls);
          this.h2Upstreams.setTls(tls);
        }),
      );
    }
    this.unsubscribe.push(
      this.watcher.updated.subscribe((next) => {
        this.health.retainOnly(next.endpoints);
        this.httpUpstreams.retainOnly(next.endpoints);
        this.grpcUpstreams.retainOnly(next.endpoints);
        this.h2Upstreams.retainOnly(next.endpoints);
      }),
      this.health.changed.subscribe((change) => {
        const fields = { node: change.endpoint.nodeId, http: change.endpoint.httpAddress, grpc: change.endpoint.grpcAddress, reason: change.reason };
        if (change.up) {
          // A channel that sat in reconnect backoff while the worker was away starts afresh.
          this.grpcUpstreams.reset(change.endpoint);
          this.h2Upstreams.reset(change.endpoint);
          log.info(fields, 'worker is reachable again');
        } else {
          upstream.workerMarkedDown(change.endpoint.nodeId);
          log.warn(fields, 'worker unreachable: marked down, probing it');
        }
      }),
    );
  }

  /** Connects to the store, reads the table, then opens the endpoints. */
  async start(): Promise<GatewayPorts> {
    const { host, logger } = this.options;
    await this.options.store.start();
    await this.watcher.start();
    await this.http.listen({ host, port: this.options.httpPort });
    const http = (this.http.server.address() as AddressInfo).port;
    const grpcPort = await this.grpcFront.listen(host, this.options.grpcPort);
    const metrics = await this.metricsServer.listen(host, this.options.metricsPort);
    this.tls?.followAll([this.http.server, this.metricsServer.nodeServer, this.grpcFront.nodeServer]);
    const graphite = this.options.graphite;
    if (graphite) {
      const node = graphite.node ?? `${hostname()}-gateway-${http}`;
      this.graphite = new GraphiteReporter(this.metricsServer.registry, { ...graphite, node }, logger.child({ component: 'graphite' }));
      this.graphite.start();
    }
    const table = this.watcher.current;
    logger.info(
      { host, http, grpc: grpcPort, metrics, workers: table.endpoints.length, models: table.models().length },
      `gateway listening (${this.tls ? (this.tls.mutual ? 'mutual TLS' : 'TLS') : 'plaintext'}; to workers: ${this.upstreamTls ? 'TLS' : 'plaintext'}): HTTP ${host}:${http}, gRPC ${host}:${grpcPort}, metrics ${host}:${metrics}`,
    );
    return { http, grpc: grpcPort, metrics };
  }

  async stop(): Promise<void> {
    this.service.beginStopping();
    for (const unsubscribe of this.unsubscribe) unsubscribe();
    await Promise.allSettled([
      this.http.close(),
      // The front first: calls it hands to grpc-js finish before grpc-js stops.
      this.grpcFront.close().then(() => new Promise<void>((resolve) => this.grpc.tryShutdown(() => resolve()))),
      this.metricsServer.close(),
    ]);
    this.health.stop();
    this.tls?.close();
    this.upstreamTls?.close();
    await this.graphite?.close();
    this.coordination.close();
    await this.watcher.stop();
    await this.options.store.stop();
    this.grpcUpstreams.close();
    this.h2Upstreams.close();
    await this.httpUpstreams.close();
  }
}
