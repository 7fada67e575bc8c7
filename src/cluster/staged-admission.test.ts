import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { EventChannel } from '../core/events.js';
import { AssignmentSelection } from './assignment-selection.js';
import type { ServedModels, VersionState, VersionStateChange } from './served-models.js';
import { StagedAdmission } from './staged-admission.js';

class Models implements ServedModels {
  readonly stateChanged = new EventChannel<VersionStateChange>();
  private readonly states = new Map<string, VersionState>();
  modelNames(): string[] {
    return [...this.states.keys()];
  }
  versions(model: string): { version: number; state: VersionState; reason: string | undefined }[] {
    const state = this.states.get(model);
    return state ? [{ version: 1, state, reason: undefined }] : [];
  }
  emit(model: string, state: VersionState): void {
    this.states.set(model, state);
    this.stateChanged.publish({ model, version: 1, state });
  }
}

/** A server that also reports each finished reconciliation (as the model manager does). */
class SettlingModels extends Models {
  readonly modelSettled = new EventChannel<{ model: string }>();
  private readonly settledModels = new Set<string>();
  isSettled(model: string): boolean {
    return this.settledModels.has(model);
  }
  settle(model: string): void {
    this.settledModels.add(model);
    this.modelSettled.publish({ model });
  }
}

const tick = (ms = 5): Promise<void> => new Promise((r) => setTimeout(r, ms));

describe('staged admission', () => {
  it('admits new models one at a time, each after the previous load settles; removals apply at once', async () => {
    const selection = new AssignmentSelection();
    const models = new Models();
    const admission = new StagedAdmission(selection, models, { startMs: 1000, settleMs: 5000 });
    admission.setTarget(['a', 'b', 'c']);
    assert.deepEqual(selection.list(), ['a']);
    models.emit('a', 'LOADING');
    await tick();
    assert.deepEqual(selection.list(), ['a'], 'b waits while a loads');
    models.emit('a', 'READY');
    await tick();
    assert.deepEqual(selection.list(), ['a', 'b']);
    models.emit('b', 'LOADING');
    admission.setTarget(['a', 'c']); // b leaves while loading: it is dropped and c goes next
    await tick();
    assert.deepEqual(selection.list(), ['a', 'c']);
    models.emit('c', 'LOADING');
    models.emit('c', 'UNAVAILABLE');
    await admission.settled();
    assert.deepEqual(selection.list(), ['a', 'c']);
    admission.stop();
  });

  it('a model that never starts loading does not hold up the next one for long', async () => {
    const selection = new AssignmentSelection();
    const admission = new StagedAdmission(selection, new Models(), { startMs: 30, settleMs: 5000 });
    const started = Date.now();
    admission.setTarget(['missing', 'next']);
    await admission.settled();
    assert.deepEqual(selection.list(), ['missing', 'next']);
    assert.ok(Date.now() - started < 1000);
    admission.stop();
  });

  it('a load that never settles is bounded by settleMs', async () => {
    const selection = new AssignmentSelection();
    const models = new Models();
    const admission = new StagedAdmission(selection, models, { startMs: 1000, settleMs: 60 });
    admission.setTarget(['slow', 'next']);
    models.emit('slow', 'LOADING');
    await admission.settled();
    assert.deepEqual(selection.list(), ['next', 'slow']);
    admission.stop();
  });

  it('admits up to `concurrency` models at once; one stuck load never holds up the rest', async () => {
    const selection = new AssignmentSelection();
    const models = new SettlingModels();
    const admission = new StagedAdmission(selection, models, { startMs: 60_000, settleMs: 60_000, concurrency: 2 });
    admission.setTarget(['a_stuck', 'b', 'c', 'd']);
    assert.deepEqual(selection.list(), ['a_stuck', 'b'], 'two at once');
    models.emit('a_stuck', 'LOADING'); // never settles
    models.emit('b', 'LOADING');
    models.emit('b', 'READY');
    models.settle('b');
    await tick();
    assert.deepEqual(selection.list(), ['a_stuck', 'b', 'c'], 'b freed its slot while a is stuck');
    models.settle('c'); // e.g. a folder with no version: settles without any LOADING
    await tick();
    assert.deepEqual(selection.list(), ['a_stuck', 'b', 'c', 'd'], 'a model with nothing to load frees its slot at once, not after startMs');
    admission.setTarget(['b', 'c', 'd']); // the stuck one leaves: admission finishes
    models.settle('d');
    await admission.settled();
    assert.deepEqual(selection.list(), ['b', 'c', 'd']);
    admission.stop();
  });

  it('a target changed while the last loads settle is still admitted', async () => {
    const selection = new AssignmentSelection();
    const models = new SettlingModels();
    const admission = new StagedAdmission(selection, models, { startMs: 60_000, settleMs: 60_000, concurrency: 2 });
    admission.setTarget(['a']);
    assert.deepEqual(selection.list(), ['a']);
    admission.setTarget(['b']); // a leaves while loading
    await tick();
    assert.deepEqual(selection.list(), ['b']);
    models.settle('b');
    await admission.settled();
    admission.stop();
  });
});
