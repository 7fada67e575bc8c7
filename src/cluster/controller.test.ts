import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { pino } from 'pino';
import type { ZodType } from 'zod';
import { Controller } from './controller.js';
import { clusterPaths, decodeJson, encodeJson, ModelDeployment, NodeAssignment, PlacementStatus, type NodeInfo, type NodeStatus } from './layout.js';
import { MemoryStore, MemoryStoreServer } from './store/memory-store.js';
import { slowReads } from '../../test/helpers/slow-reads.js';

const MiB = 2 ** 20;
const paths = clusterPaths();

function capturingLogger(): { logger: pino.Logger; lines: { msg: string; [key: string]: unknown }[] } {
  const lines: { msg: string }[] = [];
  const logger = pino({ level: 'info' }, { write: (line: string) => void lines.push(JSON.parse(line) as { msg: string }) });
  return { logger, lines };
}

async function eventually<T>(read: () => Promise<T | undefined> | T | undefined, what: string, timeoutMs = 5000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const value = await read();
    if (value !== undefined && value !== false) return value;
    await new Promise((r) => setTimeout(r, 20));
  }
  assert.fail(`timed out waiting for ${what}`);
}

/** A fake worker: its own session, an ephemeral registration and status. */
async function fakeWorker(server: MemoryStoreServer, id: string, capacityBytes: number): Promise<{ store: MemoryStore; report(status: NodeStatus): Promise<void> }> {
  const store = new MemoryStore(server);
  await store.start();
  await store.ensurePath(paths.nodes);
  await store.ensurePath(paths.status);
  const info: NodeInfo = { id, httpAddress: `127.0.0.1:1`, grpcAddress: `127.0.0.1:2`, memoryCapacityBytes: capacityBytes, labels: {}, startedAt: Date.now() };
  await store.create(paths.node(id), encodeJson(info), 'ephemeral');
  return {
    store,
    report: async (status) => {
      if (await store.get(paths.nodeStatus(id))) await store.set(paths.nodeStatus(id), encodeJson(status));
      else await store.create(paths.nodeStatus(id), encodeJson(status), 'ephemeral');
    },
  };
}

async function read<T>(store: MemoryStore, path: string, schema: ZodType<T>): Promise<T | undefined> {
  return decodeJson(schema, (await store.get(path))?.data);
}

describe('controller', () => {
  let repository: string;
  before(async () => {
    repository = await mkdtemp(join(tmpdir(), 'cranberries-controller-'));
    const model = async (name: string, bytes: number, config?: string): Promise<void> => {
      await mkdir(join(repository, name, '1'), { recursive: true });
      await writeFile(join(repository, name, '1', 'model.onnx'), new Uint8Array(bytes));
      if (config !== undefined) await writeFile(join(repository, name, 'config.pbtxt'), config);
    };
    await model('small', 10 * MiB);
    await model('triple', 20 * MiB, 'parameters { key: "replicas" value: { string_value: "3" } }');
    await model('huge', 2048 * MiB);
  });
  after(async () => {
    await rm(repository, { recursive: true, force: true });
  });

  it('seeds the desired state from the repository: default replicas, config override, 3× file size', async () => {
    const store = new MemoryStore();
    await store.start();
    await store.ensurePath(paths.models);
    // Desired state already in the store wins over the repository.
    await store.create(paths.model('small'), encodeJson({ name: 'small', replicas: 5, memoryBytes: 1, memoryMeasured: true }), 'persistent');
    const { logger } = capturingLogger();
    const controller = new Controller({ store, modelRepository: repository, defaultReplicas: 2, logger, coalesceMs: 10 });
    await controller.start();
    const triple = await eventually(() => read(store, paths.model('triple'), ModelDeployment), 'the seeded model');
    assert.deepEqual(triple, { name: 'triple', replicas: 3, memoryBytes: 60 * MiB, memoryMeasured: false });
    assert.deepEqual(await read(store, paths.model('huge'), ModelDeployment), { name: 'huge', replicas: 2, memoryBytes: 6144 * MiB, memoryMeasured: false });
    assert.deepEqual(await read(store, paths.model('small'), ModelDeployment), { name: 'small', replicas: 5, memoryBytes: 1, memoryMeasured: true });
    await controller.stop();
    await store.stop();
  });

  it('places on live workers, leaves an oversized model PENDING with its reason, and logs each decision', async () => {
    const server = new MemoryStoreServer();
    const store = new MemoryStore(server);
    await store.start();
    const { logger, lines } = capturingLogger();
    const controller = new Controller({ store, modelRepository: repository, defaultReplicas: 1, logger, coalesceMs: 10 });
    await controller.start();
    const w1 = await fakeWorker(server, 'w1', 3 * 1024 * MiB);
    const w2 = await fakeWorker(server, 'w2', 3 * 1024 * MiB);
    const huge = await eventually(async () => {
      const p = await read(store, paths.modelPlacement('huge'), PlacementStatus);
      return p?.state === 'PENDING' ? p : undefined;
    }, 'huge to be PENDING');
    assert.equal(huge.reason, 'needs 6 GiB, largest free is 3 GiB');
    const triple = await eventually(async () => {
      const p = await read(store, paths.modelPlacement('triple'), PlacementStatus);
      return p?.state === 'PARTIAL' ? p : undefined;
    }, 'triple to be PARTIAL');
    assert.deepEqual(triple.nodes, ['w1', 'w2']);
    const a1 = await read(store, paths.assignment('w1'), NodeAssignment);
    const a2 = await read(store, paths.assignment('w2'), NodeAssignment);
    assert.deepEqual([...(a1?.models ?? []), ...(a2?.models ?? [])].sort(), ['small', 'triple', 'triple']);
    const assigns = lines.filter((l) => l['action'] === 'assign');
    assert.equal(assigns.length, 3, 'one log line per decision');
    assert.ok(
      assigns.every((l) => /^placement: assign '(small|triple)' to w[12]: replica \d of \d/.test(l.msg)),
      assigns.map((l) => l.msg).join('\n'),
    );
    assert.ok(lines.some((l) => l.msg === "placement: 'huge' is PENDING: needs 6 GiB, largest free is 3 GiB"));

    // A measured figure replaces the estimate; the model then fits where the estimate did not.
    await w1.report({ models: { huge: { versions: { '1': { state: 'READY' } }, memoryBytes: 1024 * MiB } } });
    const measured = await eventually(async () => {
      const d = await read(store, paths.model('huge'), ModelDeployment);
      return d?.memoryMeasured ? d : undefined;
    }, 'the measured memory to be adopted');
    assert.equal(measured.memoryBytes, 1024 * MiB);
    await eventually(async () => (await read(store, paths.modelPlacement('huge'), PlacementStatus))?.state === 'PLACED', 'huge to be placed');

    await controller.stop();
    for (const s of [w1.store, w2.store, store]) await s.stop();
  });

  it('keeps its own output from its writes instead of reading it back; a conflicting write by another is read and overwritten', async () => {
    const server = new MemoryStoreServer();
    const reads: string[] = [];
    const store = new (class extends MemoryStore {
      override get(path: string) {
        reads.push(path);
        return super.get(path);
      }
      override getMany(paths: readonly string[]) {
        reads.push(...paths);
        return super.getMany(paths);
      }
    })(server);
    await store.start();
    const controller = new Controller({ store, defaultReplicas: 1, logger: capturingLogger().logger, coalesceMs: 10 });
    await controller.start();
    const w1 = await fakeWorker(server, 'w1', 1024 * MiB);
    const names = Array.from({ length: 30 }, (_, i) => `m${i}`);
    for (const name of names) await store.create(paths.model(name), encodeJson({ name, replicas: 1, memoryBytes: MiB, memoryMeasured: false }), 'persistent');
    await eventually(async () => (await read(w1.store, paths.assignment('w1'), NodeAssignment))?.models.length === 30, 'all 30 assigned');
    await w1.report({ models: Object.fromEntries(names.map((n) => [n, { versions: { '1': { state: 'READY' as const } } }])) });
    await eventually(async () => (await read(w1.store, paths.modelPlacement('m29'), PlacementStatus))?.state === 'PLACED', 'm29 PLACED');
    const ownOutput = (path: string): boolean => path.startsWith(`${paths.placement}/`) || path.startsWith(`${paths.assignments}/`);
    assert.deepEqual(reads.filter(ownOutput), [], 'no placement status or assignment read back');

    // Someone else writes m3's status (as a deposed leader's late write would); the next change to
    // m3 is refused by compare-and-set, m3 is read again and written as it should be.
    const other = new MemoryStore(server);
    await other.start();
    await other.set(paths.modelPlacement('m3'), encodeJson({ state: 'PENDING', nodes: [], reason: 'written by another' }));
    await other.set(paths.model('m3'), encodeJson({ name: 'm3', replicas: 2, memoryBytes: MiB, memoryMeasured: false }));
    const fixed = await eventually(async () => {
      const p = await read(other, paths.modelPlacement('m3'), PlacementStatus);
      return p?.reason !== 'written by another' && p?.state === 'PARTIAL' ? p : undefined;
    }, 'm3 written again by the leader');
    assert.deepEqual(fixed.nodes, ['w1']);
    assert.deepEqual(reads.filter(ownOutput), [paths.modelPlacement('m3')], 'only the conflicting node read back');
    await controller.stop();
    for (const s of [w1.store, other, store]) await s.stop();
  });

  it('under a stream of changes, the next round waits as long as the last one took', async () => {
    const server = new MemoryStoreServer();
    const slow = slowReads(server, 60);
    await slow.store.start();
    const controller = new Controller({ store: slow.store, defaultReplicas: 1, logger: capturingLogger().logger, coalesceMs: 5 });
    controller.reconciled.subscribe(() => slow.roundEnded());
    await controller.start();
    const w1 = await fakeWorker(server, 'w1', 1024 * MiB);
    await slow.store.create(paths.model('m'), encodeJson({ name: 'm', replicas: 1, memoryBytes: MiB, memoryMeasured: false }), 'persistent');
    for (let i = 0; i < 60; i++) {
      await w1.report({ models: { m: { versions: { '1': { state: i % 2 === 0 ? 'READY' : 'LOADING' } } } } });
      await new Promise((r) => setTimeout(r, 10));
    }
    await controller.stop();
    slow.assertPaced();
    for (const s of [w1.store, slow.store]) await s.stop();
  });

  it('an assignment removed by hand is written again by the periodic full round', async () => {
    const server = new MemoryStoreServer();
    const store = new MemoryStore(server);
    await store.start();
    const controller = new Controller({ store, defaultReplicas: 1, logger: capturingLogger().logger, coalesceMs: 10, resyncMs: 200 });
    await controller.start();
    const w1 = await fakeWorker(server, 'w1', 1024 * MiB);
    await store.create(paths.model('m1'), encodeJson({ name: 'm1', replicas: 1, memoryBytes: MiB, memoryMeasured: false }), 'persistent');
    await eventually(async () => (await read(w1.store, paths.assignment('w1'), NodeAssignment))?.models.includes('m1'), 'm1 assigned');
    const operator = new MemoryStore(server);
    await operator.start();
    await operator.remove(paths.assignment('w1'));
    await eventually(async () => (await read(operator, paths.assignment('w1'), NodeAssignment))?.models.includes('m1'), 'm1 assigned again', 3000);
    await controller.stop();
    for (const s of [w1.store, operator, store]) await s.stop();
  });

  it('a standby controller takes over placement when the leader dies', async () => {
    const server = new MemoryStoreServer();
    const storeA = new MemoryStore(server);
    const storeB = new MemoryStore(server);
    await storeA.start();
    await storeB.start();
    const a = new Controller({ store: storeA, defaultReplicas: 1, logger: capturingLogger().logger, coalesceMs: 10 });
    const b = new Controller({ store: storeB, defaultReplicas: 1, logger: capturingLogger().logger, coalesceMs: 10 });
    await a.start();
    await b.start();
    assert.ok(a.isLeader && !b.isLeader);
    const worker = await fakeWorker(server, 'w1', 1024 * MiB);
    await storeA.create(paths.model('m1'), encodeJson({ name: 'm1', replicas: 1, memoryBytes: MiB, memoryMeasured: false }), 'persistent');
    await eventually(async () => (await read(storeA, paths.assignment('w1'), NodeAssignment))?.models.includes('m1'), 'm1 placed by A');

    await storeA.stop(); // the leader's process dies: its session ends
    await eventually(() => b.isLeader, 'B to lead');
    await storeB.create(paths.model('m2'), encodeJson({ name: 'm2', replicas: 1, memoryBytes: MiB, memoryMeasured: false }), 'persistent');
    const assignment = await eventually(async () => {
      const value = await read(storeB, paths.assignment('w1'), NodeAssignment);
      return value?.models.includes('m2') ? value : undefined;
    }, 'm2 placed by B');
    assert.deepEqual(assignment.models, ['m1', 'm2']);
    await a.stop();
    await b.stop();
    await worker.store.stop();
    await storeB.stop();
  });
});
