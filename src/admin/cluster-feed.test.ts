import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import Fastify, { type FastifyInstance } from 'fastify';
import { ClusterAdmin, MemoryStore, MemoryStoreServer, clusterPaths, encodeJson, ensureLayout, type NodeInfo, type NodeStatus } from '../cluster/index.js';
import { adminUiRoutes } from './admin-ui-routes.js';
import { ClusterFeed, differences, type ClusterEvent, type Overview } from './cluster-feed.js';

const paths = clusterPaths();
const node: NodeInfo = { id: 'w1', httpAddress: '127.0.0.1:1', grpcAddress: '127.0.0.1:2', memoryCapacityBytes: 1 << 30, labels: {}, startedAt: 0 };

function status(state: 'LOADING' | 'READY' | 'UNAVAILABLE', reason?: string): NodeStatus {
  return { models: { m: { versions: { '1': { state, ...(reason ? { reason } : {}) } } } } };
}

/** Waits (bounded) for an event matching `pattern` among the feed's history. */
async function eventMatching(feed: ClusterFeed, pattern: RegExp): Promise<ClusterEvent> {
  const deadline = Date.now() + 5000;
  for (;;) {
    const found = feed.events().find((e) => pattern.test(e.message));
    if (found) return found;
    if (Date.now() > deadline)
      throw new Error(
        `no event matching ${pattern}; got: ${feed
          .events()
          .map((e) => e.message)
          .join(' | ')}`,
      );
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe('cluster feed over a coordination store', () => {
  const backing = new MemoryStoreServer();
  const store = new MemoryStore(backing);
  const writer = new MemoryStore(backing);
  let feed: ClusterFeed;
  let app: FastifyInstance;
  let url: string;

  before(async () => {
    await Promise.all([store.start(), writer.start()]);
    await ensureLayout(writer, paths);
    feed = new ClusterFeed({ store, storeLabel: 'embedded', coalesceMs: 10, repositoryModels: () => Promise.resolve(['m', 'extra']) });
    app = Fastify();
    await app.register(adminUiRoutes({ feed, uiRoot: '/nonexistent', heartbeatMs: 50 }));
    url = await app.listen({ host: '127.0.0.1', port: 0 });
  });

  after(async () => {
    await app.close();
    await Promise.all([store.stop(), writer.stop()]);
  });

  it('turns store changes into events in plain words, and serves them as server-sent events', async () => {
    const stream = await fetch(`${url}/v2/cluster/events?model=m`);
    assert.equal(stream.status, 200);
    assert.match(stream.headers.get('content-type') ?? '', /^text\/event-stream/);
    const reader = stream.body!.pipeThrough(new TextDecoderStream()).getReader();

    await writer.create(paths.node('w1'), encodeJson(node), 'ephemeral');
    await new ClusterAdmin(writer).addModel('m', { replicas: 1 });
    await writer.create(paths.assignment('w1'), encodeJson({ models: ['m'] }), 'persistent');
    await writer.create(paths.nodeStatus('w1'), encodeJson(status('LOADING')), 'ephemeral');
    await eventMatching(feed, /m v1 on w1: new → LOADING/);
    await writer.set(paths.nodeStatus('w1'), encodeJson(status('UNAVAILABLE', 'the file is not a model')));
    const failed = await eventMatching(feed, /m v1 on w1: LOADING → UNAVAILABLE: the file is not a model/);
    assert.equal(failed.severity, 'error');
    assert.equal(failed.node, 'w1');
    await eventMatching(feed, /worker w1 joined/);

    const overview = await feed.overview();
    assert.deepEqual(overview.available, ['extra'], 'repository models not served yet');
    assert.deepEqual(
      overview.nodes.map((n) => n.id),
      ['w1'],
    );

    // The stream: an overview first, then the model's events (the worker's join is filtered out), heartbeats in between.
    let text = '';
    const deadline = Date.now() + 5000;
    while (!/LOADING → UNAVAILABLE/.test(text) || !text.includes(': keep-alive')) {
      if (Date.now() > deadline) assert.fail(`stream so far: ${text.slice(0, 2000)}`);
      const { value, done } = await reader.read();
      if (done) assert.fail('the stream ended');
      text += value;
    }
    assert.match(text, /^retry: \d+\n\nevent: overview\ndata: \{/);
    assert.match(text, /id: \d+\nevent: cluster-event\ndata: \{[^\n]*"model":"m"/);
    assert.doesNotMatch(text, /worker w1 joined/);
    await reader.cancel();

    // Recent events as JSON, resumable after an id.
    const recent = (await (await fetch(`${url}/v2/cluster/events/recent?node=w1`)).json()) as { events: ClusterEvent[] };
    assert.ok(recent.events.length >= 2);
    assert.ok(recent.events.every((e) => e.node === 'w1'));
    const bad = await fetch(`${url}/v2/cluster/events`, { headers: { 'last-event-id': 'x' } });
    assert.equal(bad.status, 400);
    assert.match(((await bad.json()) as { error: string }).error, /Last-Event-ID/);
  });

  it('without a built bundle, /ui says how to build it; / redirects to /ui/', async () => {
    const ui = await fetch(`${url}/ui/`);
    assert.equal(ui.status, 503);
    assert.match(await ui.text(), /npm run build/);
    const root = await fetch(`${url}/`, { redirect: 'manual' });
    assert.equal(root.headers.get('location'), '/ui/');
    await root.arrayBuffer();
  });
});

describe('differences between two overviews', () => {
  const base: Overview = { time: 0, components: [], nodes: [], models: [], available: [] };
  const model = (replicas: number, placement: Overview['models'][number]['placement']): Overview['models'][number] => ({
    name: 'm',
    replicas,
    memoryBytes: 0,
    memoryMeasured: false,
    placement,
    readyReplicas: 0,
    replicaStates: [],
  });

  it('names replica changes, placement verdicts and departures', () => {
    const before: Overview = { ...base, nodes: [{ ...node, memoryAssignedBytes: 0, models: [] }], models: [model(1, { state: 'PLACED', nodes: ['w1'] })] };
    const after: Overview = { ...base, models: [model(3, { state: 'PENDING', nodes: [], reason: 'no worker has 2 GiB free' })] };
    const messages = differences(before, after).map((d) => `${d.severity}: ${d.message}`);
    assert.deepEqual(messages, ['warning: worker w1 left', 'info: model m: desired replicas 1 → 3', 'warning: model m: not placed: no worker has 2 GiB free']);
  });
});
