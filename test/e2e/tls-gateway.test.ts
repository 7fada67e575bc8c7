/**
 * TLS all the way through a cluster: a gateway serving mutual TLS (REST with the admin API, gRPC,
 * metrics) in front of in-process workers that themselves require mutual TLS, with the gateway's
 * upstream connections (its own HTTP/1.1 pools for REST, node:http2 for relayed gRPC, grpc-js for the rest)
 * presenting the gateway's client certificate. A gateway without upstream TLS cannot reach
 * those workers, which shows the relayed answers really came over TLS.
 */
import assert from 'node:assert/strict';
import { copyFile, readFile, writeFile } from 'node:fs/promises';
import { after, before, describe, it } from 'node:test';
import { Pool } from 'undici';
import { createClient, type InferenceClient } from '../../src/client/index.js';
import { clusterPaths, encodeJson, type NodeStatus } from '../../src/cluster/layout.js';
import { MemoryStore, MemoryStoreServer } from '../../src/cluster/store/memory-store.js';
import { createLogger, type LogLevel } from '../../src/core/logger.js';
import { GatewayServer, type GatewayPorts, type GatewayServerOptions } from '../../src/composition/index.js';
import { addSubModel, createTempModelRepository, type TempModelRepository } from '../fixtures/onnx-models.js';
import { startTestServer, type TestServer } from '../helpers/test-server.js';
import { createTestPki, type TestPki } from '../helpers/test-pki.js';
import { fileFingerprint, handshakeAccepted, presentedFingerprint } from '../helpers/tls-probe.js';
import { eventually } from '../helpers/eventually.js';

const paths = clusterPaths();
const logLevel = (process.env['TEST_LOG_LEVEL'] as LogLevel | undefined) ?? 'silent';
const SUM = [11, 22, 33, 44];
const inputs = [
  { name: 'INPUT0', datatype: 'FP32', shape: [1, 4], data: Float32Array.from([1, 2, 3, 4]) },
  { name: 'INPUT1', datatype: 'FP32', shape: [1, 4], data: Float32Array.from([10, 20, 30, 40]) },
] as const;

async function inferSum(client: InferenceClient): Promise<number[]> {
  const result = await client.infer('add_sub', [...inputs]);
  return Array.from(result.output('OUTPUT0').data as Float32Array);
}

describe('gateway and workers over mutual TLS', () => {
  let pki: TestPki;
  let repo: TempModelRepository;
  let storeServer: MemoryStoreServer;
  const workers: TestServer[] = [];
  const stores: MemoryStore[] = [];
  const gateways: GatewayServer[] = [];
  let ports: GatewayPorts;
  let clientTls: { ca: Buffer; cert: Buffer; key: Buffer };

  async function startGateway(extra: Partial<GatewayServerOptions>): Promise<GatewayPorts> {
    const gateway = new GatewayServer({
      store: new MemoryStore(storeServer),
      host: '127.0.0.1',
      httpPort: 0,
      grpcPort: 0,
      metricsPort: 0,
      httpMaxBodyBytes: 64 << 20,
      grpcMaxMessageBytes: 64 << 20,
      logger: createLogger(logLevel),
      probeDelayMs: 50,
      ...extra,
    });
    gateways.push(gateway);
    return gateway.start();
  }

  before(async () => {
    pki = await createTestPki();
    clientTls = { ca: await readFile(pki.ca.certFile), cert: await readFile(pki.client.certFile), key: await readFile(pki.client.keyFile) };
    repo = await createTempModelRepository({ add_sub: { versions: { 1: addSubModel('FP32', [4]) }, config: 'max_batch_size: 8\n' } });
    storeServer = new MemoryStoreServer();
    const admin = new MemoryStore(storeServer);
    await admin.start();
    stores.push(admin);
    await admin.ensurePath(paths.models);
    await admin.create(paths.model('add_sub'), encodeJson({ name: 'add_sub', replicas: 2, memoryBytes: 0, memoryMeasured: false }), 'persistent');
    const ready: NodeStatus = { models: { add_sub: { versions: { '1': { state: 'READY' } } } } };
    for (const id of ['w1', 'w2']) {
      const worker = await startTestServer({ modelRepository: repo.root, tls: { certFile: pki.server.certFile, keyFile: pki.server.keyFile, caFile: pki.ca.certFile } });
      workers.push(worker);
      const store = new MemoryStore(storeServer);
      await store.start();
      stores.push(store);
      const node = { id, httpAddress: `127.0.0.1:${worker.ports.http}`, grpcAddress: `127.0.0.1:${worker.ports.grpc}`, memoryCapacityBytes: 1 << 30, labels: {}, startedAt: Date.now() };
      await store.ensurePath(paths.nodes);
      await store.ensurePath(paths.status);
      await store.create(paths.node(id), encodeJson(node), 'ephemeral');
      await store.create(paths.nodeStatus(id), encodeJson(ready), 'ephemeral');
    }
    ports = await startGateway({
      tls: { certFile: pki.server.certFile, keyFile: pki.server.keyFile, caFile: pki.ca.certFile },
      upstreamTls: { caFile: pki.ca.certFile, certFile: pki.client.certFile, keyFile: pki.client.keyFile },
    });
  });

  after(async () => {
    await Promise.all(gateways.map((g) => g.stop()));
    await Promise.all(workers.map((w) => w.stop()));
    await Promise.all(stores.map((s) => s.stop()));
    await repo?.remove();
    await pki?.remove();
  });

  it('relays REST and gRPC inference to TLS workers, and serves metadata, the admin API and metrics over TLS', async () => {
    const rest = createClient({ url: `https://127.0.0.1:${ports.http}`, tls: clientTls });
    const grpc = createClient({ url: `grpcs://127.0.0.1:${ports.grpc}`, tls: clientTls });
    try {
      for (let i = 0; i < 4; i++) {
        assert.deepEqual(await inferSum(rest), SUM, 'REST fast lane → undici over TLS');
        assert.deepEqual(await inferSum(grpc), SUM, 'gRPC front → node:http2 over TLS');
      }
      // Calls the gateway answers itself or through grpc-js (model metadata from a worker).
      assert.equal((await rest.modelMetadata('add_sub')).name, 'add_sub');
      assert.equal((await grpc.modelMetadata('add_sub')).name, 'add_sub');
      assert.equal(await grpc.modelReady('add_sub'), true);
      assert.equal((await rest.modelStatistics('add_sub')).length > 0, true);
    } finally {
      await Promise.all([rest.close(), grpc.close()]);
    }
    const pool = new Pool(`https://127.0.0.1:${ports.http}`, { connect: clientTls });
    const nodes = await pool.request({ method: 'GET', path: '/v2/cluster/nodes' });
    assert.equal(nodes.statusCode, 200, 'admin API over mutual TLS');
    assert.match(await nodes.body.text(), /w1/);
    await pool.close();
    const metrics = new Pool(`https://127.0.0.1:${ports.metrics}`, { connect: clientTls });
    const scraped = await metrics.request({ method: 'GET', path: '/metrics' });
    assert.equal(scraped.statusCode, 200);
    await scraped.body.dump();
    await metrics.close();
    // The gateway's listeners refuse clients without a certificate.
    for (const port of [ports.http, ports.grpc, ports.metrics]) {
      assert.equal((await handshakeAccepted(port, { ca: clientTls.ca }, port === ports.grpc ? 'h2' : undefined)).accepted, false, `port ${port}`);
    }
  });

  it('a gateway without upstream TLS cannot reach the TLS workers (the relay above really used TLS)', async () => {
    const plainPorts = await startGateway({});
    const rest = createClient({ url: `http://127.0.0.1:${plainPorts.http}`, timeoutMs: 10_000 });
    const grpc = createClient({ url: `grpc://127.0.0.1:${plainPorts.grpc}`, timeoutMs: 10_000 });
    try {
      await assert.rejects(inferSum(rest));
      await assert.rejects(inferSum(grpc));
    } finally {
      await Promise.all([rest.close(), grpc.close()]);
    }
  });

  it("reloads the gateway's certificate on its three listeners without a restart, and keeps relaying", async () => {
    const live = { certFile: `${pki.dir}/gw-live.crt`, keyFile: `${pki.dir}/gw-live.key` };
    await copyFile(pki.server.certFile, live.certFile);
    await copyFile(pki.server.keyFile, live.keyFile);
    const reloading = await startGateway({
      tls: { ...live, reloadPollMs: 1000 },
      upstreamTls: { caFile: pki.ca.certFile, certFile: pki.client.certFile, keyFile: pki.client.keyFile },
    });
    const listeners = [
      [reloading.http, undefined],
      [reloading.grpc, 'h2'],
      [reloading.metrics, undefined],
    ] as const;
    for (const [port, alpn] of listeners) assert.equal(await presentedFingerprint(port, clientTls.ca, alpn), fileFingerprint(pki.server.certFile));
    const renewed = await pki.issue(pki.ca, 'gw-renewed', 'server');
    await writeFile(live.keyFile, await readFile(renewed.keyFile));
    await writeFile(live.certFile, await readFile(renewed.certFile));
    const second = fileFingerprint(renewed.certFile);
    for (const [port, alpn] of listeners) {
      await eventually(async () => (await presentedFingerprint(port, clientTls.ca, alpn)) === second, `gateway port ${port} to present the renewed certificate`, 15_000);
    }
    const grpc = createClient({ url: `grpcs://localhost:${reloading.grpc}`, tls: { ca: clientTls.ca } });
    try {
      assert.deepEqual(await inferSum(grpc), SUM);
    } finally {
      await grpc.close();
    }
  });
});
