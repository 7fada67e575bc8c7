/**
 * The coordination store over Apache ZooKeeper (`node-zookeeper-client`).
 *
 * Guarantees on top of the raw client:
 * - **Fail fast.** While not connected every operation rejects at once with UNAVAILABLE; an
 *   operation in flight is bounded by `operationTimeoutMs` (the library would otherwise queue it
 *   until the connection returns, possibly forever).
 * - **Reconnect with jittered exponential backoff.** The library reconnects by itself, waiting a
 *   random time in [0, spinDelay) between rounds; this store raises `spinDelay` exponentially per
 *   failed attempt (capped) and resets it once connected.
 * - **Watches that last.** ZooKeeper watches are one-shot; each `watch()` re-arms itself (before
 *   notifying, so no change slips between notification and the caller's read), survives
 *   reconnects and new sessions, and its listener runs once after every reconnect because changes
 *   may have been missed while cut off. Notifications are coalesced per watch.
 * - **Folders followed whole.** `watchFolder` is one persistent recursive watch and `getMany` reads
 *   in `multiRead` requests (ZooKeeper 3.6 requests the library lacks: `zookeeper-requests.ts`).
 * - **Session expiry.** The client learns of it only when it reconnects (`expired`); the store
 *   then drops that client, opens a new session with a fresh client and reports `expired` →
 *   `connected`, after which owners recreate their ephemeral nodes.
 * - **Chroot.** The connection string's chroot is applied here (and created when missing), so
 *   callers only see their own paths.
 */
import { setImmediate as yieldToEventLoop } from 'node:timers/promises';
import { CreateMode as ZkCreateMode, Exception, State, createClient, type Client, type Stat } from 'node-zookeeper-client';
import { CranberriesError, asCranberriesError, unavailable } from '../../core/index.js';
import type { Logger } from '../../core/index.js';
import type { CoordinationStore, CreateMode, SessionState, StoreNode, StoreWrite, StoreWriteOutcome, WatchOptions } from './coordination-store.js';
import { writeOne } from './write-each.js';
import { baseName, childPath, parentPath, pathPrefixes, validatePath } from './store-paths.js';
import { InFlightLimit } from './in-flight-limit.js';
import { abandonClient, closeClient, tuneReconnects, writeRequestsInBatches } from './zookeeper-client-tuning.js';
import { NODE_CREATED, NODE_DATA_CHANGED, NODE_DELETED, addRecursiveWatch, installRequests, multiRead, removeRecursiveWatch, type ReadOutcome } from './zookeeper-requests.js';
import { fromZooKeeperError, parseZooKeeperAddress, zooKeeperErrorCode, type ZooKeeperAddress } from './zookeeper-address.js';
import { clusterAcls, openAcls, type ZooKeeperAuth } from './zookeeper-auth.js';

export interface ZooKeeperStoreOptions {
  /** `host:port[,host:port...][/chroot]` */
  readonly connectionString: string;
  /** Requested session timeout; the server clamps it into [2, 20] × its tickTime. Default 10 s. */
  readonly sessionTimeoutMs?: number;
  /** Upper bound of one operation. Default 5 s. */
  readonly operationTimeoutMs?: number;
  /** How long `start()` waits for the first connection. Default 15 s. */
  readonly connectTimeoutMs?: number;
  /** Reconnect backoff: first delay bound and cap, in ms. Defaults 100 ms and 5 s (at most a third of the session timeout). */
  readonly backoffInitialMs?: number;
  readonly backoffMaxMs?: number;
  readonly logger?: Logger;
  /**
   * The cluster's ZooKeeper identity (`--zookeeper-auth`): the session authenticates with it
   * (digest scheme) and every node this store creates gets an ACL giving that identity all rights
   * and nobody else any. Absent: nodes are open to every client (ZooKeeper's default).
   */
  readonly auth?: ZooKeeperAuth | undefined;
}

const DEFAULTS = { sessionTimeoutMs: 10_000, operationTimeoutMs: 5_000, connectTimeoutMs: 15_000, backoffInitialMs: 100, backoffMaxMs: 5_000 };

/**
 * Writes per `multi` request of `writeEach`, and their data bytes at most (ZooKeeper's
 * `jute.maxbuffer`, 1 MB by default, bounds a request). 100, not more: encoding and decoding a
 * `multi` is one synchronous stretch of the event loop each.
 */
const MULTI_OPS = 100;
const MULTI_BYTES = 256 * 1024;
/** `multi` requests of one `writeEach` in flight at once: enough to keep the server busy. */
const MULTIS_IN_FLIGHT = 4;

/**
 * Nodes per `multiRead` request of `getMany`, and such requests of one `getMany` in flight at once:
 * decoding an answer is one synchronous stretch of the event loop, and a socket chunk then holds a
 * few answers, not dozens.
 */
const MULTI_READ_NODES = 100;
const MULTI_READS_IN_FLIGHT = 2;

/** Requests one client has in flight at most; see `InFlightLimit`. */
const MAX_IN_FLIGHT = 64;

const CREATE_MODES: Record<CreateMode, number> = {
  persistent: ZkCreateMode.PERSISTENT,
  ephemeral: ZkCreateMode.EPHEMERAL,
  'persistent-sequential': ZkCreateMode.PERSISTENT_SEQUENTIAL,
  'ephemeral-sequential': ZkCreateMode.EPHEMERAL_SEQUENTIAL,
};

interface Watch {
  readonly path: string;
  readonly onChange: () => void;
  /** Children changes matter too: armed with a children watcher as well. */
  readonly children: boolean;
  /** Stable function: the library ignores a watcher already registered on a path. */
  readonly onEvent: () => void;
  active: boolean;
  pending: boolean;
  /** The node's identity when last armed (creation, data and children zxids, or `absent`). */
  fingerprint: string | undefined;
}

/** One `watchFolder` call. */
interface FolderWatch {
  readonly onChange: (name: string | undefined) => void;
  active: boolean;
}

type Callback<T> = (error: unknown, value?: T) => void;

export class ZooKeeperStore implements CoordinationStore {
  private readonly address: ZooKeeperAddress;
  private readonly options: typeof DEFAULTS;
  private client: Client | undefined;
  /** The client's requests in flight (one limit per client: a dropped client's unanswered requests hold no slot of the next). */
  private limit = new InFlightLimit(MAX_IN_FLIGHT);
  /** Bumped for every new client, so events of a replaced client are ignored. */
  private generation = 0;
  private state: SessionState = 'disconnected';
  private everConnected = false;
  private stopped = true;
  private readonly watches = new Set<Watch>();
  /** Folder watches by folder: one persistent recursive ZooKeeper watch per folder serves them all. */
  private readonly folderWatches = new Map<string, Set<FolderWatch>>();
  private readonly stateListeners = new Set<(state: SessionState) => void>();
  private firstConnect: { resolve: () => void; reject: (error: Error) => void } | undefined;
  /** ACL of every node created. */
  private readonly acls: ReturnType<typeof openAcls>;

  constructor(private readonly config: ZooKeeperStoreOptions) {
    this.address = parseZooKeeperAddress(config.connectionString);
    this.options = {
      sessionTimeoutMs: config.sessionTimeoutMs ?? DEFAULTS.sessionTimeoutMs,
      operationTimeoutMs: config.operationTimeoutMs ?? DEFAULTS.operationTimeoutMs,
      connectTimeoutMs: config.connectTimeoutMs ?? DEFAULTS.connectTimeoutMs,
      backoffInitialMs: config.backoffInitialMs ?? DEFAULTS.backoffInitialMs,
      backoffMaxMs: config.backoffMaxMs ?? DEFAULTS.backoffMaxMs,
    };
    this.acls = config.auth ? clusterAcls(config.auth) : openAcls();
  }

  get sessionState(): SessionState {
    return this.state;
  }

  /** The session timeout the server granted (ms), once connected. */
  get negotiatedSessionTimeoutMs(): number | undefined {
    return this.client?.getSessionTimeout();
  }

  /** Connects (creating the chroot if missing); rejects with UNAVAILABLE after `connectTimeoutMs`. */
  async start(): Promise<void> {
    if (!this.stopped) return;
    this.stopped = false;
    const connected = new Promise<void>((resolve, reject) => (this.firstConnect = { resolve, reject }));
    const timer = setTimeout(() => {
      this.firstConnect?.reject(unavailable(`could not connect to ZooKeeper at ${this.config.connectionString} within ${this.options.connectTimeoutMs} ms`));
    }, this.options.connectTimeoutMs);
    this.openClient();
    try {
      await connected;
    } catch (error) {
      await this.stop();
      throw error;
    } finally {
      clearTimeout(timer);
      this.firstConnect = undefined;
    }
  }

  /** Closes the session (its ephemeral nodes vanish at once); pending operations fail. */
  async stop(): Promise<void> {
    this.stopped = true;
    for (const watch of this.watches) watch.active = false;
    this.watches.clear();
    for (const watches of this.folderWatches.values()) for (const watch of watches) watch.active = false;
    this.folderWatches.clear();
    const client = this.client;
    this.client = undefined;
    this.generation++;
    const wasConnected = this.state === 'connected';
    this.setState('disconnected');
    if (!client) return;
    if (!wasConnected) {
      // Closing a client between connection attempts would make the library open a new session
      // on its next attempt; end its reconnect loop instead (a session it had times out).
      abandonClient(client);
      return;
    }
    await closeClient(client, Math.min(2000, this.options.operationTimeoutMs));
  }

  get(path: string): Promise<StoreNode | undefined> {
    return this.run<StoreNode | undefined>('get', path, (client, full, done) =>
      client.getData(full, (error, data, stat) => {
        if (zooKeeperErrorCode(error) === Exception.NO_NODE) return done(null, undefined);
        done(error, error ? undefined : storeNode(data, stat));
      }),
    );
  }

  /**
   * In `multiRead` requests of up to `MULTI_READ_NODES` nodes, `MULTI_READS_IN_FLIGHT` at once. They
   * ask the server, like a `get` of a node nobody watches.
   */
  async getMany(paths: readonly string[]): Promise<(StoreNode | undefined)[]> {
    for (const path of paths) validatePath(path);
    const nodes = new Array<StoreNode | undefined>(paths.length);
    let next = 0;
    const reader = async (): Promise<void> => {
      while (next < paths.length) {
        const from = next;
        next = Math.min(paths.length, from + MULTI_READ_NODES);
        const group = paths.slice(from, next);
        const outcomes = await this.run<ReadOutcome[]>('get', group[0]!, (client, _full, done) =>
          multiRead(
            client,
            group.map((path) => this.full(path)),
            done,
          ),
        );
        outcomes.forEach((outcome, i) => {
          if (typeof outcome !== 'number') nodes[from + i] = { data: outcome.data, version: outcome.version, modification: outcome.modified };
          else if (outcome !== Exception.NO_NODE) throw fromZooKeeperError({ code: outcome, name: `error ${outcome}` }, 'get', group[i]!);
        });
      }
    };
    await Promise.all(Array.from({ length: Math.min(MULTI_READS_IN_FLIGHT, Math.ceil(paths.length / MULTI_READ_NODES)) }, reader));
    return nodes;
  }

  create(path: string, data: Uint8Array, mode: CreateMode): Promise<string> {
    return this.run<string>('create', path, (client, full, done) =>
      client.create(full, toBuffer(data), this.acls, CREATE_MODES[mode], (error, created) => done(error, error ? undefined : this.local(created))),
    );
  }

  set(path: string, data: Uint8Array, expectedVersion?: number): Promise<number> {
    return this.run<number>('set', path, (client, full, done) => client.setData(full, toBuffer(data), expectedVersion ?? -1, (error, stat: Stat) => done(error, error ? undefined : stat.version)));
  }

  /**
   * In `multi` requests of up to `MULTI_OPS` writes (and `MULTI_BYTES` of data): one round trip and
   * one transaction log entry each. A `multi` is all or nothing, so one that a write refused (a
   * compare-and-set conflict, a node that exists) is applied again write by write, each with its
   * own outcome — the rare path; the common one costs a request per `MULTI_OPS` writes.
   */
  async writeEach(writes: readonly StoreWrite[]): Promise<StoreWriteOutcome[]> {
    const outcomes: StoreWriteOutcome[] = new Array<StoreWriteOutcome>(writes.length);
    const groups: number[][] = [];
    let group: number[] = [];
    let bytes = 0;
    writes.forEach((write, i) => {
      const size = write.path.length + (write.kind === 'remove' ? 0 : write.data.byteLength);
      if (group.length > 0 && (group.length >= MULTI_OPS || bytes + size > MULTI_BYTES)) {
        groups.push(group);
        group = [];
        bytes = 0;
      }
      group.push(i);
      bytes += size;
    });
    if (group.length > 0) groups.push(group);
    // A few multis in flight, each encoded in its own turn of the event loop: queued all at once,
    // the answers of a few would start (and encode) dozens of waiting multis in one turn.
    let next = 0;
    const sender = async (): Promise<void> => {
      while (next < groups.length) {
        const indices = groups[next++]!;
        await yieldToEventLoop();
        const applied = await this.multi(indices.map((i) => writes[i]!)).catch(() => undefined);
        if (applied) indices.forEach((i, j) => (outcomes[i] = applied[j]!));
        else await Promise.all(indices.map(async (i) => (outcomes[i] = await writeOne(this, writes[i]!))));
      }
    };
    await Promise.all(Array.from({ length: Math.min(MULTIS_IN_FLIGHT, groups.length) }, sender));
    return outcomes;
  }

  /** One `multi` request; resolves to each write's outcome when all applied, rejects when any was refused. */
  private multi(writes: readonly StoreWrite[]): Promise<StoreWriteOutcome[]> {
    for (const write of writes) validatePath(write.path);
    return this.run<StoreWriteOutcome[]>('multi', writes[0]!.path, (client, _full, done) => {
      const transaction = client.transaction();
      // The library turns an expected version of 0 into -1 (`version || -1`), which would make a
      // compare-and-set against a node's first version unconditional: set each op's version after.
      const ops = (transaction as unknown as { ops: { version?: number }[] }).ops;
      for (const write of writes) {
        const full = this.full(write.path);
        if (write.kind === 'create') transaction.create(full, toBuffer(write.data), this.acls, CREATE_MODES[write.mode]);
        else if (write.kind === 'set') transaction.setData(full, toBuffer(write.data), write.expectedVersion ?? -1);
        else transaction.remove(full, write.expectedVersion ?? -1);
        if (write.kind !== 'create') ops[ops.length - 1]!.version = write.expectedVersion ?? -1;
      }
      transaction.commit((error, results) => {
        if (error) return done(error);
        const answers = results as readonly ({ stat?: Stat } | undefined)[];
        const outcomes: StoreWriteOutcome[] = [];
        for (const [i, write] of writes.entries()) {
          const stat = answers[i]?.stat;
          // Not from a conforming server; the writes are then tried one by one, which reports those
          // applied here as conflicts, and the caller reads the nodes again.
          if (write.kind === 'set' && !stat) return done(new Error(`multi: no stat in the answer to set '${write.path}'`));
          outcomes.push({ version: write.kind === 'create' ? 0 : write.kind === 'remove' ? -1 : stat!.version });
        }
        done(null, outcomes);
      });
    });
  }

  async remove(path: string, options: { expectedVersion?: number; recursive?: boolean } = {}): Promise<void> {
    validatePath(path);
    if (path === '/') throw new CranberriesError('INVALID_ARGUMENT', 'the root node cannot be removed');
    if (options.recursive) {
      if (options.expectedVersion !== undefined) {
        const node = await this.get(path);
        if (!node) return;
        if (node.version !== options.expectedVersion) {
          throw new CranberriesError('FAILED_PRECONDITION', `ZooKeeper remove '${path}': version is ${node.version}, expected ${options.expectedVersion}`);
        }
      }
      // Children first; a child created meanwhile makes the parent's delete fail NOT_EMPTY: retry.
      for (let attempt = 0; ; attempt++) {
        for (const child of await this.children(path)) await this.remove(childPath(path, child), { recursive: true });
        try {
          return await this.removeOne(path, options.expectedVersion);
        } catch (error) {
          if (!(error instanceof CranberriesError && error.code === 'FAILED_PRECONDITION' && /NOT_EMPTY/.test(error.message)) || attempt >= 4) throw error;
        }
      }
    }
    return this.removeOne(path, options.expectedVersion);
  }

  children(path: string): Promise<readonly string[]> {
    return this.run<readonly string[]>('children', path, (client, full, done) =>
      client.getChildren(full, (error, children) => {
        if (zooKeeperErrorCode(error) === Exception.NO_NODE) return done(null, []);
        done(error, error ? undefined : [...children].sort());
      }),
    );
  }

  async ensurePath(path: string): Promise<void> {
    validatePath(path);
    if (path === '/' || (await this.get(path)) !== undefined) return;
    for (const prefix of pathPrefixes(path)) await this.createIfMissing(this.full(prefix), prefix);
  }

  watch(path: string, onChange: () => void, options?: WatchOptions): () => void {
    validatePath(path);
    const watch: Watch = {
      path,
      onChange,
      children: options?.children ?? true,
      active: true,
      pending: false,
      fingerprint: undefined,
      onEvent: () => {
        if (watch.active) this.arm(watch, true);
      },
    };
    this.watches.add(watch);
    this.arm(watch, false);
    return () => {
      // The library cannot unregister a watcher; an inactive one is ignored when it fires.
      watch.active = false;
      this.watches.delete(watch);
    };
  }

  /**
   * One persistent recursive ZooKeeper watch per folder (ZooKeeper 3.6 or newer), shared by every
   * `watchFolder` of it, added again on every reconnect: the server drops a connection's watches
   * with it, and the library re-sets only its own one-shot ones.
   */
  watchFolder(parent: string, onChange: (name: string | undefined) => void): () => void {
    validatePath(parent);
    const watch: FolderWatch = { onChange, active: true };
    let watches = this.folderWatches.get(parent);
    if (!watches) {
      this.folderWatches.set(parent, (watches = new Set()));
      this.armFolder(parent);
    }
    watches.add(watch);
    return () => {
      watch.active = false;
      if (!watches.delete(watch) || watches.size > 0 || this.folderWatches.get(parent) !== watches) return;
      this.folderWatches.delete(parent);
      if (this.state !== 'connected') return; // the connection's watches are gone with it, or go with it
      void this.run<void>('unwatch', parent, (client, full, done) => removeRecursiveWatch(client, full, done)).catch(() => {
        // Only events nobody listens to follow; they end with the connection.
      });
    };
  }

  onSessionState(listener: (state: SessionState) => void): () => void {
    this.stateListeners.add(listener);
    return () => this.stateListeners.delete(listener);
  }

  /** Adds the folder's persistent recursive watch; one refused (not a lost connection) is tried again, loudly. */
  private armFolder(parent: string): void {
    if (this.state !== 'connected') return; // added on (re)connect
    const watches = this.folderWatches.get(parent);
    this.run<void>('watch', parent, (client, full, done) => addRecursiveWatch(client, full, done)).catch((error: unknown) => {
      if (this.folderWatches.get(parent) !== watches || this.state !== 'connected') return; // stopped, or added again on reconnect
      this.config.logger?.error({ err: String(error), path: parent }, 'ZooKeeper refused a persistent recursive watch (ZooKeeper 3.6 or newer is required); retrying in 1 s');
      setTimeout(() => {
        if (this.folderWatches.get(parent) === watches) this.armFolder(parent);
      }, 1000).unref();
    });
  }

  /** A notification from the server: the folder watches above the node hear of its child on the way down. */
  private onWatchEvent(generation: number, type: number, full: string): void {
    if (generation !== this.generation || this.folderWatches.size === 0) return;
    if (type !== NODE_CREATED && type !== NODE_DELETED && type !== NODE_DATA_CHANGED) return;
    for (let path = this.local(full), parent = parentPath(path); parent !== undefined; path = parent, parent = parentPath(path)) {
      const watches = this.folderWatches.get(parent);
      if (!watches) continue;
      const name = baseName(path);
      for (const watch of watches) {
        if (!watch.active) continue;
        try {
          watch.onChange(name);
        } catch {
          // A listener's failure must not break the store.
        }
      }
    }
  }

  // ---- connection life ----

  private openClient(): void {
    const generation = ++this.generation;
    const client = createClient(this.address.servers, {
      sessionTimeout: this.options.sessionTimeoutMs,
      spinDelay: this.options.backoffInitialMs,
      retries: 0,
    });
    // Sent with every (re)connection's handshake, so a new session is authenticated before its first operation.
    if (this.config.auth) client.addAuthInfo('digest', Buffer.from(`${this.config.auth.user}:${this.config.auth.password}`));
    this.client = client;
    this.limit = new InFlightLimit(MAX_IN_FLIGHT);
    tuneReconnects(client, {
      initialMs: this.options.backoffInitialMs,
      // Waiting longer than a third of the session timeout between attempts would lose a session
      // that a quicker attempt could still resume.
      maxMs: Math.max(this.options.backoffInitialMs, Math.min(this.options.backoffMaxMs, Math.floor(this.options.sessionTimeoutMs / 3))),
      handshakeMs: Math.max(1000, Math.min(5000, Math.floor(this.options.sessionTimeoutMs / 2))),
    });
    if (!installRequests(client, (type, path) => this.onWatchEvent(generation, type, path))) {
      throw new CranberriesError('INTERNAL', 'node-zookeeper-client is not the version this store was written for (1.1.3): cannot send multiRead and addWatch');
    }
    writeRequestsInBatches(client);
    client.on('state', (state: State) => {
      if (generation !== this.generation || this.stopped) return;
      if (state === State.SYNC_CONNECTED) void this.onConnected(client, generation);
      else if (state === State.DISCONNECTED) this.onDisconnected();
      else if (state === State.EXPIRED) this.onExpired();
    });
    client.connect();
  }

  private async onConnected(client: Client, generation: number): Promise<void> {
    if (!this.everConnected) {
      // Before anything else: on a server that cannot follow folders the cluster would be blind.
      const unsupported = await this.requestsUnsupported(client);
      if (generation !== this.generation) return;
      if (unsupported) {
        this.firstConnect?.reject(unsupported);
        return;
      }
    }
    if (!this.everConnected && this.address.chroot) {
      // The chroot must exist before anything else happens under it.
      try {
        for (const prefix of pathPrefixes(this.address.chroot)) await this.createIfMissingWith(client, prefix);
      } catch (error) {
        this.config.logger?.warn({ err: String(error), chroot: this.address.chroot }, 'could not create the ZooKeeper chroot; retrying on the next connection');
        return;
      }
      if (generation !== this.generation) return;
    }
    this.everConnected = true;
    this.config.logger?.info({ zookeeper: this.config.connectionString, sessionTimeoutMs: client.getSessionTimeout() }, 'connected to ZooKeeper');
    this.setState('connected');
    this.firstConnect?.resolve();
    // Changes may have been missed while away: re-arm every watch and tell every listener once.
    for (const watch of this.watches) {
      this.arm(watch, false);
      this.notify(watch);
    }
    for (const [parent, watches] of this.folderWatches) {
      this.armFolder(parent);
      setImmediate(() => {
        for (const watch of watches) if (watch.active) watch.onChange(undefined);
      });
    }
  }

  private onDisconnected(): void {
    this.config.logger?.warn({ zookeeper: this.config.connectionString }, 'disconnected from ZooKeeper; reconnecting');
    this.setState('disconnected');
  }

  private onExpired(): void {
    this.config.logger?.warn({ zookeeper: this.config.connectionString }, 'ZooKeeper session expired; opening a new session');
    this.setState('expired');
    // The expired client is finished (the library stops retrying it); a new one opens a new session.
    this.openClient();
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

  // ---- operations ----

  /** Runs one library call: fails fast when not connected, bounded by the operation timeout. */
  private run<T>(what: string, path: string, call: (client: Client, full: string, done: Callback<T>) => void): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      try {
        validatePath(path);
      } catch (error) {
        return reject(asCranberriesError(error));
      }
      const client = this.client;
      if (!client || this.state !== 'connected') {
        return reject(unavailable(`ZooKeeper is not connected (${this.config.connectionString}): cannot ${what} '${path}'`));
      }
      let settled = false;
      // The timeout counts from the call, waiting for a slot included.
      const timer = setTimeout(() => {
        settled = true;
        reject(unavailable(`ZooKeeper did not answer ${what} '${path}' within ${this.options.operationTimeoutMs} ms`));
      }, this.options.operationTimeoutMs);
      const done: Callback<T> = (error, value) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        if (error) reject(fromZooKeeperError(error, what, path));
        else resolve(value as T);
      };
      this.limit.run((release) => {
        if (settled) return release(); // timed out while waiting
        if (client !== this.client || this.state !== 'connected') {
          release();
          return done(unavailable(`ZooKeeper is not connected (${this.config.connectionString}): cannot ${what} '${path}'`));
        }
        try {
          call(client, this.full(path), (error, value) => {
            release();
            done(error, value);
          });
        } catch (error) {
          release();
          done(new CranberriesError('INVALID_ARGUMENT', `ZooKeeper ${what} '${path}': ${String(error)}`));
        }
      });
    });
  }

  private removeOne(path: string, expectedVersion: number | undefined): Promise<void> {
    return this.run<void>('remove', path, (client, full, done) => client.remove(full, expectedVersion ?? -1, (error) => done(zooKeeperErrorCode(error) === Exception.NO_NODE ? null : error)));
  }

  private createIfMissing(full: string, path: string): Promise<void> {
    return this.run<void>('create', path, (client, _full, done) =>
      client.create(full, this.acls, CREATE_MODES.persistent, (error) => done(zooKeeperErrorCode(error) === Exception.NODE_EXISTS ? null : error)),
    );
  }

  /**
   * Whether the server lacks the ZooKeeper 3.6 requests the store relies on (`multiRead`,
   * `addWatch`): a server before 3.6 answers an empty `multiRead` with UNIMPLEMENTED. Any other
   * outcome, even none within the operation timeout, is left to the requests that follow.
   */
  private requestsUnsupported(client: Client): Promise<CranberriesError | undefined> {
    return new Promise((resolve) => {
      const timer = setTimeout(() => resolve(undefined), this.options.operationTimeoutMs);
      multiRead(client, [], (error) => {
        clearTimeout(timer);
        if (zooKeeperErrorCode(error) !== Exception.UNIMPLEMENTED) return resolve(undefined);
        resolve(
          new CranberriesError('FAILED_PRECONDITION', `ZooKeeper at ${this.config.connectionString} does not implement multiRead and persistent watches: Cranberries needs ZooKeeper 3.6 or newer`),
        );
      });
    });
  }

  /** Creates a raw (un-chrooted) path on a given client, before the store reports `connected`. */
  private createIfMissingWith(client: Client, full: string): Promise<void> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(unavailable(`ZooKeeper did not answer create '${full}'`)), this.options.operationTimeoutMs);
      client.create(full, this.acls, CREATE_MODES.persistent, (error) => {
        clearTimeout(timer);
        if (error && zooKeeperErrorCode(error) !== Exception.NODE_EXISTS) reject(fromZooKeeperError(error, 'create', full));
        else resolve();
      });
    });
  }

  /**
   * Arms the one-shot watchers of a watch (data/existence, and children when the node exists and
   * they matter) and reads the node's identity as it is once armed. A change that landed between a
   * watcher firing and this re-arm fires nothing itself, but it shows in the identity: so a re-arm
   * after an event notifies when, and only when, the identity differs from the one seen at the
   * previous arm.
   */
  private arm(watch: Watch, notifyOnChange: boolean): void {
    const client = this.client;
    if (!client || this.state !== 'connected' || !watch.active) return; // armed again on (re)connect
    const full = this.full(watch.path);
    const settle = (fingerprint: string): void => {
      if (!watch.active || fingerprint === watch.fingerprint) return;
      watch.fingerprint = fingerprint;
      if (notifyOnChange) this.notify(watch);
    };
    const limit = this.limit;
    const call = (request: (release: () => void) => void): void =>
      limit.run((release) => {
        if (!watch.active || client !== this.client) return release(); // stopped, or a new client arms it again
        try {
          request(release);
        } catch {
          release(); // Only a malformed path throws, and watch() validated it.
        }
      });
    call((release) =>
      client.exists(full, watch.onEvent, (error, stat) => {
        release();
        if (error || !watch.active) return; // connection trouble: re-armed and notified on reconnect
        if (!stat) return settle('absent');
        if (!watch.children) return settle(dataIdentity(stat));
        // Read after the data watcher is set: any later data change fires it again.
        call((releaseChildren) =>
          client.getChildren(full, watch.onEvent, (childError, _children, childStat) => {
            releaseChildren();
            if (zooKeeperErrorCode(childError) === Exception.NO_NODE) return settle('absent');
            if (!childError) settle(identity(childStat));
          }),
        );
      }),
    );
  }

  private notify(watch: Watch): void {
    if (watch.pending) return;
    watch.pending = true;
    setImmediate(() => {
      watch.pending = false;
      if (!watch.active) return;
      try {
        watch.onChange();
      } catch {
        // A listener's failure must not break the store.
      }
    });
  }

  private full(path: string): string {
    const chroot = this.address.chroot;
    if (!chroot) return path;
    return path === '/' ? chroot : `${chroot}${path}`;
  }

  private local(full: string): string {
    const chroot = this.address.chroot;
    if (!chroot || !full.startsWith(chroot)) return full;
    return full.length === chroot.length ? '/' : full.slice(chroot.length);
  }
}

function storeNode(data: Buffer | undefined, stat: Stat): StoreNode {
  return { data: new Uint8Array(data ?? new Uint8Array(0)), version: stat.version, modification: stat.mzxid.toString('hex') };
}

/** A node's identity for a data-only watch: creation and last data change. */
function dataIdentity(stat: Stat): string {
  return `${stat.czxid.toString('hex')}:${stat.mzxid.toString('hex')}`;
}

function identity(stat: Stat): string {
  return `${stat.czxid.toString('hex')}:${stat.mzxid.toString('hex')}:${stat.pzxid.toString('hex')}`;
}

function toBuffer(data: Uint8Array): Buffer {
  return Buffer.from(data.buffer, data.byteOffset, data.byteLength);
}
