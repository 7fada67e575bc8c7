import { afterEach, beforeEach, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { CranberriesError } from '../core/errors.js';
import { FakeClock } from '../../test/doubles/fake-clock.js';
import { FakeRepository } from '../../test/doubles/model-folders.js';
import { ModelManager } from './model-manager.js';
import { ServingCore, type ModelControlMode, type RequestEvent } from './serving-core.js';
import type { InferenceRequest } from './inference.js';

const SIGNATURE = `input [{ name: "x" data_type: TYPE_FP32 dims: [2] }] output [{ name: "y" data_type: TYPE_FP32 dims: [2] label_filename: "labels.txt" }]`;
const STEP_NS = 1000n;

function code(expected: string, message: RegExp) {
  return (error: unknown): boolean => error instanceof CranberriesError && error.code === expected && message.test(error.message);
}

function request(model: string, values: number[], extra: Partial<InferenceRequest> = {}): InferenceRequest {
  return { model, inputs: [{ name: 'x', datatype: 'FP32', shape: [values.length], data: Float32Array.from(values) }], ...extra };
}

describe('ServingCore (fake backend)', () => {
  let repo: FakeRepository;
  let manager: ModelManager;
  let events: RequestEvent[];
  const cores: ServingCore[] = [];

  function core(controlMode: ModelControlMode = 'explicit'): ServingCore {
    const created = new ServingCore({
      manager,
      repository: repo.repository,
      controlMode,
      metadata: { name: 'test', version: '0', extensions: [] },
      modelFilename: (config) => repo.backends.modelFilename(config),
      // Each monotonic reading moves time by STEP_NS: a request's measured duration is exact.
      clock: new FakeClock(0, STEP_NS),
    });
    created.requestCompleted.subscribe((e) => events.push(e));
    cores.push(created);
    return created;
  }

  beforeEach(() => {
    repo = new FakeRepository();
    manager = new ModelManager({ backends: repo.backends, cores: 2 });
    events = [];
    repo.addModel('m', [1], SIGNATURE);
    writeFileSync(join(repo.root, 'm', 'labels.txt'), 'cat\ndog\n');
  });

  afterEach(async () => {
    await manager.stop();
    for (const c of cores.splice(0)) await c.close();
    repo.dispose();
  });

  test('a request runs on the READY version and is accounted once, timed by the injected clock', async () => {
    const service = core();
    await service.loadModel('m');
    const response = await service.infer(request('m', [1, 2], { id: 'r1' }));
    assert.equal(response.version, 1);
    assert.deepEqual([...(response.outputs[0]!.data as Float32Array)], [10, 20]);
    assert.equal(events.length, 1);
    const event = events[0]!;
    assert.equal(event.outcome, 'success');
    assert.equal(event.totalNs, Number(STEP_NS), 'start and end are two clock readings');
    assert.equal(service.modelStatistics('m')[0]!.inference_stats.success.count, 1);
  });

  test('a failing request is counted once, even when the adapter reports the same error again', async () => {
    const service = core();
    await service.loadModel('m');
    const wrongInput = { ...request('m', [1, 2]), inputs: [{ name: 'nope', datatype: 'FP32' as const, shape: [2], data: Float32Array.from([1, 2]) }] };
    const failure = await service.infer(wrongInput).catch((error: unknown) => error);
    assert.ok(failure instanceof CranberriesError && failure.code === 'INVALID_ARGUMENT');
    service.recordRejected('m', undefined, failure);
    assert.deepEqual(
      events.map((e) => [e.outcome, e.version]),
      [['failure', 1]],
    );
    // A version that does not exist: counted against the version asked for.
    const missing = await service.infer(request('m', [1, 2], { version: 9 })).catch((error: unknown) => error);
    assert.ok(missing instanceof CranberriesError && missing.code === 'NOT_FOUND');
    service.recordRejected('m', 9, missing);
    assert.deepEqual(
      events.map((e) => [e.outcome, e.version]),
      [
        ['failure', 1],
        ['failure', 9],
      ],
    );
    // A model the server does not know is not counted at all.
    await assert.rejects(service.infer(request('unknown', [1, 2])), code('NOT_FOUND', /unknown model/));
    assert.equal(events.length, 2);
  });

  test('load and unload follow the control mode', async () => {
    const polled = core('poll');
    await assert.rejects(polled.loadModel('m'), code('UNAVAILABLE', /--model-control-mode is 'poll'/));
    await assert.rejects(polled.unloadModel('m'), code('UNAVAILABLE', /explicit model load/));
    const service = core();
    await assert.rejects(service.loadModel('absent'), code('NOT_FOUND', /no model folder 'absent'/));
    await service.loadModel('m');
    assert.ok(service.modelReady('m'));
    await service.unloadModel('m');
    assert.ok(!service.modelReady('m'));
    assert.deepEqual(await service.repositoryIndex(false), [{ name: 'm', state: 'UNAVAILABLE', reason: 'unloaded' }]);
    assert.deepEqual(repo.backend.loaded(), []);
  });

  test('a refused config while serving: the load answers the reason, the old copy serves and the server stays ready', async () => {
    const service = core();
    await service.loadModel('m');
    await assert.rejects(service.loadModel('m', { config: '{"max_batch_size": "many"}' }), code('INVALID_ARGUMENT', /failed to load 'm'/));
    assert.ok(service.ready(), 'readiness follows what serves');
    assert.ok(service.modelReady('m'));
    const response = await service.infer(request('m', [3, 4]));
    assert.deepEqual([...(response.outputs[0]!.data as Float32Array)], [30, 40]);
  });

  test('class labels come from the folder the version was read from', async () => {
    const service = core();
    await service.loadModel('m');
    assert.deepEqual(service.outputLabels('m', 1, 'y'), ['cat', 'dog']);
    assert.deepEqual(service.modelVersionStatus('m'), [{ version: 1, state: 'READY', reason: undefined }]);
    assert.throws(() => service.versionLabels('unknown'), code('NOT_FOUND', /unknown model/));
  });

  test('a load with files serves from an override folder, deleted once nothing serves from it', async () => {
    const service = core();
    const files = new Map([
      ['1/model.fake', new TextEncoder().encode('sent model')],
      ['labels.txt', new TextEncoder().encode('ant\nbee\n')],
    ]);
    const config = JSON.stringify({
      name: 'm',
      backend: 'fake',
      input: [{ name: 'x', data_type: 'TYPE_FP32', dims: [2] }],
      output: [{ name: 'y', data_type: 'TYPE_FP32', dims: [2], label_filename: 'labels.txt' }],
    });
    await service.loadModel('m', { config, files });
    assert.deepEqual(service.outputLabels('m', 1, 'y'), ['ant', 'bee'], 'labels of the override folder, not the repository');
    const modelPath = manager.find('m', 1).stamp.match(/@override:([^|]+)\|/)?.[1];
    assert.ok(modelPath && existsSync(modelPath));
    await service.unloadModel('m');
    assert.ok(!existsSync(modelPath), 'the override folder is deleted after the unload');
  });

  test('readiness is false once stopping begins', async () => {
    const service = core();
    await service.loadModel('m');
    assert.ok(service.ready());
    service.beginStopping();
    assert.ok(!service.ready());
    assert.ok(!service.live());
  });
});
