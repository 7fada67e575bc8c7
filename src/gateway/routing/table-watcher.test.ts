import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { clusterPaths, encodeJson, type ModelDeployment, type NodeInfo, type NodeStatus } from '../../cluster/layout.js';
import { MemoryStore, MemoryStoreServer } from '../../cluster/store/memory-store.js';
import type { EndpointTable } from './endpoint-table.js';
import { TableWatcher } from './table-watcher.js';
import { slowReads } from '../../../test/helpers/slow-reads.js';

const paths = clusterPaths('/cranberries');

function nodeInfo(id: string, port: number): NodeInfo {
  return { id, httpAddress: `127.0.0.1:${port}`, grpcAddress: `127.0.0.1:${port + 1}`, memoryCapacityBytes: 1 << 30, labels: {}, startedAt: 0 };
}

function status(models: Record<string, Record<string, 'READY' | 'LOADING'>>): NodeStatus {
  return {
    models: Object.fromEntries(Object.entries(models).map(([m, versions]) => [m, { versions: Object.fromEntries(Object.entries(versions).map(([v, state]) => [v, { state }])) }])),
  };
}

/** A worker registering itself the way `cranberries worker` does: ephemeral node and status. */
async function register(store: MemoryStore, id: string, port: number, models: Record<string, Record<string, 'READY' | 'LOADING'>>): Promise<void> {
  await store.create(paths.node(id), encodeJson(nodeInfo(id, port)), 'ephemeral');
  await store.create(paths.nodeStatus(id), encodeJson(status(models)), 'ephemeral');
}

async function setup(retainVanishedMs = 15_000): Promise<{ server: MemoryStoreServer; admin: MemoryStore; gateway: MemoryStore; watcher: TableWatcher }> {
  const server = new MemoryStoreServer();
  const admin = new MemoryStore(server);
  await admin.start();
  for (const path of [paths.nodes, paths.status, paths.models]) await admin.ensurePath(path);
  const gateway = new MemoryStore(server);
  await gateway.start();
  const watcher = new TableWatcher({ store: gateway, paths, retainVanishedMs, retryDelayMs: 10 });
  return { server, admin, gateway, watcher };
}

/** Resolves with the first table (now or later) that satisfies `check` (bounded). */
function tableWhere(watcher: TableWatcher, check: (table: EndpointTable) => boolean, what: string, timeoutMs = 3000): Promise<EndpointTable> {
  if (check(watcher.current)) return Promise.resolve(watcher.current);
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      unsubscribe();
      reject(new Error(`timed out waiting for a table where ${what}`));
    }, timeoutMs);
    const unsubscribe = watcher.updated.subscribe((table) => {
      if (!check(table)) return;
      clearTimeout(timer);
      unsubscribe();
      resolve(table);
    });
  });
}

const readyOn = (table: EndpointTable, model: string, version: number): string[] => table.replicas(model, version).fresh.map((e) => e.nodeId);

describe('TableWatcher', () => {
  it('under a stream of changes, the next round waits as long as the last one took', async () => {
    const { server, admin } = await setup();
    const slow = slowReads(server, 60);
    await slow.store.start();
    const watcher = new TableWatcher({ store: slow.store, paths, coalesceMs: 5 });
    watcher.updated.subscribe(() => slow.roundEnded());
    await register(admin, 'w1', 9000, { m: { '1': 'LOADING' } });
    await watcher.start();
    for (let i = 0; i < 60; i++) {
      await admin.set(paths.nodeStatus('w1'), encodeJson(status({ m: { '1': i % 2 === 0 ? 'READY' : 'LOADING' } })));
      await new Promise((r) => setTimeout(r, 10));
    }
    await watcher.stop();
    slow.assertPaced();
    await Promise.all([admin.stop(), slow.store.stop()]);
  });

  it('builds the table from nodes, status and models, and follows every change', async () => {
    const { admin, watcher } = await setup();
    const w1 = new MemoryStore(admin.server);
    const w2 = new MemoryStore(admin.server);
    await Promise.all([w1.start(), w2.start()]);
    try {
      await register(w1, 'w1', 9000, { m: { '1': 'READY' } });
      const deployment: ModelDeployment = { name: 'm', replicas: 2, memoryBytes: 0, memoryMeasured: false };
      await admin.create(paths.model('m'), encodeJson(deployment), 'persistent');
      await watcher.start();
      assert.deepEqual(readyOn(watcher.current, 'm', 1), ['w1']);
      assert.equal(watcher.current.deployment('m')?.replicas, 2);

      await register(w2, 'w2', 9002, { m: { '1': 'LOADING' } });
      await tableWhere(watcher, (t) => t.endpoints.length === 2, 'w2 is listed');
      assert.deepEqual(readyOn(watcher.current, 'm', 1), ['w1']);

      // A status change is a data change of one child: it must be seen too.
      await w2.set(paths.nodeStatus('w2'), encodeJson(status({ m: { '1': 'READY' } })));
      await tableWhere(watcher, (t) => readyOn(t, 'm', 1).length === 2, 'w2 becomes READY');

      await admin.set(paths.model('m'), encodeJson({ ...deployment, replicas: 3 }));
      await tableWhere(watcher, (t) => t.deployment('m')?.replicas === 3, 'the deployment change shows');
    } finally {
      await watcher.stop();
      await Promise.all([w1.stop(), w2.stop()]);
    }
  });

  it('keeps routing from the last table while the store is unreachable, and catches up after', async () => {
    const { admin, gateway, watcher } = await setup();
    const w1 = new MemoryStore(admin.server);
    await w1.start();
    try {
      await register(w1, 'w1', 9000, { m: { '1': 'READY' } });
      await watcher.start();
      const before = watcher.current;
      gateway.disconnect();
      // Changes while cut off: the gateway cannot see them, and must not lose what it has.
      await w1.set(paths.nodeStatus('w1'), encodeJson(status({ m: { '1': 'READY', '2': 'READY' } })));
      await watcher.refresh();
      assert.equal(watcher.current, before, 'the same table object: nothing was swapped');
      assert.ok(watcher.stale);
      assert.deepEqual(readyOn(watcher.current, 'm', 1), ['w1']);
      gateway.reconnect();
      await tableWhere(watcher, (t) => readyOn(t, 'm', 2).length === 1, 'version 2 seen after reconnect');
      assert.ok(!watcher.stale);
    } finally {
      await watcher.stop();
      await w1.stop();
    }
  });

  it('retains a worker whose session expired until it re-registers, then drops the retained copy', async () => {
    const { admin, watcher } = await setup();
    const w1 = new MemoryStore(admin.server);
    const w2 = new MemoryStore(admin.server);
    await Promise.all([w1.start(), w2.start()]);
    try {
      await register(w1, 'w1', 9000, { m: { '1': 'READY' } });
      await register(w2, 'w2', 9002, { m: { '1': 'READY' } });
      await watcher.start();
      w1.expireSession(); // its ephemeral nodes vanish
      const during = await tableWhere(watcher, (t) => readyOn(t, 'm', 1).length === 1, 'w1 left the fresh tier');
      assert.deepEqual(
        during.replicas('m', 1).retained.map((e) => e.nodeId),
        ['w1'],
      );
      await register(w1, 'w1', 9000, { m: { '1': 'READY' } });
      const after = await tableWhere(watcher, (t) => readyOn(t, 'm', 1).length === 2, 'w1 is back');
      assert.deepEqual(after.replicas('m', 1).retained, []);
    } finally {
      await watcher.stop();
      await Promise.all([w1.stop(), w2.stop()]);
    }
  });

  it('drops a vanished worker for good once the retention time passes', async () => {
    const { admin, watcher } = await setup(100);
    const w1 = new MemoryStore(admin.server);
    await w1.start();
    try {
      await register(w1, 'w1', 9000, { m: { '1': 'READY' } });
      await watcher.start();
      await w1.stop(); // the worker is gone (its session closed)
      await tableWhere(watcher, (t) => t.replicas('m', 1).retained.length === 1, 'w1 retained');
      const gone = await tableWhere(watcher, (t) => t.endpoints.length === 0, 'w1 dropped after 100 ms');
      assert.equal(gone.latestReadyVersion('m'), undefined);
    } finally {
      await watcher.stop();
    }
  });

  it('ignores nodes whose data is malformed', async () => {
    const { admin, watcher } = await setup();
    try {
      await admin.create(paths.node('bad'), new TextEncoder().encode('{not json'), 'ephemeral');
      await admin.create(paths.nodeStatus('bad'), encodeJson(status({ m: { '1': 'READY' } })), 'ephemeral');
      await admin.create(paths.node('w1'), encodeJson(nodeInfo('w1', 9000)), 'ephemeral');
      await admin.create(paths.nodeStatus('w1'), encodeJson({ models: 'nope' }), 'ephemeral');
      await watcher.start();
      assert.equal(watcher.current.endpoints.length, 0);
    } finally {
      await watcher.stop();
    }
  });
});
