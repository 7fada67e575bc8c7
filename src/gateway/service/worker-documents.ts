/**
 * What the service's parts ask of a worker's REST port: a JSON document (metadata, config,
 * statistics). The REST lane's connection pools (`HttpUpstreams`) answer it.
 */
import type { Endpoint } from '../routing/index.js';

export interface WorkerDocuments {
  getJson(endpoint: Endpoint, path: string, signal?: AbortSignal): Promise<{ status: number; json: unknown }>;
}
