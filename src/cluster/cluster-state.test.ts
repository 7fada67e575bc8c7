import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { FolderCache } from './cluster-state.js';
import { clusterPaths, encodeJson, NodeInfo } from './layout.js';
import { MemoryStore, MemoryStoreServer } from './store/memory-store.js';

const paths = clusterPaths();

const worker = (httpAddress: string): NodeInfo => ({ id: 'w1', httpAddress, grpcAddress: '127.0.0.1:2', memoryCapacityBytes: 2 ** 30, labels: {}, startedAt: 0 });

/** Lets the embedded store deliver its notifications (it delivers them on the next turn of the loop). */
const notified = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

/** An embedded store holding one registered worker, w1 at 10.0.0.1:8000. */
async function storeWithWorker(): Promise<MemoryStore> {
  const store = new MemoryStore(new MemoryStoreServer());
  await store.start();
  await store.ensurePath(paths.nodes);
  await store.create(paths.node('w1'), encodeJson(worker('10.0.0.1:8000')), 'ephemeral');
  return store;
}

describe('FolderCache', () => {
  it('a child removed and created again between two reads (its version back at 0) is read again, not kept from before', async () => {
    const store = await storeWithWorker();
    const cache = new FolderCache(store, paths.nodes, NodeInfo, () => {});
    try {
      assert.equal((await cache.read()).get('w1')?.value.httpAddress, '10.0.0.1:8000');
      const generation = cache.generation;
      // A worker whose session expired registers again at another address: a new node, version 0 again.
      await store.remove(paths.node('w1'));
      await store.create(paths.node('w1'), encodeJson(worker('10.0.0.2:8000')), 'ephemeral');
      await notified();
      const entry = (await cache.read()).get('w1');
      assert.equal(entry?.version, 0);
      assert.equal(entry?.value.httpAddress, '10.0.0.2:8000');
      assert.notEqual(cache.generation, generation, 'a changed folder has a new generation (callers skip work on equal generations)');
    } finally {
      cache.stop();
      await store.stop();
    }
  });

  it('an unchanged child is not decoded again: the same entry object is handed out', async () => {
    const store = await storeWithWorker();
    await store.create(paths.node('w2'), encodeJson({ ...worker('10.0.0.3:8000'), id: 'w2' }), 'ephemeral');
    const cache = new FolderCache(store, paths.nodes, NodeInfo, () => {});
    try {
      const first = await cache.read();
      await store.set(paths.node('w2'), encodeJson({ ...worker('10.0.0.4:8000'), id: 'w2' }));
      await notified();
      const second = await cache.read();
      assert.equal(second.get('w1'), first.get('w1'));
      assert.equal(second.get('w2')?.value.httpAddress, '10.0.0.4:8000');
    } finally {
      cache.stop();
      await store.stop();
    }
  });

  it('a child this process wrote is handed out from the next read on, before its watch reports the write', async () => {
    const store = await storeWithWorker();
    const cache = new FolderCache(store, paths.nodes, NodeInfo, () => {});
    try {
      await cache.read();
      const moved = worker('10.0.0.9:8000');
      const version = await store.set(paths.node('w1'), encodeJson(moved));
      cache.wrote('w1', moved, version);
      const entry = (await cache.read()).get('w1'); // the store has not notified yet (it does on the next turn)
      assert.deepEqual([entry?.value.httpAddress, entry?.version], ['10.0.0.9:8000', 1]);
      await notified();
      assert.equal((await cache.read()).get('w1')?.value.httpAddress, '10.0.0.9:8000');
      cache.wrote('w9', worker('10.0.0.7:8000'), 0);
      assert.equal((await cache.read()).has('w9'), false, 'not a child it follows: ignored');
    } finally {
      cache.stop();
      await store.stop();
    }
  });
});
