/**
 * Ensembles in a cluster (embedded coordination store, a real controller, two in-process workers):
 * the controller assigns an ensemble's step models to every worker the ensemble is on, so the
 * ensemble runs its steps on its own worker. Without that rule, spreading four one-replica models
 * over two workers leaves the ensemble's worker without some of its steps (UNAVAILABLE there).
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { readSnapshot } from '../../src/cluster/cluster-state.js';
import { Controller } from '../../src/cluster/controller.js';
import { clusterPaths } from '../../src/cluster/layout.js';
import { MemoryStore, MemoryStoreServer } from '../../src/cluster/store/memory-store.js';
import { createLogger, type LogLevel } from '../../src/core/logger.js';
import type { WorkerNode } from '../../src/composition/worker-node.js';
import { createMixedRepository, type MixedRepository } from '../fixtures/javascript-models.js';
import { startTestWorker } from '../helpers/cluster-worker.js';
import { eventually } from '../helpers/eventually.js';

const paths = clusterPaths();
const logger = createLogger((process.env['TEST_LOG_LEVEL'] as LogLevel | undefined) ?? 'silent');
const STEPS = ['digits', 'digits_postprocess', 'digits_preprocess'];
const ONE = [
  0, 0, 0, 96, 240, 80, 0, 0, 0, 0, 64, 255, 255, 64, 0, 0, 0, 0, 160, 255, 255, 32, 0, 0, 0, 0, 0, 240, 240, 0, 0, 0, 0, 0, 0, 240, 240, 0, 0, 0, 0, 0, 0, 240, 240, 0, 0, 0, 0, 0, 32, 255, 255, 48,
  0, 0, 0, 0, 48, 240, 255, 64, 0, 0,
];

describe('ensembles in a cluster', { timeout: 90_000 }, () => {
  let repo: MixedRepository;
  const storeServer = new MemoryStoreServer();
  const stores: MemoryStore[] = [];
  const workers: WorkerNode[] = [];
  let controller: Controller;

  const openStore = async (): Promise<MemoryStore> => {
    const store = new MemoryStore(storeServer);
    await store.start();
    stores.push(store);
    return store;
  };

  before(async () => {
    repo = await createMixedRepository({ bundled: ['digits', 'digits_preprocess', 'digits_postprocess', 'digits_pipeline'] });
    for (const id of ['w1', 'w2']) workers.push(await startTestWorker({ store: await openStore(), nodeId: id, memoryCapacityBytes: 2 ** 30, modelRepository: repo.root, logger }));
    controller = new Controller({ store: await openStore(), modelRepository: repo.root, defaultReplicas: 1, logger, coalesceMs: 50 });
    await controller.start();
  });

  after(async () => {
    await controller?.stop();
    for (const worker of workers) await worker.stop();
    for (const store of stores) await store.stop();
    await repo?.remove();
  });

  it('assigns the step models to the ensemble’s worker, where the ensemble answers', async () => {
    const admin = stores[0]!;
    const assigned = await eventually(async () => {
      const snapshot = await readSnapshot(admin, paths);
      for (const [node, assignment] of snapshot.assignments) if (assignment.value.models.includes('digits_pipeline')) return { node, models: assignment.value.models };
      return undefined;
    }, 'digits_pipeline assigned');
    for (const step of STEPS) assert.ok(assigned.models.includes(step), `${step} is on ${assigned.node} with the ensemble: ${assigned.models.join(', ')}`);
    const worker = workers.find((w) => w.nodeId === assigned.node)!;
    const url = `http://${worker.httpAddress}`;
    await eventually(async () => (await fetch(`${url}/v2/models/digits_pipeline/ready`)).status === 200, 'digits_pipeline ready on its worker', 60_000);
    const answer = await fetch(`${url}/v2/models/digits_pipeline/infer`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ inputs: [{ name: 'pixels', datatype: 'UINT8', shape: [1, 64], data: ONE }] }),
    });
    assert.equal(answer.status, 200);
    const json = (await answer.json()) as { outputs: { name: string; data: string[] }[] };
    assert.deepEqual(json.outputs.find((o) => o.name === 'label')?.data, ['1']);
    // The assignment is stable: later rounds neither drop nor re-add the extra step replicas.
    await new Promise((r) => setTimeout(r, 500));
    const later = await readSnapshot(admin, paths);
    for (const step of STEPS) assert.ok(later.assignments.get(assigned.node)?.value.models.includes(step));
  });
});
