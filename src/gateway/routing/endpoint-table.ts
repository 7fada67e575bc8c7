/**
 * The gateway's routing table: an immutable snapshot of where every model version is READY, built
 * from the coordination store's `nodes/*` (addresses), `status/*` (per-version state on each worker)
 * and `models/*` (what should be deployed). The table watcher builds a new one on every change and
 * swaps it in whole, so a request always sees one consistent table and picks never lock.
 *
 * Replicas come in two tiers. *Fresh* replicas are on workers the store lists right now. *Retained*
 * replicas are on workers that vanished from the store only moments ago (their ZooKeeper session
 * expired while ZooKeeper was away, and they are re-registering): they are only used when no fresh
 * replica can serve, so a coordination hiccup never empties the table while the workers are fine.
 */
import type { ModelDeployment, NodeInfo, NodeStatus } from '../../cluster/index.js';
import type { VersionState } from '../../serving/index.js';

/** A worker as the gateway reaches it. The key changes when a worker comes back on other ports. */
export interface Endpoint {
  readonly key: string;
  readonly nodeId: string;
  /** `host:port` of its REST endpoint. */
  readonly httpAddress: string;
  /** `host:port` of its gRPC endpoint. */
  readonly grpcAddress: string;
}

export function endpointOf(node: Pick<NodeInfo, 'id' | 'httpAddress' | 'grpcAddress'>): Endpoint {
  return { key: `${node.id}|${node.httpAddress}|${node.grpcAddress}`, nodeId: node.id, httpAddress: node.httpAddress, grpcAddress: node.grpcAddress };
}

/** One replica of one model version on one worker, in any state. */
export interface ReplicaState {
  readonly model: string;
  readonly version: number;
  readonly endpoint: Endpoint;
  readonly state: VersionState;
  readonly reason?: string | undefined;
  /** True for a replica on a worker that is retained after vanishing from the store. */
  readonly retained: boolean;
}

/** A worker and what it reported last. */
export interface WorkerSnapshot {
  readonly node: NodeInfo;
  readonly status: NodeStatus | undefined;
}

export interface TableInput {
  /** Workers the store lists now, by node id. */
  readonly workers: ReadonlyMap<string, WorkerSnapshot>;
  /** Workers that vanished recently and are kept as a fallback, by node id. */
  readonly retained?: ReadonlyMap<string, WorkerSnapshot> | undefined;
  readonly deployments: ReadonlyMap<string, ModelDeployment>;
}

/** READY replicas of one model version, fresh first. */
export interface VersionReplicas {
  readonly fresh: readonly Endpoint[];
  readonly retained: readonly Endpoint[];
}

const NO_REPLICAS: VersionReplicas = Object.freeze({ fresh: Object.freeze([]), retained: Object.freeze([]) });

interface ModelEntry {
  /** READY replicas by version. */
  readonly ready: Map<number, { fresh: Endpoint[]; retained: Endpoint[] }>;
  /** Versions with at least one fresh READY replica, highest first. */
  freshVersions: number[];
  /** Versions with only retained READY replicas, highest first. */
  retainedVersions: number[];
  readonly replicas: ReplicaState[];
}

export class EndpointTable {
  static readonly EMPTY = EndpointTable.build({ workers: new Map(), deployments: new Map() });

  /** Every worker the table knows (fresh then retained), each once. */
  readonly endpoints: readonly Endpoint[];
  private readonly byModel: ReadonlyMap<string, ModelEntry>;
  private readonly deploymentsByName: ReadonlyMap<string, ModelDeployment>;

  private constructor(endpoints: Endpoint[], byModel: Map<string, ModelEntry>, deployments: ReadonlyMap<string, ModelDeployment>) {
    this.endpoints = Object.freeze(endpoints);
    this.byModel = byModel;
    this.deploymentsByName = deployments;
  }

  static build(input: TableInput): EndpointTable {
    const endpoints: Endpoint[] = [];
    const byModel = new Map<string, ModelEntry>();
    const add = (snapshot: WorkerSnapshot, retained: boolean): void => {
      const endpoint = endpointOf(snapshot.node);
      endpoints.push(endpoint);
      for (const [model, report] of Object.entries(snapshot.status?.models ?? {})) {
        let entry = byModel.get(model);
        if (!entry) {
          entry = { ready: new Map(), freshVersions: [], retainedVersions: [], replicas: [] };
          byModel.set(model, entry);
        }
        for (const [versionText, { state, reason }] of Object.entries(report.versions)) {
          const version = Number(versionText);
          if (!/^[0-9]+$/.test(versionText) || !Number.isSafeInteger(version)) continue;
          entry.replicas.push({ model, version, endpoint, state, reason, retained });
          if (state !== 'READY') continue;
          let replicas = entry.ready.get(version);
          if (!replicas) {
            replicas = { fresh: [], retained: [] };
            entry.ready.set(version, replicas);
          }
          (retained ? replicas.retained : replicas.fresh).push(endpoint);
        }
      }
    };
    for (const snapshot of sortedById(input.workers)) add(snapshot, false);
    for (const snapshot of sortedById(input.retained ?? new Map())) {
      if (!input.workers.has(snapshot.node.id)) add(snapshot, true);
    }
    for (const entry of byModel.values()) {
      const versions = [...entry.ready.keys()].sort((a, b) => b - a);
      entry.freshVersions = versions.filter((v) => (entry.ready.get(v)?.fresh.length ?? 0) > 0);
      entry.retainedVersions = versions.filter((v) => (entry.ready.get(v)?.fresh.length ?? 0) === 0);
    }
    return new EndpointTable(endpoints, byModel, new Map(input.deployments));
  }

  /** Known = deployed, or reported in any state by some worker. */
  hasModel(model: string): boolean {
    return this.byModel.has(model) || this.deploymentsByName.has(model);
  }

  /** True when some worker reports this version, in any state. */
  hasVersion(model: string, version: number): boolean {
    return this.byModel.get(model)?.replicas.some((r) => r.version === version) ?? false;
  }

  /** READY replicas of a version. */
  replicas(model: string, version: number): VersionReplicas {
    return this.byModel.get(model)?.ready.get(version) ?? NO_REPLICAS;
  }

  /** Versions with a fresh READY replica, highest first. */
  freshVersions(model: string): readonly number[] {
    return this.byModel.get(model)?.freshVersions ?? [];
  }

  /** Versions whose only READY replicas are retained ones, highest first. */
  retainedVersions(model: string): readonly number[] {
    return this.byModel.get(model)?.retainedVersions ?? [];
  }

  /** Every version with any READY replica, ascending (what metadata lists as "versions"). */
  readyVersions(model: string): readonly number[] {
    return [...this.freshVersions(model), ...this.retainedVersions(model)].sort((a, b) => a - b);
  }

  /** The version a version-less request gets: the highest with a READY replica, fresh ones first. */
  latestReadyVersion(model: string): number | undefined {
    return this.freshVersions(model)[0] ?? this.retainedVersions(model)[0];
  }

  /** Every replica of a model in every state. */
  replicaStates(model: string): readonly ReplicaState[] {
    return this.byModel.get(model)?.replicas ?? [];
  }

  /** Deployed and reported model names, sorted. */
  models(): readonly string[] {
    return [...new Set([...this.byModel.keys(), ...this.deploymentsByName.keys()])].sort();
  }

  deployment(model: string): ModelDeployment | undefined {
    return this.deploymentsByName.get(model);
  }

  /** Server readiness: every model deployed with replicas > 0 has a READY replica. */
  ready(): boolean {
    for (const deployment of this.deploymentsByName.values()) {
      if (deployment.replicas > 0 && this.latestReadyVersion(deployment.name) === undefined) return false;
    }
    return true;
  }
}

function sortedById(workers: ReadonlyMap<string, WorkerSnapshot>): WorkerSnapshot[] {
  return [...workers.values()].sort((a, b) => (a.node.id < b.node.id ? -1 : a.node.id > b.node.id ? 1 : 0));
}
