/**
 * ZooKeeper stopped for 10 s and restarted while the gateway is under steady load (real processes):
 * models already placed keep being served without a single failed request — the gateway routes
 * from its last known table, the workers keep what they have — and afterwards the cluster
 * reconciles: the gateway's table is fresh again, every worker is registered, and a change of
 * desired state made after the outage reaches the gateway.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { addSubRequests, MODEL_INFER, type ProcessCluster, sleep, SteadyLoad, startAddSubCluster } from './cluster-gateway-harness.js';
import { eventually } from '../helpers/eventually.js';

describe('ZooKeeper outage under load (real processes)', { timeout: 150_000 }, () => {
  let cluster: ProcessCluster;

  before(async () => {
    cluster = await startAddSubCluster({ workers: 2 });
  });

  after(async () => {
    await cluster?.close();
  });

  it('serves through a 10 s outage without a failure, then reconciles', async () => {
    const requests = await addSubRequests();
    const load = new SteadyLoad(
      cluster.gateway,
      { path: '/v2/models/add_sub/infer', body: requests.json, grpcMethod: MODEL_INFER, grpcMessage: requests.grpcMessage },
      { restConcurrency: 3, grpcConcurrency: 1, maxMs: 90_000 },
    );
    try {
      await sleep(1500);
      await cluster.zk.stop();
      const stoppedAt = load.completed;
      await eventually(async () => (await cluster.metrics()).get('cranberries_gateway_table_stale') === 1, 'the gateway to notice the outage', 15_000);
      await sleep(10_000);
      const duringOutage = load.completed - stoppedAt;
      assert.ok(duringOutage > 20, `requests kept being served during the outage (${duringOutage})`);
      await cluster.zk.restart();

      // Reconciliation: the table is fresh, both workers are registered with READY replicas.
      await eventually(async () => (await cluster.metrics()).get('cranberries_gateway_table_stale') === 0, 'a fresh table', 30_000);
      await eventually(async () => (await cluster.readyNodes('add_sub')).length === 2, 'both replicas READY again', 30_000);
      await sleep(2000);
      const result = await load.stop();
      assert.deepEqual(result.failures, [], `failed requests: ${JSON.stringify(result.failures.slice(0, 5))}`);

      // A desired-state change after the outage flows through controller, worker and gateway.
      await cluster.admin.setReplicas('add_sub', 1);
      await eventually(async () => (await cluster.metrics()).get('cranberries_gateway_ready_replicas{model="add_sub",version="1"}') === 1, 'the gateway to see one replica after scaling down', 30_000);
      const answer = await fetch(`${cluster.gateway.url}/v2/models/add_sub/infer`, { method: 'POST', body: requests.json });
      assert.equal(answer.status, 200);
    } finally {
      await load.stop();
    }
  });
});
