/**
 * The cluster admin API, transport-agnostic: what operators ask of a cluster, answered from and
 * written to the coordination store. It writes desired state only (`<root>/models/*`); the leader
 * controller notices and places. Served over HTTP by `admin-routes.ts` (on the gateway, or on a
 * standalone server over the embedded store).
 *
 * Views join the layout's nodes: deployments (desired), placement (the leader's verdict),
 * assignments (where replicas go) and status (what each worker reports), so one call answers
 * "where does my model run and in which state, or why not".
 */
import { CranberriesError, invalidArgument, notFound } from '../core/index.js';
import { checkModelName } from '../repository/index.js';
import { isConflict, readJson, readSnapshot, type ClusterSnapshot } from './cluster-state.js';
import { DEFAULT_ROOT, ModelDeployment, clusterPaths, encodeJson, type ClusterPaths, type NodeStatus, type PlacementStatus } from './layout.js';
import type { VersionState } from './served-models.js';
import type { CoordinationStore } from './store/coordination-store.js';

export interface ClusterAdminOptions {
  readonly root?: string;
  /** Replicas for `load` without a count, and for `addModel` without one. Default 1. */
  readonly defaultReplicas?: number;
  /** Memory need of a model added without one (e.g. an estimate from a repository); default 0 until measured. */
  readonly estimateMemory?: (model: string) => Promise<number | undefined>;
  /**
   * The models that can be added (e.g. the model repository's folders); absent: any name. A name
   * outside this list is refused with NOT_FOUND naming the known ones, instead of a deployment
   * that could never load.
   */
  readonly knownModels?: () => Promise<readonly string[]>;
}

/** A view once the change it follows has taken effect, or the latest view when the wait ran out. */
export interface SettledView {
  readonly view: ModelView;
  /** True when every wanted replica reached a final state (READY or UNAVAILABLE), or, for 0 replicas, none is left. */
  readonly settled: boolean;
}

/** A replica's state: its best version state, or UNKNOWN while its worker has not reported it. */
export type ReplicaState = VersionState | 'UNKNOWN';

export interface VersionView {
  readonly state: VersionState;
  readonly reason?: string | undefined;
}

export interface ReplicaView {
  readonly node: string;
  /** False for a worker that is gone but still holds the assignment (its replica is being moved). */
  readonly live: boolean;
  readonly state: ReplicaState;
  readonly versions: Readonly<Record<string, VersionView>>;
}

export interface ModelView {
  readonly name: string;
  readonly replicas: number;
  readonly memoryBytes: number;
  readonly memoryMeasured: boolean;
  /** The leader's verdict; PENDING "not placed yet" until a controller has looked at it. */
  readonly placement: PlacementStatus;
  readonly readyReplicas: number;
  readonly replicaStates: readonly ReplicaView[];
}

export interface NodeModelView {
  readonly name: string;
  readonly state: ReplicaState;
  readonly versions: Readonly<Record<string, VersionView>>;
}

export interface NodeView {
  readonly id: string;
  readonly httpAddress: string;
  readonly grpcAddress: string;
  readonly memoryCapacityBytes: number;
  /** Sum of the memory of the models assigned to it. */
  readonly memoryAssignedBytes: number;
  readonly labels: Readonly<Record<string, string>>;
  readonly startedAt: number;
  readonly models: readonly NodeModelView[];
}

const MAX_REPLICAS = 1000;
const CAS_ATTEMPTS = 10;

export class ClusterAdmin {
  readonly paths: ClusterPaths;
  readonly defaultReplicas: number;

  constructor(
    private readonly store: CoordinationStore,
    private readonly options: ClusterAdminOptions = {},
  ) {
    this.paths = clusterPaths(options.root ?? DEFAULT_ROOT);
    this.defaultReplicas = options.defaultReplicas ?? 1;
  }

  async listNodes(): Promise<NodeView[]> {
    const snapshot = await readSnapshot(this.store, this.paths);
    return [...snapshot.nodes.values()]
      .sort((a, b) => a.id.localeCompare(b.id))
      .map((info) => {
        const assigned = snapshot.assignments.get(info.id)?.value.models ?? [];
        const status = snapshot.statuses.get(info.id);
        const names = [...new Set([...assigned, ...Object.keys(status?.models ?? {})])].sort();
        return {
          id: info.id,
          httpAddress: info.httpAddress,
          grpcAddress: info.grpcAddress,
          memoryCapacityBytes: info.memoryCapacityBytes,
          memoryAssignedBytes: assigned.reduce((sum, m) => sum + (snapshot.deployments.get(m)?.value.memoryBytes ?? 0), 0),
          labels: info.labels,
          startedAt: info.startedAt,
          models: names.map((name) => ({ name, ...replicaOf(status, name) })),
        };
      });
  }

  async listModels(): Promise<ModelView[]> {
    const snapshot = await readSnapshot(this.store, this.paths);
    return [...snapshot.deployments.keys()].sort().map((name) => modelView(snapshot, name));
  }

  async getModel(name: string): Promise<ModelView> {
    checkName(name);
    const snapshot = await readSnapshot(this.store, this.paths);
    if (!snapshot.deployments.has(name)) throw notFound(unknownMessage(name, [...snapshot.deployments.keys()].sort(), 'cluster models'));
    return modelView(snapshot, name);
  }

  /**
   * Waits (up to `timeoutMs`) for the cluster to carry out the desired state of `name`: every
   * wanted replica on a live worker in a final state, or none left for 0 replicas.
   */
  async settle(name: string, timeoutMs: number): Promise<SettledView> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const view = await this.getModel(name);
      const settled = isSettled(view);
      if (settled || Date.now() >= deadline) return { view, settled };
      await new Promise((resolve) => setTimeout(resolve, Math.min(SETTLE_POLL_MS, Math.max(1, deadline - Date.now()))));
    }
  }

  /**
   * Adds a model to the desired state; ALREADY_EXISTS when it is there. An explicit `memoryBytes`
   * is taken as known (workers' measurements do not replace it); without one the model starts
   * from the estimate (or 0) until a worker measures it.
   */
  async addModel(name: string, spec: { replicas?: number | undefined; memoryBytes?: number | undefined } = {}): Promise<ModelView> {
    checkName(name);
    await this.requireKnown(name);
    const replicas = checkReplicas(spec.replicas ?? this.defaultReplicas);
    if (spec.memoryBytes !== undefined && (!Number.isSafeInteger(spec.memoryBytes) || spec.memoryBytes < 0)) {
      throw invalidArgument(`'memoryBytes' must be a whole number of bytes ≥ 0, got ${spec.memoryBytes}`);
    }
    const estimate = spec.memoryBytes ?? (await this.options.estimateMemory?.(name)) ?? 0;
    const deployment: ModelDeployment = { name, replicas, memoryBytes: estimate, memoryMeasured: spec.memoryBytes !== undefined };
    await this.store.ensurePath(this.paths.models);
    try {
      await this.store.create(this.paths.model(name), encodeJson(deployment), 'persistent');
    } catch (error) {
      if (error instanceof CranberriesError && error.code === 'ALREADY_EXISTS') {
        throw new CranberriesError('ALREADY_EXISTS', `cluster model '${name}' already exists (set its replicas instead)`);
      }
      throw error;
    }
    return this.getModel(name);
  }

  /** Removes a model from the desired state (the controller unassigns it everywhere). */
  async removeModel(name: string): Promise<void> {
    checkName(name);
    const path = this.paths.model(name);
    if ((await this.store.get(path)) === undefined) throw notFound(unknownMessage(name, await this.deploymentNames(), 'cluster models'));
    await this.store.remove(path);
  }

  async setReplicas(name: string, replicas: number): Promise<ModelView> {
    checkName(name);
    const count = checkReplicas(replicas);
    await this.update(name, (d) => ({ ...d, replicas: count }));
    return this.getModel(name);
  }

  /** Loads a model: its replicas become `replicas` (default: the default count); added when unknown. */
  async load(name: string, replicas?: number): Promise<ModelView> {
    checkName(name);
    const count = checkReplicas(replicas ?? this.defaultReplicas);
    if ((await this.store.get(this.paths.model(name))) === undefined) {
      await this.requireKnown(name);
      try {
        return await this.addModel(name, { replicas: count });
      } catch (error) {
        if (!(error instanceof CranberriesError && error.code === 'ALREADY_EXISTS')) throw error;
      }
    }
    return this.setReplicas(name, count);
  }

  /** Unloads a model everywhere: replicas 0 (it stays known). */
  unload(name: string): Promise<ModelView> {
    return this.setReplicas(name, 0);
  }

  private async deploymentNames(): Promise<string[]> {
    return [...(await this.store.children(this.paths.models).catch(() => []))].sort();
  }

  /** NOT_FOUND, naming the known models, for a name the repository does not hold. */
  private async requireKnown(name: string): Promise<void> {
    if (!this.options.knownModels) return;
    const known = [...(await this.options.knownModels())].sort();
    if (!known.includes(name)) throw notFound(unknownMessage(name, known, 'models in the model repository'));
  }

  /** Read-modify-write of one deployment with compare-and-set, retried on conflicts. */
  private async update(name: string, change: (d: ModelDeployment) => ModelDeployment): Promise<void> {
    const path = this.paths.model(name);
    for (let attempt = 0; attempt < CAS_ATTEMPTS; attempt++) {
      const current = await readJson(this.store, path, ModelDeployment);
      if (!current) throw notFound(unknownMessage(name, await this.deploymentNames(), 'cluster models'));
      try {
        await this.store.set(path, encodeJson(change(current.value)), current.version);
        return;
      } catch (error) {
        if (!isConflict(error)) throw error;
      }
    }
    throw new CranberriesError('FAILED_PRECONDITION', `cluster model '${name}' is being changed concurrently; retry`);
  }
}

const SETTLE_POLL_MS = 50;
const MAX_NAMES = 10;

/** "model 'x' is not found (did you mean 'y'?); cluster models: a, b (and 3 more)" — bounded. */
function unknownMessage(name: string, known: readonly string[], what: string): string {
  const near = known.find((k) => k.toLowerCase() === name.toLowerCase()) ?? known.find((k) => closeTo(k, name));
  const listed = known.length === 0 ? 'none' : known.slice(0, MAX_NAMES).join(', ') + (known.length > MAX_NAMES ? ` (and ${known.length - MAX_NAMES} more)` : '');
  return `model '${name}' is not found${near ? ` (did you mean '${near}'?)` : ''}; ${what}: ${listed}`;
}

/** Same length ±1 and at most 2 differing characters: a likely typo. */
function closeTo(a: string, b: string): boolean {
  if (Math.abs(a.length - b.length) > 1) return false;
  let i = 0;
  while (i < a.length && a[i] === b[i]) i++;
  let j = 0;
  while (j < a.length - i && a[a.length - 1 - j] === b[b.length - 1 - j]) j++;
  return Math.max(a.length, b.length) - i - j <= 2;
}

function isSettled(view: ModelView): boolean {
  const live = view.replicaStates.filter((r) => r.live);
  if (view.replicas === 0) return view.replicaStates.length === 0;
  // A replica without versions has not started loading yet (its worker reports it as soon as it is assigned).
  const final = live.filter((r) => Object.keys(r.versions).length > 0 && (r.state === 'READY' || r.state === 'UNAVAILABLE')).length;
  return final >= view.replicas && view.placement.state !== 'PENDING';
}

function modelView(snapshot: ClusterSnapshot, name: string): ModelView {
  const deployment = snapshot.deployments.get(name)!.value;
  const holders = [...snapshot.assignments]
    .filter(([, a]) => a.value.models.includes(name))
    .map(([id]) => id)
    .sort();
  const replicaStates = holders.map((node): ReplicaView => ({ node, live: snapshot.nodes.has(node), ...replicaOf(snapshot.statuses.get(node), name) }));
  return {
    name,
    replicas: deployment.replicas,
    memoryBytes: deployment.memoryBytes,
    memoryMeasured: deployment.memoryMeasured,
    placement: snapshot.placements.get(name)?.value ?? { state: 'PENDING', nodes: [], reason: 'not placed yet (is a controller running?)' },
    readyReplicas: replicaStates.filter((r) => r.live && r.state === 'READY').length,
    replicaStates,
  };
}

const STATE_RANK: readonly VersionState[] = ['READY', 'LOADING', 'UNLOADING', 'UNAVAILABLE'];

function replicaOf(status: NodeStatus | undefined, model: string): { state: ReplicaState; versions: Record<string, VersionView> } {
  const versions = status?.models[model]?.versions;
  if (!versions) return { state: 'UNKNOWN', versions: {} };
  const states = Object.values(versions).map((v) => v.state);
  const state = STATE_RANK.find((s) => states.includes(s)) ?? 'UNAVAILABLE';
  return { state, versions };
}

function checkName(name: string): void {
  checkModelName(name);
}

function checkReplicas(replicas: number): number {
  if (!Number.isInteger(replicas) || replicas < 0 || replicas > MAX_REPLICAS) {
    throw invalidArgument(`'replicas' must be a whole number from 0 to ${MAX_REPLICAS}, got ${String(replicas)}`);
  }
  return replicas;
}
