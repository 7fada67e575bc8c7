/**
 * Shared memory and the cluster gateway: a region is memory of one machine and the gateway may
 * relay a request to a worker on another, so the gateway refuses registration (REST and gRPC) with
 * a message saying where to register instead, lists no regions, and does not advertise the
 * extension even though its workers (started with shared memory allowed) do.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { rmSync, writeFileSync } from 'node:fs';
import * as grpc from '@grpc/grpc-js';
import { clusterPaths, encodeJson, type NodeStatus } from '../../src/cluster/layout.js';
import { MemoryStore, MemoryStoreServer } from '../../src/cluster/store/memory-store.js';
import { createLogger } from '../../src/core/logger.js';
import { GatewayServer, type GatewayPorts } from '../../src/composition/index.js';
import { GATEWAY_SHM_REFUSAL } from '../../src/shared-memory/index.js';
import { addSubModel, createTempModelRepository, type TempModelRepository } from '../fixtures/onnx-models.js';
import { DecoderTestClient, OIP_SERVICE } from '../helpers/grpc-raw-client.js';
import { startTestServer, waitFor, type TestServer } from '../helpers/test-server.js';

const paths = clusterPaths();
const KEY = `/cranberries_gwtest_${process.pid}_${randomBytes(4).toString('hex')}`;

let repo: TempModelRepository;
let worker: TestServer;
let workerStore: MemoryStore;
let gateway: GatewayServer;
let ports: GatewayPorts;

before(async () => {
  writeFileSync('/dev/shm' + KEY, Buffer.alloc(64));
  repo = await createTempModelRepository({ add_sub: { versions: { 1: addSubModel('FP32', [4]) }, config: 'max_batch_size: 8\n' } });
  const storeServer = new MemoryStoreServer();
  const admin = new MemoryStore(storeServer);
  await admin.start();
  await admin.ensurePath(paths.models);
  await admin.create(paths.model('add_sub'), encodeJson({ name: 'add_sub', replicas: 1, memoryBytes: 0, memoryMeasured: false }), 'persistent');
  worker = await startTestServer({ modelRepository: repo.root, allowClientShm: true });
  workerStore = new MemoryStore(storeServer);
  await workerStore.start();
  const node = { id: 'w1', httpAddress: `127.0.0.1:${worker.ports.http}`, grpcAddress: `127.0.0.1:${worker.ports.grpc}`, memoryCapacityBytes: 1 << 30, labels: {}, startedAt: Date.now() };
  const ready: NodeStatus = { models: { add_sub: { versions: { '1': { state: 'READY' } } } } };
  await workerStore.ensurePath(paths.nodes);
  await workerStore.ensurePath(paths.status);
  await workerStore.create(paths.node('w1'), encodeJson(node), 'ephemeral');
  await workerStore.create(paths.nodeStatus('w1'), encodeJson(ready), 'ephemeral');
  gateway = new GatewayServer({
    store: new MemoryStore(storeServer),
    host: '127.0.0.1',
    httpPort: 0,
    grpcPort: 0,
    metricsPort: 0,
    httpMaxBodyBytes: 64 << 20,
    grpcMaxMessageBytes: 64 << 20,
    logger: createLogger('silent'),
    probeDelayMs: 50,
  });
  ports = await gateway.start();
});

after(async () => {
  await gateway?.stop();
  await worker?.stop();
  await workerStore?.stop();
  await repo?.remove();
  rmSync('/dev/shm' + KEY, { force: true });
});

test('the gateway refuses registration over REST and gRPC, lists no regions, and says where to register', async () => {
  const url = `http://127.0.0.1:${ports.http}`;
  const register = await fetch(`${url}/v2/systemsharedmemory/region/r/register`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ key: KEY, offset: 0, byte_size: 64 }),
  });
  assert.equal(register.status, 501);
  assert.equal(((await register.json()) as { error: string }).error, GATEWAY_SHM_REFUSAL);
  const status = await fetch(`${url}/v2/systemsharedmemory/status`);
  assert.equal(status.status, 200);
  assert.deepEqual(await status.json(), []);

  const client = new DecoderTestClient(`127.0.0.1:${ports.grpc}`);
  try {
    const answer = await client.call(OIP_SERVICE, 'SystemSharedMemoryRegister', { name: 'r', key: KEY, offset: 0, byte_size: 64 });
    assert.equal(answer.code, grpc.status.UNIMPLEMENTED);
    assert.equal(answer.details, GATEWAY_SHM_REFUSAL);
  } finally {
    client.close();
  }
  // The worker itself accepts the same registration.
  const direct = await fetch(`${worker.url}/v2/systemsharedmemory/region/r/register`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ key: KEY, offset: 0, byte_size: 64 }),
  });
  assert.equal(direct.status, 200);
  assert.equal((await fetch(`${worker.url}/v2/systemsharedmemory/unregister`, { method: 'POST' })).status, 200);
});

test('the gateway relays its workers server metadata without the system_shared_memory extension', async () => {
  const workerMetadata = (await (await fetch(`${worker.url}/v2`)).json()) as { extensions: string[] };
  assert.ok(workerMetadata.extensions.includes('system_shared_memory'));
  let extensions: string[] = [];
  // The gateway learns the workers' metadata once it has a table; until then it answers its own (no extensions).
  await waitFor(
    async () => {
      extensions = ((await (await fetch(`http://127.0.0.1:${ports.http}/v2`)).json()) as { extensions: string[] }).extensions;
      return extensions.includes('binary_tensor_data');
    },
    20_000,
    "the gateway to learn the workers' metadata",
  );
  assert.ok(!extensions.includes('system_shared_memory'), JSON.stringify(extensions));
});
