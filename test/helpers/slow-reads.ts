import { MemoryStore, type MemoryStoreServer } from '../../src/cluster/store/memory-store.js';

/**
 * Rounds of a component under a stream of changes, as [start, end] pairs: a round starts with its
 * first (slowed) `getMany` and ends when `onRoundEnd` is called.
 */
export function slowReads(server: MemoryStoreServer, delayMs: number): { store: MemoryStore; rounds: [number, number][]; roundEnded(): void } {
  const rounds: [number, number][] = [];
  let start: number | undefined;
  const store = new (class extends MemoryStore {
    override async getMany(paths: readonly string[]) {
      start ??= performance.now();
      await new Promise((r) => setTimeout(r, delayMs));
      return super.getMany(paths);
    }
  })(server);
  return {
    store,
    rounds,
    roundEnded: () => {
      if (start !== undefined) rounds.push([start, performance.now()]);
      start = undefined;
    },
  };
}
