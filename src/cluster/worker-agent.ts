/**
 * The cluster side of a worker: it makes one model server a member of the cluster.
 *
 * - **Assignment → selection.** It watches `<root>/assignments/<nodeId>` and feeds the model list
 *   into the server's `AssignmentSelection` (new models one at a time, see `StagedAdmission`); the
 *   server loads and unloads to match. A failed read (store unreachable) changes nothing: the
 *   worker keeps serving what it has.
 * - **Registration.** It keeps the ephemeral `<root>/nodes/<nodeId>` (a `NodeInfo` with the
 *   server's real bound addresses) and re-creates it on every new session. An existing node with
 *   other content means another worker uses this id (or this worker's previous, dead session has not
 *   timed out yet): it retries until the node is free.
 * - **Status.** It publishes the ephemeral `<root>/status/<nodeId>` (every model version's state,
 *   plus measured memory per model, see `LoadMemoryProbe`), coalescing bursts of state changes,
 *   and again after every reconnect.
 *
 * After a session expiry nothing is reloaded: the assignment is read again and, when unchanged,
 * the selection does not change, so the server keeps its loaded models as they are.
 */
import { EventChannel } from '../core/index.js';
import type { Logger } from '../core/index.js';
import type { AssignmentSelection } from './assignment-selection.js';
import { coalesce, isConflict } from './cluster-state.js';
import { DEFAULT_ROOT, NodeAssignment, clusterPaths, decodeJson, encodeJson, type ClusterPaths, type NodeInfo, type NodeStatus } from './layout.js';
import { LoadMemoryProbe } from './load-memory-probe.js';
import type { ServedModels } from './served-models.js';
import { StagedAdmission, type StagedAdmissionOptions } from './staged-admission.js';
import type { CoordinationStore } from './store/coordination-store.js';

export interface WorkerAgentOptions {
  readonly store: CoordinationStore;
  readonly root?: string;
  readonly nodeId: string;
  readonly memoryCapacityBytes: number;
  readonly labels?: Readonly<Record<string, string>>;
  /** Fed with the assignment; the model server serves what it selects. */
  readonly selection: AssignmentSelection;
  /** The server's model manager (state events and versions). */
  readonly models: ServedModels;
  readonly logger: Logger;
  /** State changes within this window make one status write. Default 100 ms. */
  readonly statusCoalesceMs?: number;
  /** Delay between registration attempts while the node id is taken. Default 1 s. */
  readonly registerRetryMs?: number;
  /** Memory probe (injectable for tests). */
  readonly probe?: LoadMemoryProbe;
  /** Time bounds of admitting new models one at a time. */
  readonly admission?: StagedAdmissionOptions;
}

export interface WorkerAddresses {
  /** `host:port` clients and the gateway use for REST. */
  readonly httpAddress: string;
  /** `host:port` for gRPC. */
  readonly grpcAddress: string;
}

export class WorkerAgent {
  readonly paths: ClusterPaths;
  /** Each time this worker's node entry is created (once per session; observability). */
  readonly registrations = new EventChannel<void>();
  /** Each status write: true when it reached the store, false when it failed (observability). */
  readonly statusPublished = new EventChannel<boolean>();
  private readonly log: Logger;
  private readonly probe: LoadMemoryProbe;
  private readonly admission: StagedAdmission;
  private readonly publishSoon: ReturnType<typeof coalesce>;
  private info: NodeInfo | undefined;
  private subscriptions: (() => void)[] = [];
  private stopped = true;
  private registered = false;
  private registerTimer: NodeJS.Timeout | undefined;
  private lastStatus: string | undefined;
  private publishing: Promise<void> | undefined;
  private publishAgain = false;
  private reads = 0;
  /** An assignment was read (possibly empty) since start: until then the worker cannot know what to serve. */
  private assignmentRead = false;

  constructor(private readonly options: WorkerAgentOptions) {
    this.paths = clusterPaths(options.root ?? DEFAULT_ROOT);
    this.log = options.logger.child({ component: 'worker-agent', node: options.nodeId });
    this.probe = options.probe ?? new LoadMemoryProbe();
    this.admission = new StagedAdmission(options.selection, options.models, options.admission);
    this.publishSoon = coalesce(() => void this.publishStatus(), options.statusCoalesceMs ?? 100);
  }

  get nodeId(): string {
    return this.options.nodeId;
  }

  /** True while this worker's node is registered in the current session. */
  get isRegistered(): boolean {
    return this.registered;
  }

  /** The models of the assignment last read (being admitted or served), sorted. */
  assignedModels(): string[] {
    return this.admission.targetList();
  }

  /**
   * Why this worker does not serve its whole assignment yet, or undefined when it does (each
   * assigned model admitted and its load settled: READY, or UNAVAILABLE with a reason). Readiness
   * of a worker holds on it.
   */
  assignmentPending(): string | undefined {
    if (this.stopped) return 'not a member of the cluster';
    if (!this.assignmentRead) return 'waiting to read its assignment from the coordination store';
    if (!this.registered) return 'not registered in the cluster yet';
    const { selection, models } = this.options;
    const pending = this.admission.targetList().filter((m) => !selection.has(m) || !(models.isSettled?.(m) ?? true));
    if (pending.length === 0) return undefined;
    const shown = pending.slice(0, 5).join(', ') + (pending.length > 5 ? ` (and ${pending.length - 5} more)` : '');
    return `loading its assignment: ${shown}`;
  }

  /** Joins the cluster with the server's addresses; resolves once registered (or the store is unreachable). */
  async start(addresses: WorkerAddresses): Promise<void> {
    if (!this.stopped) return;
    this.stopped = false;
    const { store, models, nodeId } = this.options;
    this.info = {
      id: nodeId,
      httpAddress: addresses.httpAddress,
      grpcAddress: addresses.grpcAddress,
      memoryCapacityBytes: this.options.memoryCapacityBytes,
      labels: { ...this.options.labels },
      startedAt: Date.now(),
    };
    this.subscriptions = [
      models.stateChanged.subscribe((event) => {
        this.probe.observe(event);
        this.publishSoon();
      }),
      store.onSessionState((state) => this.onSessionState(state)),
      // Data only (an assignment has no children): one request per re-arm on ZooKeeper, not two.
      store.watch(this.paths.assignment(nodeId), () => void this.followAssignment(), { children: false }),
    ];
    await store.ensurePath(this.paths.nodes).catch(() => {});
    await store.ensurePath(this.paths.status).catch(() => {});
    await this.followAssignment();
    await this.register();
    this.publishSoon();
  }

  /** Leaves the cluster: the node and status entries are removed (the gateway stops routing here). */
  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    clearTimeout(this.registerTimer);
    this.publishSoon.cancel();
    this.admission.stop();
    for (const unsubscribe of this.subscriptions) unsubscribe();
    this.subscriptions = [];
    await this.publishing;
    const { store, nodeId } = this.options;
    if (this.registered) {
      const removed = await store.remove(this.paths.node(nodeId)).then(
        () => true,
        () => false,
      );
      await store.remove(this.paths.nodeStatus(nodeId)).catch(() => {});
      this.log.info({ removed }, removed ? 'left the cluster: node unregistered' : 'left the cluster: the node entry goes when the session ends');
    }
    this.registered = false;
  }

  private onSessionState(state: string): void {
    if (this.stopped) return;
    if (state === 'expired') {
      this.log.warn('coordination session expired: registering again on the new session; loaded models stay loaded');
      this.registered = false;
      this.lastStatus = undefined;
    } else if (state === 'disconnected') {
      this.log.warn('coordination store unreachable: serving the current assignment until it is back');
    } else if (state === 'connected') {
      void this.register().then(() => this.publishSoon());
    }
  }

  /** Reads the assignment and applies it; an unreachable store leaves the selection as it is. */
  private async followAssignment(): Promise<void> {
    if (this.stopped) return;
    const read = ++this.reads; // only the latest read is applied
    const path = this.paths.assignment(this.options.nodeId);
    let models: readonly string[];
    try {
      const node = await this.options.store.get(path);
      const assignment = node && decodeJson(NodeAssignment, node.data);
      if (node && !assignment) {
        this.log.warn({ path }, 'ignoring a malformed assignment');
        return;
      }
      models = assignment?.models ?? [];
    } catch {
      return; // the store calls the watch again once it is reachable
    }
    if (this.stopped || read !== this.reads) return;
    this.assignmentRead = true;
    const before = new Set(this.admission.targetList());
    const added = [...new Set(models)].filter((m) => !before.has(m)).sort();
    const removed = [...before].filter((m) => !models.includes(m)).sort();
    if (added.length === 0 && removed.length === 0) return;
    this.log.info({ added, removed, models: [...new Set(models)].sort() }, `assignment changed: ${[...added.map((m) => `+${m}`), ...removed.map((m) => `-${m}`)].join(' ')}`);
    this.admission.setTarget(models);
  }

  private async register(): Promise<void> {
    const { store, nodeId } = this.options;
    if (this.stopped || this.registered || !this.info || store.sessionState !== 'connected') return;
    const path = this.paths.node(nodeId);
    const data = encodeJson(this.info);
    try {
      await store.create(path, data, 'ephemeral');
      this.registered = true;
      this.registrations.publish();
      this.log.info({ httpAddress: this.info.httpAddress, grpcAddress: this.info.grpcAddress, memoryCapacityBytes: this.info.memoryCapacityBytes }, 'joined the cluster: node registered');
      return;
    } catch (error) {
      if (!isConflict(error)) return; // unreachable: registering again on `connected`
    }
    const existing = await store.get(path).catch(() => undefined);
    if (existing && Buffer.from(existing.data).equals(Buffer.from(data))) {
      // Ours, from this same session (a create whose answer was lost, or a concurrent attempt).
      if (!this.registered) {
        this.registered = true;
        this.registrations.publish();
        this.log.info({ httpAddress: this.info.httpAddress, grpcAddress: this.info.grpcAddress }, 'joined the cluster: node registered');
      }
      return;
    }
    this.log.warn({ path }, `node id '${nodeId}' is registered by another worker (or by this worker's previous session, not yet timed out); retrying`);
    clearTimeout(this.registerTimer);
    this.registerTimer = setTimeout(() => void this.register().then(() => this.publishSoon()), this.options.registerRetryMs ?? 1000);
  }

  /** Builds this worker's whole status. */
  status(): NodeStatus {
    const { models } = this.options;
    const result: NodeStatus['models'] = {};
    for (const model of models.modelNames()) {
      const versions = models.versions(model);
      if (versions.length === 0 && !this.options.selection.has(model)) continue;
      const entry: NodeStatus['models'][string] = {
        versions: Object.fromEntries(versions.map((v) => [String(v.version), v.reason === undefined ? { state: v.state } : { state: v.state, reason: v.reason }])),
      };
      const ready = versions.filter((v) => v.state === 'READY').map((v) => v.version);
      const memoryBytes = this.probe.memoryOf(model, ready);
      if (memoryBytes !== undefined) entry.memoryBytes = memoryBytes;
      result[model] = entry;
    }
    return { models: result };
  }

  /** Writes the status (one write at a time; a request during a write makes one more). */
  private publishStatus(): Promise<void> {
    if (this.publishing) {
      this.publishAgain = true;
      return this.publishing;
    }
    this.publishing = (async () => {
      do {
        this.publishAgain = false;
        await this.writeStatus();
      } while (this.publishAgain && !this.stopped);
    })().finally(() => (this.publishing = undefined));
    return this.publishing;
  }

  private async writeStatus(): Promise<void> {
    const { store } = this.options;
    if (this.stopped || !this.registered || store.sessionState !== 'connected') return;
    const json = JSON.stringify(this.status());
    if (json === this.lastStatus) return;
    const path = this.paths.nodeStatus(this.options.nodeId);
    const data = new TextEncoder().encode(json);
    try {
      try {
        await store.set(path, data);
      } catch (error) {
        if (!isConflict(error)) throw error;
        await store.create(path, data, 'ephemeral');
      }
      this.lastStatus = json;
      this.statusPublished.publish(true);
    } catch (error) {
      // Unreachable or racing a re-creation: the next state change or reconnect publishes again.
      this.log.debug({ err: String(error) }, 'status not published');
      this.statusPublished.publish(false);
    }
  }
}
