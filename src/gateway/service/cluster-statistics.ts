/**
 * Statistics on the gateway: every worker's, merged (statistics-merge.ts), gathered on request
 * (`fetchModelStatistics`, which the gateway's own routes use) and kept per query for the
 * façade's synchronous `modelStatistics`.
 */
import { notFound, unavailable } from '../../core/index.js';
import type { ModelStatistics } from '../../serving/index.js';
import { readyVersionOrThrow, type EndpointHealthView, type EndpointTable } from '../routing/index.js';
import { mergeStatistics } from './statistics-merge.js';
import type { WorkerDocuments } from './worker-documents.js';

export interface ClusterStatisticsOptions {
  readonly table: () => EndpointTable;
  readonly health: EndpointHealthView;
  readonly http: WorkerDocuments;
}

export class ClusterStatistics {
  private readonly statistics = new Map<string, readonly ModelStatistics[]>();

  constructor(private readonly options: ClusterStatisticsOptions) {}

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
    const path = model === undefined ? '/v2/models/stats' : `/v2/models/${encodeURIComponent(model)}${version === undefined ? '' : `/versions/${version}`}/stats`;
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
}

function statisticsKey(model: string | undefined, version: number | undefined): string {
  return `${model ?? ''}\u0000${version ?? ''}`;
}
