/**
 * The administration UI's live view of a cluster: the coordination store's nodes (desired models,
 * live workers, assignments, worker status, placement, controller election) are watched; every
 * burst of changes is read once into an `Overview` (the cluster admin API's views plus component
 * health) and compared with the previous one, and the differences become `ClusterEvent`s in plain
 * words ("digits v1 on worker-1: LOADING → READY"). Subscribers (the SSE route) get both.
 *
 * Nothing here writes to the store: actions go through the cluster admin API (`/v2/cluster/...`).
 */
import { ClusterAdmin, clusterPaths, watchChildren, type CoordinationStore, type ModelView, type NodeView, type SessionState, coalesce } from '../cluster/index.js';

export type ComponentState = 'up' | 'down' | 'unknown';

export interface ComponentHealth {
  /** e.g. "gateway", "controller", "coordination store" */
  readonly name: string;
  readonly state: ComponentState;
  /** Plain words: an address, the leader's id, why it is down. */
  readonly detail: string;
}

export interface Overview {
  /** When this view was read (ms since the epoch). */
  readonly time: number;
  readonly components: readonly ComponentHealth[];
  readonly nodes: readonly NodeView[];
  readonly models: readonly ModelView[];
  /** Models the repository holds that the cluster does not serve yet (can be added); empty when unknown. */
  readonly available: readonly string[];
}

export type EventKind = 'model-added' | 'model-removed' | 'replicas' | 'placement' | 'version-state' | 'node-joined' | 'node-left' | 'store' | 'controller';

export interface ClusterEvent {
  /** Increasing; the SSE `id` (a client reconnecting with Last-Event-ID gets the ones it missed). */
  readonly id: number;
  readonly time: number;
  readonly kind: EventKind;
  readonly severity: 'info' | 'warning' | 'error';
  readonly model?: string | undefined;
  readonly node?: string | undefined;
  readonly message: string;
}

export interface ClusterFeedOptions {
  readonly store: CoordinationStore;
  /** Cluster root in the store; default `/cranberries`. */
  readonly root?: string;
  /** "embedded" for the in-process store, else "ZooKeeper <address>". */
  readonly storeLabel: string;
  /** Health of components only the host knows (e.g. the gateway this admin service talks to). */
  readonly extraComponents?: () => Promise<readonly ComponentHealth[]>;
  /** The repository's model names, when the host knows them. */
  readonly repositoryModels?: () => Promise<readonly string[]>;
  /** Events kept for late subscribers. Default 500. */
  readonly historySize?: number;
  /** Bursts of store changes within this many ms are read once. Default 100. */
  readonly coalesceMs?: number;
}

export interface FeedUpdate {
  readonly overview: Overview;
  readonly events: readonly ClusterEvent[];
}

type Listener = (update: FeedUpdate) => void;

const DEFAULT_HISTORY = 500;

export class ClusterFeed {
  private readonly admin: ClusterAdmin;
  private readonly paths: ReturnType<typeof clusterPaths>;
  private readonly listeners = new Set<Listener>();
  private readonly history: ClusterEvent[] = [];
  private readonly stops: (() => void)[] = [];
  private current: Overview | undefined;
  // Ids start at the feed's start time (ms), so they keep increasing across restarts of the serving
  // process: a client resuming with an id from before a restart does not skip the new events.
  private nextId = Date.now();
  private reading: Promise<void> | undefined;
  private again = false;
  private started = false;

  constructor(private readonly options: ClusterFeedOptions) {
    this.admin = new ClusterAdmin(options.store, { root: options.root });
    this.paths = clusterPaths(options.root);
  }

  /** Starts watching (idempotent); the store must be started. */
  start(): void {
    if (this.started) return;
    this.started = true;
    const refresh = coalesce(() => void this.refresh(), this.options.coalesceMs ?? 100);
    const { store } = this.options;
    for (const path of [this.paths.models, this.paths.nodes, this.paths.assignments, this.paths.status, this.paths.placement, this.paths.election]) {
      this.stops.push(watchChildren(store, path, refresh));
    }
    this.stops.push(
      store.onSessionState((state) => {
        this.record([{ kind: 'store', severity: state === 'connected' ? 'info' : 'error', message: `coordination store ${sessionWords(state)}` }]);
        refresh();
      }),
    );
    this.stops.push(() => refresh.cancel());
    refresh();
  }

  stop(): void {
    for (const stop of this.stops.splice(0)) stop();
    this.listeners.clear();
    this.started = false;
  }

  /** The latest view (read now if none was read yet). */
  async overview(): Promise<Overview> {
    if (!this.current) await this.refresh();
    return this.current ?? (await this.read());
  }

  /** Recent events, oldest first, after `afterId` and matching the filter. */
  events(filter: EventFilter = {}): ClusterEvent[] {
    return this.history.filter((e) => matches(e, filter));
  }

  subscribe(listener: Listener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Reads the store once; concurrent calls join, and a change during a read schedules one more. */
  refresh(): Promise<void> {
    if (this.reading) {
      this.again = true;
      return this.reading;
    }
    this.reading = (async () => {
      do {
        this.again = false;
        try {
          const next = await this.read();
          const previous = this.current;
          this.current = next;
          const events = previous ? this.record(differences(previous, next)) : [];
          for (const listener of this.listeners) listener({ overview: next, events });
        } catch {
          // The store is unreachable: its session listener reports that, and a reconnect fires the watches again.
        }
      } while (this.again);
    })().finally(() => {
      this.reading = undefined;
    });
    return this.reading;
  }

  private async read(): Promise<Overview> {
    const { store } = this.options;
    const [nodes, models, controller, extra, repository] = await Promise.all([
      this.admin.listNodes(),
      this.admin.listModels(),
      this.controllerHealth(),
      this.options.extraComponents?.().catch((): ComponentHealth[] => []) ?? [],
      this.options.repositoryModels?.().catch((): string[] => []) ?? [],
    ]);
    const served = new Set(models.map((m) => m.name));
    const components: ComponentHealth[] = [
      { name: 'coordination store', state: store.sessionState === 'connected' ? 'up' : 'down', detail: `${this.options.storeLabel}: ${sessionWords(store.sessionState)}` },
      controller,
      ...extra,
      { name: 'workers', state: nodes.length > 0 ? 'up' : 'down', detail: nodes.length === 0 ? 'no worker is registered' : `${nodes.length} registered: ${nodes.map((n) => n.id).join(', ')}` },
    ];
    return { time: Date.now(), components, nodes, models, available: [...repository].filter((m) => !served.has(m)).sort() };
  }

  private async controllerHealth(): Promise<ComponentHealth> {
    const { store } = this.options;
    const candidates = [...(await store.children(this.paths.election))].sort(bySequence);
    const first = candidates[0];
    if (first === undefined) return { name: 'controller', state: 'down', detail: 'no controller is running: models are not placed' };
    const leader = await store.get(`${this.paths.election}/${first}`).catch(() => undefined);
    const id = leader ? new TextDecoder().decode(leader.data) : first;
    const standby = candidates.length - 1;
    return { name: 'controller', state: 'up', detail: `leader ${id || first}${standby > 0 ? `, ${standby} standing by` : ''}` };
  }

  private record(drafts: readonly Omit<ClusterEvent, 'id' | 'time'>[]): ClusterEvent[] {
    const time = Date.now();
    const events = drafts.map((draft) => ({ ...draft, id: this.nextId++, time }));
    this.history.push(...events);
    const excess = this.history.length - (this.options.historySize ?? DEFAULT_HISTORY);
    if (excess > 0) this.history.splice(0, excess);
    return events;
  }
}

export interface EventFilter {
  readonly afterId?: number | undefined;
  readonly model?: string | undefined;
  readonly node?: string | undefined;
}

export function matches(event: ClusterEvent, filter: EventFilter): boolean {
  if (filter.afterId !== undefined && event.id <= filter.afterId) return false;
  if (filter.model !== undefined && event.model !== filter.model) return false;
  if (filter.node !== undefined && event.node !== filter.node) return false;
  return true;
}

/** Election nodes are `n_<sequence>`: the lowest sequence leads. */
function bySequence(a: string, b: string): number {
  return sequenceOf(a) - sequenceOf(b) || a.localeCompare(b);
}

function sequenceOf(name: string): number {
  const digits = /(\d+)$/.exec(name)?.[1];
  return digits === undefined ? Number.MAX_SAFE_INTEGER : Number(digits);
}

function sessionWords(state: SessionState): string {
  if (state === 'connected') return 'connected';
  if (state === 'expired') return 'session expired, reconnecting';
  return 'disconnected, reconnecting';
}

type Draft = Omit<ClusterEvent, 'id' | 'time'>;

/** What changed between two views, as events in plain words. */
export function differences(before: Overview, after: Overview): Draft[] {
  const drafts: Draft[] = [];
  const beforeNodes = new Map(before.nodes.map((n) => [n.id, n]));
  const afterNodes = new Map(after.nodes.map((n) => [n.id, n]));
  for (const [id, node] of afterNodes) {
    if (!beforeNodes.has(id)) drafts.push({ kind: 'node-joined', severity: 'info', node: id, message: `worker ${id} joined (${node.httpAddress})` });
  }
  for (const id of beforeNodes.keys()) {
    if (!afterNodes.has(id)) drafts.push({ kind: 'node-left', severity: 'warning', node: id, message: `worker ${id} left` });
  }
  const leaderBefore = before.components.find((c) => c.name === 'controller');
  const leaderAfter = after.components.find((c) => c.name === 'controller');
  if (leaderBefore && leaderAfter && leaderBefore.detail !== leaderAfter.detail) {
    drafts.push({ kind: 'controller', severity: leaderAfter.state === 'up' ? 'info' : 'error', message: `controller: ${leaderAfter.detail}` });
  }
  const beforeModels = new Map(before.models.map((m) => [m.name, m]));
  const afterModels = new Map(after.models.map((m) => [m.name, m]));
  for (const [name, model] of afterModels) {
    const old = beforeModels.get(name);
    if (!old) {
      drafts.push({ kind: 'model-added', severity: 'info', model: name, message: `model ${name} added with ${model.replicas} replica(s)` });
    } else if (old.replicas !== model.replicas) {
      drafts.push({ kind: 'replicas', severity: 'info', model: name, message: `model ${name}: desired replicas ${old.replicas} → ${model.replicas}` });
    }
    const placementBefore = old ? placementWords(old) : undefined;
    const placementAfter = placementWords(model);
    if (placementBefore !== placementAfter) {
      drafts.push({ kind: 'placement', severity: model.placement.state === 'PENDING' && model.replicas > 0 ? 'warning' : 'info', model: name, message: `model ${name}: ${placementAfter}` });
    }
    drafts.push(...versionChanges(name, old, model));
  }
  for (const name of beforeModels.keys()) {
    if (!afterModels.has(name)) drafts.push({ kind: 'model-removed', severity: 'info', model: name, message: `model ${name} removed` });
  }
  return drafts;
}

function placementWords(model: ModelView): string {
  const { state, nodes, reason } = model.placement;
  if (state === 'PENDING') return `not placed${reason ? `: ${reason}` : ''}`;
  if (nodes.length === 0) return 'placed nowhere (0 replicas)';
  return `${state === 'PARTIAL' ? 'partly placed' : 'placed'} on ${nodes.join(', ')}${reason ? ` (${reason})` : ''}`;
}

function versionChanges(name: string, before: ModelView | undefined, after: ModelView): Draft[] {
  const drafts: Draft[] = [];
  const key = (node: string, version: string): string => `${node}\u0000${version}`;
  const old = new Map<string, string>();
  for (const replica of before?.replicaStates ?? []) for (const [version, view] of Object.entries(replica.versions)) old.set(key(replica.node, version), view.state);
  const seen = new Set<string>();
  for (const replica of after.replicaStates) {
    for (const [version, view] of Object.entries(replica.versions)) {
      seen.add(key(replica.node, version));
      const was = old.get(key(replica.node, version));
      if (was === view.state) continue;
      const severity = view.state === 'UNAVAILABLE' ? 'error' : 'info';
      const reason = view.reason ? `: ${view.reason}` : '';
      drafts.push({ kind: 'version-state', severity, model: name, node: replica.node, message: `${name} v${version} on ${replica.node}: ${was ?? 'new'} → ${view.state}${reason}` });
    }
  }
  for (const replica of before?.replicaStates ?? []) {
    for (const [version, view] of Object.entries(replica.versions)) {
      if (!seen.has(key(replica.node, version)))
        drafts.push({ kind: 'version-state', severity: 'info', model: name, node: replica.node, message: `${name} v${version} on ${replica.node}: ${view.state} → gone` });
    }
  }
  return drafts;
}
