import { test } from 'node:test';
import assert from 'node:assert/strict';
import { CranberriesError } from '../core/errors.js';
import { VersionLabels } from './version-labels.js';

function registry(ready: Record<string, number[]>, allowUnavailableForNewLabels = false): VersionLabels {
  return new VersionLabels({ isReady: (model, version) => ready[model]?.includes(version) ?? false, allowUnavailableForNewLabels });
}

const code = (expected: string, pattern: RegExp) => (e: unknown) => e instanceof CranberriesError && e.code === expected && pattern.test(e.message);

void test("labels resolve per model; unknown labels are INVALID_ARGUMENT with TF Serving's message", () => {
  const labels = registry({ a: [1, 2], b: [7] });
  labels.replace('a', { stable: 1, canary: 2 });
  labels.replace('b', { stable: 7 });
  assert.equal(labels.resolve('a', 'stable'), 1);
  assert.equal(labels.resolve('a', 'canary'), 2);
  assert.equal(labels.resolve('b', 'stable'), 7);
  assert.deepEqual(labels.labelsOf('a'), { canary: 2, stable: 1 });
  assert.deepEqual(labels.models(), ['a', 'b']);
  assert.throws(() => labels.resolve('b', 'canary'), code('INVALID_ARGUMENT', /^Unrecognized servable version label: canary$/));
  assert.throws(() => labels.resolve('zzz', 'stable'), code('INVALID_ARGUMENT', /Unrecognized servable version label/));
});

void test('a label may only point at a READY version; a failed change changes nothing', () => {
  const labels = registry({ m: [1, 2] });
  labels.replace('m', { stable: 1 });
  assert.throws(() => labels.update('m', { stable: 2, canary: 3 }), code('FAILED_PRECONDITION', /'canary' of model 'm' cannot point at version 3/));
  assert.deepEqual(labels.labelsOf('m'), { stable: 1 }, 'all or nothing');
  assert.deepEqual(labels.update('m', { canary: 2 }), { canary: 2, stable: 1 });
  assert.deepEqual(labels.update('m', { stable: null }), { canary: 2 });
  labels.replace('m', {});
  assert.deepEqual(labels.labelsOf('m'), {});
  assert.deepEqual(labels.models(), []);
});

void test('an unchanged label keeps pointing at a version that is no longer READY', () => {
  const ready: Record<string, number[]> = { m: [1] };
  const labels = registry(ready);
  labels.replace('m', { stable: 1 });
  ready['m'] = [];
  labels.replace('m', { stable: 1 });
  assert.equal(labels.resolve('m', 'stable'), 1);
  assert.throws(() => labels.replace('m', { stable: 1, other: 1 }), code('FAILED_PRECONDITION', /'other'/));
});

void test('allowUnavailableForNewLabels lets only new labels point at unavailable versions', () => {
  const labels = registry({ m: [1] }, true);
  labels.replace('m', { stable: 1, canary: 5 });
  assert.equal(labels.resolve('m', 'canary'), 5);
  assert.throws(() => labels.update('m', { stable: 6 }), code('FAILED_PRECONDITION', /'stable'/));
});

void test('names and versions are validated', () => {
  const labels = registry({ m: [1] });
  assert.throws(() => labels.update('m', { 'bad-label': 1 }), code('INVALID_ARGUMENT', /letters, digits and '_'/));
  assert.throws(() => labels.update('m', { ok: 0 }), code('INVALID_ARGUMENT', /positive integer/));
  assert.throws(() => labels.update('m', { ok: 1.5 }), code('INVALID_ARGUMENT', /positive integer/));
  labels.replace('m', { ok: 1 });
  labels.removeModel('m');
  assert.deepEqual(labels.labelsOf('m'), {});
});
