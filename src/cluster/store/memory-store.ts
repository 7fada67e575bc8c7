/**
 * The embedded coordination store: ZooKeeper's data model in process memory, for `cranberries
 * serve` (one process acting as controller, worker and admin API at once) and for tests.
 *
 * A `MemoryStoreServer` holds the tree; each `MemoryStore` is one client session on it, so several
 * components in one process share state exactly as they would through ZooKeeper. Semantics follow
 * ZooKeeper's: per-node versions for compare-and-set, ephemeral nodes owned by a session (and
 * removed with it), sequential suffixes from a per-parent counter, no children under ephemerals,
 * watches that fire on a node's data, existence or children. Notifications are delivered
 * asynchronously (never inside the mutating call), like a network store's.
 *
 * For tests, a client can be cut off (`disconnect()`/`reconnect()`: operations fail with
 * UNAVAILABLE, notifications are held back, listeners run once on reconnect) and its session can
 * be expired (`expireSession()`: its ephemerals vanish, it reports `expired` then `connected`).
 */
import { CranberriesError, unavailable } from '../../core/index.js';
import type { CoordinationStore, CreateMode, SessionState, StoreNode, StoreWrite, StoreWriteOutcome } from './coordination-store.js';
import { writeOneByOne } from './write-each.js';
import { baseName, childPath, parentPath, pathPrefixes, sequenceSuffix, validatePath } from './store-paths.js';

interface TreeNode {
  data: Uint8Array;
  version: number;
  /** The store-wide count of creates and sets at this node's last one (ZooKeeper's mzxid). */
  modification: number;
  /** The session that owns an ephemeral node; undefined for persistent nodes. */
  owner: number | undefined;
  readonly children: Set<string>;
  /** Next sequential suffix for children of this node. */
  sequence: number;
}

type WatchListener = () => void;
type FolderListener = (name: string) => void;

/** The shared tree: what a ZooKeeper ensemble is to its clients. */
export class MemoryStoreServer {
  private readonly tree = new Map<string, TreeNode>([['/', newNode(new Uint8Array(0), undefined)]]);
  private readonly watchers = new Map<string, Set<WatchListener>>();
  /** Folder watchers by folder: told the name of each child created, removed or set. */
  private readonly folderWatchers = new Map<string, Set<FolderListener>>();
  private nextSessionId = 1;
  private readonly sessions = new Set<number>();
  /** Creates and sets so far, store-wide: each node's `modification` (ZooKeeper's zxid, for data changes). */
  private modifications = 0;

  /** Opens a session and returns its id. */
  openSession(): number {
    const id = this.nextSessionId++;
    this.sessions.add(id);
    return id;
  }

  /** Ends a session: its ephemeral nodes are removed (and their watchers notified). */
  closeSession(session: number): void {
    if (!this.sessions.delete(session)) return;
    const owned = [...this.tree.entries()].filter(([, node]) => node.owner === session).map(([path]) => path);
    for (const path of owned) this.removeOne(path);
  }

  hasSession(session: number): boolean {
    return this.sessions.has(session);
  }

  get(path: string): StoreNode | undefined {
    validatePath(path);
    const node = this.tree.get(path);
    return node ? { data: node.data.slice(), version: node.version, modification: String(node.modification) } : undefined;
  }

  create(session: number, path: string, data: Uint8Array, mode: CreateMode): string {
    validatePath(path);
    const parentName = parentPath(path);
    const parent = parentName === undefined ? undefined : this.tree.get(parentName);
    if (parentName === undefined) throw new CranberriesError('ALREADY_EXISTS', `node '/' already exists`);
    if (!parent) throw new CranberriesError('NOT_FOUND', `cannot create '${path}': parent '${parentName}' does not exist`);
    if (parent.owner !== undefined) throw new CranberriesError('FAILED_PRECONDITION', `cannot create '${path}': parent '${parentName}' is ephemeral`);
    const sequential = mode === 'persistent-sequential' || mode === 'ephemeral-sequential';
    const created = sequential ? `${path}${sequenceSuffix(parent.sequence++)}` : path;
    if (this.tree.has(created)) throw new CranberriesError('ALREADY_EXISTS', `node '${created}' already exists`);
    const ephemeral = mode === 'ephemeral' || mode === 'ephemeral-sequential';
    this.tree.set(created, { ...newNode(data.slice(), ephemeral ? session : undefined), modification: ++this.modifications });
    parent.children.add(baseName(created));
    this.notify(created, parentName);
    return created;
  }

  set(path: string, data: Uint8Array, expectedVersion?: number): number {
    validatePath(path);
    const node = this.tree.get(path);
    if (!node) throw new CranberriesError('NOT_FOUND', `cannot set '${path}': node does not exist`);
    if (expectedVersion !== undefined && expectedVersion !== node.version) {
      throw new CranberriesError('FAILED_PRECONDITION', `cannot set '${path}': version is ${node.version}, expected ${expectedVersion}`);
    }
    node.data = data.slice();
    node.version++;
    node.modification = ++this.modifications;
    this.notify(path);
    return node.version;
  }

  remove(path: string, options: { expectedVersion?: number; recursive?: boolean } = {}): void {
    validatePath(path);
    if (path === '/') throw new CranberriesError('INVALID_ARGUMENT', `the root node cannot be removed`);
    const node = this.tree.get(path);
    if (!node) return;
    if (options.expectedVersion !== undefined && options.expectedVersion !== node.version) {
      throw new CranberriesError('FAILED_PRECONDITION', `cannot remove '${path}': version is ${node.version}, expected ${options.expectedVersion}`);
    }
    if (node.children.size > 0 && !options.recursive) {
      throw new CranberriesError('FAILED_PRECONDITION', `cannot remove '${path}': it has children (${node.children.size})`);
    }
    this.removeOne(path);
  }

  children(path: string): readonly string[] {
    validatePath(path);
    const node = this.tree.get(path);
    return node ? [...node.children].sort() : [];
  }

  /** Registers a watcher of one path; returns its removal. */
  addWatcher(path: string, listener: WatchListener): () => void {
    validatePath(path);
    return addListener(this.watchers, path, listener);
  }

  /** Removes a node and its subtree, children first (as a recursive ZooKeeper delete does). */
  private removeOne(path: string): void {
    const node = this.tree.get(path);
    if (!node) return;
    for (const child of [...node.children]) this.removeOne(childPath(path, child));
    this.tree.delete(path);
    const parentName = parentPath(path)!;
    this.tree.get(parentName)?.children.delete(baseName(path));
    this.notify(path, parentName);
  }

  /** Registers a watcher of a folder's children; returns its removal. */
  addFolderWatcher(parent: string, listener: FolderListener): () => void {
    validatePath(parent);
    return addListener(this.folderWatchers, parent, listener);
  }

  /** `changed` was created, set or removed; `also` are nodes whose children changed with it. */
  private notify(changed: string, ...also: string[]): void {
    const listeners = [changed, ...also].flatMap((p) => [...(this.watchers.get(p) ?? [])]);
    // Every folder above `changed` hears of its child on the way down (as a recursive watch does).
    const folderCalls: (() => void)[] = [];
    for (let path = changed, parent = parentPath(path); parent !== undefined; path = parent, parent = parentPath(path)) {
      const name = baseName(path);
      for (const listener of this.folderWatchers.get(parent) ?? []) folderCalls.push(() => listener(name));
    }
    if (listeners.length === 0 && folderCalls.length === 0) return;
    // Delivered after the mutating call returns, as a network store's notification would be.
    setImmediate(() => {
      for (const listener of listeners) listener();
      for (const call of folderCalls) call();
    });
  }
}

/** Adds `listener` to the set at `key`; returns its removal, which drops the set once empty. */
function addListener<L>(sets: Map<string, Set<L>>, key: string, listener: L): () => void {
  let set = sets.get(key);
  if (!set) sets.set(key, (set = new Set()));
  set.add(listener);
  return () => {
    set.delete(listener);
    if (set.size === 0 && sets.get(key) === set) sets.delete(key);
  };
}

function newNode(data: Uint8Array, owner: number | undefined): TreeNode {
  return { data, version: 0, modification: 0, owner, children: new Set(), sequence: 0 };
}

interface Watch {
  readonly path: string;
  readonly onChange: () => void;
  removeWatcher: () => void;
}

/** One client session on a `MemoryStoreServer`. */
export class MemoryStore implements CoordinationStore {
  private session: number | undefined;
  private state: SessionState = 'disconnected';
  private cutOff = false;
  private readonly watches = new Set<Watch>();
  private readonly stateListeners = new Set<(state: SessionState) => void>();

  /** Without a server, the store gets a private one. */
  constructor(readonly server: MemoryStoreServer = new MemoryStoreServer()) {}

  get sessionState(): SessionState {
    return this.state;
  }

  /** The current session id (for tests). */
  get sessionId(): number | undefined {
    return this.session;
  }

  start(): Promise<void> {
    if (this.session === undefined) {
      this.session = this.server.openSession();
      this.cutOff = false;
      this.setState('connected');
    }
    return Promise.resolve();
  }

  /** Closes the session: its ephemeral nodes are removed at once. */
  stop(): Promise<void> {
    if (this.session !== undefined) this.server.closeSession(this.session);
    this.session = undefined;
    for (const watch of this.watches) watch.removeWatcher();
    this.watches.clear();
    this.setState('disconnected');
    return Promise.resolve();
  }

  /** Test aid: the connection drops; the session (and its ephemerals) lives on until expired. */
  disconnect(): void {
    if (this.session === undefined || this.cutOff) return;
    this.cutOff = true;
    this.setState('disconnected');
  }

  /** Test aid: the connection comes back within the session; every watch listener runs once. */
  reconnect(): void {
    if (this.session === undefined || !this.cutOff) return;
    this.cutOff = false;
    if (!this.server.hasSession(this.session)) {
      this.renewSession();
      return;
    }
    this.setState('connected');
    this.notifyAllWatches();
  }

  /**
   * Test aid: the server expires this client's session (its ephemerals vanish). A connected client
   * learns of it at once and opens a new session (`expired`, then `connected`); a disconnected one
   * learns of it when it reconnects, as a ZooKeeper client does.
   */
  expireSession(): void {
    if (this.session === undefined) return;
    this.server.closeSession(this.session);
    if (!this.cutOff) this.renewSession();
  }

  get(path: string): Promise<StoreNode | undefined> {
    return this.op(() => this.server.get(path));
  }

  create(path: string, data: Uint8Array, mode: CreateMode): Promise<string> {
    return this.op((session) => this.server.create(session, path, data, mode));
  }

  set(path: string, data: Uint8Array, expectedVersion?: number): Promise<number> {
    return this.op(() => this.server.set(path, data, expectedVersion));
  }

  remove(path: string, options?: { expectedVersion?: number; recursive?: boolean }): Promise<void> {
    return this.op(() => this.server.remove(path, options));
  }

  /** One by one: in process there is no round trip to save. */
  writeEach(writes: readonly StoreWrite[]): Promise<StoreWriteOutcome[]> {
    return writeOneByOne(this, writes);
  }

  getMany(paths: readonly string[]): Promise<(StoreNode | undefined)[]> {
    return this.op(() => paths.map((path) => this.server.get(path)));
  }

  children(path: string): Promise<readonly string[]> {
    return this.op(() => this.server.children(path));
  }

  ensurePath(path: string): Promise<void> {
    return this.op((session) => {
      validatePath(path);
      for (const prefix of pathPrefixes(path)) {
        if (this.server.get(prefix) === undefined) this.server.create(session, prefix, new Uint8Array(0), 'persistent');
      }
    });
  }

  /** `options.children` is not needed here: a watch costs nothing to arm in process. */
  watch(path: string, onChange: () => void): () => void {
    validatePath(path);
    const watch: Watch = {
      path,
      onChange,
      removeWatcher: this.server.addWatcher(path, () => {
        // A cut-off client hears nothing; it catches up with one call per watch on reconnect.
        if (!this.cutOff && this.watches.has(watch)) onChange();
      }),
    };
    this.watches.add(watch);
    return () => {
      watch.removeWatcher();
      this.watches.delete(watch);
    };
  }

  watchFolder(parent: string, onChange: (name: string | undefined) => void): () => void {
    const watch: Watch = {
      path: parent,
      onChange: () => onChange(undefined),
      removeWatcher: this.server.addFolderWatcher(parent, (name) => {
        if (!this.cutOff && this.watches.has(watch)) onChange(name);
      }),
    };
    this.watches.add(watch);
    return () => {
      watch.removeWatcher();
      this.watches.delete(watch);
    };
  }

  onSessionState(listener: (state: SessionState) => void): () => void {
    this.stateListeners.add(listener);
    return () => this.stateListeners.delete(listener);
  }

  private renewSession(): void {
    this.setState('expired');
    this.session = this.server.openSession();
    this.setState('connected');
    this.notifyAllWatches();
  }

  private notifyAllWatches(): void {
    const watches = [...this.watches];
    setImmediate(() => {
      for (const watch of watches) if (this.watches.has(watch)) watch.onChange();
    });
  }

  private op<T>(fn: (session: number) => T): Promise<T> {
    try {
      const session = this.session;
      if (session === undefined || this.cutOff) throw unavailable('coordination store: not connected');
      return Promise.resolve(fn(session));
    } catch (error) {
      return Promise.reject(error instanceof Error ? error : new Error(String(error)));
    }
  }

  private setState(state: SessionState): void {
    if (this.state === state) return;
    this.state = state;
    for (const listener of [...this.stateListeners]) {
      try {
        listener(state);
      } catch {
        // A listener's failure must not break the store.
      }
    }
  }
}
