/**
 * The cluster components' `/metrics` in a small cluster in this process (two controllers, two
 * workers, real model servers, the embedded coordination store): exact values of the worker,
 * controller and coordination series after placement, after a worker's session expires and after
 * a worker leaves; the join/leave log lines; a gateway's upstream latency and marked-down workers;
 * the controller's Graphite push; the CLI flags.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server, type Socket } from 'node:net';
import { hostname } from 'node:os';
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { clusterPaths, encodeJson } from '../../src/cluster/layout.js';
import { MemoryStore, MemoryStoreServer } from '../../src/cluster/store/memory-store.js';
import type { WorkerNode } from '../../src/composition/worker-node.js';
import { startTestWorker } from '../helpers/cluster-worker.js';
import { controllerCommand } from '../../src/cli/controller.js';
import { GatewayServer, startControllerNode, type ControllerNode } from '../../src/composition/index.js';
import { gatewayCommand } from '../../src/cli/gateway.js';
import { workerCommand } from '../../src/cli/worker.js';
import { parsePrometheusText, sampleValue, type Exposition } from '../helpers/prometheus-text.js';
import { addSubModel, createTempModelRepository, type TempModelRepository } from '../fixtures/onnx-models.js';
import { infer } from '../helpers/oip-client.js';
import { waitFor } from '../helpers/test-server.js';

const IO =
  'input [ { name: "INPUT0" data_type: TYPE_FP32 dims: [ 4 ] }, { name: "INPUT1" data_type: TYPE_FP32 dims: [ 4 ] } ]\noutput [ { name: "OUTPUT0" data_type: TYPE_FP32 dims: [ 4 ] }, { name: "OUTPUT1" data_type: TYPE_FP32 dims: [ 4 ] } ]\n';
const CONFIG = `max_batch_size: 8\n${IO}`;
const MODELS = ['alpha', 'beta'];
const GiB = 1024 ** 3;

interface LogLine {
  readonly msg: string;
  readonly component?: string;
  readonly node?: string;
}

const lines: LogLine[] = [];
const logger = pino(
  { level: 'info' },
  new Writable({
    write(chunk: Buffer, _encoding, callback) {
      for (const line of chunk.toString().split('\n')) if (line) lines.push(JSON.parse(line) as LogLine);
      callback();
    },
  }),
);

let repo: TempModelRepository;
const backing = new MemoryStoreServer();
const stores: MemoryStore[] = [];
const controllers: ControllerNode[] = [];
const workers = new Map<string, WorkerNode>();
const workerStores = new Map<string, MemoryStore>();

async function newStore(): Promise<MemoryStore> {
  const store = new MemoryStore(backing);
  await store.start();
  stores.push(store);
  return store;
}

async function startWorker(id: string): Promise<void> {
  const store = await newStore();
  workerStores.set(id, store);
  const node = await startTestWorker({
    store,
    nodeId: id,
    memoryCapacityBytes: GiB,
    modelRepository: repo.root,
    logger,
  });
  workers.set(id, node);
}

async function scrapePort(port: number): Promise<Exposition> {
  const response = await fetch(`http://127.0.0.1:${port}/metrics`);
  assert.equal(response.status, 200);
  return parsePrometheusText(await response.text());
}

const scrapeWorker = (id: string): Promise<Exposition> => scrapePort(workers.get(id)!.ports.metrics);
const scrapeController = (i: number): Promise<Exposition> => scrapePort(controllers[i]!.metricsPort);

before(async () => {
  repo = await createTempModelRepository(Object.fromEntries(MODELS.map((name) => [name, { versions: { 1: addSubModel('FP32', [4]) }, config: CONFIG }])));
  for (const candidate of ['c1', 'c2']) {
    // One at a time: the first becomes the leader, the second stands by.
    controllers.push(await startControllerNode({ store: await newStore(), modelRepository: repo.root, defaultReplicas: 2, logger, host: '127.0.0.1', metricsPort: 0, candidate }));
  }
  await waitFor(() => controllers[0]!.controller.isLeader, 5000, 'c1 to lead');
  // A round before any worker exists: the workers' arrivals below are then joins.
  await controllers[0]!.controller.reconcileNow();
  await startWorker('w1');
  await startWorker('w2');
  await waitFor(
    async () => {
      for (const id of workers.keys()) {
        const m = await scrapeWorker(id);
        if (MODELS.some((model) => sampleValue(m, 'cranberries_model_state', { model, version: '1', state: 'READY' }) !== 1)) return false;
      }
      return sampleValue(await scrapeController(0), 'cranberries_controller_models', { state: 'PLACED' }) === MODELS.length;
    },
    20_000,
    'both models READY on both workers',
  );
});

after(async () => {
  for (const worker of workers.values()) await worker.stop();
  for (const controller of controllers) await controller.stop();
  for (const store of stores) await store.stop();
  await repo?.remove();
});

describe('cluster metrics', () => {
  test('a worker exports its membership and session next to its model metrics', async () => {
    for (const id of ['w1', 'w2']) {
      const m = await scrapeWorker(id);
      assert.equal(sampleValue(m, 'cranberries_worker_assigned_models'), MODELS.length, id);
      assert.equal(sampleValue(m, 'cranberries_worker_registered'), 1, id);
      assert.equal(sampleValue(m, 'cranberries_worker_registrations_total'), 1, id);
      assert.ok(sampleValue(m, 'cranberries_worker_status_publishes_total', { outcome: 'ok' })! >= 1, id);
      assert.equal(sampleValue(m, 'cranberries_worker_status_publishes_total', { outcome: 'failed' }), 0, id);
      assert.equal(sampleValue(m, 'cranberries_coordination_session_state', { state: 'connected' }), 1, id);
      assert.equal(sampleValue(m, 'cranberries_coordination_session_state', { state: 'disconnected' }), 0, id);
      assert.equal(sampleValue(m, 'cranberries_coordination_session_state', { state: 'expired' }), 0, id);
      assert.equal(sampleValue(m, 'cranberries_coordination_session_transitions_total', { state: 'expired' }), 0, id);
      assert.ok(sampleValue(m, 'process_resident_memory_bytes')! > 0, id);
    }
  });

  test('the leader controller exports placement, leadership and live workers', async () => {
    const m = await scrapeController(0);
    assert.equal(sampleValue(m, 'cranberries_controller_leader'), 1);
    assert.equal(sampleValue(m, 'cranberries_controller_leadership_changes_total'), 1);
    assert.ok(sampleValue(m, 'cranberries_controller_placement_rounds_total')! >= 2);
    assert.equal(sampleValue(m, 'cranberries_controller_placement_decisions_total', { action: 'assign' }), MODELS.length * 2);
    assert.equal(sampleValue(m, 'cranberries_controller_placement_decisions_total', { action: 'unassign' }), 0);
    assert.equal(sampleValue(m, 'cranberries_controller_models', { state: 'PLACED' }), MODELS.length);
    assert.equal(sampleValue(m, 'cranberries_controller_models', { state: 'PARTIAL' }), 0);
    assert.equal(sampleValue(m, 'cranberries_controller_models', { state: 'PENDING' }), 0);
    for (const model of MODELS) {
      assert.equal(sampleValue(m, 'cranberries_controller_model_placement', { model, state: 'PLACED' }), 1, model);
      assert.equal(sampleValue(m, 'cranberries_controller_model_placement', { model, state: 'PENDING' }), 0, model);
      assert.equal(sampleValue(m, 'cranberries_controller_assigned_replicas', { model }), 2, model);
    }
    for (const node of ['w1', 'w2']) assert.equal(sampleValue(m, 'cranberries_controller_node_assigned_models', { node }), MODELS.length, node);
    assert.equal(sampleValue(m, 'cranberries_cluster_nodes'), 2);
    assert.equal(sampleValue(m, 'cranberries_coordination_session_state', { state: 'connected' }), 1);
    assert.ok(sampleValue(m, 'nodejs_eventloop_lag_p99_seconds') !== undefined);
  });

  test('a standby controller reports no placement of its own, but the live workers', async () => {
    const m = await scrapeController(1);
    assert.equal(sampleValue(m, 'cranberries_controller_leader'), 0);
    assert.equal(sampleValue(m, 'cranberries_controller_leadership_changes_total'), 0);
    assert.equal(sampleValue(m, 'cranberries_controller_models', { state: 'PLACED' }), 0);
    assert.ok(!m.samples.some((s) => s.name === 'cranberries_controller_model_placement'));
    assert.equal(sampleValue(m, 'cranberries_cluster_nodes'), 2);
  });

  test('a worker whose session expired registers again: the counters show it, the assignment stays', async () => {
    workerStores.get('w2')!.expireSession();
    await waitFor(async () => sampleValue(await scrapeWorker('w2'), 'cranberries_worker_registrations_total') === 2, 5000, 'w2 to register again');
    const m = await scrapeWorker('w2');
    assert.equal(sampleValue(m, 'cranberries_worker_registered'), 1);
    assert.equal(sampleValue(m, 'cranberries_worker_assigned_models'), MODELS.length);
    assert.equal(sampleValue(m, 'cranberries_coordination_session_transitions_total', { state: 'expired' }), 1);
    assert.equal(sampleValue(m, 'cranberries_coordination_session_transitions_total', { state: 'connected' }), 1);
    assert.equal(sampleValue(m, 'cranberries_coordination_session_state', { state: 'connected' }), 1);
    assert.equal(sampleValue(await scrapeWorker('w1'), 'cranberries_worker_registrations_total'), 1, 'w1 was not affected');
  });

  test('joins and leaves: one log line each from the worker and from the leader controller; the live count follows', async () => {
    const of = (component: string, node: string | undefined, msg: string): LogLine[] => lines.filter((l) => l.component === component && l.msg === msg && (node === undefined || l.node === node));
    assert.equal(of('controller', undefined, 'workers in the cluster: none').length, 1);
    // w2 joined twice (its session expired once); the controller may or may not have seen it gone in between.
    assert.equal(of('worker-agent', 'w1', 'joined the cluster: node registered').length, 1);
    assert.equal(of('worker-agent', 'w2', 'joined the cluster: node registered').length, 2);
    assert.equal(of('controller', 'w1', "worker 'w1' joined the cluster").length, 1);
    assert.ok(of('controller', 'w2', "worker 'w2' joined the cluster").length >= 1);

    const leavesBefore = of('controller', 'w2', "worker 'w2' left the cluster").length;
    await workers.get('w2')!.stop();
    workers.delete('w2');
    assert.equal(of('worker-agent', 'w2', 'left the cluster: node unregistered').length, 1);
    await waitFor(() => of('controller', 'w2', "worker 'w2' left the cluster").length === leavesBefore + 1, 5000, "the controller to log w2's leave");
    await waitFor(async () => sampleValue(await scrapeController(0), 'cranberries_cluster_nodes') === 1, 5000, 'one live worker');
    assert.equal(lines.filter((l) => l.component === 'controller' && /^worker '.*' (joined|left) the cluster$/.test(l.msg) && l.node === 'w1').length, 1, 'nothing more about w1');
  });

  test('a gateway times every relayed attempt per worker and counts the workers it marks down', async () => {
    // A registered worker nothing listens for: READY on paper, refused on connect.
    const closed = createServer();
    const deadPort = await new Promise<number>((resolve) => closed.listen(0, '127.0.0.1', () => resolve((closed.address() as { port: number }).port)));
    await new Promise((resolve) => closed.close(resolve));
    const paths = clusterPaths();
    const ghost = await newStore();
    const ghostNode = { id: 'ghost', httpAddress: `127.0.0.1:${deadPort}`, grpcAddress: `127.0.0.1:${deadPort}`, memoryCapacityBytes: 0, labels: {}, startedAt: Date.now() };
    await ghost.create(paths.node('ghost'), encodeJson(ghostNode), 'ephemeral');
    await ghost.create(paths.nodeStatus('ghost'), encodeJson({ models: { alpha: { versions: { '1': { state: 'READY' } } } } }), 'ephemeral');
    const gateway = new GatewayServer({
      store: new MemoryStore(backing),
      host: '127.0.0.1',
      httpPort: 0,
      grpcPort: 0,
      metricsPort: 0,
      httpMaxBodyBytes: 1 << 20,
      grpcMaxMessageBytes: 1 << 20,
      logger,
      probeDelayMs: 60_000,
    });
    const ports = await gateway.start();
    try {
      const data = [1, 2, 3, 4];
      const tensors = [
        { name: 'INPUT0', datatype: 'FP32', shape: [1, 4], data },
        { name: 'INPUT1', datatype: 'FP32', shape: [1, 4], data },
      ];
      // Ties are broken at random: 20 requests reach the ghost at least once but for a 2^-20 chance.
      const REQUESTS = 20;
      for (let i = 0; i < REQUESTS; i++) assert.equal((await infer(`http://127.0.0.1:${ports.http}`, 'alpha', tensors)).status, 200);
      const m = await scrapePort(ports.metrics);
      assert.equal(sampleValue(m, 'cranberries_gateway_worker_marked_down_total', { node: 'ghost' }), 1);
      assert.equal(sampleValue(m, 'cranberries_gateway_worker_up', { node: 'ghost' }), 0);
      assert.equal(sampleValue(m, 'cranberries_gateway_upstream_requests_total', { node: 'ghost', outcome: 'refused' }), 1);
      assert.equal(sampleValue(m, 'cranberries_gateway_upstream_duration_seconds_count', { node: 'ghost' }), 1);
      assert.equal(sampleValue(m, 'cranberries_gateway_upstream_requests_total', { node: 'w1', outcome: 'ok' }), REQUESTS);
      assert.equal(sampleValue(m, 'cranberries_gateway_upstream_duration_seconds_count', { node: 'w1' }), REQUESTS);
      assert.equal(sampleValue(m, 'cranberries_gateway_upstream_duration_seconds_bucket', { node: 'w1', le: '+Inf' }), REQUESTS);
      assert.ok(sampleValue(m, 'cranberries_gateway_upstream_duration_seconds_sum', { node: 'w1' })! > 0);
      assert.equal(sampleValue(m, 'cranberries_gateway_retries_total', { reason: 'refused' }), 1);
      assert.equal(sampleValue(m, 'cranberries_coordination_session_state', { state: 'connected' }), 1);
      assert.equal(sampleValue(m, 'cranberries_coordination_session_transitions_total', { state: 'connected' }), 1);
    } finally {
      await gateway.stop();
    }
  });

  test('the controller pushes its metrics to Graphite under <prefix>.<hostname>-controller-<metrics port>', async () => {
    const received: string[] = [];
    const sockets = new Set<Socket>();
    const carbon: Server = createServer((socket) => {
      sockets.add(socket);
      socket.on('data', (data: Buffer) => received.push(...data.toString().split('\n').filter(Boolean)));
    });
    const port = await new Promise<number>((resolve) => carbon.listen(0, '127.0.0.1', () => resolve((carbon.address() as { port: number }).port)));
    const node = await startControllerNode({
      store: await newStore(),
      defaultReplicas: 1,
      logger,
      host: '127.0.0.1',
      metricsPort: 0,
      candidate: 'c3',
      graphite: { host: '127.0.0.1', port, prefix: 'test.cluster', intervalSeconds: 1 },
    });
    try {
      const base = `test.cluster.${hostname().replace(/[^A-Za-z0-9_-]/g, '_')}-controller-${node.metricsPort}`;
      await waitFor(() => received.some((l) => l.startsWith(`${base}.controller_leader `)), 5000, 'a Graphite push');
      const leader = received.find((l) => l.startsWith(`${base}.controller_leader `))!;
      assert.match(leader, / 0 \d+$/, 'c3 stands by');
      assert.ok(received.some((l) => l.startsWith(`${base}.cluster_nodes `)));
      assert.ok(received.some((l) => l.startsWith(`${base}.coordination_session_state.connected 1 `)));
    } finally {
      await node.stop();
      for (const socket of sockets) socket.destroy();
      await new Promise((resolve) => carbon.close(resolve));
    }
  });
});

describe('observability flags of the cluster commands', () => {
  test('worker, controller and gateway accept the Graphite and request-log flags; the controller has --host and --metrics-port 8002', () => {
    const longs = (options: readonly { long?: string | undefined }[]): (string | undefined)[] => options.map((o) => o.long);
    const shared = ['--graphite', '--graphite-prefix', '--graphite-interval-secs', '--graphite-node', '--log-requests-sample-rate'];
    for (const command of [workerCommand(), controllerCommand(), gatewayCommand()]) {
      for (const flag of shared) assert.ok(longs(command.options).includes(flag), `${command.name()} ${flag}`);
    }
    const controller = controllerCommand();
    assert.equal(controller.options.find((o) => o.long === '--metrics-port')?.defaultValue, 8002);
    assert.equal(controller.options.find((o) => o.long === '--host')?.defaultValue, '0.0.0.0');
  });
});
