/**
 * Placement: which workers serve which models. PURE — snapshots in, a new assignment out; the
 * leader controller does the reading and writing around it.
 *
 * Rules, in priority order:
 * 1. A model's replicas go on DISTINCT workers.
 * 2. A worker's memory is never overcommitted: the memory of the replicas placed on it stays within
 *    its capacity. (A replica already loaded that no longer fits, e.g. once its measured memory
 *    exceeds the estimate, is moved.)
 * 3. Stability: a replica already assigned to a live worker stays there (no needless moves).
 * 4. Missing replicas (new models, more replicas, replicas of vanished workers) go to the
 *    least-loaded worker that fits: lowest fraction of capacity used after placing, then the
 *    most free memory — bin packing by memory with spreading. Larger models are placed first.
 *    A worker that already has the model loaded is preferred (nothing to load).
 * 5. Move safety: a replica that must leave a worker (overcommit, or its worker vanished) stays
 *    in that worker's assignment until enough of the model's new replicas are READY, so a model
 *    may briefly be assigned to more workers than its replica count.
 *
 * Replicas removed for other reasons (model deleted, fewer replicas wanted) are dropped at once;
 * when there are too many, not-READY ones go first, then those on the fullest workers.
 *
 * Cost: O(assignments + models × replicas × capacity classes × log workers). Workers are kept in one
 * min-heap per distinct memory capacity, ordered by memory used then id: within one capacity,
 * "lowest fraction used after placing, then most free, then id" is exactly "least used, then id",
 * whatever the model's size, so each heap's first unblocked worker is that capacity's best, and
 * the best of those few is the worker the rule picks (decisions are identical to a full sort of
 * every worker per replica, which the property test checks against the old algorithm).
 *
 * The steps are a generator that yields between units of work: `place()` runs it at once,
 * `placeInSlices()` (the controller's) returns to the event loop every few ms; same decisions.
 */
import type { ModelDeployment, NodeInfo, NodeStatus, PlacementStatus } from './layout.js';
import { formatBytes } from './memory-size.js';
import { runAtOnce, runInSlices, type SliceOptions } from './event-loop-slices.js';

export interface PlacementInput {
  readonly deployments: readonly ModelDeployment[];
  /** Live workers (their ephemeral registrations). */
  readonly nodes: readonly NodeInfo[];
  /** Current assignment per worker id, including workers that are gone. */
  readonly assignments: ReadonlyMap<string, readonly string[]>;
  /** Each live worker's report of its model versions. */
  readonly statuses: ReadonlyMap<string, NodeStatus>;
}

export type PlacementAction = 'assign' | 'unassign';

/** One change to a worker's assignment, with the reason (the controller logs one line per decision). */
export interface PlacementDecision {
  readonly action: PlacementAction;
  readonly model: string;
  readonly node: string;
  readonly reason: string;
}

export interface PlacementResult {
  /** The new assignment of every live worker and of every gone worker that still had one. */
  readonly assignments: ReadonlyMap<string, readonly string[]>;
  readonly placement: ReadonlyMap<string, PlacementStatus>;
  readonly decisions: readonly PlacementDecision[];
}

/** A replica leaving a worker, kept until the model's new replicas are READY. */
interface Leaving {
  readonly node: string;
  readonly live: boolean;
  readonly why: string;
}

/** A replica is READY on a worker when at least one of its versions is READY there. */
export function replicaReady(status: NodeStatus | undefined, model: string): boolean {
  const versions = status?.models[model]?.versions;
  return versions !== undefined && Object.values(versions).some((v) => v.state === 'READY');
}

/** Decides the placement at once (the rules above). `placeInSlices` makes the same decisions. */
export function place(input: PlacementInput): PlacementResult {
  return runAtOnce(placementSteps(input));
}

/**
 * `place()` in slices: the same steps, returning to the event loop whenever a slice has run for
 * `sliceMs` (default 4 ms), so a placement over thousands of workers and models never blocks the
 * controller's process for long. The input must not change until the promise settles (the
 * controller hands it a snapshot of its own).
 */
export function placeInSlices(input: PlacementInput, options: SliceOptions = {}): Promise<PlacementResult> {
  return runInSlices(placementSteps(input), options);
}

/**
 * The placement as a generator: it yields (nothing) between units of work of at most
 * O(replicas of one model × capacity classes × log workers), where a driver may pause it; the
 * decisions do not depend on where or whether it pauses.
 */
function* placementSteps(input: PlacementInput): Generator<void, PlacementResult, void> {
  const deployments = new Map(input.deployments.map((d) => [d.name, d]));
  const nodes = [...input.nodes].sort((a, b) => a.id.localeCompare(b.id));
  const live = new Map(nodes.map((n) => [n.id, n]));
  const used = new Map(nodes.map((n) => [n.id, 0]));
  const targets = new Map<string, Set<string>>();
  const leaving = new Map<string, Leaving[]>();
  const decisions: PlacementDecision[] = [];
  const ready = (node: string, model: string): boolean => replicaReady(input.statuses.get(node), model);
  const memoryOf = (model: string): number => deployments.get(model)?.memoryBytes ?? 0;
  const free = (node: string): number => live.get(node)!.memoryCapacityBytes - used.get(node)!;
  const targetsOf = (model: string): Set<string> => getOrCreate(targets, model, () => new Set());
  const unassign = (model: string, node: string, reason: string): void => void decisions.push({ action: 'unassign', model, node, reason });

  // 1. Keep what live workers already have, as far as it fits.
  for (const node of nodes) {
    const current = [...new Set(input.assignments.get(node.id) ?? [])];
    const keep: string[] = [];
    for (const model of current) {
      const deployment = deployments.get(model);
      if (!deployment) unassign(model, node.id, 'the model was removed');
      else if (deployment.replicas === 0) unassign(model, node.id, 'replicas is 0');
      else keep.push(model);
    }
    keep.sort((a, b) => Number(ready(node.id, b)) - Number(ready(node.id, a)) || memoryOf(a) - memoryOf(b) || a.localeCompare(b));
    for (const model of keep) {
      const need = memoryOf(model);
      if (need <= free(node.id)) {
        targetsOf(model).add(node.id);
        used.set(node.id, used.get(node.id)! + need);
        continue;
      }
      const why = `it no longer fits on ${node.id} (needs ${formatBytes(need)}, ${formatBytes(Math.max(0, free(node.id)))} free)`;
      if (ready(node.id, model)) {
        getOrCreate(leaving, model, () => []).push({ node: node.id, live: true, why });
        // Loaded memory stays in use until the replica actually leaves.
        used.set(node.id, used.get(node.id)! + need);
      } else {
        unassign(model, node.id, why);
      }
    }
    yield;
  }

  // 2. Trim models that now have more replicas than wanted.
  for (const [model, holders] of targets) {
    yield;
    const wanted = deployments.get(model)!.replicas;
    if (holders.size <= wanted) continue;
    const order = [...holders].sort((a, b) => Number(ready(a, model)) - Number(ready(b, model)) || free(a) - free(b) || b.localeCompare(a));
    for (const node of order.slice(0, holders.size - wanted)) {
      holders.delete(node);
      used.set(node, used.get(node)! - memoryOf(model));
      unassign(model, node, `more replicas than the ${wanted} wanted`);
    }
  }

  // Replicas on workers that are gone leave too, once replaced.
  const gone = [...input.assignments.keys()].filter((id) => !live.has(id)).sort();
  for (const node of gone) {
    yield;
    for (const model of new Set(input.assignments.get(node))) {
      const deployment = deployments.get(model);
      if (deployment && deployment.replicas > 0) getOrCreate(leaving, model, () => []).push({ node, live: false, why: `worker ${node} is gone` });
      else unassign(model, node, deployment ? 'replicas is 0' : 'the model was removed');
    }
  }

  // 3. Place missing replicas, largest models first.
  const pool = new WorkerPool(nodes, used, yield* readyWorkersByModel(nodes, input.statuses));
  const placement = new Map<string, PlacementStatus>();
  const active = [...deployments.values()].sort((a, b) => b.memoryBytes - a.memoryBytes || a.name.localeCompare(b.name));
  for (const deployment of active) {
    yield;
    const model = deployment.name;
    if (deployment.replicas === 0) {
      placement.set(model, { state: 'PLACED', nodes: [], reason: 'replicas is 0: not loaded' });
      continue;
    }
    const holders = targetsOf(model);
    if (holders.size >= deployment.replicas) {
      placement.set(model, statusOf(deployment, holders, undefined));
      continue;
    }
    const blocked = new Set([...holders, ...(leaving.get(model) ?? []).filter((l) => l.live).map((l) => l.node)]);
    let shortfall: string | undefined;
    while (holders.size < deployment.replicas) {
      yield;
      const chosen = pool.best(model, deployment.memoryBytes, blocked);
      if (chosen === undefined) {
        shortfall = explainShortfall(deployment, nodes.length, pool.freeOfCandidates(blocked));
        break;
      }
      const freeBefore = free(chosen);
      holders.add(chosen);
      blocked.add(chosen);
      pool.use(chosen, deployment.memoryBytes);
      decisions.push({
        action: 'assign',
        model,
        node: chosen,
        reason: `replica ${holders.size} of ${deployment.replicas}: needs ${formatBytes(deployment.memoryBytes)}, ${formatBytes(freeBefore)} free there`,
      });
    }
    placement.set(model, statusOf(deployment, holders, shortfall));
  }

  // 4. Leaving replicas stay only while the model lacks READY replicas among its new holders.
  const kept = new Map<string, Set<string>>();
  for (const [model, leavers] of leaving) {
    yield;
    const holders = targetsOf(model);
    const readyHolders = [...holders].filter((n) => ready(n, model));
    const keep = Math.max(0, Math.min(leavers.length, deployments.get(model)!.replicas - readyHolders.length));
    const ordered = [...leavers].sort((a, b) => Number(b.live) - Number(a.live) || a.node.localeCompare(b.node));
    for (const [i, leaver] of ordered.entries()) {
      if (i < keep) {
        getOrCreate(kept, leaver.node, () => new Set()).add(model);
        continue;
      }
      const replacement = readyHolders.length > 0 ? `; READY on ${readyHolders.join(', ')}` : '';
      unassign(model, leaver.node, `${leaver.why}${replacement}`);
    }
    if (keep > 0) {
      const status = placement.get(model)!;
      const from = ordered.slice(0, keep).map((l) => l.node);
      const waiting = [...holders].filter((n) => !ready(n, model)).sort();
      const moving =
        waiting.length > 0
          ? `moving off ${from.join(', ')} (${ordered[0]!.why}): kept until ${waiting.join(', ')} ${waiting.length === 1 ? 'is' : 'are'} READY`
          : `${ordered[0]!.why}: ${from.join(', ')} keeps its assignment until a replacement is READY`;
      placement.set(model, { ...status, reason: status.reason ? `${status.reason}; ${moving}` : moving });
    }
  }

  const held = new Map<string, Set<string>>(kept);
  for (const [model, holders] of targets) {
    for (const node of holders) getOrCreate(held, node, () => new Set()).add(model);
    yield;
  }
  const assignments = new Map<string, string[]>();
  for (const node of [...nodes.map((n) => n.id), ...gone]) {
    assignments.set(node, [...(held.get(node) ?? [])].sort());
    yield;
  }
  return { assignments, placement, decisions };
}

function statusOf(deployment: ModelDeployment, holders: ReadonlySet<string>, shortfall: string | undefined): PlacementStatus {
  const nodes = [...holders].sort();
  if (nodes.length >= deployment.replicas) return { state: 'PLACED', nodes };
  const why = shortfall ?? 'not enough workers';
  if (nodes.length === 0) return { state: 'PENDING', nodes, reason: why };
  return { state: 'PARTIAL', nodes, reason: `${nodes.length} of ${deployment.replicas} replicas placed: ${why}` };
}

function explainShortfall(deployment: ModelDeployment, liveCount: number, candidateFree: readonly number[]): string {
  if (liveCount === 0) return 'no live workers';
  if (candidateFree.length === 0) {
    return `only ${liveCount} live worker${liveCount === 1 ? '' : 's'} for ${deployment.replicas} replicas (each replica needs its own worker)`;
  }
  return `needs ${formatBytes(deployment.memoryBytes)}, largest free is ${formatBytes(Math.max(0, ...candidateFree))}`;
}

/** Live workers where each model is READY (the placement rule prefers them). */
function* readyWorkersByModel(nodes: readonly NodeInfo[], statuses: ReadonlyMap<string, NodeStatus>): Generator<void, Map<string, string[]>, void> {
  const byModel = new Map<string, string[]>();
  for (const node of nodes) {
    const status = statuses.get(node.id);
    if (!status) continue;
    for (const model of Object.keys(status.models)) if (replicaReady(status, model)) getOrCreate(byModel, model, () => []).push(node.id);
    yield;
  }
  return byModel;
}

/** A worker's place in its capacity's heap; stale once the worker's used memory changed since. */
interface HeapEntry {
  readonly id: string;
  readonly used: number;
  readonly rank: number;
}

/**
 * The live workers for step 3, answering "which worker would a full sort pick" in O(capacity
 * classes × log workers). `used` is shared with `place()` and changed only through `use`.
 */
class WorkerPool {
  private readonly rank = new Map<string, number>();
  private readonly capacity = new Map<string, number>();
  private readonly heaps: MinHeap<HeapEntry>[] = [];
  private readonly heapOf = new Map<string, MinHeap<HeapEntry>>();

  constructor(
    nodes: readonly NodeInfo[],
    private readonly used: Map<string, number>,
    private readonly readyWorkers: ReadonlyMap<string, readonly string[]>,
  ) {
    const byCapacity = new Map<number, MinHeap<HeapEntry>>();
    for (const [rank, node] of nodes.entries()) {
      this.rank.set(node.id, rank);
      this.capacity.set(node.id, node.memoryCapacityBytes);
      const heap = getOrCreate(byCapacity, node.memoryCapacityBytes, () => new MinHeap<HeapEntry>((a, b) => a.used - b.used || a.rank - b.rank));
      heap.push({ id: node.id, used: used.get(node.id)!, rank });
      this.heapOf.set(node.id, heap);
    }
    this.heaps = [...byCapacity.values()];
  }

  private free(id: string): number {
    return this.capacity.get(id)! - this.used.get(id)!;
  }

  /**
   * The rule's order among fitting workers: READY first, lowest fraction used after placing, most
   * free, then id (the order of the sorted worker list, by rank).
   */
  private compare(a: string, b: string, memoryBytes: number, readyA: boolean, readyB: boolean): number {
    const loadAfter = (id: string): number => (this.used.get(id)! + memoryBytes) / Math.max(1, this.capacity.get(id)!);
    return Number(readyB) - Number(readyA) || loadAfter(a) - loadAfter(b) || this.free(b) - this.free(a) || this.rank.get(a)! - this.rank.get(b)!;
  }

  /** The worker the rule picks for one more replica of `model`, or undefined when none fits. */
  best(model: string, memoryBytes: number, blocked: ReadonlySet<string>): string | undefined {
    let best: string | undefined;
    for (const id of this.readyWorkers.get(model) ?? []) {
      if (blocked.has(id) || this.free(id) < memoryBytes) continue;
      if (best === undefined || this.compare(id, best, memoryBytes, true, true) < 0) best = id;
    }
    if (best !== undefined) return best;
    // No READY worker fits: the best of each capacity's least-used unblocked worker.
    for (const heap of this.heaps) {
      const top = this.firstUnblocked(heap, blocked);
      if (top === undefined || this.free(top) < memoryBytes) continue;
      if (best === undefined || this.compare(top, best, memoryBytes, false, false) < 0) best = top;
    }
    return best;
  }

  /** Free memory of the workers not blocked, as far as the shortfall message needs it (its maximum). */
  freeOfCandidates(blocked: ReadonlySet<string>): number[] {
    let max: number | undefined;
    for (const heap of this.heaps) {
      const top = this.firstUnblocked(heap, blocked);
      if (top !== undefined) max = Math.max(max ?? -Infinity, this.free(top));
    }
    return max === undefined ? [] : [max];
  }

  use(id: string, memoryBytes: number): void {
    if (memoryBytes === 0) return;
    const used = this.used.get(id)! + memoryBytes;
    this.used.set(id, used);
    this.heapOf.get(id)!.push({ id, used, rank: this.rank.get(id)! });
  }

  /** The least-used worker of a heap that is not blocked; drops stale entries on the way. */
  private firstUnblocked(heap: MinHeap<HeapEntry>, blocked: ReadonlySet<string>): string | undefined {
    const aside: HeapEntry[] = [];
    let found: string | undefined;
    for (let top = heap.peek(); top !== undefined; top = heap.peek()) {
      if (this.used.get(top.id) !== top.used) heap.pop();
      else if (blocked.has(top.id)) aside.push(heap.pop()!);
      else {
        found = top.id;
        break;
      }
    }
    for (const entry of aside) heap.push(entry);
    return found;
  }
}

/** A binary min-heap. */
class MinHeap<T> {
  private readonly items: T[] = [];
  constructor(private readonly less: (a: T, b: T) => number) {}

  peek(): T | undefined {
    return this.items[0];
  }

  push(item: T): void {
    const items = this.items;
    items.push(item);
    let i = items.length - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (this.less(items[i]!, items[parent]!) >= 0) break;
      [items[i], items[parent]] = [items[parent]!, items[i]!];
      i = parent;
    }
  }

  pop(): T | undefined {
    const items = this.items;
    const top = items[0];
    const last = items.pop();
    if (items.length > 0 && last !== undefined) {
      items[0] = last;
      let i = 0;
      for (;;) {
        const left = 2 * i + 1;
        const right = left + 1;
        let smallest = i;
        if (left < items.length && this.less(items[left]!, items[smallest]!) < 0) smallest = left;
        if (right < items.length && this.less(items[right]!, items[smallest]!) < 0) smallest = right;
        if (smallest === i) break;
        [items[i], items[smallest]] = [items[smallest]!, items[i]!];
        i = smallest;
      }
    }
    return top;
  }
}

function getOrCreate<K, V>(map: Map<K, V>, key: K, create: () => V): V {
  let value = map.get(key);
  if (value === undefined) map.set(key, (value = create()));
  return value;
}
