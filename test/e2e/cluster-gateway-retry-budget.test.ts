/**
 * With every replica of a model dead (both workers `kill -9`ed), requests through the gateway fail
 * fast with 503 / UNAVAILABLE, and the gateway does not storm the dead workers with retries: after
 * the first refusals mark them down, requests fail without any connection attempt, and retries
 * stay within the budget (a small floor plus 20 % of requests).
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import * as grpc from '@grpc/grpc-js';
import { Pool } from 'undici';
import { addSubRequests, MODEL_INFER, type ProcessCluster, startAddSubCluster } from './cluster-gateway-harness.js';

const REQUESTS = 300;

describe('all replicas dead: fail fast, no retry storm (real processes)', { timeout: 120_000 }, () => {
  let cluster: ProcessCluster;

  before(async () => {
    cluster = await startAddSubCluster({
      workers: 2,
      // Long sessions: the dead workers stay in the table (READY) for the whole test, so the
      // gateway keeps seeing replicas it cannot reach — the case the budget is for.
      sessionTimeoutMs: 10_000,
    });
  });

  after(async () => {
    await cluster?.close();
  });

  it('answers 503 / UNAVAILABLE quickly and keeps retries within the budget', async () => {
    const requests = await addSubRequests();
    assert.equal((await fetch(`${cluster.gateway.url}/v2/models/add_sub/infer`, { method: 'POST', body: requests.json })).status, 200);
    for (const worker of cluster.workers.values()) worker.process.child.kill('SIGKILL');
    await Promise.all([...cluster.workers.values()].map((w) => w.process.exited));
    const before = await cluster.metrics();

    const pool = new Pool(cluster.gateway.url, { connections: 8 });
    const statuses = new Map<number, number>();
    const messages = new Set<string>();
    const started = Date.now();
    let next = 0;
    await Promise.all(
      Array.from({ length: 8 }, async () => {
        while (next < REQUESTS) {
          next++;
          const response = await pool.request({ method: 'POST', path: '/v2/models/add_sub/infer', body: requests.json });
          const body = (await response.body.json()) as { error?: string };
          statuses.set(response.statusCode, (statuses.get(response.statusCode) ?? 0) + 1);
          messages.add((body.error ?? '').replace(/\(request id: [^)]*\)/, '').replace(/w\d/g, 'w*'));
        }
      }),
    );
    const elapsed = Date.now() - started;
    await pool.close();

    assert.deepEqual([...statuses], [[503, REQUESTS]], `statuses: ${JSON.stringify([...statuses])}`);
    assert.ok(elapsed < 15_000, `${REQUESTS} failing requests took ${elapsed} ms: they must fail fast`);
    assert.ok(
      [...messages].some((m) => /no reachable replica \(2 READY, 2 down\)/.test(m)),
      [...messages].join(' | '),
    );

    const after = await cluster.metrics();
    const delta = (name: string): number => (after.get(name) ?? 0) - (before.get(name) ?? 0);
    const retries = ['refused', 'reset', 'unavailable'].reduce((sum, reason) => sum + delta(`cranberries_gateway_retries_total{reason="${reason}"}`), 0);
    const attempts = [...cluster.workers.keys()].reduce(
      (sum, id) => sum + ['ok', 'refused', 'reset', 'unavailable'].reduce((s, o) => s + delta(`cranberries_gateway_upstream_requests_total{node="${id}",outcome="${o}"}`), 0),
      0,
    );
    assert.ok(retries <= 20 + 0.2 * REQUESTS, `retries: ${retries}`);
    assert.ok(attempts <= 20, `connection attempts to the dead workers: ${attempts} (they must be marked down, not retried per request)`);

    // gRPC answers UNAVAILABLE the same way.
    const client = new grpc.Client(cluster.gateway.grpcAddress, grpc.credentials.createInsecure());
    const identity = (b: Buffer): Buffer => b;
    const error = await new Promise<grpc.ServiceError | null>((resolve) => {
      client.makeUnaryRequest(MODEL_INFER, identity, identity, requests.grpcMessage, new grpc.Metadata(), { deadline: Date.now() + 10_000 }, (e) => resolve(e));
    });
    client.close();
    assert.equal(error?.code, grpc.status.UNAVAILABLE);
    assert.match(error?.details ?? '', /no reachable replica/);
  });
});
