import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { CranberriesError } from '../../core/errors.js';
import { EventChannel } from '../../core/events.js';
import type { EndpointTable } from '../routing/index.js';
import type { ModelControl } from './model-control.js';
import { ModelRepository } from './model-repository.js';
import { tableOf } from '../../../test/helpers/gateway-tables.js';

function setup(initial: EndpointTable, control?: ModelControl, controlTimeoutMs = 5000): { repository: ModelRepository; publish: (table: EndpointTable) => void } {
  let current = initial;
  const tableUpdated = new EventChannel<EndpointTable>();
  const repository = new ModelRepository({ table: () => current, tableUpdated, control, controlTimeoutMs });
  return {
    repository,
    publish: (table) => {
      current = table;
      tableUpdated.publish(table);
    },
  };
}

describe('ModelRepository', () => {
  it('indexes each version once, with the best state any replica reports', async () => {
    const table = tableOf({ w1: { m: { 1: 'READY', 2: { state: 'UNAVAILABLE', reason: 'load failed' } } }, w2: { m: { 1: 'LOADING', 2: 'LOADING' } } }, { deployments: { m: 2, pending: 1 } });
    const control: ModelControl = { load: () => Promise.resolve(), unload: () => Promise.resolve(), pendingReason: () => Promise.resolve('not enough memory') };
    const { repository } = setup(table, control);
    assert.deepEqual(await repository.repositoryIndex(false), [
      { name: 'm', version: '1', state: 'READY' },
      { name: 'm', version: '2', state: 'LOADING' },
      { name: 'pending', state: 'UNAVAILABLE', reason: 'not enough memory' },
    ]);
    assert.deepEqual(await repository.repositoryIndex(true), [{ name: 'm', version: '1', state: 'READY' }]);
  });

  it('loads through ModelControl and answers once a replica is READY', async () => {
    const loaded: string[] = [];
    const control: ModelControl = { load: (model) => Promise.resolve(void loaded.push(model)), unload: () => Promise.resolve() };
    const { repository, publish } = setup(tableOf({ w1: {} }, { deployments: { m: 0 } }), control);
    let done = false;
    const load = repository.loadModel('m').then(() => {
      done = true;
    });
    await new Promise((resolve) => setImmediate(resolve));
    assert.deepEqual(loaded, ['m']);
    assert.equal(done, false, 'waits for the cluster to follow');
    publish(tableOf({ w1: { m: { 1: 'READY' } } }, { deployments: { m: 1 } }));
    await load;
    assert.equal(done, true);
  });

  it('refuses what the gateway cannot do, and times out with UNAVAILABLE naming the reason', async () => {
    await assert.rejects(setup(tableOf({})).repository.loadModel('m'), (error: unknown) => error instanceof CranberriesError && error.code === 'UNIMPLEMENTED');
    const control: ModelControl = { load: () => Promise.resolve(), unload: () => Promise.resolve(), pendingReason: () => Promise.resolve('no worker fits') };
    const { repository } = setup(tableOf({ w1: {} }), control, 50);
    await assert.rejects(repository.loadModel('m', { files: new Map([['1/model.onnx', Buffer.alloc(1)]]) }), /not supported through the gateway/);
    await assert.rejects(repository.unloadModel('nope'), (error: unknown) => error instanceof CranberriesError && error.code === 'NOT_FOUND');
    await assert.rejects(
      repository.loadModel('m'),
      (error: unknown) => error instanceof CranberriesError && error.code === 'UNAVAILABLE' && /no replica became READY \(no worker fits\)/.test(error.message),
    );
  });
});
