import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { EventChannel } from '../core/events.js';
import { ServerReadiness, startupFailures, type ReadinessModels } from './readiness.js';

/** Models with one version each, in the given state; `failure` stands for a model-wide reason. */
class Models implements ReadinessModels {
  readonly stateChanged = new EventChannel<void>();
  readonly modelSettled = new EventChannel<void>();
  readonly states = new Map<string, { state: string; reason?: string; failure?: string }>();
  allReady(): boolean {
    return [...this.states.keys()].every((m) => this.isReady(m));
  }
  modelNames(): string[] {
    return [...this.states.keys()].sort();
  }
  isAspired(model: string): boolean {
    return this.states.has(model);
  }
  isReady(model: string): boolean {
    return this.states.get(model)?.state === 'READY';
  }
  isSettled(model: string): boolean {
    return this.states.get(model)?.state !== 'LOADING';
  }
  failure(model: string): string | undefined {
    return this.states.get(model)?.failure;
  }
  versions(model: string): { version: number; state: string; reason: string | undefined }[] {
    const s = this.states.get(model);
    return s && !s.failure ? [{ version: 1, state: s.state, reason: s.reason }] : [];
  }
}

describe('server readiness', () => {
  it('strict: not ready while held, nor while a model is not READY; says why', () => {
    const models = new Models();
    const readiness = new ServerReadiness({ models });
    const release = readiness.hold('startup', 'loading the startup models');
    models.states.set('a', { state: 'READY' });
    assert.equal(readiness.ready(), false, 'held');
    assert.equal(readiness.whyNotReady(), 'loading the startup models');
    models.states.set('b', { state: 'LOADING' });
    release();
    assert.equal(readiness.settled(), true);
    assert.equal(readiness.whyNotReady(), 'strict readiness: not every model is READY (b: version 1 is loading)');
    models.states.set('b', { state: 'UNAVAILABLE', reason: 'bad file' });
    assert.equal(readiness.ready(), false, 'a failed model keeps a strict server not ready');
    assert.deepEqual(startupFailures(models, ['a', 'b']), [{ model: 'b', reason: 'version 1: bad file' }]);
    models.states.set('b', { state: 'READY' });
    assert.equal(readiness.ready(), true);
    readiness.close();
  });

  it('not strict: ready once no hold remains, whatever the models', () => {
    const models = new Models();
    const readiness = new ServerReadiness({ models, strict: false });
    let assignmentServed = false;
    readiness.hold('assignment', () => (assignmentServed ? undefined : 'loading its assignment'));
    models.states.set('x', { state: 'UNAVAILABLE', failure: 'no version folder' });
    assert.equal(readiness.ready(), false);
    assignmentServed = true;
    assert.equal(readiness.ready(), true);
    assert.deepEqual(startupFailures(models, ['x']), [{ model: 'x', reason: 'no version folder' }]);
    readiness.close();
  });

  it('whenSettled resolves when the last hold goes, and false on timeout', async () => {
    const models = new Models();
    const readiness = new ServerReadiness({ models });
    const release = readiness.hold('startup', 'starting');
    assert.equal(await readiness.whenSettled(20), false);
    const settled = readiness.whenSettled(5000);
    release();
    assert.equal(await settled, true);
    readiness.close();
  });
});
