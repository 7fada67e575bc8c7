/**
 * The placement controller. Several may run; leader election picks the one that acts, and a
 * standby takes over when the leader's session ends (within the session timeout of its death).
 *
 * The leader:
 * 1. seeds the desired state from its model repository — only models without a deployment node
 *    are added, so desired state in the store (changed through the admin API) wins afterwards;
 * 2. watches deployments, nodes and status (its own output, assignments and placement statuses,
 *    it keeps from its writes: `WrittenFolder`), and on every change (coalesced) reads a snapshot,
 *    adopts memory measured by workers in place of estimates, runs the pure placement rules
 *    (`placeInSlices`: `place()` returning to the event loop every few ms, so a round over
 *    thousands of workers never stalls the process), and writes each changed assignment and each
 *    model's placement status with compare-and-set (a conflict just means another round), many
 *    per store request (`writeEach`);
 * 3. logs every placement decision, one line each, and every worker it sees join or leave.
 *
 * It never talks to workers or gateways; everything goes through the store.
 */
import { hostname } from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';
import { EventChannel } from '../core/index.js';
import type { Lifecycle, Logger } from '../core/index.js';
import { SnapshotCache, coalesce, ensureLayout, isConflict, readSnapshot, type ClusterSnapshot, type WrittenFolder } from './cluster-state.js';
import { LeaderElection } from './leader-election.js';
import { colocateEnsembleSteps } from './ensemble-colocation.js';
import { DEFAULT_ROOT, clusterPaths, encodeJson, type ClusterPaths, type ModelDeployment, type NodeAssignment, type PlacementStatus } from './layout.js';
import { formatBytes } from './memory-size.js';
import { placeInSlices, type PlacementResult } from './placement.js';
import { forEachInSlices } from './event-loop-slices.js';
import { deploymentsFromRepository } from './repository-deployments.js';
import type { VersionFolderNames } from '../repository/index.js';
import type { CoordinationStore, StoreWrite, StoreWriteOutcome } from './store/coordination-store.js';

export interface ControllerOptions {
  readonly store: CoordinationStore;
  /** Layout root in the store. Default `/cranberries`. */
  readonly root?: string;
  /** Seeds the desired state when this controller becomes the leader; none: no seeding. */
  readonly modelRepository?: string | undefined;
  /** Which folder names of the repository are versions (`--version-folder-names`); default `strict`. */
  readonly versionFolders?: VersionFolderNames | undefined;
  readonly defaultReplicas: number;
  readonly logger: Logger;
  /** Shown in the election node and logs. Default `<hostname>:<pid>`. */
  readonly candidate?: string;
  /** Changes within this window are handled in one round. Default 100 ms. */
  readonly coalesceMs?: number;
  /** A full round at least this often, as a safety net. Default 30 s. */
  readonly resyncMs?: number;
  /** Memory estimate = factor × model file size. Default 3. */
  readonly memoryFactor?: number;
}

export class Controller implements Lifecycle {
  /** Every completed placement round (tests and observability). */
  readonly reconciled = new EventChannel<PlacementResult>();
  readonly paths: ClusterPaths;
  private readonly election: LeaderElection;
  private readonly log: Logger;
  private readonly schedule: ReturnType<typeof coalesce>;
  /** The store's state as of the last round, re-read incrementally from watch events while leading. */
  private cache: SnapshotCache | undefined;
  private resync: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private again = false;
  private unsubscribeLeadership: (() => void) | undefined;
  /** Live workers as of the last round while leading; undefined until the first round of a leadership. */
  private knownNodes: ReadonlySet<string> | undefined;

  constructor(private readonly options: ControllerOptions) {
    this.paths = clusterPaths(options.root ?? DEFAULT_ROOT);
    this.log = options.logger.child({ component: 'controller' });
    const candidate = options.candidate ?? `${hostname()}:${process.pid}`;
    this.election = new LeaderElection({ store: options.store, path: this.paths.election, candidate, logger: this.log });
    this.schedule = coalesce(() => void this.reconcile(), options.coalesceMs ?? 100);
  }

  get isLeader(): boolean {
    return this.election.isLeader;
  }

  /** Every gain (true) or loss (false) of leadership (the election's; for observability). */
  get leadershipChanged(): EventChannel<boolean> {
    return this.election.leadershipChanged;
  }

  async start(): Promise<void> {
    await ensureLayout(this.options.store, this.paths);
    this.unsubscribeLeadership = this.election.leadershipChanged.subscribe((leader) => (leader ? void this.lead() : this.follow()));
    await this.election.start();
  }

  async stop(): Promise<void> {
    this.unsubscribeLeadership?.();
    this.follow();
    await this.running;
    await this.election.stop();
  }

  /** True while a placement round runs (a round in slices spans many turns of the event loop). */
  get roundInProgress(): boolean {
    return this.running !== undefined;
  }

  /** Runs one placement round now (normally rounds follow changes); resolves when it is done. */
  reconcileNow(): Promise<void> {
    return this.reconcile();
  }

  private async lead(): Promise<void> {
    this.knownNodes = undefined; // the first round of this leadership lists the workers it finds
    await this.seed().catch((error: unknown) => this.log.warn({ err: String(error) }, 'could not seed the desired state from the repository'));
    if (!this.isLeader) return;
    const { store } = this.options;
    this.follow(); // leadership may have flapped during the seed: arm the watches once
    this.cache = new SnapshotCache(store, this.paths, this.schedule, (path) => this.log.warn({ path }, 'ignoring malformed JSON in the coordination store'));
    this.resync = setInterval(() => {
      this.cache?.relistOwnOutput();
      this.schedule();
    }, this.options.resyncMs ?? 30_000);
    this.resync.unref();
    // At once: nothing to coalesce with yet, and the cache's folder watches were set up before any
    // read it makes, so a change its first read does not see is reported (watch, then read).
    void this.reconcile();
  }

  private follow(): void {
    this.cache?.stop();
    this.cache = undefined;
    clearInterval(this.resync);
    this.schedule.cancel();
  }

  private async seed(): Promise<void> {
    const { modelRepository, store, defaultReplicas, memoryFactor } = this.options;
    if (!modelRepository) return;
    const { deployments, warnings } = await deploymentsFromRepository({ modelRepository, defaultReplicas, memoryFactor, versionFolders: this.options.versionFolders });
    for (const w of warnings) this.log.warn({ model: w.model }, `repository model '${w.model}': ${w.message}`);
    const existing = new Set(await store.children(this.paths.models));
    for (const deployment of deployments) {
      if (existing.has(deployment.name) || !this.isLeader) continue;
      try {
        await store.create(this.paths.model(deployment.name), encodeJson(deployment), 'persistent');
        this.log.info(
          { model: deployment.name, replicas: deployment.replicas, memoryBytes: deployment.memoryBytes },
          `desired state: added '${deployment.name}' from the repository with ${deployment.replicas} replicas (memory estimate ${formatBytes(deployment.memoryBytes)})`,
        );
      } catch (error) {
        if (!isConflict(error)) throw error;
      }
    }
  }

  /**
   * One round at a time; a request during a round runs exactly one more, after waiting as long as
   * the round took (at least the coalescing delay): under a long burst of changes (a thousand
   * workers loading) rounds then take half of the process's time at most, not all of it.
   */
  private reconcile(): Promise<void> {
    if (this.running) {
      this.again = true;
      return this.running;
    }
    this.running = (async () => {
      do {
        this.again = false;
        if (!this.isLeader) return;
        const began = performance.now();
        await this.round().catch((error: unknown) => {
          this.log.warn({ err: String(error) }, 'placement round failed; retrying on the next change');
          if (this.isLeader) this.schedule();
        });
        if (this.again) await sleep(Math.max(this.options.coalesceMs ?? 100, performance.now() - began));
      } while (this.again);
    })().finally(() => (this.running = undefined));
    return this.running;
  }

  private async round(): Promise<void> {
    const { store } = this.options;
    const cache = this.cache;
    const snapshot = cache ? await cache.read() : await readSnapshot(store, this.paths, (path) => this.log.warn({ path }, 'ignoring malformed JSON in the coordination store'));
    if (this.isLeader) this.logMembership(snapshot);
    const deployments = await this.adoptMeasuredMemory(snapshot, cache);
    const current = new Map([...snapshot.assignments].map(([id, a]) => [id, a.value.models]));
    // In slices: at 1,000 workers × 10,000 models a placement takes a few hundred ms. The snapshot
    // is this round's own copy; a change meanwhile schedules another round, and the writes below
    // are compare-and-set against the snapshot's versions.
    const placed = await placeInSlices({
      deployments,
      nodes: [...snapshot.nodes.values()],
      assignments: current,
      statuses: snapshot.statuses,
    });
    const result = colocateEnsembleSteps(placed, deployments, current);
    if (!this.isLeader) return;
    await forEachInSlices(result.decisions, (d) => {
      this.log.info({ model: d.model, node: d.node, action: d.action, reason: d.reason }, `placement: ${d.action} '${d.model}' ${d.action === 'assign' ? 'to' : 'from'} ${d.node}: ${d.reason}`);
    });
    // Placement statuses first: once assignments are written, thousands of workers start loading
    // and reporting, and the status writes (one per model) would queue behind all of that.
    let conflicts = await this.writePlacements(snapshot, result, cache);
    conflicts += await this.writeAssignments(snapshot, result, cache);
    if (conflicts > 0) this.schedule();
    this.reconciled.publish(result);
  }

  /** One line per worker that joined or left since the last round (a summary on the first round of a leadership). */
  private logMembership(snapshot: ClusterSnapshot): void {
    const live = new Set(snapshot.nodes.keys());
    const known = this.knownNodes;
    this.knownNodes = live;
    if (!known) {
      const nodes = [...live].sort();
      this.log.info({ nodes }, `workers in the cluster: ${nodes.length === 0 ? 'none' : nodes.join(', ')}`);
      return;
    }
    for (const id of [...live].filter((n) => !known.has(n)).sort()) {
      const node = snapshot.nodes.get(id);
      this.log.info({ node: id, httpAddress: node?.httpAddress, memoryCapacityBytes: node?.memoryCapacityBytes }, `worker '${id}' joined the cluster`);
    }
    for (const id of [...known].filter((n) => !live.has(n)).sort()) this.log.info({ node: id }, `worker '${id}' left the cluster`);
  }

  /** A worker's measured memory replaces the estimate once (the first measurement wins). */
  private async adoptMeasuredMemory(snapshot: ClusterSnapshot, cache: SnapshotCache | undefined): Promise<ModelDeployment[]> {
    // The largest report per model from live workers, in one pass over the statuses.
    const reported = new Map<string, number>();
    await forEachInSlices(snapshot.statuses, ([id, status]) => {
      if (!snapshot.nodes.has(id)) return;
      for (const [name, model] of Object.entries(status.models)) {
        if (model.memoryBytes !== undefined && model.memoryBytes > 0) reported.set(name, Math.max(reported.get(name) ?? 0, model.memoryBytes));
      }
    });
    const deployments: ModelDeployment[] = [];
    const adopt: { name: string; value: ModelDeployment; version: number; measured: ModelDeployment }[] = [];
    await forEachInSlices(snapshot.deployments, ([name, { value, version }]) => {
      const bytes = reported.get(name);
      if (value.memoryMeasured || bytes === undefined) deployments.push(value);
      else adopt.push({ name, value, version, measured: { ...value, memoryBytes: bytes, memoryMeasured: true } });
    });
    const outcomes = await this.options.store.writeEach(
      await mapInSlices(adopt, ({ name, measured, version }) => ({ kind: 'set', path: this.paths.model(name), data: encodeJson(measured), expectedVersion: version })),
    );
    await forEachInSlices(adopt.keys(), (i) => {
      const { name, value, measured } = adopt[i]!;
      const outcome = outcomes[i]!;
      if (outcome.error && !isConflict(outcome.error)) throw outcome.error;
      if (outcome.error) {
        this.schedule(); // changed meanwhile (e.g. by the admin API): next round
        deployments.push(value);
        return;
      }
      this.log.info(
        { model: name, estimate: value.memoryBytes, measured: measured.memoryBytes },
        `memory of '${name}': measured ${formatBytes(measured.memoryBytes)} replaces the estimate ${formatBytes(value.memoryBytes)}`,
      );
      // Known now, not once this write's watch event has come back: a round starting before that
      // would otherwise see the old version and write again, only to be refused.
      cache?.deployments.wrote(name, measured, outcome.version);
      deployments.push(measured);
    });
    return deployments;
  }

  /** Writes each changed assignment with compare-and-set, telling `cache` what it wrote; returns the conflicts. */
  private async writeAssignments(snapshot: ClusterSnapshot, result: PlacementResult, cache: SnapshotCache | undefined): Promise<number> {
    const changed = await filterInSlices([...result.assignments], ([id, models]) => {
      const current = snapshot.assignments.get(id);
      return !(current && sameList(current.value.models, models)) && (current !== undefined || models.length > 0);
    });
    const writes = changed.map(([id, models]): OwnWrite<NodeAssignment> => {
      const current = snapshot.assignments.get(id);
      const path = this.paths.assignment(id);
      if (current && models.length === 0 && !snapshot.nodes.has(id)) return { name: id, write: { kind: 'remove', path, expectedVersion: current.version } };
      const assignment = { models: [...models] };
      const data = encodeJson(assignment);
      return { name: id, value: assignment, write: current ? { kind: 'set', path, data, expectedVersion: current.version } : { kind: 'create', path, data, mode: 'persistent' } };
    });
    return recordWrites(cache?.assignments, writes, await this.options.store.writeEach(writes.map((w) => w.write)));
  }

  /** Writes each model's changed placement status (and removes those of removed models), telling `cache`; returns the conflicts. */
  private async writePlacements(snapshot: ClusterSnapshot, result: PlacementResult, cache: SnapshotCache | undefined): Promise<number> {
    const changed = await filterInSlices([...result.placement], ([model, status]) => {
      const current = snapshot.placements.get(model);
      return !(current && samePlacement(current.value, status));
    });
    const writes = await mapInSlices(changed, ([model, status]): OwnWrite<PlacementStatus> => {
      const current = snapshot.placements.get(model);
      if (!current || current.value.state !== status.state || current.value.reason !== status.reason) {
        const where = status.nodes.length > 0 ? ` on ${status.nodes.join(', ')}` : '';
        this.log.info({ model, state: status.state, nodes: status.nodes, reason: status.reason }, `placement: '${model}' is ${status.state}${where}${status.reason ? `: ${status.reason}` : ''}`);
      }
      const path = this.paths.modelPlacement(model);
      const data = encodeJson(status);
      return { name: model, value: status, write: current ? { kind: 'set', path, data, expectedVersion: current.version } : { kind: 'create', path, data, mode: 'persistent' } };
    });
    for (const [model, current] of snapshot.placements) {
      if (!result.placement.has(model)) writes.push({ name: model, write: { kind: 'remove', path: this.paths.modelPlacement(model), expectedVersion: current.version } });
    }
    return recordWrites(cache?.placements, writes, await this.options.store.writeEach(writes.map((w) => w.write)));
  }
}

/** A write of the leader's own output: `value` written at child `name` (none: removed). */
interface OwnWrite<T> {
  readonly name: string;
  readonly value?: T;
  readonly write: StoreWrite;
}

/**
 * Tells `folder` what each write did, in slices; returns the compare-and-set conflicts (someone else
 * wrote there first: the child is read again, and another round decides). Other failures throw.
 */
async function recordWrites<T>(folder: WrittenFolder<T> | undefined, writes: readonly OwnWrite<T>[], outcomes: readonly StoreWriteOutcome[]): Promise<number> {
  let conflicts = 0;
  await forEachInSlices(writes.keys(), (i) => {
    const { name, value } = writes[i]!;
    const outcome = outcomes[i]!;
    if (outcome.error) {
      if (!isConflict(outcome.error)) throw outcome.error;
      folder?.markStale(name);
      conflicts++;
    } else if (value === undefined) folder?.removed(name);
    else folder?.wrote(name, value, outcome.version);
  });
  return conflicts;
}

/** `items.filter(keep)` in slices. */
async function filterInSlices<T>(items: readonly T[], keep: (item: T) => boolean): Promise<T[]> {
  const kept: T[] = [];
  await forEachInSlices(items, (item) => {
    if (keep(item)) kept.push(item);
  });
  return kept;
}

/** `items.map(fn)` in slices (encoding 10,000 statuses is tens of milliseconds of one event-loop turn otherwise). */
async function mapInSlices<T, R>(items: readonly T[], fn: (item: T) => R): Promise<R[]> {
  const mapped: R[] = [];
  await forEachInSlices(items, (item) => mapped.push(fn(item)));
  return mapped;
}

function sameList(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}

function samePlacement(a: PlacementStatus, b: PlacementStatus): boolean {
  return a.state === b.state && a.reason === b.reason && sameList(a.nodes, b.nodes);
}
