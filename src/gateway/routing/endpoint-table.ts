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
import { runAtOnce } from '../../cluster/index.js';
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
  /** Workers that report the model, in any state or none. */
  readonly reporters: string[];
}

export class EndpointTable {
  static readonly EMPTY = EndpointTable.build({ workers: new Map(), deployments: new Map() });

  /** Every worker the table knows (fresh then retained), each once. */
  readonly endpoints: readonly Endpoint[];
  private readonly byModel: ReadonlyMap<string, ModelEntry>;
  private readonly deploymentsByName: ReadonlyMap<string, ModelDeployment>;

  /** Models each worker reports (for `update`: which entries a changed worker touches). */
  private readonly modelsByNode: ReadonlyMap<string, readonly string[]>;
  /** The input's deployments map this table copied: `update` given the same map shares the copy. */
  private readonly deploymentsInput: ReadonlyMap<string, ModelDeployment>;

  private constructor(
    endpoints: Endpoint[],
    byModel: Map<string, ModelEntry>,
    deployments: ReadonlyMap<string, ModelDeployment>,
    modelsByNode: Map<string, readonly string[]>,
    deploymentsInput: ReadonlyMap<string, ModelDeployment>,
  ) {
    this.endpoints = Object.freeze(endpoints);
    this.byModel = byModel;
    this.deploymentsByName = deployments;
    this.modelsByNode = modelsByNode;
    this.deploymentsInput = deploymentsInput;
  }

  static build(input: TableInput): EndpointTable {
    return runAtOnce(EndpointTable.buildSteps(input));
  }

  /** `build` as steps that yield between workers, for a caller that runs them in slices (the table watcher). */
  static *buildSteps(input: TableInput): Generator<void, EndpointTable, void> {
    const endpoints: Endpoint[] = [];
    const byModel = new Map<string, ModelEntry>();
    const modelsByNode = new Map<string, readonly string[]>();
    for (const [snapshot, retained] of tiers(input)) {
      const endpoint = endpointOf(snapshot.node);
      endpoints.push(endpoint);
      modelsByNode.set(snapshot.node.id, Object.keys(snapshot.status?.models ?? {}));
      addReports(byModel, snapshot, endpoint, retained);
      yield;
    }
    for (const entry of byModel.values()) finish(entry);
    return new EndpointTable(endpoints, byModel, new Map(input.deployments), modelsByNode, input.deployments);
  }

  /**
   * The table `build(input)` would give, rebuilding only the entries of models that the `changed`
   * workers report now or reported in `previous` (every other entry is shared with `previous`).
   * `changed` must name every worker whose snapshot or tier differs from the input of `previous`.
   * A status change of one worker costs its models, not the whole cluster. Given the same
   * deployments map as `previous` (the table watcher keeps it while unchanged), it shares its copy.
   */
  static update(previous: EndpointTable, input: TableInput, changed: ReadonlySet<string>): EndpointTable {
    return runAtOnce(EndpointTable.updateSteps(previous, input, changed));
  }

  /** `update` as steps that yield between workers and between models, for a caller that runs them in slices. */
  static *updateSteps(previous: EndpointTable, input: TableInput, changed: ReadonlySet<string>): Generator<void, EndpointTable, void> {
    const ordered = tiers(input);
    const position = new Map<string, number>();
    const endpoints: Endpoint[] = [];
    for (const [i, [snapshot]] of ordered.entries()) {
      position.set(snapshot.node.id, i);
      endpoints.push(endpointOf(snapshot.node));
    }
    const modelsByNode = new Map(previous.modelsByNode);
    const holders = new Map<string, Set<string>>();
    const touch = (model: string, node: string): void => {
      let set = holders.get(model);
      if (!set) holders.set(model, (set = new Set(previous.byModel.get(model)?.reporters)));
      set.add(node);
    };
    for (const node of changed) {
      for (const model of previous.modelsByNode.get(node) ?? []) touch(model, node);
      const at = position.get(node);
      if (at === undefined) {
        modelsByNode.delete(node);
        continue;
      }
      const models = Object.keys(ordered[at]![0].status?.models ?? {});
      modelsByNode.set(node, models);
      for (const model of models) touch(model, node);
      yield;
    }
    const byModel = new Map(previous.byModel);
    for (const [model, nodes] of holders) {
      yield;
      const entry: ModelEntry = { ready: new Map(), freshVersions: [], retainedVersions: [], replicas: [], reporters: [] };
      let reported = false;
      const inOrder = [...nodes].flatMap((id) => (position.has(id) ? [position.get(id)!] : [])).sort((a, b) => a - b);
      for (const at of inOrder) {
        const [snapshot, retained] = ordered[at]!;
        const report = snapshot.status?.models[model];
        if (!report) continue;
        reported = true;
        entry.reporters.push(snapshot.node.id);
        addVersions(entry, model, report.versions, endpoints[at]!, retained);
      }
      if (!reported) {
        byModel.delete(model);
        continue;
      }
      finish(entry);
      byModel.set(model, entry);
    }
    const deployments = input.deployments === previous.deploymentsInput ? previous.deploymentsByName : new Map(input.deployments);
    return new EndpointTable(endpoints, byModel, deployments, modelsByNode, input.deployments);
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

/** Workers in table order: fresh ones by id, then retained ones (not also fresh) by id. */
function tiers(input: TableInput): [WorkerSnapshot, boolean][] {
  const ordered: [WorkerSnapshot, boolean][] = sortedById(input.workers).map((snapshot) => [snapshot, false]);
  for (const snapshot of sortedById(input.retained ?? new Map())) {
    if (!input.workers.has(snapshot.node.id)) ordered.push([snapshot, true]);
  }
  return ordered;
}

function addReports(byModel: Map<string, ModelEntry>, snapshot: WorkerSnapshot, endpoint: Endpoint, retained: boolean): void {
  for (const [model, report] of Object.entries(snapshot.status?.models ?? {})) {
    let entry = byModel.get(model);
    if (!entry) {
      entry = { ready: new Map(), freshVersions: [], retainedVersions: [], replicas: [], reporters: [] };
      byModel.set(model, entry);
    }
    entry.reporters.push(snapshot.node.id);
    addVersions(entry, model, report.versions, endpoint, retained);
  }
}

function addVersions(entry: ModelEntry, model: string, versions: NodeStatus['models'][string]['versions'], endpoint: Endpoint, retained: boolean): void {
  for (const [versionText, { state, reason }] of Object.entries(versions)) {
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

function finish(entry: ModelEntry): void {
  const versions = [...entry.ready.keys()].sort((a, b) => b - a);
  entry.freshVersions = versions.filter((v) => (entry.ready.get(v)?.fresh.length ?? 0) > 0);
  entry.retainedVersions = versions.filter((v) => (entry.ready.get(v)?.fresh.length ?? 0) === 0);
}

function sortedById(workers: ReadonlyMap<string, WorkerSnapshot>): WorkerSnapshot[] {
  return [...workers.values()].sort((a, b) => (a.node.id < b.node.id ? -1 : a.node.id > b.node.id ? 1 : 0));
}
