/**
 * Model metadata and config on the gateway, from one READY replica, cached per (model, version);
 * and the workers' server metadata (`GET /v2`). The cache is filled in the background as versions
 * become READY (`prefetch` on every new table), because the InferenceService façade's metadata
 * calls are synchronous: until a version's entry arrives they answer UNAVAILABLE ("retry"). The
 * `fetch*` variants wait for the worker instead; the gateway's own routes use those.
 */
import type { Logger } from 'pino';
import { unavailable, type CranberriesError } from '../../core/index.js';
import type { ModelConfig } from '../../repository/index.js';
import type { ModelMetadata, ServerMetadata } from '../../serving/index.js';
import { readyVersionOrThrow, type Endpoint, type EndpointHealthView, type EndpointTable } from '../routing/index.js';
import type { WorkerDocuments } from './worker-documents.js';

export interface ModelInfoCacheOptions {
  readonly table: () => EndpointTable;
  readonly health: EndpointHealthView;
  readonly http: WorkerDocuments;
  /** Answered until a worker tells its own (name, version and extensions are the workers'). */
  readonly metadata: ServerMetadata;
  readonly logger?: Logger | undefined;
}

interface ModelInfo {
  metadata?: ModelMetadata;
  config?: ModelConfig;
  pending?: Promise<void> | undefined;
}

export class ModelInfoCache {
  private readonly info = new Map<string, ModelInfo>();
  private serverMeta: ServerMetadata;
  private serverMetaState: 'missing' | 'pending' | 'known' = 'missing';

  constructor(private readonly options: ModelInfoCacheOptions) {
    this.serverMeta = options.metadata;
  }

  serverMetadata(): ServerMetadata {
    return this.serverMeta;
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
  prefetch(table: EndpointTable): void {
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
}

function infoKey(model: string, version: number): string {
  return `${model}\u0000${version}`;
}
