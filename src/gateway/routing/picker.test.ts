import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { CranberriesError, type ErrorCode } from '../../core/errors.js';
import type { EndpointTable } from './endpoint-table.js';
import { Picker, readyVersionOrThrow, resolveReadyVersion, type EndpointHealthView, type PickResult } from './picker.js';
import { endpoint, tableOf } from '../../../test/helpers/gateway-tables.js';

class FakeHealth implements EndpointHealthView {
  readonly down = new Set<string>();
  isUp(key: string): boolean {
    return !this.down.has(key);
  }
}

/** A deterministic random source cycling through `values`. */
function sequence(...values: number[]): () => number {
  let i = 0;
  return () => values[i++ % values.length] ?? 0;
}

/** The replica of a pick that must have come to one. */
function picked(result: PickResult): { node: string; version: number } {
  assert.equal(result.kind, 'pick', result.kind === 'fail' ? result.error.message : '');
  if (result.kind !== 'pick') throw new Error('unreachable');
  return { node: result.endpoint.nodeId, version: result.version };
}

const twoReplicas = tableOf({ w1: { m: { 1: 'READY' } }, w2: { m: { 1: 'READY' } }, w3: { m: { 1: 'LOADING' } } });
const versions = tableOf({ w1: { m: { 1: 'READY', 3: 'READY' } }, w2: { m: { 1: 'READY', 2: 'READY' } }, w3: { m: { 4: 'LOADING' } } });
const withRetained = tableOf({ fresh: { m: { 1: 'READY' } } }, { retained: { old: { m: { 1: 'READY', 2: 'READY' } } } });
const states = tableOf({ w1: { m: { 1: 'READY', 2: { state: 'UNAVAILABLE', reason: 'load failed: bad file' } }, l: { 1: 'LOADING' } } }, { deployments: { p: 1 } });

interface PickCase {
  readonly name: string;
  readonly table: EndpointTable;
  readonly model: string;
  readonly version?: number;
  /** Workers marked down. */
  readonly down?: readonly string[];
  /** Workers already tried for this request. */
  readonly exclude?: readonly string[];
  readonly expect: { readonly node: string; readonly version: number } | { readonly fail: ErrorCode; readonly message: RegExp };
}

const cases: readonly PickCase[] = [
  { name: 'a READY replica of the version', table: twoReplicas, model: 'm', version: 1, down: ['w2'], expect: { node: 'w1', version: 1 } },
  { name: 'never a replica that is not READY', table: twoReplicas, model: 'm', version: 1, down: ['w1', 'w2'], expect: { fail: 'UNAVAILABLE', message: /no reachable replica \(2 READY, 2 down\)$/ } },
  { name: 'skips a replica already tried', table: twoReplicas, model: 'm', version: 1, exclude: ['w2'], expect: { node: 'w1', version: 1 } },
  {
    name: 'down and tried, counted in the error',
    table: twoReplicas,
    model: 'm',
    version: 1,
    down: ['w1'],
    exclude: ['w2'],
    expect: { fail: 'UNAVAILABLE', message: /^Request for model 'm' version 1: no reachable replica \(2 READY, 1 down, 1 already tried\)$/ },
  },
  { name: 'version-less: the highest READY version', table: versions, model: 'm', expect: { node: 'w1', version: 3 } },
  { name: 'version-less: the highest version with a usable replica', table: versions, model: 'm', down: ['w1'], expect: { node: 'w2', version: 2 } },
  {
    name: 'version-less, every replica down: names the latest READY version',
    table: twoReplicas,
    model: 'm',
    down: ['w1', 'w2'],
    expect: { fail: 'UNAVAILABLE', message: /^Request for model 'm' version 1: no reachable replica \(2 READY, 2 down\)$/ },
  },
  { name: 'a fresh replica before a retained one', table: withRetained, model: 'm', expect: { node: 'fresh', version: 1 } },
  { name: 'a version only a retained worker has', table: withRetained, model: 'm', version: 2, expect: { node: 'old', version: 2 } },
  { name: 'retained when no fresh replica can serve: its highest version', table: withRetained, model: 'm', down: ['fresh'], expect: { node: 'old', version: 2 } },
  { name: 'unknown model', table: states, model: 'nope', expect: { fail: 'NOT_FOUND', message: /^Request for unknown model: 'nope' is not found$/ } },
  { name: 'unknown model, with a version', table: states, model: 'nope', version: 3, expect: { fail: 'NOT_FOUND', message: /^Request for unknown model: 'nope' is not found$/ } },
  { name: 'unknown version', table: states, model: 'm', version: 9, expect: { fail: 'NOT_FOUND', message: /^Request for unknown model: 'm' version 9 is not found$/ } },
  {
    name: 'a version that is not READY, with its reason',
    table: states,
    model: 'm',
    version: 2,
    expect: { fail: 'UNAVAILABLE', message: /^Request for model 'm' version 2: the version is not at ready state \(UNAVAILABLE: load failed: bad file\)$/ },
  },
  { name: 'no version READY yet', table: states, model: 'l', expect: { fail: 'UNAVAILABLE', message: /^Request for model 'l': no version is ready$/ } },
  { name: 'deployed, no replica placed', table: states, model: 'p', expect: { fail: 'UNAVAILABLE', message: /^Request for model 'p': no version is ready$/ } },
];

describe('Picker: what a pick comes to', () => {
  for (const c of cases) {
    it(c.name, () => {
      const health = new FakeHealth();
      for (const id of c.down ?? []) health.down.add(endpoint(id).key);
      const picker = new Picker(health, { random: sequence(0.9) });
      const exclude = c.exclude && new Set(c.exclude.map((id) => endpoint(id).key));
      const result = picker.pick(c.table, c.model, c.version, exclude);
      const all = c.table.endpoints.map((e) => picker.outstanding(e.key));
      if ('fail' in c.expect) {
        assert.equal(result.kind, 'fail');
        if (result.kind !== 'fail') return;
        assert.equal(result.error.code, c.expect.fail);
        assert.match(result.error.message, c.expect.message);
        assert.equal(
          all.reduce((a, b) => a + b, 0),
          0,
          'a failed pick counts nothing',
        );
      } else {
        assert.deepEqual(picked(result), c.expect);
        assert.equal(picker.outstanding(endpoint(c.expect.node).key), 1, 'the picked replica counts the request');
        assert.equal(
          all.reduce((a, b) => a + b, 0),
          1,
        );
      }
    });
  }
});

describe('Picker: balancing', () => {
  it('sends each request to the replica with the fewest outstanding requests', () => {
    const picker = new Picker(new FakeHealth(), { random: sequence(0.9) });
    const first = picker.pick(twoReplicas, 'm', 1);
    const second = picker.pick(twoReplicas, 'm', 1);
    assert.ok(first.kind === 'pick' && second.kind === 'pick');
    assert.notEqual(first.endpoint.nodeId, second.endpoint.nodeId, 'the idle replica gets the second request');
    assert.equal(picker.outstanding(first.endpoint.key), 1);
    picker.release(first.endpoint);
    assert.equal(picker.outstanding(first.endpoint.key), 0);
    assert.equal(picked(picker.pick(twoReplicas, 'm', 1)).node, first.endpoint.nodeId, 'released: it is the idle one again');
  });

  it('never picks a replica that is not READY', () => {
    const picker = new Picker(new FakeHealth());
    for (let i = 0; i < 20; i++) assert.notEqual(picked(picker.pick(twoReplicas, 'm', 1)).node, 'w3');
  });

  it('breaks ties at random, so equal replicas share the load evenly', () => {
    const picker = new Picker(new FakeHealth(), { random: Math.random });
    const table = tableOf({ a: { m: { 1: 'READY' } }, b: { m: { 1: 'READY' } }, c: { m: { 1: 'READY' } } });
    const counts = new Map<string, number>();
    for (let i = 0; i < 3000; i++) {
      const pick = picker.pick(table, 'm', 1);
      assert.ok(pick.kind === 'pick');
      picker.release(pick.endpoint);
      counts.set(pick.endpoint.nodeId, (counts.get(pick.endpoint.nodeId) ?? 0) + 1);
    }
    for (const id of ['a', 'b', 'c']) assert.ok((counts.get(id) ?? 0) > 800, `${id} got ${counts.get(id)} of 3000`);
  });

  it('uses the injected random source for ties (deterministic)', () => {
    const table = tableOf({ a: { m: { 1: 'READY' } }, b: { m: { 1: 'READY' } } });
    // Reservoir: the second tied candidate replaces the first when random() * 2 < 1.
    assert.equal(picked(new Picker(new FakeHealth(), { random: sequence(0.1) }).pick(table, 'm', 1)).node, 'b');
    assert.equal(picked(new Picker(new FakeHealth(), { random: sequence(0.9) }).pick(table, 'm', 1)).node, 'a');
  });

  it('prefers a busy fresh replica over an idle retained one', () => {
    const picker = new Picker(new FakeHealth());
    for (let i = 0; i < 5; i++) assert.equal(picked(picker.pick(withRetained, 'm', undefined)).node, 'fresh');
  });
});

describe('resolveReadyVersion', () => {
  it('resolves the version a request would use, whatever the health of its replicas, as a value', () => {
    const table = tableOf({ w1: { m: { 1: 'READY', 5: 'READY', 6: 'LOADING' } } });
    assert.deepEqual(resolveReadyVersion(table, 'm', undefined), { kind: 'ready', version: 5 });
    assert.deepEqual(resolveReadyVersion(table, 'm', 1), { kind: 'ready', version: 1 });
    const loading = resolveReadyVersion(table, 'm', 6);
    assert.ok(loading.kind === 'fail' && loading.error.code === 'UNAVAILABLE' && /not at ready state \(LOADING\)/.test(loading.error.message));
    assert.equal(readyVersionOrThrow(table, 'm', undefined), 5);
    assert.throws(
      () => readyVersionOrThrow(table, 'x', undefined),
      (error: unknown) => error instanceof CranberriesError && error.code === 'NOT_FOUND',
    );
  });
});
