/**
 * Test aid: endpoint tables from a compact description, e.g.
 * `tableOf({ w1: { m: { 1: 'READY' } } }, { deployments: { m: 2 } })`.
 */
import type { ModelDeployment } from '../../src/cluster/layout.js';
import type { VersionState } from '../../src/serving/inference-service.js';
import { EndpointTable, endpointOf, type Endpoint, type WorkerSnapshot } from '../../src/gateway/routing/endpoint-table.js';

/** Per worker id: per model: per version: state (or state and reason). */
export type WorkerStates = Record<string, Record<string, Record<number, VersionState | { state: VersionState; reason: string }>>>;

export function workerSnapshot(id: string, models: WorkerStates[string], port = portOf(id)): WorkerSnapshot {
  const status: Record<string, { versions: Record<string, { state: VersionState; reason?: string }> }> = {};
  for (const [model, versions] of Object.entries(models)) {
    status[model] = { versions: {} };
    for (const [version, value] of Object.entries(versions)) {
      status[model].versions[version] = typeof value === 'string' ? { state: value } : value;
    }
  }
  return {
    node: { id, httpAddress: `127.0.0.1:${port}`, grpcAddress: `127.0.0.1:${port + 1}`, memoryCapacityBytes: 1 << 30, labels: {}, startedAt: 0 },
    status: { models: status },
  };
}

export function tableOf(workers: WorkerStates, options: { retained?: WorkerStates; deployments?: Record<string, number> } = {}): EndpointTable {
  const toMap = (states: WorkerStates): Map<string, WorkerSnapshot> => new Map(Object.entries(states).map(([id, models]) => [id, workerSnapshot(id, models)]));
  const deployments = new Map<string, ModelDeployment>(Object.entries(options.deployments ?? {}).map(([name, replicas]) => [name, { name, replicas, memoryBytes: 0, memoryMeasured: false }]));
  return EndpointTable.build({ workers: toMap(workers), retained: toMap(options.retained ?? {}), deployments });
}

/** The endpoint `tableOf` gives worker `id`. */
export function endpoint(id: string): Endpoint {
  const port = portOf(id);
  return endpointOf({ id, httpAddress: `127.0.0.1:${port}`, grpcAddress: `127.0.0.1:${port + 1}` });
}

function portOf(id: string): number {
  let hash = 0;
  for (const char of id) hash = (hash * 31 + char.charCodeAt(0)) % 20_000;
  return 20_000 + hash * 2;
}
