/**
 * `writeEach` made of single calls: what the embedded store does, and what the ZooKeeper store
 * falls back to for a `multi` that one of its writes refused (a `multi` is all or nothing, and
 * `writeEach` promises each write its own outcome).
 */
import { setImmediate as yieldToEventLoop } from 'node:timers/promises';
import { asCranberriesError } from '../../core/index.js';
import type { CoordinationStore, StoreWrite, StoreWriteOutcome } from './coordination-store.js';

/** Writes started together: a network store pipelines them; an embedded one yields to the event loop between groups. */
const GROUP = 256;

/** Applies one write alone, as its single call. */
export async function writeOne(store: CoordinationStore, write: StoreWrite): Promise<StoreWriteOutcome> {
  try {
    switch (write.kind) {
      case 'create':
        await store.create(write.path, write.data, write.mode);
        return { version: 0 };
      case 'set':
        return { version: await store.set(write.path, write.data, write.expectedVersion) };
      case 'remove':
        await store.remove(write.path, write.expectedVersion === undefined ? {} : { expectedVersion: write.expectedVersion });
        return { version: -1 };
    }
  } catch (error) {
    return { error: asCranberriesError(error) };
  }
}

/** Applies each write as its single call, `GROUP` at a time, returning to the event loop between groups. */
export async function writeOneByOne(store: CoordinationStore, writes: readonly StoreWrite[]): Promise<StoreWriteOutcome[]> {
  const outcomes: StoreWriteOutcome[] = [];
  for (let i = 0; i < writes.length; i += GROUP) {
    if (i > 0) await yieldToEventLoop();
    outcomes.push(...(await Promise.all(writes.slice(i, i + GROUP).map((write) => writeOne(store, write)))));
  }
  return outcomes;
}
