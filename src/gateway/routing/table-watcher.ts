/**
 * Keeps the gateway's EndpointTable in step with the coordination store. It follows `nodes/`,
 * `status/` and `models/` (one folder watch each), and on any change re-reads the children that
 * changed (`FolderCache`) and swaps in a new table. Bursts of events coalesce into one re-read; a
 * re-read that fails (the store is unreachable) keeps the last table and is retried with backoff —
 * the gateway never empties its table because ZooKeeper is down.
 *
 * A worker that vanishes from the store (its node or its status node is gone) is retained for
 * `retainVanishedMs` as a fallback tier of the table: when ZooKeeper comes back after an outage
 * long enough to expire sessions, the workers' ephemeral nodes are gone for the moment it takes
 * them to re-register, and requests must not fail meanwhile. Health tracking keeps a truly dead
 * retained worker out of rotation.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type { Logger } from 'pino';
import { EventChannel } from '../../core/index.js';
import type { Lifecycle } from '../../core/index.js';
import type { CoordinationStore } from '../../cluster/index.js';
import { FolderCache, coalesce, runInSlices, ModelDeployment, NodeInfo, NodeStatus, type ClusterPaths } from '../../cluster/index.js';
import { EndpointTable, type WorkerSnapshot } from './endpoint-table.js';

export interface TableWatcherOptions {
  readonly store: CoordinationStore;
  readonly paths: ClusterPaths;
  /** How long a vanished worker stays in the fallback tier. Default 15 000 ms. */
  readonly retainVanishedMs?: number;
  /** Changes within this window make one re-read. Default 25 ms. */
  readonly coalesceMs?: number;
  /** First retry delay after a failed re-read (doubles up to 5 s). Default 200 ms. */
  readonly retryDelayMs?: number;
  readonly logger?: Logger | undefined;
  readonly now?: () => number;
}

interface Retained {
  readonly snapshot: WorkerSnapshot;
  readonly vanishedAt: number;
}

const MAX_RETRY_DELAY_MS = 5000;

export class TableWatcher implements Lifecycle {
  /** Published after every swap. */
  readonly updated = new EventChannel<EndpointTable>();
  private table: EndpointTable = EndpointTable.EMPTY;
  /** The three folders, re-read incrementally: only the children reported changed are fetched again. */
  private folders: { nodes: FolderCache<NodeInfo>; statuses: FolderCache<NodeStatus>; models: FolderCache<ModelDeployment> } | undefined;
  private workers = new Map<string, WorkerSnapshot>();
  /** Each worker's snapshot with what it was made from: unchanged store nodes keep the same snapshot object. */
  /** The models folder's generation behind `deployments`: unchanged, the map is reused as is. */
  private deploymentsGeneration = -1;
  private readonly sources = new Map<string, { node: unknown; status: unknown; snapshot: WorkerSnapshot }>();
  /** Each worker in the current table, with its tier: what `rebuild` compares to find the changed ones. */
  private built = new Map<string, { snapshot: WorkerSnapshot; retained: boolean }>();
  private deployments = new Map<string, ModelDeployment>();
  private readonly retained = new Map<string, Retained>();
  private refreshing: Promise<void> | undefined;
  private rebuilding: Promise<void> = Promise.resolve();
  private dirty = false;
  private stopped = true;
  private failures = 0;
  private retryTimer: NodeJS.Timeout | undefined;
  private expiryTimer: NodeJS.Timeout | undefined;
  private readonly now: () => number;
  private readonly retainMs: number;
  private unsubscribeSession: (() => void) | undefined;
  private cancelChanged: (() => void) | undefined;

  constructor(private readonly options: TableWatcherOptions) {
    this.now = options.now ?? Date.now;
    this.retainMs = options.retainVanishedMs ?? 15_000;
  }

  /** The table now; swapped whole, never mutated. */
  get current(): EndpointTable {
    return this.table;
  }

  /** True while the store is unreachable or the last re-read failed (the table may be stale). */
  get stale(): boolean {
    return this.failures > 0 || this.options.store.sessionState !== 'connected';
  }

  /** Starts watching; resolves after the first read, or after the first failed one (retried in the background). */
  async start(): Promise<void> {
    this.stopped = false;
    const { paths, store, logger } = this.options;
    this.unsubscribeSession = store.onSessionState((state) => {
      if (state === 'disconnected') logger?.warn('coordination store unreachable: routing from the last known endpoint table');
      else if (state === 'connected') void this.refresh();
    });
    // A burst of status writes (a thousand workers loading) makes one re-read per window, not one each.
    const changed = coalesce(() => void this.refresh(), this.options.coalesceMs ?? 25);
    this.cancelChanged = () => changed.cancel();
    this.deploymentsGeneration = -1; // new caches count from 0 again
    this.folders = {
      nodes: new FolderCache(store, paths.nodes, NodeInfo, changed),
      statuses: new FolderCache(store, paths.status, NodeStatus, changed),
      models: new FolderCache(store, paths.models, ModelDeployment, changed),
    };
    await this.refresh();
  }

  stop(): Promise<void> {
    this.stopped = true;
    this.unsubscribeSession?.();
    clearTimeout(this.retryTimer);
    clearTimeout(this.expiryTimer);
    this.cancelChanged?.();
    if (this.folders) for (const folder of Object.values(this.folders)) folder.stop();
    this.folders = undefined;
    return Promise.all([this.refreshing, this.rebuilding]).then(() => undefined);
  }

  /** Re-reads the store now (coalesced with one in progress); resolves when a read that started after this call has finished. */
  refresh(): Promise<void> {
    if (this.stopped) return Promise.resolve();
    if (this.refreshing) {
      this.dirty = true;
      return this.refreshing;
    }
    this.refreshing = this.readLoop().finally(() => {
      this.refreshing = undefined;
    });
    return this.refreshing;
  }

  private async readLoop(): Promise<void> {
    do {
      this.dirty = false;
      try {
        const began = performance.now();
        if (!(await this.readOnce())) return;
        if (this.failures > 0) this.options.logger?.info('coordination store reachable again: endpoint table refreshed');
        this.failures = 0;
        clearTimeout(this.retryTimer);
        await this.rebuild();
        // Changes that came meanwhile wait as long as this round took (at least a coalescing window):
        // under a long burst (a thousand workers loading) the table keeps up at half of one core at
        // most, instead of re-reading back to back and starving the process's other work.
        if (this.dirty && !this.stopped) await sleep(Math.max(this.options.coalesceMs ?? 25, performance.now() - began));
      } catch (error) {
        this.failures++;
        if (this.failures === 1) {
          this.options.logger?.warn({ err: error instanceof Error ? error.message : String(error) }, 'cannot read the coordination store: routing from the last known endpoint table');
        }
        this.scheduleRetry();
        return;
      }
    } while (this.dirty && !this.stopped);
  }

  private scheduleRetry(): void {
    clearTimeout(this.retryTimer);
    const delay = Math.min((this.options.retryDelayMs ?? 200) * 2 ** (this.failures - 1), MAX_RETRY_DELAY_MS);
    this.retryTimer = setTimeout(() => void this.refresh(), delay);
    this.retryTimer.unref();
  }

  /** Reads the store into `workers`/`deployments` (what changed since the last read); false when stopped meanwhile. */
  private async readOnce(): Promise<boolean> {
    const folders = this.folders;
    if (!folders) return false;
    const [nodes, statuses, models] = await Promise.all([folders.nodes.read(), folders.statuses.read(), folders.models.read()]);
    if (this.stopped) return false;

    const workers = new Map<string, WorkerSnapshot>();
    for (const [id, node] of nodes) {
      const status = statuses.get(id);
      // A worker without a status has nothing to route to yet; one that had a status moments ago
      // (re-registering) is better served by its last report, from the retained tier.
      if (!status) continue;
      let source = this.sources.get(id);
      if (!source || source.node !== node || source.status !== status) {
        source = { node, status, snapshot: { node: { ...node.value, id }, status: status.value } };
        this.sources.set(id, source);
      }
      workers.set(id, source.snapshot);
    }
    for (const id of this.sources.keys()) if (!workers.has(id)) this.sources.delete(id);
    if (folders.models.generation !== this.deploymentsGeneration) {
      this.deploymentsGeneration = folders.models.generation;
      const deployments = new Map<string, ModelDeployment>();
      for (const [name, deployment] of models) deployments.set(name, { ...deployment.value, name });
      this.deployments = deployments;
    }

    const now = this.now();
    for (const [id, snapshot] of this.workers) {
      if (!workers.has(id) && !this.retained.has(id)) this.retained.set(id, { snapshot, vanishedAt: now });
    }
    for (const id of workers.keys()) this.retained.delete(id);
    this.workers = workers;
    return true;
  }

  /**
   * Builds and swaps the table from the last read, dropping retained workers past their time. One
   * build at a time (the read loop's and the expiry timer's), each from the state at its start; a
   * build runs in slices, so a whole table at 1,000 workers × 10,000 models never blocks the
   * gateway's event loop for long, and requests route on the previous table meanwhile.
   */
  private rebuild(): Promise<void> {
    const run = this.rebuilding.then(() => this.rebuildOnce());
    this.rebuilding = run.catch(() => undefined);
    return run;
  }

  private async rebuildOnce(): Promise<void> {
    const now = this.now();
    let nextExpiry = Infinity;
    for (const [id, entry] of this.retained) {
      const expiresAt = entry.vanishedAt + this.retainMs;
      if (expiresAt <= now) this.retained.delete(id);
      else nextExpiry = Math.min(nextExpiry, expiresAt);
    }
    const retained = new Map([...this.retained].map(([id, entry]) => [id, entry.snapshot]));
    const input = { workers: this.workers, retained, deployments: this.deployments };
    // Only the workers whose snapshot or tier changed since the last table: their models' entries are rebuilt.
    const built = new Map<string, { snapshot: WorkerSnapshot; retained: boolean }>();
    for (const [id, snapshot] of this.workers) built.set(id, { snapshot, retained: false });
    for (const [id, snapshot] of retained) if (!built.has(id)) built.set(id, { snapshot, retained: true });
    const changed = new Set<string>();
    for (const [id, now] of built) {
      const before = this.built.get(id);
      if (!before || before.snapshot !== now.snapshot || before.retained !== now.retained) changed.add(id);
    }
    for (const id of this.built.keys()) if (!built.has(id)) changed.add(id);
    this.table = await runInSlices(this.table === EndpointTable.EMPTY || changed.size > built.size / 2 ? EndpointTable.buildSteps(input) : EndpointTable.updateSteps(this.table, input, changed));
    this.built = built;
    clearTimeout(this.expiryTimer);
    if (nextExpiry !== Infinity && !this.stopped) {
      this.expiryTimer = setTimeout(() => void this.rebuild(), Math.max(1, nextExpiry - now));
      this.expiryTimer.unref();
    }
    this.updated.publish(this.table);
  }
}
