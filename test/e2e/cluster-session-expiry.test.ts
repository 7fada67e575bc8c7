/**
 * A worker cut off from ZooKeeper (through a TCP link the test controls) for longer than its
 * session timeout: while cut off it keeps serving what it has and drops nothing; the server
 * expires its session (its registration vanishes, the controller sees it gone); when the link comes
 * back the worker learns of the expiry, opens a new session, registers again and republishes its
 * status — all without reloading the model it still has (counted from its load events).
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { ClusterAdmin } from '../../src/cluster/admin-api.js';
import { Controller } from '../../src/cluster/controller.js';
import { clusterPaths } from '../../src/cluster/layout.js';
import type { SessionState } from '../../src/cluster/store/coordination-store.js';
import { ZooKeeperStore } from '../../src/cluster/store/zookeeper-store.js';
import type { WorkerNode } from '../../src/composition/worker-node.js';
import { startTestWorker } from '../helpers/cluster-worker.js';
import { createLogger, type LogLevel } from '../../src/core/logger.js';
import { addSubModel, createTempModelRepository, type TempModelRepository } from '../fixtures/onnx-models.js';
import { startZooKeeper, startZooKeeperLink, type TestZooKeeper, type ZooKeeperLink } from '../helpers/zookeeper.js';
import { eventually } from '../helpers/eventually.js';

const SESSION_MS = 2000;
const paths = clusterPaths();
const logger = createLogger((process.env['TEST_LOG_LEVEL'] as LogLevel | undefined) ?? 'silent');

async function infer(worker: WorkerNode): Promise<number> {
  const response = await fetch(`http://${worker.httpAddress}/v2/models/m/infer`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({
      inputs: [
        { name: 'INPUT0', datatype: 'FP32', shape: [1, 4], data: [1, 2, 3, 4] },
        { name: 'INPUT1', datatype: 'FP32', shape: [1, 4], data: [4, 3, 2, 1] },
      ],
    }),
  });
  const body = (await response.json()) as { outputs?: { name: string; data: number[] }[] };
  assert.deepEqual(body.outputs?.find((o) => o.name === 'OUTPUT0')?.data, [5, 5, 5, 5]);
  return response.status;
}

describe('worker session expiry (real ZooKeeper)', { timeout: 110_000 }, () => {
  let zk: TestZooKeeper;
  let link: ZooKeeperLink;
  let repo: TempModelRepository;
  let controllerStore: ZooKeeperStore;
  let workerStore: ZooKeeperStore;
  let controller: Controller;
  let worker: WorkerNode;
  let admin: ClusterAdmin;
  const loads: string[] = [];
  const states: SessionState[] = [];

  before(async () => {
    zk = await startZooKeeper();
    link = await startZooKeeperLink(zk.port);
    repo = await createTempModelRepository({ m: { versions: { 1: addSubModel('FP32', [4]) }, config: 'max_batch_size: 8\n' } });
    controllerStore = new ZooKeeperStore({ connectionString: `${zk.connectionString}/expiry`, sessionTimeoutMs: 10_000 });
    await controllerStore.start();
    admin = new ClusterAdmin(controllerStore);
    controller = new Controller({ store: controllerStore, modelRepository: repo.root, defaultReplicas: 1, logger, coalesceMs: 50 });
    await controller.start();
    workerStore = new ZooKeeperStore({ connectionString: `${link.connectionString}/expiry`, sessionTimeoutMs: SESSION_MS, backoffInitialMs: 50, backoffMaxMs: 500 });
    await workerStore.start();
    workerStore.onSessionState((s) => states.push(s));
    worker = await startTestWorker({
      store: workerStore,
      nodeId: 'w1',
      memoryCapacityBytes: 2 ** 30,
      modelRepository: repo.root,
      logger,
    });
    worker.server.manager.stateChanged.subscribe((e) => {
      if (e.state === 'LOADING') loads.push(`${e.model}/${e.version}`);
    });
  });

  after(async () => {
    link?.restore();
    await worker?.stop();
    await controller?.stop();
    for (const s of [workerStore, controllerStore]) await s?.stop();
    await link?.close();
    await repo?.remove();
    await zk?.close();
  });

  it('re-registers after its session expired, without reloading the model it still has', async () => {
    await eventually(async () => (await admin.getModel('m')).readyReplicas === 1, 'm READY on w1');
    const loadsBefore = loads.length;
    const registeredBefore = (await controllerStore.get(paths.node('w1')))!;

    link.cut();
    await eventually(() => workerStore.sessionState === 'disconnected', 'the worker to notice the cut');
    // ZooKeeper expires the silent session: the registration and the status vanish.
    await eventually(async () => (await controllerStore.get(paths.node('w1'))) === undefined, 'the session to expire on the server', SESSION_MS * 5);
    assert.equal(await controllerStore.get(paths.nodeStatus('w1')), undefined);
    // Cut off, the worker still serves and keeps its selection.
    assert.equal(await infer(worker), 200);
    assert.deepEqual(worker.selection.list(), ['m']);
    // The controller cannot re-place (no other worker): the gone worker keeps its assignment.
    const pending = await eventually(async () => {
      const model = await admin.getModel('m');
      return model.placement.state === 'PENDING' ? model : undefined;
    }, 'm PENDING while its only worker is gone');
    assert.equal(pending.placement.reason, 'no live workers; worker w1 is gone: w1 keeps its assignment until a replacement is READY');
    assert.deepEqual(
      pending.replicaStates.map((r) => [r.node, r.live]),
      [['w1', false]],
    );

    link.restore();
    await eventually(() => states.includes('expired') && workerStore.sessionState === 'connected', 'a new session');
    const registered = await eventually(() => controllerStore.get(paths.node('w1')), 'the worker to register again');
    assert.deepEqual([...registered.data], [...registeredBefore.data], 'the same registration (addresses, start time)');
    const placed = await eventually(async () => {
      const model = await admin.getModel('m');
      return model.placement.state === 'PLACED' && model.readyReplicas === 1 ? model : undefined;
    }, 'm PLACED and READY on w1 again');
    assert.deepEqual(placed.placement.nodes, ['w1']);

    assert.equal(loads.length, loadsBefore, `no reload: load events ${loads.join(', ')}`);
    assert.equal(await infer(worker), 200);
  });
});
