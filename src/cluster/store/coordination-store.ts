/**
 * The coordination store: a small hierarchical key-value store with ephemeral nodes, versions for
 * compare-and-set, and change notifications — the subset of ZooKeeper that Cranberries' cluster
 * needs. Two implementations: ZooKeeper (`zookeeper-store.ts`) for real clusters and an in-process
 * one (`memory-store.ts`) that `cranberries serve` uses by default. Everything above it
 * (registration, desired state, status, election) is written once against this interface.
 *
 * Paths are absolute (`/cranberries/nodes/w1`); data is bytes (callers store JSON). Errors are
 * `CranberriesError`s: NOT_FOUND (no such node), ALREADY_EXISTS (create on an existing path),
 * FAILED_PRECONDITION (version mismatch on a conditional set/delete), UNAVAILABLE (no connection).
 */
import type { CranberriesError, Lifecycle } from '../../core/index.js';

export type CreateMode = 'persistent' | 'ephemeral' | 'persistent-sequential' | 'ephemeral-sequential';

export interface StoreNode {
  readonly data: Uint8Array;
  /** Incremented by every set; pass it back to `set`/`remove` for compare-and-set. */
  readonly version: number;
  /**
   * Names the node's last create or set, store-wide: it changes with every set and, unlike the
   * version (0 again), when the node is removed and created again at the same path. Equal
   * modifications, equal data. ZooKeeper's `mzxid`; the embedded store's own counter.
   */
  readonly modification: string;
}

/**
 * Connection life as the store's users see it. `expired` means the session (and with it every
 * ephemeral node this store created) is gone; the store then opens a new session by itself and
 * reports `connected` again, after which owners must recreate their ephemeral nodes.
 */
export interface WatchOptions {
  /**
   * Whether changes to the node's children matter (default true). `false` for a leaf whose data is
   * all that matters: on ZooKeeper each (re-)arm is then one request, not two. (A folder's many
   * children are better followed with `watchFolder`.) A store may still call the listener on a
   * children change (the embedded one does).
   */
  readonly children?: boolean;
}

export type SessionState = 'connected' | 'disconnected' | 'expired';

/** One write of `writeEach`: what `create`, `set` or (non-recursive) `remove` would do alone. */
export type StoreWrite =
  | { readonly kind: 'create'; readonly path: string; readonly data: Uint8Array; readonly mode: CreateMode }
  | { readonly kind: 'set'; readonly path: string; readonly data: Uint8Array; readonly expectedVersion?: number }
  | { readonly kind: 'remove'; readonly path: string; readonly expectedVersion?: number };

/** What one write of `writeEach` did: the node's version after it (a create: 0; a remove: -1), or the error the call alone would have thrown. */
export type StoreWriteOutcome = { readonly version: number; readonly error?: undefined } | { readonly version?: undefined; readonly error: CranberriesError };

export interface CoordinationStore extends Lifecycle {
  /**
   * The node as this session sees it: after its own writes, and after another session's write once
   * this one has been notified of it (ZooKeeper's model: a session sees a watched node's change
   * event before its new data).
   */
  get(path: string): Promise<StoreNode | undefined>;
  /** Returns the created path (with the sequence suffix for sequential modes). */
  create(path: string, data: Uint8Array, mode: CreateMode): Promise<string>;
  /** Sets data; with `expectedVersion`, only if the node is at that version. Returns the new version. */
  set(path: string, data: Uint8Array, expectedVersion?: number): Promise<number>;
  /** Removes a node (and, with `recursive`, its children); a missing node is not an error. */
  remove(path: string, options?: { expectedVersion?: number; recursive?: boolean }): Promise<void>;
  /**
   * Many nodes at once, as `get` would return each (undefined: absent), in the order of `paths`. A
   * network store reads them in few requests (ZooKeeper: `multiRead`, a hundred nodes each), so a
   * controller reading 10,000 models sends about a hundred requests, not 10,000.
   */
  getMany(paths: readonly string[]): Promise<(StoreNode | undefined)[]>;
  /** Child names (not paths), sorted; empty for a missing node. */
  children(path: string): Promise<readonly string[]>;
  /**
   * Many independent writes, each applied or refused on its own exactly as the single call would be
   * (not a transaction: one refused write leaves the others as they are); outcomes in the order of
   * `writes`. A network store sends them together (ZooKeeper: `multi` requests of many operations,
   * one round trip and one log entry each), so a controller writing 10,000 statuses sends about a
   * hundred requests, not 10,000.
   */
  writeEach(writes: readonly StoreWrite[]): Promise<StoreWriteOutcome[]>;
  /** Creates the node and its missing parents as empty persistent nodes. */
  ensurePath(path: string): Promise<void>;
  /**
   * Calls `onChange` whenever the node's data, existence or children change (and once after every
   * reconnect, since changes may have been missed). Watches are re-armed internally; the returned
   * function stops watching.
   */
  watch(path: string, onChange: () => void, options?: WatchOptions): () => void;
  /**
   * Calls `onChange(name)` whenever the child `name` of `parent` is created, removed or set (a
   * change deeper in its subtree reports the child too), and `onChange(undefined)` when any child
   * may have changed unseen (after every reconnect). One watch for the whole folder, armed once and
   * for good: the way to follow a folder of thousands of children (ZooKeeper 3.6's persistent
   * recursive watch). Every change that a read issued after this call does not see is reported: watch,
   * then read. Returns the function that stops watching.
   */
  watchFolder(parent: string, onChange: (name: string | undefined) => void): () => void;
  /** Session state changes; returns an unsubscribe function. */
  onSessionState(listener: (state: SessionState) => void): () => void;
  readonly sessionState: SessionState;
}
