/**
 * Through the gateway or straight to a worker, a client gets the same bytes: REST JSON, REST
 * binary and gRPC inference against a real cluster (ZooKeeper, controller, worker and gateway
 * processes).
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import * as grpc from '@grpc/grpc-js';
import { addSubRequests, MODEL_INFER, type ProcessCluster, startAddSubCluster } from './cluster-gateway-harness.js';

const VOLATILE = new Set(['date', 'connection', 'keep-alive']);

async function post(url: string, body: Buffer, headers: Record<string, string>): Promise<{ status: number; headers: Record<string, string>; body: Buffer }> {
  const response = await fetch(`${url}/v2/models/add_sub/infer`, { method: 'POST', body, headers: { 'x-request-id': 'same-id', ...headers } });
  const kept: Record<string, string> = {};
  response.headers.forEach((value, name) => {
    if (!VOLATILE.has(name)) kept[name] = value;
  });
  return { status: response.status, headers: kept, body: Buffer.from(await response.arrayBuffer()) };
}

function unary(address: string, message: Buffer): Promise<Buffer> {
  const client = new grpc.Client(address, grpc.credentials.createInsecure());
  const identity = (b: Buffer): Buffer => b;
  const metadata = new grpc.Metadata();
  metadata.set('x-request-id', 'same-id');
  return new Promise((resolve, reject) => {
    client.makeUnaryRequest(MODEL_INFER, identity, identity, message, metadata, { deadline: Date.now() + 20_000 }, (error, response) => {
      client.close();
      if (error || !response) reject(error ?? new Error('no response'));
      else resolve(response);
    });
  });
}

describe('gateway vs worker: identical bytes (real processes)', { timeout: 120_000 }, () => {
  let cluster: ProcessCluster;

  before(async () => {
    cluster = await startAddSubCluster({ workers: 2 });
  });

  after(async () => {
    await cluster?.close();
  });

  it('REST JSON, REST binary and gRPC answers are byte-identical, whichever worker serves', async () => {
    const requests = await addSubRequests();
    const binaryHeaders = { 'inference-header-content-length': String(requests.binary.jsonLength) };
    for (const worker of cluster.workers.values()) {
      for (const [body, headers] of [
        [requests.json, {}],
        [requests.binary.body, binaryHeaders],
        [requests.json, { 'accept-encoding': 'gzip' }],
      ] as const) {
        const direct = await post(worker.url, body, headers);
        assert.equal(direct.status, 200, direct.body.toString());
        // Several times: the gateway spreads them over both workers, and each answer must match.
        for (let i = 0; i < 4; i++) {
          const relayed = await post(cluster.gateway.url, body, headers);
          assert.equal(relayed.status, direct.status);
          assert.deepEqual(relayed.headers, direct.headers);
          assert.ok(relayed.body.equals(direct.body), `${relayed.body.toString('hex')} vs ${direct.body.toString('hex')}`);
        }
      }
      const directGrpc = await unary(worker.grpcAddress, requests.grpcMessage);
      for (let i = 0; i < 4; i++) assert.ok((await unary(cluster.gateway.grpcAddress, requests.grpcMessage)).equals(directGrpc));
    }
    const metrics = await cluster.metrics();
    for (const id of cluster.workers.keys()) {
      assert.ok((metrics.get(`cranberries_gateway_upstream_requests_total{node="${id}",outcome="ok"}`) ?? 0) > 0, `the gateway used ${id}`);
    }
  });

  it('answers metadata and the repository index like a worker', async () => {
    const worker = [...cluster.workers.values()][0]!;
    for (const path of ['/v2/models/add_sub', '/v2/models/add_sub/config', '/v2']) {
      const [direct, relayed] = await Promise.all([fetch(worker.url + path), fetch(cluster.gateway.url + path)]);
      assert.equal(relayed.status, direct.status, path);
      const expected = (await direct.json()) as { extensions?: string[] };
      // The gateway does not offer the trace extension (its settings are each worker's own).
      if (path === '/v2') expected.extensions = expected.extensions?.filter((extension) => extension !== 'trace');
      assert.deepEqual(await relayed.json(), expected, path);
    }
    const index = await fetch(`${cluster.gateway.url}/v2/repository/index`, { method: 'POST' });
    assert.deepEqual(await index.json(), [{ name: 'add_sub', version: '1', state: 'READY' }]);
  });
});
