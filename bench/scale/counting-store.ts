/**
 * A coordination store that counts what passes through it: writes (create, set, remove) and their
 * bytes, reads and their bytes, and watch notifications delivered. One per component, so each
 * figure says who did it. Everything is delegated unchanged.
 */
import type { CoordinationStore, CreateMode, SessionState, StoreNode, StoreWrite, StoreWriteOutcome, WatchOptions } from '../../src/cluster/index.js';

export interface StoreCounts {
  writes: number;
  bytesWritten: number;
  reads: number;
  bytesRead: number;
  watchEvents: number;
  watches: number;
}

export function zeroCounts(): StoreCounts {
  return { writes: 0, bytesWritten: 0, reads: 0, bytesRead: 0, watchEvents: 0, watches: 0 };
}

export function diffCounts(after: StoreCounts, before: StoreCounts): StoreCounts {
  return {
    writes: after.writes - before.writes,
    bytesWritten: after.bytesWritten - before.bytesWritten,
    reads: after.reads - before.reads,
    bytesRead: after.bytesRead - before.bytesRead,
    watchEvents: after.watchEvents - before.watchEvents,
    watches: after.watches,
  };
}

export function sumCounts(all: readonly StoreCounts[]): StoreCounts {
  const total = zeroCounts();
  for (const c of all) {
    total.writes += c.writes;
    total.bytesWritten += c.bytesWritten;
    total.reads += c.reads;
    total.bytesRead += c.bytesRead;
    total.watchEvents += c.watchEvents;
    total.watches += c.watches;
  }
  return total;
}

export class CountingStore implements CoordinationStore {
  readonly counts: StoreCounts = zeroCounts();

  constructor(private readonly inner: CoordinationStore) {}

  snapshot(): StoreCounts {
    return { ...this.counts };
  }

  start(): Promise<void> {
    return this.inner.start();
  }

  stop(): Promise<void> {
    return this.inner.stop();
  }

  get sessionState(): SessionState {
    return this.inner.sessionState;
  }

  onSessionState(listener: (state: SessionState) => void): () => void {
    return this.inner.onSessionState(listener);
  }

  async get(path: string): Promise<StoreNode | undefined> {
    const node = await this.inner.get(path);
    this.counts.reads++;
    this.counts.bytesRead += node?.data.byteLength ?? 0;
    return node;
  }

  /** Counted per node read, as `get`: the figure says what was read, not in how many requests. */
  async getMany(paths: readonly string[]): Promise<(StoreNode | undefined)[]> {
    const nodes = await this.inner.getMany(paths);
    this.counts.reads += paths.length;
    for (const node of nodes) this.counts.bytesRead += node?.data.byteLength ?? 0;
    return nodes;
  }

  async children(path: string): Promise<readonly string[]> {
    const names = await this.inner.children(path);
    this.counts.reads++;
    for (const name of names) this.counts.bytesRead += name.length + 4;
    return names;
  }

  create(path: string, data: Uint8Array, mode: CreateMode): Promise<string> {
    this.counts.writes++;
    this.counts.bytesWritten += data.byteLength;
    return this.inner.create(path, data, mode);
  }

  set(path: string, data: Uint8Array, expectedVersion?: number): Promise<number> {
    this.counts.writes++;
    this.counts.bytesWritten += data.byteLength;
    return this.inner.set(path, data, expectedVersion);
  }

  remove(path: string, options?: { expectedVersion?: number; recursive?: boolean }): Promise<void> {
    this.counts.writes++;
    return this.inner.remove(path, options);
  }

  writeEach(writes: readonly StoreWrite[]): Promise<StoreWriteOutcome[]> {
    for (const write of writes) {
      this.counts.writes++;
      if (write.kind !== 'remove') this.counts.bytesWritten += write.data.byteLength;
    }
    return this.inner.writeEach(writes);
  }

  ensurePath(path: string): Promise<void> {
    return this.inner.ensurePath(path);
  }

  watch(path: string, onChange: () => void, options?: WatchOptions): () => void {
    this.counts.watches++;
    const unwatch = this.inner.watch(
      path,
      () => {
        this.counts.watchEvents++;
        onChange();
      },
      options,
    );
    return this.countedStop(unwatch);
  }

  watchFolder(parent: string, onChange: (name: string | undefined) => void): () => void {
    this.counts.watches++;
    const unwatch = this.inner.watchFolder(parent, (name) => {
      this.counts.watchEvents++;
      onChange(name);
    });
    return this.countedStop(unwatch);
  }

  private countedStop(unwatch: () => void): () => void {
    let active = true;
    return () => {
      if (active) this.counts.watches--;
      active = false;
      unwatch();
    };
  }
}
