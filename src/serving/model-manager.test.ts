import { afterEach, beforeEach, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { CranberriesError } from '../core/errors.js';
import { FakeClock } from '../../test/doubles/fake-clock.js';
import { FakeRepository } from '../../test/doubles/model-folders.js';
import { ModelManager, type VersionStateEvent } from './model-manager.js';
import { defaultResourceCaps } from '../repository/resource-caps.js';

const ALL_VERSIONS = 'version_policy { all {} }';

function code(expected: string, message: RegExp) {
  return (error: unknown): boolean => error instanceof CranberriesError && error.code === expected && message.test(error.message);
}

describe('ModelManager (fake backend)', () => {
  let repo: FakeRepository;
  let clock: FakeClock;
  let manager: ModelManager;
  let states: VersionStateEvent[];

  beforeEach(() => {
    repo = new FakeRepository();
    clock = new FakeClock();
    manager = new ModelManager({ backends: repo.backends, cores: 2, caps: defaultResourceCaps(2), clock });
    states = [];
    manager.stateChanged.subscribe((e) => states.push(e));
  });

  afterEach(async () => {
    await manager.stop();
    repo.dispose();
  });

  const stateOf = (model: string): string[] => manager.versions(model).map((v) => `${v.version}:${v.state}`);

  test('loads every aspired version; the model is READY once all are', async () => {
    repo.addModel('m', [1, 2], ALL_VERSIONS);
    await manager.setAspired('m', await repo.repository.read('m'));
    assert.deepEqual(stateOf('m'), ['1:READY', '2:READY']);
    assert.ok(manager.isReady('m'));
    assert.ok(manager.allReady());
    assert.equal(manager.find('m').version, 2, 'no version asked: the highest READY one serves');
    assert.deepEqual(repo.backend.loaded(), ['m/1', 'm/2']);
  });

  test('a new version is loaded before the old one is unloaded, which serves meanwhile', async () => {
    repo.addModel('m', [1]);
    await manager.setAspired('m', await repo.repository.read('m'));
    repo.writeVersion('m', 2, 'v1');
    repo.backend.holdLoads('m/2');
    const moving = manager.setAspired('m', await repo.repository.read('m'));
    await repo.backend.loadStarted('m/2');
    assert.equal(manager.find('m').version, 1, 'version 1 serves while version 2 loads');
    assert.deepEqual(stateOf('m'), ['1:READY', '2:LOADING']);
    assert.ok(!manager.isReady('m'));
    assert.ok(!manager.isSettled('m'));
    repo.backend.release('m/2');
    await moving;
    assert.deepEqual(repo.backend.events, ['load m/1', 'loaded m/1', 'load m/2', 'loaded m/2', 'unload m/1']);
    assert.deepEqual(stateOf('m'), ['2:READY']);
    // The settled flag drops once the transition's bookkeeping ran (right after the call resolves).
    await new Promise((resolve) => setImmediate(resolve));
    assert.ok(manager.isSettled('m'));
  });

  test('a changed model file reloads the version; the old copy serves until the new one is READY', async () => {
    repo.addModel('m', [1]);
    await manager.setAspired('m', await repo.repository.read('m'));
    const first = manager.find('m', 1);
    repo.writeVersion('m', 1, 'a longer model file');
    repo.backend.holdLoads('m/1');
    const reloading = manager.setAspired('m', await repo.repository.read('m'));
    await new Promise((resolve) => setImmediate(resolve));
    assert.equal(manager.find('m', 1), first, 'the serving copy keeps serving during the reload');
    repo.backend.release('m/1');
    await reloading;
    const second = manager.find('m', 1);
    assert.notEqual(second, first);
    assert.equal(first.state, 'UNAVAILABLE');
    assert.deepEqual(repo.backend.events, ['load m/1', 'loaded m/1', 'load m/1', 'loaded m/1', 'unload m/1']);
  });

  test('a failing load: the caller hears why, the version shows UNAVAILABLE with the reason', async () => {
    repo.addModel('m', [1]);
    repo.backend.failLoads.set('m/1', 'weights are corrupt');
    await assert.rejects(manager.setAspired('m', await repo.repository.read('m')), code('INVALID_ARGUMENT', /failed to load 'm' version 1: weights are corrupt/));
    assert.deepEqual(stateOf('m'), ['1:UNAVAILABLE']);
    assert.ok(!manager.isReady('m'));
    assert.throws(() => manager.find('m'), code('UNAVAILABLE', /no version is ready/));
    assert.deepEqual(repo.backend.loaded(), []);
  });

  test('a failed reload keeps the serving copy, with the failure as its reason', async () => {
    repo.addModel('m', [1]);
    await manager.setAspired('m', await repo.repository.read('m'));
    repo.writeVersion('m', 1, 'another model file');
    repo.backend.failLoads.set('m/1', 'bad weights');
    await manager.setAspired('m', await repo.repository.read('m'));
    const served = manager.find('m', 1);
    assert.equal(served.state, 'READY');
    assert.match(served.reason ?? '', /reload failed, still serving the previous copy: bad weights/);
    assert.ok(manager.isReady('m'));
    assert.deepEqual(repo.backend.loaded(), ['m/1']);
  });

  test('a refused config while serving: the loaded copy serves and readiness follows what serves', async () => {
    repo.addModel('m', [1]);
    await manager.setAspired('m', await repo.repository.read('m'));
    await manager.setAspired('m', { ok: false, reason: 'config.pbtxt: syntax error' });
    assert.equal(manager.failure('m'), 'config.pbtxt: syntax error');
    assert.equal(manager.find('m').version, 1);
    assert.ok(manager.isReady('m'), 'a refused new config leaves the model ready (Triton)');
    assert.ok(manager.allReady());
    // Over a resource cap: refused too, and the caller is told.
    await assert.rejects(
      manager.setAspired('m', { ...(await repo.repository.read('m', JSON.stringify({ name: 'm', backend: 'fake', max_batch_size: 100000 }))) }),
      code('INVALID_ARGUMENT', /exceeds the cap/),
    );
    assert.ok(manager.isReady('m'));
    assert.deepEqual(repo.backend.loaded(), ['m/1']);
  });

  test('a refused config before anything served: not ready', async () => {
    await manager.setAspired('m', { ok: false, reason: 'broken' });
    assert.ok(!manager.isReady('m'));
    assert.ok(!manager.allReady());
    assert.throws(() => manager.find('m'), code('UNAVAILABLE', /broken/));
  });

  test('a version policy change unloads the versions it no longer selects, after the others are READY', async () => {
    repo.addModel('m', [1, 2, 3], ALL_VERSIONS);
    await manager.setAspired('m', await repo.repository.read('m'));
    assert.deepEqual(stateOf('m'), ['1:READY', '2:READY', '3:READY']);
    repo.addModel('m', [], 'version_policy { specific { versions: [1, 3] } }');
    await manager.setAspired('m', await repo.repository.read('m'));
    // The config changed: versions 1 and 3 were reloaded, and version 2 went only afterwards.
    assert.deepEqual(stateOf('m'), ['1:READY', '3:READY']);
    const events = repo.backend.events.slice(6);
    assert.ok(events.indexOf('unload m/2') > events.indexOf('loaded m/1') && events.indexOf('unload m/2') > events.indexOf('loaded m/3'), events.join(', '));
    assert.deepEqual(repo.backend.loaded(), ['m/1', 'm/3']);
  });

  test('concurrent setAspired calls run one after another; a call still queued sees the latest aspired state', async () => {
    repo.addModel('m', [1]);
    const one = await repo.repository.read('m');
    repo.writeVersion('m', 2, 'v1');
    const two = await repo.repository.read('m');
    repo.backend.holdLoads('m/1');
    const first = manager.setAspired('m', one);
    await repo.backend.loadStarted('m/1');
    // Asked while the first transition runs: they wait for it, and then each applies what is
    // aspired by then (the last call's state), so the intermediate "unload" never happens.
    const second = manager.setAspired('m', two);
    const third = manager.setAspired('m', undefined);
    const fourth = manager.setAspired('m', two);
    assert.ok(!manager.isSettled('m'));
    repo.backend.release('m/1');
    await Promise.all([first, second, third, fourth]);
    await new Promise((resolve) => setImmediate(resolve));
    assert.deepEqual(stateOf('m'), ['2:READY']);
    assert.deepEqual(repo.backend.events, ['load m/1', 'loaded m/1', 'load m/2', 'loaded m/2', 'unload m/1']);
    assert.ok(manager.isSettled('m'));
  });

  test('version loads beyond the load concurrency wait for a slot', async () => {
    const single = new ModelManager({ backends: repo.backends, cores: 2, loadConcurrency: 1, clock });
    try {
      repo.addModel('a', [1]);
      repo.addModel('b', [1]);
      repo.backend.holdLoads('a/1');
      const a = single.setAspired('a', await repo.repository.read('a'));
      const b = single.setAspired('b', await repo.repository.read('b'));
      await repo.backend.loadStarted('a/1');
      await new Promise((resolve) => setImmediate(resolve));
      assert.ok(!repo.backend.events.includes('load b/1'), 'b waits for the one load slot');
      repo.backend.release('a/1');
      await Promise.all([a, b]);
      assert.deepEqual(repo.backend.events.slice(0, 3), ['load a/1', 'loaded a/1', 'load b/1']);
    } finally {
      await single.stop();
    }
  });

  test('the load duration is read from the injected clock', async () => {
    repo.addModel('m', [1]);
    repo.backend.holdLoads('m/1');
    const loading = manager.setAspired('m', await repo.repository.read('m'));
    await repo.backend.loadStarted('m/1');
    clock.advance(2500);
    repo.backend.release('m/1');
    await loading;
    const ready = states.find((e) => e.state === 'READY');
    assert.equal(ready?.loadSeconds, 2.5);
  });

  test('stop() drains: a version with a request in flight is released only once the request ends', async () => {
    repo.addModel('m', [1]);
    await manager.setAspired('m', await repo.repository.read('m'));
    const served = manager.find('m');
    served.acquire();
    const stopping = manager.stop();
    await new Promise((resolve) => setImmediate(resolve));
    assert.equal(served.state, 'UNLOADING');
    assert.ok(!repo.backend.events.includes('unload m/1'), 'not released while a request holds it');
    assert.throws(() => manager.find('m'), code('NOT_FOUND', /unknown model/), 'an unloading model takes no new request');
    served.release();
    await stopping;
    assert.deepEqual(repo.backend.loaded(), []);
    assert.equal(manager.failure('m'), 'unloaded');
    assert.deepEqual(
      states.map((e) => e.state),
      ['LOADING', 'READY', 'UNLOADING', 'UNAVAILABLE'],
    );
  });
});
