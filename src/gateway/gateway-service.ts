/**
 * The gateway as an InferenceService: what a client asks a worker, answered for the whole cluster,
 * so the shared REST and gRPC adapters serve the gateway exactly as they serve a worker.
 *
 * - Health and readiness come from the endpoint table: the server is ready when every deployed
 *   model has a READY replica; a model is ready when a READY replica of it is up.
 * - Metadata and config come from one READY replica and are cached per (model, version); the
 *   cache is filled in the background as versions become READY, because the façade's metadata
 *   calls are synchronous. The `fetch*` variants wait for the worker instead; the gateway's own
 *   routes use those.
 * - Statistics are merged across every worker (`fetchModelStatistics`); the repository index is
 *   the workers' reported states merged per version (a version is READY if any replica is).
 * - `infer` forwards a decoded request to a worker over gRPC (the relayed raw-byte paths do not
 *   come here).
 * - Repository load/unload write desired state through `ModelControl` and wait for the cluster to
 *   follow; they never call a worker.
 */
import * as grpc from '@grpc/grpc-js';
import type { Logger } from 'pino';
import { CranberriesError, notFound, unavailable, type ErrorCode } from '../core/errors.js';
import type { EventChannel } from '../core/events.js';
import type { ModelConfig } from '../repository/model-config.js';
import type { InferenceRequest, InferenceResponse } from '../serving/inference.js';
import type {
  InferenceService,
  LoadModelOptions,
  ModelIndexEntry,
  ModelMetadata,
  ModelStatistics,
  RequestContext,
  ServerMetadata,
  VersionState,
} from '../serving/inference-service.js';
import { Cancellation } from './cancellation.js';
import { decodeInferResponseMessage, encodeInferRequestMessage, MODEL_INFER_PATH } from './decoded-infer.js';
import type { Endpoint, EndpointTable } from './endpoint-table.js';
import type { GrpcUpstreams } from './grpc-upstreams.js';
import type { HttpUpstreams } from './http-upstreams.js';
import { readyVersionOrThrow, type EndpointHealthView } from './picker.js';
import { REQUEST_ID_HEADER, resolveRequestId } from '../protocols/common/request-id.js';
import type { RequestRouter } from './request-router.js';
import { mergeStatistics } from './statistics-merge.js';
import { sequenceKeyOf } from './sequence-affinity.js';

/** Writes a model's desired state (the cluster admin API's functions). */
export interface ModelControl {
  /** Makes the model deployed with at least one replica. */
  load(model: string): Promise<void>;
  /** Keeps the model known but with zero replicas. */
  unload(model: string): Promise<void>;
  /** Why a model has no replica (e.g. PENDING placement), if known. */
  pendingReason?(model: string): Promise<string | undefined>;
}

export interface GatewayServiceOptions {
  readonly table: () => EndpointTable;
  readonly tableUpdated: EventChannel<EndpointTable>;
  readonly router: RequestRouter;
  readonly http: HttpUpstreams;
  readonly grpc: GrpcUpstreams;
  readonly health: EndpointHealthView;
  /** Answered until a worker tells its own (name, version and extensions are the workers'). */
  readonly metadata: ServerMetadata;
  readonly control?: ModelControl | undefined;
  /** How long load/unload wait for the cluster to follow. Default 120 s. */
  readonly controlTimeoutMs?: number;
  readonly logger?: Logger | undefined;
}

interface ModelInfo {
  metadata?: ModelMetadata;
  config?: ModelConfig;
  pending?: Promise<void> | undefined;
}

const STATE_RANK: Readonly<Record<VersionState, number>> = { READY: 3, LOADING: 2, UNLOADING: 1, UNAVAILABLE: 0 };

export class GatewayService implements InferenceService {
  private readonly info = new Map<string, ModelInfo>();
  private readonly statistics = new Map<string, readonly ModelStatistics[]>();
  private stopping = false;
  private readonly unsubscribe: () => void;
  private serverMeta: ServerMetadata;
  private serverMetaState: 'missing' | 'pending' | 'known' = 'missing';

  constructor(private readonly options: GatewayServiceOptions) {
    this.serverMeta = options.metadata;
    this.unsubscribe = options.tableUpdated.subscribe((table) => this.prefetch(table));
  }

  /** Readiness turns false at once on shutdown, so load balancers in front stop sending traffic. */
  beginStopping(): void {
    this.stopping = true;
    this.unsubscribe();
  }

  live(): boolean {
    return !this.stopping;
  }

  ready(): boolean {
    return !this.stopping && this.options.table().ready();
  }

  serverMetadata(): ServerMetadata {
    return this.serverMeta;
  }

  modelReady(model: string, version?: number): boolean {
    const table = this.options.table();
    const versions = version === undefined ? table.readyVersions(model) : [version];
    return versions.some((v) => {
      const replicas = table.replicas(model, v);
      return [...replicas.fresh, ...replicas.retained].some((e) => this.options.health.isUp(e.key));
    });
  }

  /** Some worker that is up (for requests any worker answers alike), preferring fresh ones. */
  anyUpEndpoint(): Endpoint | undefined {
    return this.options.table().endpoints.find((e) => this.options.health.isUp(e.key));
  }

  modelMetadata(model: string, version?: number): ModelMetadata {
    const resolved = readyVersionOrThrow(this.options.table(), model, version);
    const metadata = this.info.get(infoKey(model, resolved))?.metadata;
    if (!metadata) throw this.notCachedYet(model, resolved, 'metadata');
    return this.withVersions(metadata, model, version);
  }

  modelConfig(model: string, version?: number): ModelConfig {
    const resolved = readyVersionOrThrow(this.options.table(), model, version);
    const config = this.info.get(infoKey(model, resolved))?.config;
    if (!config) throw this.notCachedYet(model, resolved, 'configuration');
    return config;
  }

  /** Metadata from a READY replica, waiting for it if it is not cached yet. */
  async fetchModelMetadata(model: string, version?: number): Promise<ModelMetadata> {
    const resolved = readyVersionOrThrow(this.options.table(), model, version);
    const info = await this.ensureInfo(model, resolved);
    if (!info.metadata) throw this.notCachedYet(model, resolved, 'metadata');
    return this.withVersions(info.metadata, model, version);
  }

  async fetchModelConfig(model: string, version?: number): Promise<ModelConfig> {
    const resolved = readyVersionOrThrow(this.options.table(), model, version);
    const info = await this.ensureInfo(model, resolved);
    if (!info.config) throw this.notCachedYet(model, resolved, 'configuration');
    return info.config;
  }

  async infer(request: InferenceRequest, context?: RequestContext): Promise<InferenceResponse> {
    const requestId = context?.requestId ?? resolveRequestId(undefined, request.id).id;
    const message = encodeInferRequestMessage(request);
    const metadata = new grpc.Metadata();
    metadata.set(REQUEST_ID_HEADER, requestId);
    const cancel = Cancellation.fromSignal(context?.signal);
    const affinity = sequenceKeyOf(request.parameters?.['sequence_id']);
    const answer = await this.options.router.route({ model: request.model, version: request.version, requestId, cancel, affinity }, (endpoint) =>
      this.options.grpc.unary(endpoint, MODEL_INFER_PATH, message, metadata, {}, cancel),
    );
    if (answer.error) throw errorFromStatus(answer.error);
    return decodeInferResponseMessage(answer.response);
  }

  async repositoryIndex(readyOnly: boolean): Promise<readonly ModelIndexEntry[]> {
    const table = this.options.table();
    const entries: ModelIndexEntry[] = [];
    for (const name of table.models()) {
      const byVersion = new Map<number, { state: VersionState; reason?: string | undefined }>();
      for (const replica of table.replicaStates(name)) {
        const best = byVersion.get(replica.version);
        if (!best || STATE_RANK[replica.state] > STATE_RANK[best.state]) byVersion.set(replica.version, { state: replica.state, reason: replica.reason });
      }
      if (byVersion.size === 0) {
        if (readyOnly) continue;
        const reason = await this.options.control?.pendingReason?.(name).catch(() => undefined);
        entries.push(reason ? { name, state: 'UNAVAILABLE', reason } : { name });
        continue;
      }
      for (const [version, { state, reason }] of [...byVersion].sort((a, b) => a[0] - b[0])) {
        if (readyOnly && state !== 'READY') continue;
        entries.push({ name, version: String(version), state, ...(reason && state !== 'READY' ? { reason } : {}) });
      }
    }
    return entries;
  }

  async loadModel(model: string, options?: LoadModelOptions): Promise<void> {
    const control = this.requireControl();
    if (options?.config !== undefined || (options?.files?.size ?? 0) > 0) {
      throw new CranberriesError('UNIMPLEMENTED', `failed to load '${model}': configuration and file overrides are not supported through the gateway; add the model to the repository the workers share`);
    }
    await control.load(model);
    await this.waitFor(
      (table) => table.freshVersions(model).length > 0,
      async () => {
        const reason = await control.pendingReason?.(model).catch(() => undefined);
        return `failed to load '${model}': no replica became READY${reason ? ` (${reason})` : ''}`;
      },
    );
  }

  async unloadModel(model: string): Promise<void> {
    const control = this.requireControl();
    if (!this.options.table().hasModel(model)) throw notFound(`failed to unload '${model}': unknown model`);
    await control.unload(model);
    await this.waitFor(
      (table) => !table.replicaStates(model).some((r) => !r.retained && (r.state === 'READY' || r.state === 'LOADING')),
      () => Promise.resolve(`failed to unload '${model}': some workers still serve it`),
    );
  }

  /** Last merged statistics for the same query (see `fetchModelStatistics`). */
  modelStatistics(model?: string, version?: number): readonly ModelStatistics[] {
    const cached = this.statistics.get(statisticsKey(model, version));
    if (!cached) throw unavailable(`statistics${model === undefined ? '' : ` of model '${model}'`} are being gathered from the workers; retry`);
    return cached;
  }

  /** Statistics of every worker, merged; NOT_FOUND for a model (or version) no worker knows. */
  async fetchModelStatistics(model?: string, version?: number): Promise<readonly ModelStatistics[]> {
    const table = this.options.table();
    if (model !== undefined && version !== undefined) readyVersionOrThrow(table, model, version);
    if (model !== undefined && !table.hasModel(model)) throw notFound(`Request for unknown model: '${model}' is not found`);
    const path =
      model === undefined
        ? '/v2/models/stats'
        : `/v2/models/${encodeURIComponent(model)}${version === undefined ? '' : `/versions/${version}`}/stats`;
    const reports = await Promise.all(
      table.endpoints.map(async (endpoint) => {
        if (!this.options.health.isUp(endpoint.key)) return [];
        try {
          const { status, json } = await this.options.http.getJson(endpoint, path, AbortSignal.timeout(5000));
          const stats = (json as { model_stats?: unknown } | undefined)?.model_stats;
          return status === 200 && Array.isArray(stats) ? (stats as ModelStatistics[]) : [];
        } catch {
          return [];
        }
      }),
    );
    const merged = mergeStatistics(reports);
    this.statistics.set(statisticsKey(model, version), merged);
    return merged;
  }

  private requireControl(): ModelControl {
    const control = this.options.control;
    if (!control) throw new CranberriesError('UNIMPLEMENTED', 'this gateway cannot change the deployed models (no coordination store)');
    return control;
  }

  private withVersions(metadata: ModelMetadata, model: string, version: number | undefined): ModelMetadata {
    const versions = version !== undefined ? [String(version)] : this.options.table().readyVersions(model).map(String);
    return { ...metadata, versions };
  }

  private notCachedYet(model: string, version: number, what: string): CranberriesError {
    void this.ensureInfo(model, version).catch(() => undefined);
    return unavailable(`the ${what} of model '${model}' version ${version} could not be fetched from its workers yet; retry`);
  }

  /** Fetches metadata and config of a READY version from one of its replicas (once at a time). */
  private ensureInfo(model: string, version: number): Promise<ModelInfo> {
    const key = infoKey(model, version);
    let info = this.info.get(key);
    if (info?.metadata && info.config) return Promise.resolve(info);
    if (!info) {
      info = {};
      this.info.set(key, info);
    }
    const entry = info;
    entry.pending ??= this.fetchInfo(model, version, entry).finally(() => {
      entry.pending = undefined;
    });
    return entry.pending.then(() => entry);
  }

  private async fetchInfo(model: string, version: number, into: ModelInfo): Promise<void> {
    const replicas = this.options.table().replicas(model, version);
    const candidates = [...replicas.fresh, ...replicas.retained].sort((a, b) => Number(this.options.health.isUp(b.key)) - Number(this.options.health.isUp(a.key)));
    const base = `/v2/models/${encodeURIComponent(model)}/versions/${version}`;
    let lastError = 'no READY replica';
    for (const endpoint of candidates) {
      try {
        const [metadata, config] = await Promise.all([this.getDocument(endpoint, base), this.getDocument(endpoint, `${base}/config`)]);
        into.metadata = metadata as ModelMetadata;
        into.config = config as ModelConfig;
        return;
      } catch (error) {
        lastError = error instanceof Error ? error.message : String(error);
      }
    }
    this.options.logger?.debug({ model, version, err: lastError }, 'cannot fetch model metadata from the workers');
    throw unavailable(`cannot fetch metadata of model '${model}' version ${version} from its workers: ${lastError}`);
  }

  private async getDocument(endpoint: Endpoint, path: string): Promise<unknown> {
    const { status, json } = await this.options.http.getJson(endpoint, path, AbortSignal.timeout(5000));
    if (status !== 200 || typeof json !== 'object' || json === null) {
      const message = (json as { error?: unknown } | undefined)?.error;
      throw new Error(`worker ${endpoint.nodeId} answered ${status} to GET ${path}${typeof message === 'string' ? `: ${message}` : ''}`);
    }
    return json;
  }

  /** Learns the workers' server metadata (`GET /v2`) from the first worker that answers. */
  private fetchServerMetadata(table: EndpointTable): void {
    const endpoint = table.endpoints.find((e) => this.options.health.isUp(e.key));
    if (this.serverMetaState !== 'missing' || !endpoint) return;
    this.serverMetaState = 'pending';
    this.getDocument(endpoint, '/v2').then(
      (json) => {
        const { name, version, extensions } = json as Partial<ServerMetadata>;
        if (typeof name === 'string' && typeof version === 'string' && Array.isArray(extensions)) {
          // Shared memory works on a worker's own ports only (the gateway refuses it), and trace settings are
          // each worker's own: neither is advertised here.
          this.serverMeta = { name, version, extensions: extensions.filter((extension) => extension !== 'system_shared_memory' && extension !== 'trace') };
          this.serverMetaState = 'known';
        } else this.serverMetaState = 'missing';
      },
      () => {
        this.serverMetaState = 'missing';
      },
    );
  }

  /** Warms the metadata cache for every READY version and forgets versions that are gone. */
  private prefetch(table: EndpointTable): void {
    this.fetchServerMetadata(table);
    const live = new Set<string>();
    for (const model of table.models()) {
      for (const version of table.readyVersions(model)) {
        const key = infoKey(model, version);
        live.add(key);
        if (!this.info.get(key)?.metadata) void this.ensureInfo(model, version).catch(() => undefined);
      }
    }
    for (const key of this.info.keys()) if (!live.has(key)) this.info.delete(key);
  }

  /** Resolves once `done(table)` holds; rejects with UNAVAILABLE after the control timeout. */
  private waitFor(done: (table: EndpointTable) => boolean, timeoutMessage: () => Promise<string>): Promise<void> {
    if (done(this.options.table())) return Promise.resolve();
    const timeoutMs = this.options.controlTimeoutMs ?? 120_000;
    return new Promise((resolve, reject) => {
      const unsubscribe = this.options.tableUpdated.subscribe((table) => {
        if (!done(table)) return;
        clearTimeout(timer);
        unsubscribe();
        resolve();
      });
      const timer = setTimeout(() => {
        unsubscribe();
        void timeoutMessage().then((message) => reject(unavailable(message)));
      }, timeoutMs);
    });
  }
}

function infoKey(model: string, version: number): string {
  return `${model}\u0000${version}`;
}

function statisticsKey(model: string | undefined, version: number | undefined): string {
  return `${model ?? ''}\u0000${version ?? ''}`;
}

const CODE_OF_STATUS: ReadonlyMap<number, ErrorCode> = new Map(
  (['INVALID_ARGUMENT', 'NOT_FOUND', 'UNAVAILABLE', 'RESOURCE_EXHAUSTED', 'DEADLINE_EXCEEDED', 'CANCELLED', 'UNIMPLEMENTED', 'ALREADY_EXISTS', 'FAILED_PRECONDITION', 'INTERNAL'] as const).map(
    (code) => [grpc.status[code], code],
  ),
);

/** A worker's gRPC status as the error the façade throws (same code, same message). */
export function errorFromStatus(error: grpc.ServiceError): CranberriesError {
  return new CranberriesError(CODE_OF_STATUS.get(error.code) ?? 'INTERNAL', error.details);
}
