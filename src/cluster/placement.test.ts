import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { ModelDeployment, NodeInfo, NodeStatus } from './layout.js';
import { place, type PlacementInput, type PlacementResult } from './placement.js';

const GiB = 2 ** 30;

function node(id: string, capacityGiB: number): NodeInfo {
  return { id, httpAddress: `${id}:8000`, grpcAddress: `${id}:8001`, memoryCapacityBytes: capacityGiB * GiB, labels: {}, startedAt: 0 };
}

function model(name: string, replicas: number, memoryGiB: number): ModelDeployment {
  return { name, replicas, memoryBytes: Math.round(memoryGiB * GiB), memoryMeasured: false };
}

/** `{ w1: ['a', 'b'] }`: models READY on each worker. */
function readyOn(ready: Record<string, readonly string[]>): Map<string, NodeStatus> {
  return new Map(Object.entries(ready).map(([id, models]) => [id, { models: Object.fromEntries(models.map((m) => [m, { versions: { '1': { state: 'READY' as const } } }])) }]));
}

function run(input: { deployments: ModelDeployment[]; nodes: NodeInfo[]; assignments?: Record<string, readonly string[]>; ready?: Record<string, readonly string[]> }): PlacementResult {
  const full: PlacementInput = {
    deployments: input.deployments,
    nodes: input.nodes,
    assignments: new Map(Object.entries(input.assignments ?? {})),
    statuses: readyOn(input.ready ?? {}),
  };
  return place(full);
}

const asObject = (result: PlacementResult): Record<string, readonly string[]> => Object.fromEntries(result.assignments);

describe('placement', () => {
  it('spreads replicas over distinct workers, least loaded first', () => {
    const result = run({ deployments: [model('a', 2, 1), model('b', 2, 1)], nodes: [node('w1', 4), node('w2', 4), node('w3', 4)] });
    assert.deepEqual(asObject(result), { w1: ['a', 'b'], w2: ['a'], w3: ['b'] });
    assert.deepEqual(result.placement.get('a'), { state: 'PLACED', nodes: ['w1', 'w2'] });
    assert.deepEqual(result.placement.get('b'), { state: 'PLACED', nodes: ['w1', 'w3'] });
    assert.equal(result.decisions.filter((d) => d.action === 'assign').length, 4);
  });

  it('spreads by fraction of capacity used, so a small empty worker beats a big busy one', () => {
    const result = run({ deployments: [model('big', 1, 6), model('x', 1, 1)], nodes: [node('large', 16), node('small', 4)], assignments: { large: ['big'] }, ready: { large: ['big'] } });
    assert.deepEqual(asObject(result), { large: ['big'], small: ['x'] });
  });

  it('never overcommits: the larger model is placed first, the other is PENDING with its reason', () => {
    const result = run({ deployments: [model('small', 1, 2), model('large', 1, 3)], nodes: [node('w1', 4)] });
    assert.deepEqual(asObject(result), { w1: ['large'] });
    assert.deepEqual(result.placement.get('small'), { state: 'PENDING', nodes: [], reason: 'needs 2 GiB, largest free is 1 GiB' });
  });

  it('an oversized model is PENDING: needs 6 GiB, largest free is 3 GiB', () => {
    const result = run({ deployments: [model('huge', 2, 6)], nodes: [node('w1', 3), node('w2', 3)] });
    assert.deepEqual(result.placement.get('huge'), { state: 'PENDING', nodes: [], reason: 'needs 6 GiB, largest free is 3 GiB' });
    assert.deepEqual(asObject(result), { w1: [], w2: [] });
  });

  it('PARTIAL when fewer workers than replicas; PENDING with no workers at all', () => {
    const partial = run({ deployments: [model('m', 3, 1)], nodes: [node('w1', 4), node('w2', 4)] });
    assert.deepEqual(partial.placement.get('m'), {
      state: 'PARTIAL',
      nodes: ['w1', 'w2'],
      reason: '2 of 3 replicas placed: only 2 live workers for 3 replicas (each replica needs its own worker)',
    });
    const none = run({ deployments: [model('m', 1, 1)], nodes: [] });
    assert.deepEqual(none.placement.get('m'), { state: 'PENDING', nodes: [], reason: 'no live workers' });
  });

  it('PARTIAL names the memory shortfall when workers are full', () => {
    const result = run({ deployments: [model('m', 2, 2)], nodes: [node('w1', 4), node('w2', 1.5)] });
    assert.deepEqual(result.placement.get('m'), { state: 'PARTIAL', nodes: ['w1'], reason: '1 of 2 replicas placed: needs 2 GiB, largest free is 1.5 GiB' });
  });

  it('keeps existing placements where they are, even when another worker is emptier', () => {
    const result = run({
      deployments: [model('a', 1, 1), model('b', 1, 1)],
      nodes: [node('w1', 4), node('w2', 4)],
      assignments: { w1: ['a', 'b'], w2: [] },
      ready: { w1: ['a', 'b'] },
    });
    assert.deepEqual(asObject(result), { w1: ['a', 'b'], w2: [] });
    assert.deepEqual(result.decisions, []);
  });

  it('a new worker receives the replicas a model still lacks; placed models do not move', () => {
    const before = { deployments: [model('m', 2, 1), model('n', 1, 1)], assignments: { w1: ['m', 'n'] }, ready: { w1: ['m', 'n'] } };
    const alone = run({ ...before, nodes: [node('w1', 4)] });
    assert.equal(alone.placement.get('m')?.state, 'PARTIAL');
    const joined = run({ ...before, nodes: [node('w1', 4), node('w2', 4)] });
    assert.deepEqual(asObject(joined), { w1: ['m', 'n'], w2: ['m'] });
    assert.deepEqual(
      joined.decisions.map((d) => `${d.action} ${d.model} ${d.node}`),
      ['assign m w2'],
    );
  });

  it('re-places replicas of a vanished worker; the gone worker keeps them until the replacement is READY', () => {
    const base = { deployments: [model('m', 2, 1)], nodes: [node('w2', 4), node('w3', 4)] };
    const moving = run({ ...base, assignments: { w1: ['m'], w2: ['m'] }, ready: { w2: ['m'] } });
    assert.deepEqual(asObject(moving), { w1: ['m'], w2: ['m'], w3: ['m'] });
    assert.equal(moving.placement.get('m')?.state, 'PLACED');
    assert.equal(moving.placement.get('m')?.reason, 'moving off w1 (worker w1 is gone): kept until w3 is READY');

    const done = run({ ...base, assignments: asObject(moving), ready: { w2: ['m'], w3: ['m'] } });
    assert.deepEqual(asObject(done), { w1: [], w2: ['m'], w3: ['m'] });
    assert.deepEqual(done.decisions, [{ action: 'unassign', model: 'm', node: 'w1', reason: 'worker w1 is gone; READY on w2, w3' }]);
    assert.equal(done.placement.get('m')?.reason, undefined);
  });

  it('a gone worker whose replicas cannot be re-placed keeps its assignment (it may come back)', () => {
    const result = run({ deployments: [model('m', 2, 1)], nodes: [node('w2', 4)], assignments: { w1: ['m'], w2: ['m'] }, ready: { w2: ['m'] } });
    assert.deepEqual(asObject(result), { w1: ['m'], w2: ['m'] });
    assert.deepEqual(result.placement.get('m'), {
      state: 'PARTIAL',
      nodes: ['w2'],
      reason: '1 of 2 replicas placed: only 1 live worker for 2 replicas (each replica needs its own worker); worker w1 is gone: w1 keeps its assignment until a replacement is READY',
    });
    const back = run({ deployments: [model('m', 2, 1)], nodes: [node('w1', 4), node('w2', 4)], assignments: asObject(result), ready: { w1: ['m'], w2: ['m'] } });
    assert.deepEqual(asObject(back), { w1: ['m'], w2: ['m'] });
    assert.deepEqual(back.decisions, []);
  });

  it('moves a replica that no longer fits (measured memory grew) only once its replacement is READY', () => {
    const deployments = [model('a', 1, 2), model('b', 1, 3)];
    const nodes = [node('w1', 4), node('w2', 4)];
    const first = run({ deployments, nodes, assignments: { w1: ['a', 'b'], w2: [] }, ready: { w1: ['a', 'b'] } });
    assert.deepEqual(asObject(first), { w1: ['a', 'b'], w2: ['b'] }, 'b is on both while w2 loads it');
    assert.equal(first.placement.get('b')?.reason, 'moving off w1 (it no longer fits on w1 (needs 3 GiB, 2 GiB free)): kept until w2 is READY');
    const second = run({ deployments, nodes, assignments: asObject(first), ready: { w1: ['a', 'b'], w2: ['b'] } });
    assert.deepEqual(asObject(second), { w1: ['a'], w2: ['b'] });
    assert.deepEqual(
      second.decisions.map((d) => `${d.action} ${d.model} ${d.node}`),
      ['unassign b w1'],
    );
  });

  it('a replica that no longer fits and is not READY is dropped at once', () => {
    const result = run({ deployments: [model('a', 1, 2), model('b', 1, 3)], nodes: [node('w1', 4), node('w2', 4)], assignments: { w1: ['a', 'b'] }, ready: { w1: ['a'] } });
    assert.deepEqual(asObject(result), { w1: ['a'], w2: ['b'] });
  });

  it('fewer replicas: not-READY replicas go first, then those on the fullest worker', () => {
    const deployments = [model('m', 1, 1), model('filler', 1, 2)];
    const nodes = [node('w1', 4), node('w2', 4), node('w3', 4)];
    const notReadyFirst = run({ deployments, nodes, assignments: { w1: ['m'], w2: ['m', 'filler'], w3: ['m'] }, ready: { w1: ['m'], w2: ['m', 'filler'] } });
    assert.deepEqual(asObject(notReadyFirst), { w1: ['m'], w2: ['filler'], w3: [] }, 'w3 (not READY) goes first, then w2 (the fullest)');
    assert.ok(notReadyFirst.decisions.every((d) => d.action === 'unassign' && d.reason === 'more replicas than the 1 wanted'));
  });

  it('removed models and replicas 0 are dropped everywhere at once, gone workers included', () => {
    const result = run({ deployments: [model('zero', 0, 1)], nodes: [node('w1', 4)], assignments: { w1: ['zero', 'deleted'], w9: ['zero'] }, ready: { w1: ['zero', 'deleted'] } });
    assert.deepEqual(asObject(result), { w1: [], w9: [] });
    assert.deepEqual(result.placement.get('zero'), { state: 'PLACED', nodes: [], reason: 'replicas is 0: not loaded' });
    assert.equal(result.placement.has('deleted'), false);
    assert.deepEqual(result.decisions.map((d) => `${d.model}@${d.node}: ${d.reason}`).sort(), ['deleted@w1: the model was removed', 'zero@w1: replicas is 0', 'zero@w9: replicas is 0']);
  });

  it('prefers a worker that already has the model loaded', () => {
    const result = run({ deployments: [model('m', 1, 1)], nodes: [node('w1', 4), node('w2', 64)], ready: { w1: ['m'] } });
    assert.deepEqual(asObject(result), { w1: ['m'], w2: [] });
  });

  it('random clusters: distinct workers, no overcommit, and a second pass changes nothing', () => {
    let seed = 42;
    const random = (): number => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
    for (let round = 0; round < 200; round++) {
      const nodes = Array.from({ length: 1 + Math.floor(random() * 5) }, (_, i) => node(`w${i}`, 1 + Math.floor(random() * 8)));
      const deployments = Array.from({ length: Math.floor(random() * 8) }, (_, i) => model(`m${i}`, Math.floor(random() * 4), 0.25 + random() * 4));
      const first = run({ deployments, nodes });
      for (const n of nodes) {
        const models = first.assignments.get(n.id) ?? [];
        assert.equal(new Set(models).size, models.length);
        const used = models.reduce((sum, m) => sum + deployments.find((d) => d.name === m)!.memoryBytes, 0);
        assert.ok(used <= n.memoryCapacityBytes, `round ${round}: ${n.id} holds ${used} > ${n.memoryCapacityBytes}`);
      }
      for (const d of deployments) {
        const holders = [...first.assignments.values()].filter((models) => models.includes(d.name)).length;
        assert.ok(holders <= d.replicas);
        assert.equal(first.placement.get(d.name)?.nodes.length, holders);
      }
      const everyReady = Object.fromEntries([...first.assignments].map(([id, models]) => [id, [...models]]));
      const second = run({ deployments, nodes, assignments: everyReady, ready: everyReady });
      assert.deepEqual(second.decisions, [], `round ${round}: a stable cluster needs no change`);
    }
  });
});
