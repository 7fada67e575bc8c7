/**
 * Reading the cluster's shared state (the layout of `layout.ts`) out of a coordination store, and
 * watching it. Shared by the controller, the admin API and anyone else who needs a snapshot.
 *
 * Malformed JSON at a node is treated as absent (and reported through `onMalformed`): one bad
 * write must not take the whole cluster's view down.
 */
import type { z } from 'zod';
import { CranberriesError } from '../core/index.js';
import type { CoordinationStore } from './store/coordination-store.js';
import { ModelDeployment, NodeAssignment, NodeInfo, NodeStatus, PlacementStatus, decodeJson, type ClusterPaths } from './layout.js';

export interface Versioned<T> {
  readonly value: T;
  /** The node's version, for compare-and-set. */
  readonly version: number;
}

export interface ClusterSnapshot {
  readonly deployments: ReadonlyMap<string, Versioned<ModelDeployment>>;
  readonly nodes: ReadonlyMap<string, NodeInfo>;
  readonly assignments: ReadonlyMap<string, Versioned<NodeAssignment>>;
  readonly statuses: ReadonlyMap<string, NodeStatus>;
  readonly placements: ReadonlyMap<string, Versioned<PlacementStatus>>;
}

/** Reads one node's JSON; undefined when the node is missing or malformed. */
export async function readJson<T>(store: CoordinationStore, path: string, schema: z.ZodType<T>, onMalformed?: (path: string) => void): Promise<Versioned<T> | undefined> {
  const node = await store.get(path);
  if (!node) return undefined;
  const value = decodeJson(schema, node.data);
  if (value === undefined) {
    onMalformed?.(path);
    return undefined;
  }
  return { value, version: node.version };
}

/** Reads every child of `parent` as JSON, keyed by child name. Children that vanish meanwhile are skipped. */
export async function readChildren<T>(store: CoordinationStore, parent: string, schema: z.ZodType<T>, onMalformed?: (path: string) => void): Promise<Map<string, Versioned<T>>> {
  const names = await store.children(parent);
  const entries = await Promise.all(names.map(async (name) => [name, await readJson(store, `${parent}/${name}`, schema, onMalformed)] as const));
  const result = new Map<string, Versioned<T>>();
  for (const [name, value] of entries) if (value) result.set(name, value);
  return result;
}

export async function readSnapshot(store: CoordinationStore, paths: ClusterPaths, onMalformed?: (path: string) => void): Promise<ClusterSnapshot> {
  const [deployments, nodes, assignments, statuses, placements] = await Promise.all([
    readChildren(store, paths.models, ModelDeployment, onMalformed),
    readChildren(store, paths.nodes, NodeInfo, onMalformed),
    readChildren(store, paths.assignments, NodeAssignment, onMalformed),
    readChildren(store, paths.status, NodeStatus, onMalformed),
    readChildren(store, paths.placement, PlacementStatus, onMalformed),
  ]);
  return {
    deployments,
    nodes: new Map([...nodes].map(([id, v]) => [id, v.value])),
    assignments,
    statuses: new Map([...statuses].map(([id, v]) => [id, v.value])),
    placements,
  };
}

/** Creates the folders of the layout (idempotent). */
export async function ensureLayout(store: CoordinationStore, paths: ClusterPaths): Promise<void> {
  for (const path of [paths.models, paths.nodes, paths.assignments, paths.status, paths.placement, paths.election]) await store.ensurePath(path);
}

/**
 * Calls `onChange` when `parent`'s children change or any child's data changes. Child watches
 * follow the children: added for new ones, dropped for vanished ones. Returns the stop function.
 */
export function watchChildren(store: CoordinationStore, parent: string, onChange: () => void): () => void {
  const childWatches = new Map<string, () => void>();
  let stopped = false;
  const sync = async (): Promise<void> => {
    const names = await store.children(parent).catch(() => undefined);
    if (!names || stopped) return; // unreachable: the store calls every watch again on reconnect
    for (const [name, unwatch] of childWatches) {
      if (!names.includes(name)) {
        unwatch();
        childWatches.delete(name);
      }
    }
    for (const name of names) if (!childWatches.has(name)) childWatches.set(name, store.watch(`${parent}/${name}`, onChange));
  };
  const unwatchParent = store.watch(parent, () => {
    void sync();
    onChange();
  });
  void sync();
  return () => {
    stopped = true;
    unwatchParent();
    for (const unwatch of childWatches.values()) unwatch();
    childWatches.clear();
  };
}

/** Is this a compare-and-set conflict (someone else wrote first)? */
export function isConflict(error: unknown): boolean {
  return error instanceof CranberriesError && (error.code === 'FAILED_PRECONDITION' || error.code === 'ALREADY_EXISTS' || error.code === 'NOT_FOUND');
}

/**
 * Coalesces bursts: the first call schedules `fn` `ms` later and calls until then join it. Unlike a
 * resetting debounce, a steady stream of changes cannot postpone `fn` forever.
 */
export function coalesce(fn: () => void, ms: number): { (): void; cancel(): void } {
  let timer: NodeJS.Timeout | undefined;
  const call = (): void => {
    if (timer) return;
    timer = setTimeout(() => {
      timer = undefined;
      fn();
    }, ms);
  };
  call.cancel = () => {
    clearTimeout(timer);
    timer = undefined;
  };
  return call;
}
