import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { CranberriesError, type ErrorCode } from '../../core/errors.js';
import { Picker, readyVersionOrThrow, type EndpointHealthView } from './picker.js';
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

function throwsCode(fn: () => unknown, code: ErrorCode, message: RegExp): void {
  assert.throws(fn, (error: unknown) => {
    assert.ok(error instanceof CranberriesError, String(error));
    assert.equal(error.code, code);
    assert.match(error.message, message);
    return true;
  });
}

const twoReplicas = tableOf({ w1: { m: { 1: 'READY' } }, w2: { m: { 1: 'READY' } }, w3: { m: { 1: 'LOADING' } } });

describe('Picker', () => {
  it('sends each request to the replica with the fewest outstanding requests', () => {
    const picker = new Picker(new FakeHealth(), { random: sequence(0.9) });
    const first = picker.pick(twoReplicas, 'm', 1);
    const second = picker.pick(twoReplicas, 'm', 1);
    assert.notEqual(first.endpoint.nodeId, second.endpoint.nodeId, 'the idle replica gets the second request');
    assert.equal(picker.outstanding(first.endpoint.key), 1);
    picker.release(first.endpoint);
    assert.equal(picker.outstanding(first.endpoint.key), 0);
    assert.equal(picker.pick(twoReplicas, 'm', 1).endpoint.nodeId, first.endpoint.nodeId, 'released: it is the idle one again');
  });

  it('never picks a replica that is not READY', () => {
    const picker = new Picker(new FakeHealth());
    for (let i = 0; i < 20; i++) assert.notEqual(picker.pick(twoReplicas, 'm', 1).endpoint.nodeId, 'w3');
  });

  it('breaks ties at random, so equal replicas share the load evenly', () => {
    const picker = new Picker(new FakeHealth(), { random: Math.random });
    const table = tableOf({ a: { m: { 1: 'READY' } }, b: { m: { 1: 'READY' } }, c: { m: { 1: 'READY' } } });
    const counts = new Map<string, number>();
    for (let i = 0; i < 3000; i++) {
      const pick = picker.pick(table, 'm', 1);
      picker.release(pick.endpoint);
      counts.set(pick.endpoint.nodeId, (counts.get(pick.endpoint.nodeId) ?? 0) + 1);
    }
    for (const id of ['a', 'b', 'c']) assert.ok((counts.get(id) ?? 0) > 800, `${id} got ${counts.get(id)} of 3000`);
  });

  it('uses the injected random source for ties (deterministic)', () => {
    const table = tableOf({ a: { m: { 1: 'READY' } }, b: { m: { 1: 'READY' } } });
    // Reservoir: the second tied candidate replaces the first when random() * 2 < 1.
    assert.equal(new Picker(new FakeHealth(), { random: sequence(0.1) }).pick(table, 'm', 1).endpoint.nodeId, 'b');
    assert.equal(new Picker(new FakeHealth(), { random: sequence(0.9) }).pick(table, 'm', 1).endpoint.nodeId, 'a');
  });

  it('skips replicas marked down and those already tried', () => {
    const health = new FakeHealth();
    const picker = new Picker(health);
    health.down.add(endpoint('w1').key);
    for (let i = 0; i < 10; i++) assert.equal(picker.pick(twoReplicas, 'm', 1).endpoint.nodeId, 'w2');
    health.down.clear();
    assert.equal(picker.pick(twoReplicas, 'm', 1, new Set([endpoint('w2').key])).endpoint.nodeId, 'w1');
  });

  it('fails with UNAVAILABLE naming the cause when every READY replica is down or tried', () => {
    const health = new FakeHealth();
    const picker = new Picker(health);
    health.down.add(endpoint('w1').key);
    throwsCode(() => picker.pick(twoReplicas, 'm', 1, new Set([endpoint('w2').key])), 'UNAVAILABLE', /no reachable replica \(2 READY, 1 down, 1 already tried\)/);
    health.down.add(endpoint('w2').key);
    throwsCode(() => picker.pick(twoReplicas, 'm', undefined), 'UNAVAILABLE', /model 'm' version 1: no reachable replica \(2 READY, 2 down\)/);
    assert.equal(picker.outstanding(endpoint('w1').key), 0, 'a failed pick counts nothing');
  });

  it('sends a version-less request to the highest version with a usable replica', () => {
    const health = new FakeHealth();
    const picker = new Picker(health);
    const table = tableOf({ w1: { m: { 1: 'READY', 3: 'READY' } }, w2: { m: { 1: 'READY', 2: 'READY' } }, w3: { m: { 4: 'LOADING' } } });
    assert.deepEqual(picker.pick(table, 'm', undefined).version, 3);
    health.down.add(endpoint('w1').key);
    const fallback = picker.pick(table, 'm', undefined);
    assert.deepEqual([fallback.endpoint.nodeId, fallback.version], ['w2', 2]);
  });

  it('uses retained workers only when no fresh replica can serve', () => {
    const health = new FakeHealth();
    const picker = new Picker(health);
    const table = tableOf({ fresh: { m: { 1: 'READY' } } }, { retained: { old: { m: { 1: 'READY', 2: 'READY' } } } });
    for (let i = 0; i < 5; i++) assert.equal(picker.pick(table, 'm', undefined).endpoint.nodeId, 'fresh', 'busy fresh still beats idle retained');
    assert.equal(picker.pick(table, 'm', 2).endpoint.nodeId, 'old', 'a version only the retained worker has');
    health.down.add(endpoint('fresh').key);
    const pick = picker.pick(table, 'm', undefined);
    assert.deepEqual([pick.endpoint.nodeId, pick.version], ['old', 2]);
  });

  it('answers unknown models and versions, and versions not READY, as a worker does', () => {
    const picker = new Picker(new FakeHealth());
    const table = tableOf({ w1: { m: { 1: 'READY', 2: { state: 'UNAVAILABLE', reason: 'load failed: bad file' } }, l: { 1: 'LOADING' } } }, { deployments: { p: 1 } });
    throwsCode(() => picker.pick(table, 'nope', undefined), 'NOT_FOUND', /^Request for unknown model: 'nope' is not found$/);
    throwsCode(() => picker.pick(table, 'nope', 3), 'NOT_FOUND', /^Request for unknown model: 'nope' is not found$/);
    throwsCode(() => picker.pick(table, 'm', 9), 'NOT_FOUND', /^Request for unknown model: 'm' version 9 is not found$/);
    throwsCode(() => picker.pick(table, 'm', 2), 'UNAVAILABLE', /version 2: the version is not at ready state \(UNAVAILABLE: load failed: bad file\)/);
    throwsCode(() => picker.pick(table, 'l', undefined), 'UNAVAILABLE', /^Request for model 'l': no version is ready$/);
    throwsCode(() => picker.pick(table, 'p', undefined), 'UNAVAILABLE', /^Request for model 'p': no version is ready$/);
  });
});

describe('readyVersionOrThrow', () => {
  it('resolves the version a request would use, whatever the health of its replicas', () => {
    const table = tableOf({ w1: { m: { 1: 'READY', 5: 'READY', 6: 'LOADING' } } });
    assert.equal(readyVersionOrThrow(table, 'm', undefined), 5);
    assert.equal(readyVersionOrThrow(table, 'm', 1), 1);
    throwsCode(() => readyVersionOrThrow(table, 'm', 6), 'UNAVAILABLE', /not at ready state \(LOADING\)/);
  });
});
