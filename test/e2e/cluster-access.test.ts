/**
 * Access control across a real process cluster (ZooKeeper, controller, two workers, gateway) run
 * with the cluster's ZooKeeper identity and shared token files: the cluster comes up and serves;
 * the gateway refuses calls without the right token over REST and gRPC and relays those with it
 * (the workers, which check the same tokens, accept the forwarded credentials); the cluster admin
 * API on the gateway needs the admin token and refuses cross-site requests; and a ZooKeeper client
 * without the identity cannot change placement.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createClient, Exception } from 'node-zookeeper-client';
import { GrpcClient, InferenceServerError } from '../../src/client/index.js';
import { startAddSubCluster, type ProcessCluster } from './cluster-gateway-harness.js';

const AUTH = { user: 'cranberries', password: 'zk-secret' };
const ADMIN = 'cluster-admin-token';
const INFERENCE = 'cluster-inference-token';
const INFER_BODY = JSON.stringify({
  inputs: [
    { name: 'INPUT0', datatype: 'FP32', shape: [1, 4], data: [1, 2, 3, 4] },
    { name: 'INPUT1', datatype: 'FP32', shape: [1, 4], data: [1, 1, 1, 1] },
  ],
});

let cluster: ProcessCluster;
let secrets: string;

before(async () => {
  secrets = await mkdtemp(join(tmpdir(), 'cluster-access-'));
  await writeFile(join(secrets, 'admin'), `${ADMIN}\n`);
  await writeFile(join(secrets, 'inference'), `${INFERENCE}\n`);
  const zookeeperAuth = ['--zookeeper-auth', `${AUTH.user}:${AUTH.password}`];
  const tokens = ['--admin-token-file', join(secrets, 'admin'), '--inference-token-file', join(secrets, 'inference')];
  cluster = await startAddSubCluster({
    workers: 2,
    storeAuth: AUTH,
    extraArgs: { controller: zookeeperAuth, worker: [...zookeeperAuth, ...tokens], gateway: [...zookeeperAuth, ...tokens] },
  });
});

after(async () => {
  await cluster?.close();
  if (secrets) await rm(secrets, { recursive: true, force: true });
});

const json = { 'content-type': 'application/json' };
const bearer = (token: string): Record<string, string> => ({ authorization: `Bearer ${token}` });

describe('gateway and workers', () => {
  test('REST inference through the gateway needs the token, and the worker accepts the forwarded one', async () => {
    const url = `${cluster.gateway.url}/v2/models/add_sub/infer`;
    assert.equal((await fetch(url, { method: 'POST', body: INFER_BODY, headers: json })).status, 401);
    for (let i = 0; i < 4; i++) {
      const answer = await fetch(url, { method: 'POST', body: INFER_BODY, headers: { ...json, ...bearer(INFERENCE) } });
      assert.equal(answer.status, 200, await answer.text());
    }
    const worker = [...cluster.workers.values()][0]!;
    assert.equal((await fetch(`${worker.url}/v2/models/add_sub/infer`, { method: 'POST', body: INFER_BODY, headers: json })).status, 401, 'workers check too');
    assert.equal((await fetch(`${cluster.gateway.url}/v2/health/ready`)).status, 200, 'health stays open');
  });

  test('gRPC inference through the gateway needs the token', async () => {
    const anonymous = new GrpcClient({ url: `grpc://${cluster.gateway.grpcAddress}` });
    const user = new GrpcClient({ url: `grpc://${cluster.gateway.grpcAddress}`, headers: bearer(INFERENCE) });
    const inputs = [
      { name: 'INPUT0', datatype: 'FP32' as const, shape: [1, 4], data: new Float32Array([1, 2, 3, 4]) },
      { name: 'INPUT1', datatype: 'FP32' as const, shape: [1, 4], data: new Float32Array([1, 1, 1, 1]) },
    ];
    try {
      await assert.rejects(anonymous.infer('add_sub', inputs), (error: unknown) => error instanceof InferenceServerError && error.code === 'UNAUTHENTICATED');
      for (let i = 0; i < 4; i++) {
        const result = await user.infer('add_sub', inputs);
        assert.deepEqual([...(result.output('OUTPUT0').data as Float32Array)], [2, 3, 4, 5]);
      }
      await assert.rejects(user.unloadModel('add_sub'), (error: unknown) => error instanceof InferenceServerError && error.code === 'UNAUTHENTICATED');
    } finally {
      await anonymous.close();
      await user.close();
    }
  });

  test("the gateway's cluster admin API needs the admin token and refuses cross-site requests", async () => {
    const url = `${cluster.gateway.url}/v2/cluster/models/add_sub/replicas`;
    assert.equal((await fetch(url, { method: 'PUT', body: '{"replicas":2}', headers: json })).status, 401);
    assert.equal((await fetch(url, { method: 'PUT', body: '{"replicas":0}', headers: { 'content-type': 'text/plain', origin: 'http://evil.example', ...bearer(ADMIN) } })).status, 403);
    assert.equal((await fetch(url, { method: 'PUT', body: '{"replicas":2}', headers: { ...json, ...bearer(ADMIN) } })).status, 200);
    assert.equal((await cluster.admin.getModel('add_sub')).replicas, 2);
  });
});

test('a ZooKeeper client without the cluster identity cannot change placement', async () => {
  const client = createClient(cluster.zk.connectionString, { sessionTimeout: 4000, retries: 0 });
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('raw client did not connect')), 10_000);
    client.once('connected', () => {
      clearTimeout(timer);
      resolve();
    });
    client.connect();
  });
  try {
    const code = await new Promise<number>((resolve) =>
      client.setData('/cranberries/models/add_sub', Buffer.from('{"replicas":0}'), -1, (error) => resolve(error instanceof Exception ? error.getCode() : error ? -1 : 0)),
    );
    assert.equal(code, Exception.NO_AUTH);
    assert.equal((await cluster.admin.getModel('add_sub')).replicas, 2);
  } finally {
    client.close();
  }
});
