/**
 * The gateway as an InferenceService: what a client asks a worker, answered for the whole cluster,
 * so the shared REST and gRPC adapters serve the gateway exactly as they serve a worker. A small
 * façade over focused parts:
 *
 * - `Readiness` (readiness.ts): health and readiness from the endpoint table and worker health.
 * - `ModelInfoCache` (model-info-cache.ts): metadata and config from one READY replica, cached per
 *   version and warmed on every new table; the workers' server metadata.
 * - `ClusterStatistics` (cluster-statistics.ts): statistics merged across every worker.
 * - `DecodedInfer` (decoded-infer.ts): `infer` for a decoded request, forwarded to a worker over
 *   gRPC (the relayed raw-byte paths do not come here).
 * - `ModelRepository` (model-repository.ts): the repository index merged per version; load and
 *   unload as desired state through `ModelControl` (model-control.ts).
 */
import type { Logger } from 'pino';
import type { EventChannel } from '../../core/index.js';
import type { ModelConfig } from '../../repository/index.js';
import type { InferenceRequest, InferenceResponse, InferenceService, LoadModelOptions, ModelIndexEntry, ModelMetadata, ModelStatistics, RequestContext, ServerMetadata } from '../../serving/index.js';
import type { Endpoint, EndpointHealthView, EndpointTable, RequestRouter } from '../routing/index.js';
import { ClusterStatistics } from './cluster-statistics.js';
import { DecodedInfer, type WorkerUnaryCalls } from './decoded-infer.js';
import type { ModelControl } from './model-control.js';
import { ModelInfoCache } from './model-info-cache.js';
import { ModelRepository } from './model-repository.js';
import { Readiness } from './readiness.js';
import type { WorkerDocuments } from './worker-documents.js';

export type { ModelControl } from './model-control.js';

export interface GatewayServiceOptions {
  readonly table: () => EndpointTable;
  readonly tableUpdated: EventChannel<EndpointTable>;
  readonly router: RequestRouter;
  /** The workers' REST ports (metadata, config, statistics): the REST lane's `HttpUpstreams`. */
  readonly http: WorkerDocuments;
  /** The workers' gRPC ports (decoded infer): the gRPC lane's `GrpcUpstreams`. */
  readonly grpc: WorkerUnaryCalls;
  readonly health: EndpointHealthView;
  /** Answered until a worker tells its own (name, version and extensions are the workers'). */
  readonly metadata: ServerMetadata;
  readonly control?: ModelControl | undefined;
  /** How long load/unload wait for the cluster to follow. Default 120 s. */
  readonly controlTimeoutMs?: number;
  readonly logger?: Logger | undefined;
}

export class GatewayService implements InferenceService {
  private readonly readiness: Readiness;
  private readonly info: ModelInfoCache;
  private readonly statistics: ClusterStatistics;
  private readonly decoded: DecodedInfer;
  private readonly repository: ModelRepository;
  private readonly unsubscribe: () => void;

  constructor(options: GatewayServiceOptions) {
    const { table, health, http } = options;
    this.readiness = new Readiness(table, health);
    this.info = new ModelInfoCache({ table, health, http, metadata: options.metadata, logger: options.logger });
    this.statistics = new ClusterStatistics({ table, health, http });
    this.decoded = new DecodedInfer({ router: options.router, grpc: options.grpc });
    this.repository = new ModelRepository({ table, tableUpdated: options.tableUpdated, control: options.control, controlTimeoutMs: options.controlTimeoutMs });
    this.unsubscribe = options.tableUpdated.subscribe((next) => this.info.prefetch(next));
  }

  /** Readiness turns false at once on shutdown, so load balancers in front stop sending traffic. */
  beginStopping(): void {
    this.readiness.beginStopping();
    this.unsubscribe();
  }

  live(): boolean {
    return this.readiness.live();
  }

  ready(): boolean {
    return this.readiness.ready();
  }

  modelReady(model: string, version?: number): boolean {
    return this.readiness.modelReady(model, version);
  }

  /** Some worker that is up (for requests any worker answers alike), preferring fresh ones. */
  anyUpEndpoint(): Endpoint | undefined {
    return this.readiness.anyUpEndpoint();
  }

  serverMetadata(): ServerMetadata {
    return this.info.serverMetadata();
  }

  modelMetadata(model: string, version?: number): ModelMetadata {
    return this.info.modelMetadata(model, version);
  }

  modelConfig(model: string, version?: number): ModelConfig {
    return this.info.modelConfig(model, version);
  }

  /** Metadata from a READY replica, waiting for it if it is not cached yet. */
  fetchModelMetadata(model: string, version?: number): Promise<ModelMetadata> {
    return this.info.fetchModelMetadata(model, version);
  }

  fetchModelConfig(model: string, version?: number): Promise<ModelConfig> {
    return this.info.fetchModelConfig(model, version);
  }

  infer(request: InferenceRequest, context?: RequestContext): Promise<InferenceResponse> {
    return this.decoded.infer(request, context);
  }

  repositoryIndex(readyOnly: boolean): Promise<readonly ModelIndexEntry[]> {
    return this.repository.repositoryIndex(readyOnly);
  }

  loadModel(model: string, options?: LoadModelOptions): Promise<void> {
    return this.repository.loadModel(model, options);
  }

  unloadModel(model: string): Promise<void> {
    return this.repository.unloadModel(model);
  }

  /** Last merged statistics for the same query (see `fetchModelStatistics`). */
  modelStatistics(model?: string, version?: number): readonly ModelStatistics[] {
    return this.statistics.modelStatistics(model, version);
  }

  /** Statistics of every worker, merged; NOT_FOUND for a model (or version) no worker knows. */
  fetchModelStatistics(model?: string, version?: number): Promise<readonly ModelStatistics[]> {
    return this.statistics.fetchModelStatistics(model, version);
  }
}
