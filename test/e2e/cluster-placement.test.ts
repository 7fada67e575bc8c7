/**
 * Placement on a real ZooKeeper with real workers (model servers + agents in this process, each
 * with its own ZooKeeper session) and a real controller: replicas land on distinct workers and
 * become READY there, no worker's memory is ever overcommitted (checked on every snapshot taken
 * while the cluster changes), an oversized model is PENDING with its reason, a model that only
 * partly fits is PARTIAL, and a worker that joins receives the missing replica.
 *
 * Deployments carry explicit, "measured" memory figures so the test controls the arithmetic
 * (workers' own measurements never replace a figure already marked measured).
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { ClusterAdmin } from '../../src/cluster/admin-api.js';
import { readSnapshot } from '../../src/cluster/cluster-state.js';
import { Controller } from '../../src/cluster/controller.js';
import { clusterPaths, encodeJson, type ModelDeployment } from '../../src/cluster/layout.js';
import { ZooKeeperStore } from '../../src/cluster/store/zookeeper-store.js';
import type { WorkerNode } from '../../src/composition/worker-node.js';
import { startTestWorker } from '../helpers/cluster-worker.js';
import { createLogger, type LogLevel } from '../../src/core/logger.js';
import { addSubModel, createTempModelRepository, type TempModelRepository } from '../fixtures/onnx-models.js';
import { startZooKeeper, type TestZooKeeper } from '../helpers/zookeeper.js';
import { eventually } from '../helpers/eventually.js';

const GiB = 2 ** 30;
const paths = clusterPaths();
const logger = createLogger((process.env['TEST_LOG_LEVEL'] as LogLevel | undefined) ?? 'silent');

async function infer(worker: WorkerNode, model: string): Promise<number> {
  const response = await fetch(`http://${worker.httpAddress}/v2/models/${model}/infer`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({
      inputs: [
        { name: 'INPUT0', datatype: 'FP32', shape: [1, 4], data: [1, 2, 3, 4] },
        { name: 'INPUT1', datatype: 'FP32', shape: [1, 4], data: [1, 1, 1, 1] },
      ],
    }),
  });
  await response.arrayBuffer();
  return response.status;
}

describe('cluster placement (real ZooKeeper)', { timeout: 110_000 }, () => {
  let zk: TestZooKeeper;
  let repo: TempModelRepository;
  const stores: ZooKeeperStore[] = [];
  const workers: WorkerNode[] = [];
  let controller: Controller;
  let admin: ClusterAdmin;
  let adminStore: ZooKeeperStore;
  /** Every snapshot the watchdog took, with a description of any overcommitted worker. */
  const violations: string[] = [];
  let snapshots = 0;
  let watching = true;
  let watchdog: Promise<void> | undefined;

  const openStore = async (): Promise<ZooKeeperStore> => {
    const store = new ZooKeeperStore({ connectionString: `${zk.connectionString}/placement`, sessionTimeoutMs: 4000 });
    await store.start();
    stores.push(store);
    return store;
  };
  const addWorker = async (id: string, capacityGiB: number): Promise<WorkerNode> => {
    const worker = await startTestWorker({
      store: await openStore(),
      nodeId: id,
      memoryCapacityBytes: capacityGiB * GiB,
      modelRepository: repo.root,
      logger,
    });
    workers.push(worker);
    return worker;
  };

  before(async () => {
    zk = await startZooKeeper();
    const model = { versions: { 1: addSubModel('FP32', [4]) }, config: 'max_batch_size: 8\n' };
    repo = await createTempModelRepository({ a: model, b: model, c: model, huge: model });
    adminStore = await openStore();
    admin = new ClusterAdmin(adminStore);
    await adminStore.ensurePath(paths.models);
    const deploy = (name: string, replicas: number, memoryGiB: number): Promise<string> =>
      adminStore.create(paths.model(name), encodeJson({ name, replicas, memoryBytes: memoryGiB * GiB, memoryMeasured: true } satisfies ModelDeployment), 'persistent');
    await deploy('a', 2, 1);
    await deploy('b', 2, 1);
    await deploy('huge', 1, 6);
    controller = new Controller({ store: await openStore(), defaultReplicas: 1, logger, coalesceMs: 50 });
    await controller.start();
    // The watchdog: no snapshot of the cluster, at any time, may show an overcommitted worker.
    watchdog = (async () => {
      while (watching) {
        const snapshot = await readSnapshot(adminStore, paths).catch(() => undefined);
        if (snapshot) {
          snapshots++;
          for (const [id, info] of snapshot.nodes) {
            const models = snapshot.assignments.get(id)?.value.models ?? [];
            const used = models.reduce((sum, m) => sum + (snapshot.deployments.get(m)?.value.memoryBytes ?? 0), 0);
            if (used > info.memoryCapacityBytes) violations.push(`${id}: ${models.join(',')} = ${used} > ${info.memoryCapacityBytes}`);
            if (new Set(models).size !== models.length) violations.push(`${id}: a model twice: ${models.join(',')}`);
          }
        }
        await new Promise((r) => setTimeout(r, 50));
      }
    })();
  });

  after(async () => {
    watching = false;
    await watchdog;
    await controller?.stop();
    for (const worker of workers) await worker.stop();
    for (const store of stores) await store.stop();
    await repo?.remove();
    await zk?.close();
  });

  it('spreads replicas over distinct workers, READY there; the oversized model is PENDING with its reason', async () => {
    await Promise.all([addWorker('w1', 2), addWorker('w2', 2), addWorker('w3', 2)]);
    const placed = await eventually(async () => {
      const models = await admin.listModels();
      const ready = models.filter((m) => m.name !== 'huge').every((m) => m.readyReplicas === m.replicas);
      return ready ? models : undefined;
    }, 'a and b READY on 2 workers each');
    for (const model of placed.filter((m) => m.name !== 'huge')) {
      const nodes = model.replicaStates.filter((r) => r.state === 'READY').map((r) => r.node);
      assert.equal(new Set(nodes).size, 2, `${model.name} READY on two distinct workers: ${nodes.join(', ')}`);
      assert.equal(model.placement.state, 'PLACED');
      for (const node of nodes)
        assert.equal(
          await infer(
            workers.find((w) => w.nodeId === node)!,
            model.name,
          ),
          200,
          `${model.name} answers on ${node}`,
        );
    }
    const huge = placed.find((m) => m.name === 'huge')!;
    assert.equal(huge.placement.state, 'PENDING');
    assert.deepEqual(huge.replicaStates, []);
    // Where a and b went depends on the order the workers joined in; the reason names what is left.
    const nodes = await admin.listNodes();
    const largestFree = Math.max(...nodes.map((n) => n.memoryCapacityBytes - n.memoryAssignedBytes));
    assert.equal(huge.placement.reason, `needs 6 GiB, largest free is ${largestFree / GiB} GiB`);
  });

  it('a model that only partly fits is PARTIAL; a new worker receives its missing replica', async () => {
    await admin.addModel('c', { replicas: 3, memoryBytes: GiB });
    const partial = await eventually(async () => {
      const c = await admin.getModel('c');
      return c.placement.state === 'PARTIAL' && c.readyReplicas === 2 ? c : undefined;
    }, 'c PARTIAL with 2 READY replicas');
    assert.equal(partial.placement.reason, '2 of 3 replicas placed: needs 1 GiB, largest free is 0 B');

    await addWorker('w4', 2);
    const full = await eventually(async () => {
      const c = await admin.getModel('c');
      return c.placement.state === 'PLACED' && c.readyReplicas === 3 ? c : undefined;
    }, 'c PLACED with 3 READY replicas after w4 joined');
    assert.ok(full.placement.nodes.includes('w4'), `w4 got a replica: ${full.placement.nodes.join(', ')}`);
    assert.equal(new Set(full.placement.nodes).size, 3);
    // Nothing already placed moved to the new worker.
    const nodes = await admin.listNodes();
    assert.deepEqual(
      nodes.find((n) => n.id === 'w4')!.models.map((m) => m.name),
      ['c'],
    );
    assert.equal(
      await infer(
        workers.find((w) => w.nodeId === 'w4')!,
        'c',
      ),
      200,
    );
  });

  it('no snapshot ever showed an overcommitted worker', () => {
    assert.ok(snapshots > 10, `the watchdog took ${snapshots} snapshots`);
    assert.deepEqual(violations, []);
  });
});
