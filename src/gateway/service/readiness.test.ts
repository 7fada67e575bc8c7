import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { EndpointHealthView } from '../routing/index.js';
import { Readiness } from './readiness.js';
import { endpoint, tableOf } from '../../../test/helpers/gateway-tables.js';

class FakeHealth implements EndpointHealthView {
  readonly down = new Set<string>();
  isUp(key: string): boolean {
    return !this.down.has(key);
  }
}

describe('Readiness', () => {
  it('a model is ready while a READY replica of it is up; the server while every deployed model has a READY replica', () => {
    const health = new FakeHealth();
    const table = tableOf({ w1: { m: { 1: 'READY', 2: 'LOADING' } }, w2: { m: { 1: 'READY' } } }, { deployments: { m: 2 } });
    const readiness = new Readiness(() => table, health);
    assert.equal(readiness.ready(), true);
    assert.equal(readiness.modelReady('m'), true);
    assert.equal(readiness.modelReady('m', 2), false, 'LOADING is not ready');
    health.down.add(endpoint('w1').key);
    assert.equal(readiness.modelReady('m', 1), true, 'w2 still serves it');
    assert.equal(readiness.anyUpEndpoint()?.nodeId, 'w2');
    health.down.add(endpoint('w2').key);
    assert.equal(readiness.modelReady('m', 1), false);
    assert.equal(readiness.anyUpEndpoint(), undefined);
    assert.equal(readiness.modelReady('unknown'), false);
  });

  it('turns not live and not ready at once when the gateway begins stopping', () => {
    const table = tableOf({ w1: { m: { 1: 'READY' } } }, { deployments: { m: 1 } });
    const readiness = new Readiness(() => table, new FakeHealth());
    assert.deepEqual([readiness.live(), readiness.ready()], [true, true]);
    readiness.beginStopping();
    assert.deepEqual([readiness.live(), readiness.ready()], [false, false]);
  });
});
