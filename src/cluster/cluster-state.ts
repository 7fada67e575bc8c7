/**
 * Reading the cluster's shared state (the layout of `layout.ts`) out of a coordination store, and
 * watching it. Shared by the controller, the admin API and anyone else who needs a snapshot.
 *
 * Malformed JSON at a node is treated as absent (and reported through `onMalformed`): one bad
 * write must not take the whole cluster's view down.
 */
import type { z } from 'zod';
import { CranberriesError } from '../core/index.js';
import type { CoordinationStore, StoreNode } from './store/coordination-store.js';
import { forEachInSlices } from './event-loop-slices.js';
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
  const result = new Map<string, Versioned<T>>();
  await fetchChildren(store, parent, new Set(await store.children(parent)), (name, node) => {
    const value = node && decodeJson(schema, node.data);
    if (node && value === undefined) onMalformed?.(`${parent}/${name}`);
    if (node && value !== undefined) result.set(name, { value, version: node.version });
  });
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

/** Calls `onChange` when `parent`'s children change or any child's data changes. Returns the stop function. */
export function watchChildren(store: CoordinationStore, parent: string, onChange: () => void): () => void {
  return store.watchFolder(parent, () => onChange());
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

/**
 * One folder of the layout kept in memory and re-read incrementally: one watch on the folder
 * (`watchFolder`) names each child created, removed or changed, and `read()` fetches only those
 * instead of every child. At 10,000 models a round then reads what changed since the last round,
 * not 10,000 nodes, and following the folder costs one watch, not one per child.
 *
 * After a reconnect the watch reports that anything may have changed, so the folder is listed and
 * every child fetched once again. Malformed JSON is treated as absent, as `readChildren` does.
 */
/** A cached child: what `read()` hands out, and the store's modification it was decoded from. */
interface CachedEntry<T> extends Versioned<T> {
  readonly modification: string;
}

export class FolderCache<T> {
  private readonly entries = new Map<string, CachedEntry<T>>();
  private readonly dirty = new Set<string>();
  /** The next read lists the folder and fetches every child: first, and after anything may have been missed. */
  private everythingDirty = true;
  private unwatch: (() => void) | undefined;
  private changes = 0;
  /** What `read()` returned last and the generation it shows: handed out again while nothing changed. */
  private lastRead: { generation: number; entries: ReadonlyMap<string, Versioned<T>> } | undefined;

  /** Counts the reads that changed what the folder holds: equal counts, equal contents (callers skip work). */
  get generation(): number {
    return this.changes;
  }

  constructor(
    private readonly store: CoordinationStore,
    private readonly parent: string,
    private readonly schema: z.ZodType<T>,
    onChange: () => void,
    private readonly onMalformed?: (path: string) => void,
  ) {
    // Watched before the first read lists the folder: nothing changed between them goes unseen.
    this.unwatch = store.watchFolder(parent, (name) => {
      if (name === undefined) this.everythingDirty = true;
      else this.dirty.add(name);
      onChange();
    });
  }

  /** The folder's children as of now, keyed by child name; fetches only what changed since the last read. */
  async read(): Promise<ReadonlyMap<string, Versioned<T>>> {
    // A full re-read would fail while cut off; so does this one, even with nothing to fetch, so
    // callers keep treating what they have as possibly stale.
    if (this.store.sessionState !== 'connected') throw new CranberriesError('UNAVAILABLE', `cannot read '${this.parent}': the coordination store is not connected`);
    if (this.everythingDirty) {
      this.everythingDirty = false;
      try {
        const names = new Set(await this.store.children(this.parent));
        for (const name of this.entries.keys()) if (!names.has(name)) this.dirty.add(name); // gone: the fetch finds it absent
        for (const name of names) this.dirty.add(name);
      } catch (error) {
        this.everythingDirty = true;
        throw error;
      }
    }
    await fetchChildren(this.store, this.parent, this.dirty, (name, node) => this.take(name, node));
    // A copy, so callers keep a consistent view while the cache moves on; the same copy while
    // nothing changed (at 10,000 models a copy per read is a millisecond of a busy loop).
    if (this.lastRead?.generation !== this.changes) this.lastRead = { generation: this.changes, entries: new Map(this.entries) };
    return this.lastRead.entries;
  }

  /**
   * This process wrote `value` at `name` (now at `version`): handed out from the next read on,
   * before the watch reports the write (then fetched and decoded once more).
   */
  wrote(name: string, value: T, version: number): void {
    if (!this.entries.has(name) || this.unwatch === undefined) return; // not (or no longer) a child this cache holds
    this.entries.set(name, { value, version, modification: '' });
    this.changes++;
  }

  /** One fetched child: decoded into the entries (absent or malformed: removed). */
  private take(name: string, node: StoreNode | undefined): void {
    if (this.unwatch === undefined) return; // stopped meanwhile
    const path = `${this.parent}/${name}`;
    const before = this.entries.get(name);
    // Same modification, same data: decoded already. Not the version: a node removed and created
    // again between two reads is back at version 0 with other data (a worker registering again).
    if (node && before?.modification === node.modification) return;
    let value: CachedEntry<T> | undefined;
    if (node) {
      const decoded = decodeJson(this.schema, node.data);
      if (decoded === undefined) this.onMalformed?.(path);
      else value = { value: decoded, version: node.version, modification: node.modification };
    }
    if (value) {
      this.changes++;
      this.entries.set(name, value);
    } else if (this.entries.delete(name)) this.changes++;
  }

  stop(): void {
    this.unwatch?.();
    this.unwatch = undefined;
    this.entries.clear();
    this.dirty.clear();
    this.everythingDirty = true;
    this.lastRead = undefined;
  }
}

/** Children fetched per `getMany` when a folder cache fetches many. */
const FETCH_CHUNK = 500;

/**
 * Fetches the children of `parent` named in `pending` (emptying it), `FETCH_CHUNK` at a time with
 * the next chunk in flight while one is decoded, and hands each to `take` in slices: decoding
 * thousands of JSON documents (an embedded store answers without ever returning to the event loop)
 * would otherwise be one long synchronous stretch. On a failure every name goes back to `pending`,
 * to be fetched on the next read.
 */
async function fetchChildren(store: CoordinationStore, parent: string, pending: Set<string>, take: (name: string, node: StoreNode | undefined) => void): Promise<void> {
  const names = [...pending];
  pending.clear();
  const fetch = (from: number): Promise<(StoreNode | undefined)[]> => store.getMany(names.slice(from, from + FETCH_CHUNK).map((name) => `${parent}/${name}`));
  try {
    let next = names.length > 0 ? fetch(0) : undefined;
    for (let from = 0; next; from += FETCH_CHUNK) {
      const nodes = await next;
      next = from + FETCH_CHUNK < names.length ? fetch(from + FETCH_CHUNK) : undefined;
      next?.catch(() => {}); // awaited on the next pass; a failure meanwhile must not go unhandled
      await forEachInSlices(nodes.keys(), (i) => take(names[from + i]!, nodes[i]));
    }
  } catch (error) {
    for (const name of names) pending.add(name);
    throw error;
  }
}

/**
 * A folder that only the leading controller writes (placement statuses, assignments): read in full
 * once per leadership, then kept from the leader's own writes instead of watched. Watching it would
 * make the leader read back everything it just wrote — at 10,000 models a re-armed watch and a fetch
 * per status, 20,000 requests in a cold round — and start a round for each of its own writes.
 * A predecessor's writes are in the first read: the store orders them before the end of its session,
 * which comes before this leader's election. Any other writer shows up as a compare-and-set conflict
 * on the leader's next write there: the caller marks the child `stale`, and the next read fetches it.
 */
export class WrittenFolder<T> {
  private readonly entries = new Map<string, Versioned<T>>();
  private readonly stale = new Set<string>();
  /** The next read lists the folder: children that came or went without the leader's writes. */
  private listPending = true;
  private changes = 0;
  private lastRead: { generation: number; entries: ReadonlyMap<string, Versioned<T>> } | undefined;

  constructor(
    private readonly store: CoordinationStore,
    private readonly parent: string,
    private readonly schema: z.ZodType<T>,
    private readonly onMalformed?: (path: string) => void,
  ) {}

  /**
   * The folder as of the last writes. The first read lists and fetches every child; later ones fetch
   * the stale, and after `relist()` also the children that appeared, dropping those that vanished.
   */
  async read(): Promise<ReadonlyMap<string, Versioned<T>>> {
    if (this.store.sessionState !== 'connected') throw new CranberriesError('UNAVAILABLE', `cannot read '${this.parent}': the coordination store is not connected`);
    if (this.listPending) {
      const names = new Set(await this.store.children(this.parent));
      this.listPending = false;
      for (const name of this.entries.keys()) if (!names.has(name)) this.removed(name);
      for (const name of names) if (!this.entries.has(name)) this.stale.add(name);
    }
    await fetchChildren(this.store, this.parent, this.stale, (name, node) => this.take(name, node));
    if (this.lastRead?.generation !== this.changes) this.lastRead = { generation: this.changes, entries: new Map(this.entries) };
    return this.lastRead.entries;
  }

  /** This process wrote `value` at `name`, which is now at `version`. */
  wrote(name: string, value: T, version: number): void {
    this.entries.set(name, { value, version });
    this.changes++;
  }

  /** This process removed `name`. */
  removed(name: string): void {
    if (this.entries.delete(name)) this.changes++;
  }

  /**
   * The next read lists the folder again (one request): the safety net for a child created or
   * removed by hand, which no write of the leader's would run into.
   */
  relist(): void {
    this.listPending = true;
  }

  /** Someone else wrote `name` (a compare-and-set conflict): fetched again on the next read. */
  markStale(name: string): void {
    this.stale.add(name);
  }

  private take(name: string, node: StoreNode | undefined): void {
    const value = node && decodeJson(this.schema, node.data);
    if (node && value === undefined) this.onMalformed?.(`${this.parent}/${name}`);
    if (node && value !== undefined) this.wrote(name, value, node.version);
    else this.removed(name);
  }
}

/**
 * The five folders of a snapshot, for the leading controller: its inputs watched and cached (see
 * `FolderCache`; `onChange` fires on any change to them), its own output (assignments, placement
 * statuses) kept from its writes (see `WrittenFolder`; the controller reports each write).
 */
export class SnapshotCache {
  readonly deployments: FolderCache<ModelDeployment>;
  private readonly nodes: FolderCache<NodeInfo>;
  private readonly statuses: FolderCache<NodeStatus>;
  readonly assignments: WrittenFolder<NodeAssignment>;
  readonly placements: WrittenFolder<PlacementStatus>;

  constructor(store: CoordinationStore, paths: ClusterPaths, onChange: () => void, onMalformed?: (path: string) => void) {
    this.deployments = new FolderCache(store, paths.models, ModelDeployment, onChange, onMalformed);
    this.nodes = new FolderCache(store, paths.nodes, NodeInfo, onChange, onMalformed);
    this.statuses = new FolderCache(store, paths.status, NodeStatus, onChange, onMalformed);
    this.assignments = new WrittenFolder(store, paths.assignments, NodeAssignment, onMalformed);
    this.placements = new WrittenFolder(store, paths.placement, PlacementStatus, onMalformed);
  }

  /** The leader's own output is listed again on the next read (its periodic full round). */
  relistOwnOutput(): void {
    this.assignments.relist();
    this.placements.relist();
  }

  async read(): Promise<ClusterSnapshot> {
    const [deployments, nodes, assignments, statuses, placements] = await Promise.all([
      this.deployments.read(),
      this.nodes.read(),
      this.assignments.read(),
      this.statuses.read(),
      this.placements.read(),
    ]);
    return {
      deployments,
      nodes: new Map([...nodes].map(([id, v]) => [id, v.value])),
      assignments,
      statuses: new Map([...statuses].map(([id, v]) => [id, v.value])),
      placements,
    };
  }

  stop(): void {
    for (const cache of [this.deployments, this.nodes, this.statuses]) cache.stop();
  }
}
