import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import Fastify, { type FastifyInstance } from 'fastify';
import { clusterAdminRoutes } from './admin-routes.js';
import type { ModelView, NodeView } from './admin-api.js';
import { clusterPaths, encodeJson } from './layout.js';
import { MemoryStore } from './store/memory-store.js';

const paths = clusterPaths();

/** An app like the inference apps: every body is read raw, whatever its Content-Type. */
function rawBodyApp(): FastifyInstance {
  const app = Fastify();
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', { parseAs: 'buffer' }, (_request, body, done) => done(null, body));
  return app;
}

async function setup(rawBodies: boolean): Promise<{ app: FastifyInstance; store: MemoryStore }> {
  const store = new MemoryStore();
  await store.start();
  const app = rawBodies ? rawBodyApp() : Fastify();
  // No controller runs here: changes are never carried out, so they answer 202 at once (wait 0).
  await app.register(clusterAdminRoutes(store, { defaultReplicas: 2, settleMs: 0 }));
  await app.ready();
  return { app, store };
}

async function call(app: FastifyInstance, method: 'GET' | 'POST' | 'PUT' | 'DELETE', url: string, body?: unknown): Promise<{ status: number; json: Record<string, unknown> }> {
  const response = await app.inject({
    method,
    url,
    ...(body === undefined ? {} : { payload: typeof body === 'string' ? body : JSON.stringify(body), headers: { 'content-type': 'application/json' } }),
  });
  assert.match(String(response.headers['content-type']), /application\/json/);
  return { status: response.statusCode, json: response.json<Record<string, unknown>>() };
}

for (const rawBodies of [false, true]) {
  describe(`cluster admin routes (${rawBodies ? 'raw-body app' : 'default fastify app'})`, () => {
    it('adds, changes, loads, unloads and removes models in the desired state', async () => {
      const { app, store } = await setup(rawBodies);
      const added = await call(app, 'POST', '/v2/cluster/models/resnet', { replicas: 3, memory: '1GiB' });
      assert.equal(added.status, 202, 'accepted, not carried out: no controller places it');
      assert.equal(added.json['watch'], '/v2/cluster/models/resnet');
      assert.deepEqual(
        { name: added.json['name'], replicas: added.json['replicas'], memoryBytes: added.json['memoryBytes'], placement: added.json['placement'] },
        { name: 'resnet', replicas: 3, memoryBytes: 2 ** 30, placement: { state: 'PENDING', nodes: [], reason: 'not placed yet (is a controller running?)' } },
      );
      assert.equal(added.json['memoryMeasured'], true, 'an explicit figure is not replaced by measurements');
      assert.equal((await call(app, 'POST', '/v2/cluster/models/resnet', {})).status, 409);

      const set = await call(app, 'PUT', '/v2/cluster/models/resnet/replicas', { replicas: 1 });
      assert.equal(set.status, 202);
      assert.equal(set.json['replicas'], 1);
      const unloaded = await call(app, 'POST', '/v2/cluster/models/resnet/unload');
      assert.deepEqual([unloaded.status, unloaded.json['replicas']], [200, 0], 'nothing was placed: 0 replicas is already carried out');
      assert.equal((await call(app, 'POST', '/v2/cluster/models/resnet/load')).json['replicas'], 2, 'the default count');
      assert.equal((await call(app, 'POST', '/v2/cluster/models/resnet/load', { replicas: 4 })).json['replicas'], 4);
      const fresh = await call(app, 'POST', '/v2/cluster/models/bert/load');
      assert.equal(fresh.status, 202, 'load adds an unknown model');
      assert.equal(fresh.json['replicas'], 2);
      assert.deepEqual([fresh.json['memoryBytes'], fresh.json['memoryMeasured']], [0, false], 'no figure: 0 until measured');

      const listed = await call(app, 'GET', '/v2/cluster/models');
      assert.deepEqual(
        (listed.json['models'] as ModelView[]).map((m) => `${m.name}:${m.replicas}`),
        ['bert:2', 'resnet:4'],
      );

      assert.deepEqual(await call(app, 'DELETE', '/v2/cluster/models/bert'), { status: 200, json: {} });
      assert.equal(await store.get(paths.model('bert')), undefined);
      assert.equal((await call(app, 'DELETE', '/v2/cluster/models/bert')).status, 404);
      assert.equal((await call(app, 'GET', '/v2/cluster/models/bert')).status, 404);
      await app.close();
      await store.stop();
    });

    it('refuses bad input with 400 and a message naming the field', async () => {
      const { app, store } = await setup(rawBodies);
      const cases: [string, string, unknown, RegExp][] = [
        ['POST', '/v2/cluster/models/m', { replicas: -1 }, /'replicas' must be a whole number from 0 to 1000, got -1/],
        ['POST', '/v2/cluster/models/m', { replicas: 1.5 }, /'replicas' must be a whole number/],
        ['POST', '/v2/cluster/models/m', { memory: 'lots' }, /'lots' is not a memory size/],
        ['POST', '/v2/cluster/models/m', { replica: 2 }, /invalid request body/],
        ['POST', '/v2/cluster/models/m', '{not json', /not valid JSON/],
        ['PUT', '/v2/cluster/models/m/replicas', undefined, /needs a JSON body/],
        ['PUT', '/v2/cluster/models/m/replicas', { replicas: 'two' }, /'replicas'/],
        ['POST', '/v2/cluster/models/a%2Fb', {}, /invalid model name "a\/b": a model name must not contain '\/'/],
      ];
      for (const [method, url, body, message] of cases) {
        const { status, json } = await call(app, method as 'POST', url, body);
        assert.equal(status, 400, `${method} ${url} ${JSON.stringify(body)}`);
        assert.match(String(json['error']), message);
      }
      assert.equal((await call(app, 'PUT', '/v2/cluster/models/unknown/replicas', { replicas: 1 })).status, 404);
      await app.close();
      await store.stop();
    });

    it('answers 503 while the coordination store is unreachable', async () => {
      const { app, store } = await setup(rawBodies);
      store.disconnect();
      const { status, json } = await call(app, 'GET', '/v2/cluster/models');
      assert.equal(status, 503);
      assert.match(String(json['error']), /not connected/);
      store.reconnect();
      await app.close();
      await store.stop();
    });
  });
}

describe('cluster admin routes refuse names nobody knows', () => {
  it('a model outside the known models is 404 with the known names; so is an unknown deployment', async () => {
    const store = new MemoryStore();
    await store.start();
    const app = Fastify();
    const known = Array.from({ length: 12 }, (_, i) => `model_${String(i).padStart(2, '0')}`).concat(['digits']);
    await app.register(clusterAdminRoutes(store, { settleMs: 0, knownModels: () => Promise.resolve(known) }));
    await app.ready();
    for (const [method, url] of [
      ['POST', '/v2/cluster/models/digitz'],
      ['POST', '/v2/cluster/models/digitz/load'],
    ] as const) {
      const { status, json } = await call(app, method, url, {});
      assert.equal(status, 404, `${method} ${url}`);
      assert.equal(
        json['error'],
        "model 'digitz' is not found (did you mean 'digits'?); models in the model repository: digits, model_00, model_01, model_02, model_03, model_04, model_05, model_06, model_07, model_08 (and 3 more)",
      );
    }
    assert.equal(await store.get(paths.model('digitz')), undefined, 'nothing was added');
    assert.equal((await call(app, 'POST', '/v2/cluster/models/digits', {})).status, 202, 'a known model is accepted');
    const unknown = await call(app, 'PUT', '/v2/cluster/models/digit/replicas', { replicas: 1 });
    assert.deepEqual([unknown.status, unknown.json['error']], [404, "model 'digit' is not found (did you mean 'digits'?); cluster models: digits"]);
    await app.close();
    await store.stop();
  });
});

describe('cluster admin views', () => {
  it('joins nodes, assignments, status and placement into per-replica states', async () => {
    const { app, store } = await setup(false);
    await store.ensurePath(paths.models);
    await store.ensurePath(paths.nodes);
    await store.ensurePath(paths.assignments);
    await store.ensurePath(paths.status);
    await store.ensurePath(paths.placement);
    await store.create(paths.model('m'), encodeJson({ name: 'm', replicas: 2, memoryBytes: 100, memoryMeasured: true }), 'persistent');
    for (const id of ['w1', 'w2']) {
      await store.create(paths.node(id), encodeJson({ id, httpAddress: `${id}:1`, grpcAddress: `${id}:2`, memoryCapacityBytes: 1000, labels: {}, startedAt: 5 }), 'ephemeral');
      await store.create(paths.assignment(id), encodeJson({ models: ['m'] }), 'persistent');
    }
    await store.create(paths.assignment('gone'), encodeJson({ models: ['m'] }), 'persistent');
    await store.create(paths.nodeStatus('w1'), encodeJson({ models: { m: { versions: { '1': { state: 'READY' }, '2': { state: 'LOADING' } } } } }), 'ephemeral');
    await store.create(paths.modelPlacement('m'), encodeJson({ state: 'PLACED', nodes: ['w1', 'w2'] }), 'persistent');

    const model = (await call(app, 'GET', '/v2/cluster/models/m')).json as unknown as ModelView;
    assert.deepEqual(model.placement, { state: 'PLACED', nodes: ['w1', 'w2'] });
    assert.equal(model.readyReplicas, 1);
    assert.deepEqual(
      model.replicaStates.map((r) => [r.node, r.live, r.state]),
      [
        ['gone', false, 'UNKNOWN'],
        ['w1', true, 'READY'],
        ['w2', true, 'UNKNOWN'],
      ],
    );
    const nodes = (await call(app, 'GET', '/v2/cluster/nodes')).json['nodes'] as NodeView[];
    assert.deepEqual(
      nodes.map((n) => n.id),
      ['w1', 'w2'],
    );
    assert.equal(nodes[0]!.memoryAssignedBytes, 100);
    assert.deepEqual(nodes[0]!.models, [{ name: 'm', state: 'READY', versions: { '1': { state: 'READY' }, '2': { state: 'LOADING' } } }]);
    await app.close();
    await store.stop();
  });
});
