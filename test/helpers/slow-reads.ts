import assert from 'node:assert/strict';
import { MemoryStore, type MemoryStoreServer } from '../../src/cluster/store/memory-store.js';

/**
 * Rounds of a component under a stream of changes, as [start, end] pairs: a round starts with its
 * first (slowed) `getMany` and ends when `roundEnded` is called. `assertPaced` checks that, from
 * the third round on (the first ran before the stream began), each began no sooner after the
 * previous one ended than that one took.
 */
export function slowReads(server: MemoryStoreServer, delayMs: number): { store: MemoryStore; roundEnded(): void; assertPaced(): void } {
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
    roundEnded: () => {
      if (start !== undefined) rounds.push([start, performance.now()]);
      start = undefined;
    },
    assertPaced: () => {
      assert.ok(rounds.length >= 4, `${rounds.length} rounds`);
      for (let i = 2; i < rounds.length; i++) {
        const took = rounds[i - 1]![1] - rounds[i - 1]![0];
        const waited = rounds[i]![0] - rounds[i - 1]![1];
        assert.ok(waited >= took - 5, `round ${i} began ${waited.toFixed(0)} ms after one that took ${took.toFixed(0)} ms`);
      }
    },
  };
}
