/**
 * `cranberries admin`: the administration UI as a service of its own. It reads the cluster's state
 * from the coordination store and acts through it (the cluster admin API: desired replicas,
 * load/unload, add), like every other component; what only a serving component can answer
 * (inference, statistics, model metadata and configuration, the repository index, metrics) it
 * relays to a gateway.
 *
 *   /ui/, GET /                 the web app (`admin-ui-routes.ts`)
 *   /v2/cluster/...             the cluster admin API over the store (+ overview, events, metrics)
 *   /v2/models/{m}[...]         relayed to the gateway: metadata, config, stats, infer
 *   POST /v2/repository/index   relayed to the gateway
 *   GET /v2/health/live         this process
 *
 * Access control is the same policy as every REST front (`access/`): with an admin token, the
 * `/v2/cluster` calls need it here, and relayed calls carry the caller's Authorization header on
 * to the gateway, which applies its own policy.
 */
import { readdir } from 'node:fs/promises';
import Fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import type { Logger } from 'pino';
import { request as undiciRequest } from 'undici';
import { AccessPolicy, installRestAccess } from '../access/index.js';
import { clusterAdminRoutes, type CoordinationStore } from '../cluster/index.js';
import { adminUiRoutes, ClusterFeed, type ComponentHealth } from '../admin/index.js';

export interface AdminServiceOptions {
  readonly store: CoordinationStore;
  /** How the store is named on the overview, e.g. "ZooKeeper 127.0.0.1:2181". */
  readonly storeLabel: string;
  /** Cluster root in the store. Default `/cranberries`. */
  readonly root?: string;
  readonly host: string;
  readonly httpPort: number;
  /** Base URL of a gateway (`http://host:port`) for inference, statistics and metadata; absent: those pages say so. */
  readonly gatewayUrl?: string | undefined;
  /** The gateway's Prometheus endpoint (`http://host:port/metrics`); absent: the model page charts statistics only. */
  readonly gatewayMetricsUrl?: string | undefined;
  /** The model repository, when this host can read it: its models can be added from the UI. */
  readonly modelRepository?: string | undefined;
  /** Replicas of a model loaded or added without a count. Default 1. */
  readonly defaultReplicas?: number | undefined;
  readonly access?: AccessPolicy | undefined;
  readonly logger?: Logger | undefined;
  /** The built browser bundle; default `<package>/dist/ui`. */
  readonly uiRoot?: string | undefined;
  /** Largest request body relayed (an inference request). Default 64 MiB. */
  readonly maxBodyBytes?: number | undefined;
}

const RELAY_TIMEOUT_MS = 60_000;
const PROBE_TIMEOUT_MS = 2_000;
const DEFAULT_MAX_BODY = 64 * 1024 * 1024;
/** Request headers relayed to the gateway; everything else (cookies, hop-by-hop headers) stays here. */
const RELAYED_REQUEST_HEADERS = ['content-type', 'authorization', 'inference-header-content-length', 'x-request-id', 'accept'];
const RELAYED_RESPONSE_HEADERS = ['content-type', 'inference-header-content-length', 'x-request-id', 'www-authenticate'];

export class AdminService {
  readonly app: FastifyInstance;
  private readonly feed: ClusterFeed;

  constructor(private readonly options: AdminServiceOptions) {
    const gateway = options.gatewayUrl?.replace(/\/+$/, '');
    this.feed = new ClusterFeed({
      store: options.store,
      root: options.root,
      storeLabel: options.storeLabel,
      extraComponents: () => gatewayHealth(gateway),
      repositoryModels: options.modelRepository === undefined ? undefined : () => repositoryModels(options.modelRepository as string),
    });
    const app = Fastify({ logger: false, bodyLimit: options.maxBodyBytes ?? DEFAULT_MAX_BODY });
    // Bodies stay raw: the admin routes parse their own JSON, relayed bodies go on as they came.
    app.removeAllContentTypeParsers();
    app.addContentTypeParser('*', { parseAs: 'buffer' }, (_request, body, done) => done(null, body));
    app.setNotFoundHandler((request, reply) => json(reply, 404, { error: `no route for ${request.method} ${request.url.slice(0, 200)}` }));
    app.setErrorHandler((error, _request, reply) => {
      const status = typeof (error as { statusCode?: unknown }).statusCode === 'number' ? (error as { statusCode: number }).statusCode : 500;
      if (status >= 500) options.logger?.error({ err: error }, 'admin request failed');
      return json(reply, status >= 400 && status <= 599 ? status : 500, { error: error instanceof Error ? error.message.slice(0, 500) : 'internal error' });
    });
    installRestAccess(app, options.access ?? new AccessPolicy());
    void app.register(
      clusterAdminRoutes(options.store, {
        root: options.root,
        defaultReplicas: options.defaultReplicas,
        knownModels: options.modelRepository === undefined ? undefined : () => repositoryModels(options.modelRepository as string),
      }),
    );
    const metricsUrl = options.gatewayMetricsUrl;
    void app.register(adminUiRoutes({ feed: this.feed, uiRoot: options.uiRoot, metricsText: metricsUrl === undefined ? undefined : () => fetchText(metricsUrl) }));
    app.get('/v2/health/live', (_request, reply) => json(reply, 200, {}));
    const relay = (request: FastifyRequest, reply: FastifyReply): Promise<FastifyReply> => relayTo(gateway, request, reply);
    for (const path of [
      '/v2/models/:model',
      '/v2/models/:model/versions/:version',
      '/v2/models/:model/config',
      '/v2/models/:model/stats',
      '/v2/models/:model/versions/:version/stats',
      '/v2/health/ready',
    ]) {
      app.get(path, relay);
    }
    for (const path of ['/v2/models/:model/infer', '/v2/models/:model/versions/:version/infer', '/v2/repository/index']) app.post(path, relay);
    this.app = app;
  }

  /** Connects to the store and listens; returns the bound HTTP port. */
  async start(): Promise<number> {
    await this.options.store.start();
    await this.app.listen({ host: this.options.host, port: this.options.httpPort });
    const address = this.app.server.address();
    const port = typeof address === 'object' && address ? address.port : this.options.httpPort;
    const url = `http://${this.options.host === '0.0.0.0' ? '127.0.0.1' : this.options.host}:${port}/ui/`;
    this.options.logger?.info({ http: port, url, gateway: this.options.gatewayUrl ?? null }, `admin UI listening on ${url} (gateway: ${this.options.gatewayUrl ?? 'none'})`);
    return port;
  }

  async stop(): Promise<void> {
    await this.app.close();
    this.options.access?.close();
    await this.options.store.stop();
  }
}

async function relayTo(gateway: string | undefined, request: FastifyRequest, reply: FastifyReply): Promise<FastifyReply> {
  if (gateway === undefined) return json(reply, 503, { error: 'no gateway is configured for this admin service (start it with --gateway http://HOST:PORT)' });
  const headers: Record<string, string> = {};
  for (const name of RELAYED_REQUEST_HEADERS) {
    const value = request.headers[name];
    if (typeof value === 'string') headers[name] = value;
  }
  const body = Buffer.isBuffer(request.body) ? request.body : undefined;
  try {
    const answer = await undiciRequest(`${gateway}${request.url}`, {
      method: request.method === 'POST' ? 'POST' : 'GET',
      headers,
      body,
      headersTimeout: RELAY_TIMEOUT_MS,
      bodyTimeout: RELAY_TIMEOUT_MS,
    });
    const data = Buffer.from(await answer.body.arrayBuffer());
    reply.code(answer.statusCode);
    for (const name of RELAYED_RESPONSE_HEADERS) {
      const value = answer.headers[name];
      if (typeof value === 'string') reply.header(name, value);
    }
    return reply.send(data);
  } catch (error) {
    return json(reply, 502, { error: `the gateway at ${gateway} did not answer: ${error instanceof Error ? error.message.slice(0, 200) : 'unknown error'}` });
  }
}

async function gatewayHealth(gateway: string | undefined): Promise<ComponentHealth[]> {
  if (gateway === undefined) return [{ name: 'gateway', state: 'unknown', detail: 'no gateway configured (--gateway): inference and statistics are unavailable' }];
  try {
    const ready = await fetch(`${gateway}/v2/health/ready`, { signal: AbortSignal.timeout(PROBE_TIMEOUT_MS) });
    await ready.body?.cancel();
    return [{ name: 'gateway', state: 'up', detail: `${gateway}: ${ready.status === 200 ? 'ready' : 'live, not ready (a model has no READY replica)'}` }];
  } catch (error) {
    return [{ name: 'gateway', state: 'down', detail: `${gateway}: unreachable (${error instanceof Error ? error.message.slice(0, 100) : 'error'})` }];
  }
}

async function fetchText(url: string): Promise<string> {
  const response = await fetch(url, { signal: AbortSignal.timeout(PROBE_TIMEOUT_MS * 2) });
  if (response.status !== 200) throw new Error(`${url} answered ${response.status}`);
  return response.text();
}

/** The repository's model folders; none when it cannot be read. */
export async function repositoryModels(root: string): Promise<string[]> {
  const entries = await readdir(root, { withFileTypes: true }).catch(() => []);
  return entries.filter((e) => e.isDirectory() && !e.name.startsWith('.')).map((e) => e.name);
}

function json(reply: FastifyReply, status: number, body: unknown): FastifyReply {
  return reply.code(status).header('content-type', 'application/json').send(JSON.stringify(body));
}
