import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { EndpointTable } from './endpoint-table.js';
import { endpoint, tableOf, workerSnapshot } from '../../../test/helpers/gateway-tables.js';

const keys = (endpoints: readonly { nodeId: string }[]): string[] => endpoints.map((e) => e.nodeId);

describe('EndpointTable', () => {
  it('lists the READY replicas of each version, and only those', () => {
    const table = tableOf({
      w1: { m: { 1: 'READY', 2: 'READY' } },
      w2: { m: { 1: 'READY', 2: 'LOADING' } },
      w3: { m: { 1: 'UNLOADING' }, other: { 7: 'READY' } },
    });
    assert.deepEqual(keys(table.replicas('m', 1).fresh), ['w1', 'w2']);
    assert.deepEqual(keys(table.replicas('m', 2).fresh), ['w1']);
    assert.deepEqual(table.replicas('m', 3).fresh, []);
    assert.deepEqual(table.freshVersions('m'), [2, 1]);
    assert.deepEqual(table.readyVersions('m'), [1, 2]);
    assert.equal(table.latestReadyVersion('m'), 2);
    assert.equal(table.latestReadyVersion('other'), 7);
    assert.deepEqual(table.models(), ['m', 'other']);
    assert.deepEqual(keys(table.endpoints), ['w1', 'w2', 'w3']);
  });

  it('knows versions in every state, and models that are only deployed', () => {
    const table = tableOf({ w1: { m: { 1: 'LOADING' } } }, { deployments: { pending: 1 } });
    assert.ok(table.hasModel('m'));
    assert.ok(table.hasModel('pending'));
    assert.ok(!table.hasModel('nope'));
    assert.ok(table.hasVersion('m', 1));
    assert.ok(!table.hasVersion('m', 2));
    assert.equal(table.latestReadyVersion('m'), undefined);
    assert.deepEqual(
      table.replicaStates('m').map((r) => [r.endpoint.nodeId, r.version, r.state]),
      [['w1', 1, 'LOADING']],
    );
  });

  it('keeps retained workers in a separate tier, behind fresh ones', () => {
    const table = tableOf({ w1: { m: { 1: 'READY' } } }, { retained: { gone: { m: { 1: 'READY', 2: 'READY' } } } });
    assert.deepEqual(keys(table.replicas('m', 1).fresh), ['w1']);
    assert.deepEqual(keys(table.replicas('m', 1).retained), ['gone']);
    assert.deepEqual(table.freshVersions('m'), [1]);
    assert.deepEqual(table.retainedVersions('m'), [2]);
    assert.equal(table.latestReadyVersion('m'), 1, 'a fresh version wins over a higher retained one');
    assert.deepEqual(table.readyVersions('m'), [1, 2]);
    assert.ok(
      table
        .replicaStates('m')
        .filter((r) => r.endpoint.nodeId === 'gone')
        .every((r) => r.retained),
    );
  });

  it('ignores a retained worker that is also fresh (it came back)', () => {
    const table = tableOf({ w1: { m: { 1: 'READY' } } }, { retained: { w1: { m: { 1: 'READY' } } } });
    assert.deepEqual(keys(table.replicas('m', 1).fresh), ['w1']);
    assert.deepEqual(table.replicas('m', 1).retained, []);
    assert.equal(table.endpoints.length, 1);
  });

  it('is ready when every deployed model with replicas has a READY replica', () => {
    assert.ok(tableOf({}).ready(), 'nothing deployed: ready');
    assert.ok(tableOf({ w1: { m: { 1: 'READY' } } }, { deployments: { m: 2, unloaded: 0 } }).ready());
    assert.ok(!tableOf({ w1: { m: { 1: 'LOADING' } } }, { deployments: { m: 1 } }).ready());
    assert.ok(!tableOf({ w1: { m: { 1: 'READY' } } }, { deployments: { m: 1, waiting: 1 } }).ready());
  });

  it('skips version keys that are not version numbers', () => {
    const snapshot = workerSnapshot('w1', { m: { 1: 'READY' } });
    const status = { models: { m: { versions: { '1': { state: 'READY' as const }, latest: { state: 'READY' as const }, '-3': { state: 'READY' as const } } } } };
    const table = EndpointTable.build({ workers: new Map([['w1', { ...snapshot, status }]]), deployments: new Map() });
    assert.deepEqual(table.readyVersions('m'), [1]);
  });

  it('gives a worker a new endpoint key when it comes back on other ports', () => {
    const before = endpoint('w1');
    const after = EndpointTable.build({ workers: new Map([['w1', workerSnapshot('w1', {}, 40_000)]]), deployments: new Map() }).endpoints[0];
    assert.equal(after?.nodeId, 'w1');
    assert.notEqual(after?.key, before.key);
  });
});
