import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { pino } from 'pino';
import { EventChannel } from '../core/events.js';
import { AssignmentSelection } from './assignment-selection.js';
import { clusterPaths, decodeJson, encodeJson, NodeInfo, NodeStatus } from './layout.js';
import { LoadMemoryProbe } from './load-memory-probe.js';
import type { ServedModels, VersionState, VersionStateChange } from './served-models.js';
import { MemoryStore, MemoryStoreServer } from './store/memory-store.js';
import { WorkerAgent } from './worker-agent.js';

const paths = clusterPaths();
const silent = pino({ level: 'silent' });

/** A model manager stand-in: tests set versions and emit the events. */
class FakeModels implements ServedModels {
  readonly stateChanged = new EventChannel<VersionStateChange>();
  private readonly table = new Map<string, Map<number, { state: VersionState; reason: string | undefined }>>();
  modelNames(): string[] {
    return [...this.table.keys()].sort();
  }
  versions(model: string): { version: number; state: VersionState; reason: string | undefined }[] {
    return [...(this.table.get(model)?.entries() ?? [])].map(([version, v]) => ({ version, ...v }));
  }
  emit(model: string, version: number, state: VersionState, reason?: string): void {
    const versions = this.table.get(model) ?? new Map<number, { state: VersionState; reason: string | undefined }>();
    this.table.set(model, versions);
    versions.set(version, { state, reason });
    this.stateChanged.publish({ model, version, state, reason });
  }
}

async function eventually<T>(read: () => Promise<T | undefined | false> | T | undefined | false, what: string, timeoutMs = 3000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const value = await read();
    if (value !== undefined && value !== false) return value;
    await new Promise((r) => setTimeout(r, 10));
  }
  assert.fail(`timed out waiting for ${what}`);
}

async function setup(options: { rss?: () => number } = {}) {
  const server = new MemoryStoreServer();
  const store = new MemoryStore(server);
  const admin = new MemoryStore(server);
  await store.start();
  await admin.start();
  await admin.ensurePath(paths.assignments);
  const selection = new AssignmentSelection();
  let selectionChanges = 0;
  selection.onChange(() => selectionChanges++);
  const models = new FakeModels();
  const agent = new WorkerAgent({
    store,
    nodeId: 'w1',
    memoryCapacityBytes: 4096,
    labels: { zone: 'a' },
    selection,
    models,
    logger: silent,
    statusCoalesceMs: 5,
    registerRetryMs: 20,
    probe: options.rss ? new LoadMemoryProbe(options.rss) : undefined,
  });
  const assign = async (list: string[]): Promise<void> => {
    const node = await admin.get(paths.assignment('w1'));
    if (node) await admin.set(paths.assignment('w1'), encodeJson({ models: list }));
    else await admin.create(paths.assignment('w1'), encodeJson({ models: list }), 'persistent');
  };
  const status = async (): Promise<NodeStatus | undefined> => decodeJson(NodeStatus, (await admin.get(paths.nodeStatus('w1')))?.data);
  return { server, store, admin, selection, models, agent, assign, status, changes: () => selectionChanges };
}

describe('worker agent', () => {
  it('registers its addresses, follows its assignment and publishes per-version status', async () => {
    const t = await setup();
    await t.assign(['a']);
    await t.agent.start({ httpAddress: '127.0.0.1:8000', grpcAddress: '127.0.0.1:8001' });
    assert.deepEqual(t.selection.list(), ['a'], 'the assignment is applied before start resolves');
    const info = decodeJson(NodeInfo, (await t.admin.get(paths.node('w1')))?.data);
    assert.deepEqual({ ...info, startedAt: 0 }, { id: 'w1', httpAddress: '127.0.0.1:8000', grpcAddress: '127.0.0.1:8001', memoryCapacityBytes: 4096, labels: { zone: 'a' }, startedAt: 0 });

    t.models.emit('a', 1, 'LOADING');
    await eventually(async () => (await t.status())?.models['a']?.versions['1']?.state === 'LOADING', 'LOADING published');
    t.models.emit('a', 1, 'READY');
    await eventually(async () => (await t.status())?.models['a']?.versions['1']?.state === 'READY', 'READY published');

    await t.assign(['a', 'b']);
    await eventually(() => t.selection.has('b'), 'the new assignment');
    t.models.emit('b', 2, 'UNAVAILABLE', 'model file missing');
    const published = await eventually(async () => {
      const s = await t.status();
      return s?.models['b'] ? s : undefined;
    }, 'b published');
    assert.deepEqual(published.models['b'], { versions: { '2': { state: 'UNAVAILABLE', reason: 'model file missing' } } });

    await t.admin.remove(paths.assignment('w1'));
    await eventually(() => t.selection.list().length === 0, 'a deleted assignment to empty the selection');

    await t.agent.stop();
    assert.equal(await t.admin.get(paths.node('w1')), undefined, 'deregistered');
    assert.equal(await t.admin.get(paths.nodeStatus('w1')), undefined, 'status removed');
  });

  it('keeps its selection while the store is unreachable, and catches up on reconnect', async () => {
    const t = await setup();
    await t.assign(['a']);
    await t.agent.start({ httpAddress: 'h:1', grpcAddress: 'h:2' });
    const before = t.changes();
    t.store.disconnect();
    await t.assign(['b']);
    await new Promise((r) => setTimeout(r, 50));
    assert.deepEqual(t.selection.list(), ['a'], 'nothing dropped while cut off');
    assert.equal(t.changes(), before);
    t.store.reconnect();
    await eventually(() => t.selection.has('b') && !t.selection.has('a'), 'the assignment made while away');
    await t.agent.stop();
  });

  it('after its session expires it re-registers and republishes without touching the selection', async () => {
    const t = await setup();
    await t.assign(['a']);
    await t.agent.start({ httpAddress: 'h:1', grpcAddress: 'h:2' });
    t.models.emit('a', 1, 'READY');
    await eventually(async () => (await t.status())?.models['a'], 'status published');
    const changesBefore = t.changes();
    const registration = (await t.admin.get(paths.node('w1')))!.data;

    t.store.disconnect();
    t.store.expireSession();
    assert.equal(await t.admin.get(paths.node('w1')), undefined, 'its ephemerals are gone with the session');
    t.store.reconnect();
    await eventually(async () => (await t.admin.get(paths.node('w1'))) !== undefined, 're-registration');
    assert.deepEqual([...(await t.admin.get(paths.node('w1')))!.data], [...registration], 'same registration');
    await eventually(async () => (await t.status())?.models['a']?.versions['1']?.state === 'READY', 'status republished');
    await new Promise((r) => setTimeout(r, 30));
    assert.equal(t.changes(), changesBefore, 'the selection never changed, so nothing reloads');
    assert.deepEqual(t.selection.list(), ['a']);
    await t.agent.stop();
  });

  it('waits for a node id held by another live worker', async () => {
    const t = await setup();
    const other = new MemoryStore(t.server);
    await other.start();
    await other.ensurePath(paths.nodes);
    await other.create(paths.node('w1'), encodeJson({ id: 'w1', httpAddress: 'x:1', grpcAddress: 'x:2', memoryCapacityBytes: 1, labels: {}, startedAt: 1 }), 'ephemeral');
    await t.agent.start({ httpAddress: 'h:1', grpcAddress: 'h:2' });
    assert.equal(t.agent.isRegistered, false);
    await other.stop(); // the other worker goes away
    await eventually(() => t.agent.isRegistered, 'registration once the id is free');
    assert.equal(decodeJson(NodeInfo, (await t.admin.get(paths.node('w1')))?.data)?.httpAddress, 'h:1');
    await t.agent.stop();
  });

  it("publishes a model's memory measured around its load", async () => {
    let rss = 1000;
    const t = await setup({ rss: () => rss });
    await t.assign(['a']);
    await t.agent.start({ httpAddress: 'h:1', grpcAddress: 'h:2' });
    t.models.emit('a', 1, 'LOADING');
    rss += 5000;
    t.models.emit('a', 1, 'READY');
    const status = await eventually(async () => {
      const s = await t.status();
      return s?.models['a']?.memoryBytes !== undefined ? s : undefined;
    }, 'memory published');
    assert.equal(status.models['a']?.memoryBytes, 5000);
    await t.agent.stop();
  });
});

describe('load memory probe', () => {
  it('keeps only clean measurements: overlapping loads or unloads spoil them', () => {
    let rss = 0;
    const probe = new LoadMemoryProbe(() => rss);
    probe.observe({ model: 'a', version: 1, state: 'LOADING' });
    rss = 100;
    probe.observe({ model: 'a', version: 1, state: 'READY' });
    assert.equal(probe.memoryOf('a', [1]), 100);

    probe.observe({ model: 'b', version: 1, state: 'LOADING' });
    probe.observe({ model: 'c', version: 1, state: 'LOADING' });
    rss = 400;
    probe.observe({ model: 'b', version: 1, state: 'READY' });
    probe.observe({ model: 'c', version: 1, state: 'READY' });
    assert.equal(probe.memoryOf('b', [1]), undefined, 'b overlapped c');
    assert.equal(probe.memoryOf('c', [1]), undefined, 'c overlapped b');

    probe.observe({ model: 'd', version: 1, state: 'LOADING' });
    probe.observe({ model: 'a', version: 1, state: 'UNLOADING' });
    rss = 450;
    probe.observe({ model: 'd', version: 1, state: 'READY' });
    assert.equal(probe.memoryOf('d', [1]), undefined, 'an unload during the load spoils it');
    assert.equal(probe.memoryOf('a', [1]), undefined, 'an unloaded version has no figure');

    probe.observe({ model: 'e', version: 1, state: 'LOADING' });
    rss = 440;
    probe.observe({ model: 'e', version: 1, state: 'READY' });
    assert.equal(probe.memoryOf('e', [1]), undefined, 'no growth: no figure');
    assert.equal(probe.memoryOf('e', []), undefined);
  });

  it('sums versions, and needs every one', () => {
    let rss = 0;
    const probe = new LoadMemoryProbe(() => rss);
    for (const version of [1, 2]) {
      probe.observe({ model: 'm', version, state: 'LOADING' });
      rss += 10 * version;
      probe.observe({ model: 'm', version, state: 'READY' });
    }
    assert.equal(probe.memoryOf('m', [1, 2]), 30);
    assert.equal(probe.memoryOf('m', [1, 2, 3]), undefined);
  });
});
