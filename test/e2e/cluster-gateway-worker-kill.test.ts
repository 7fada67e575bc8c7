/**
 * `kill -9` of a worker under steady load, replicas = 2 (real ZooKeeper, controller, three worker
 * processes and the gateway): not one client request fails, the controller re-places the lost
 * replica on the third worker, and the gateway stops sending requests to the dead worker.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { addSubRequests, MODEL_INFER, type ProcessCluster, sleep, SteadyLoad, startAddSubCluster } from './cluster-gateway-harness.js';
import { eventually } from '../helpers/eventually.js';

describe('kill -9 of a worker under load (real processes)', { timeout: 150_000 }, () => {
  let cluster: ProcessCluster;

  before(async () => {
    cluster = await startAddSubCluster({ workers: 3 });
  });

  after(async () => {
    await cluster?.close();
  });

  it('fails no request, re-places the replica, and stops routing to the dead worker', async () => {
    const requests = await addSubRequests();
    const load = new SteadyLoad(
      cluster.gateway,
      { path: '/v2/models/add_sub/infer', body: requests.json, grpcMethod: MODEL_INFER, grpcMessage: requests.grpcMessage },
      { restConcurrency: 4, grpcConcurrency: 2, maxMs: 90_000 },
    );
    try {
      await sleep(2000);
      const [victim, survivor] = await cluster.readyNodes('add_sub');
      assert.ok(victim && survivor);
      const spare = [...cluster.workers.keys()].find((id) => id !== victim && id !== survivor);
      assert.ok(spare);
      const okBefore = (await cluster.metrics()).get(`cranberries_gateway_upstream_requests_total{node="${victim}",outcome="ok"}`) ?? 0;
      assert.ok(okBefore > 0, 'the victim was serving traffic');
      const completedAtKill = load.completed;

      cluster.workers.get(victim)?.process.child.kill('SIGKILL');
      await cluster.workers.get(victim)?.process.exited;
      await sleep(200);
      // Answers the victim gave before it died are counted by now; it can give none after.
      const okAtDeath = (await cluster.metrics()).get(`cranberries_gateway_upstream_requests_total{node="${victim}",outcome="ok"}`) ?? 0;

      // The controller notices the worker's session end and places the replica on the spare worker.
      await eventually(
        async () => {
          const nodes = await cluster.readyNodes('add_sub');
          return nodes.length === 2 && nodes.includes(spare) && !nodes.includes(victim);
        },
        'the lost replica to be re-placed and READY',
        60_000,
      );
      await eventually(async () => (await cluster.metrics()).get(`cranberries_gateway_upstream_requests_total{node="${spare}",outcome="ok"}`), 'the gateway to route to the new replica');
      await sleep(2000);
      const result = await load.stop();

      assert.deepEqual(result.failures, [], `failed requests: ${JSON.stringify(result.failures.slice(0, 5))}`);
      assert.ok(result.ok > completedAtKill, 'load went on after the kill');
      const metrics = await cluster.metrics();
      const okAfter = metrics.get(`cranberries_gateway_upstream_requests_total{node="${victim}",outcome="ok"}`) ?? 0;
      assert.equal(okAfter, okAtDeath, 'no request was answered by the dead worker');
      const attempts = [...metrics].filter(([name]) => name.startsWith(`cranberries_gateway_upstream_requests_total{node="${victim}"`)).reduce((sum, [, v]) => sum + v, 0);
      const failedAttempts = attempts - okAfter;
      assert.ok(failedAttempts <= 12, `the dead worker was tried ${failedAttempts} times: it must be marked down at once`);
      assert.notEqual(metrics.get(`cranberries_gateway_worker_up{node="${victim}"}`), 1, 'the dead worker is down or gone from the table');
    } finally {
      await load.stop();
    }
  });
});
