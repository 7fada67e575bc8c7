import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { AspiredModel } from '../repository/aspired-model.js';
import { parseModelConfig } from '../repository/config-parser.js';
import { defaultResourceCaps } from '../repository/resource-caps.js';
import type { VersionState } from './inference-service.js';
import { planTransition, type TransitionAction, type TransitionPlan, type VersionCopy } from './transition-plan.js';

const CONFIG = parseModelConfig('name: "m" backend: "fake" max_batch_size: 0', 'm');

/** Aspired versions as `[version, file stamp]`, under config stamp `c`. */
function aspire(versions: readonly (readonly [number, string])[], configStamp = 'c', config = CONFIG): AspiredModel {
  return { ok: true, config, configStamp, versions: versions.map(([version, stamp]) => ({ version, stamp, modelPath: `/repo/m/${version}/model.onnx` })) };
}

/** A copy as `[version, stamp, state, reason?]`; stamps are written as the plan makes them (`<config>|<file>`). */
function copy(version: number, stamp: string, state: VersionState, reason?: string): VersionCopy {
  return { version, stamp, state, ...(reason ? { reason } : {}) };
}

const load = (version: number, stamp: string): TransitionAction => ({ kind: 'load', version, stamp });
const promote = (version: number, stamp: string): TransitionAction => ({ kind: 'promote', version, stamp });
const unload = (version: number, stamp: string): TransitionAction => ({ kind: 'unload', version, stamp });
const keep = (version: number, stamp: string, reason: string): TransitionAction => ({ kind: 'keep', version, stamp, reason });

interface Row {
  readonly name: string;
  readonly aspired: AspiredModel | undefined;
  readonly index: readonly VersionCopy[];
  readonly attempts?: readonly VersionCopy[];
  readonly failure?: string;
  readonly expected: TransitionPlan;
}

// Each row: what is aspired, the copies in place (and finished loads), and the plan expected.
const ROWS: readonly Row[] = [
  {
    name: 'first load of two versions loads both at once',
    aspired: aspire([
      [1, 'a'],
      [2, 'b'],
    ]),
    index: [],
    expected: { failure: undefined, actions: [load(1, 'c|a'), load(2, 'c|b')] },
  },
  { name: 'nothing changed: nothing to do', aspired: aspire([[1, 'a']]), index: [copy(1, 'c|a', 'READY')], expected: { failure: undefined, actions: [] } },
  {
    name: 'a new version loads while the old one keeps serving',
    aspired: aspire([[2, 'b']]),
    index: [copy(1, 'c|a', 'READY')],
    expected: { failure: undefined, actions: [load(2, 'c|b')] },
  },
  {
    name: 'the new version is READY: the old one is unloaded',
    aspired: aspire([[2, 'b']]),
    index: [copy(1, 'c|a', 'READY'), copy(2, 'c|b', 'READY')],
    expected: { failure: undefined, actions: [unload(1, 'c|a')] },
  },
  {
    name: 'the new version failed: the old one keeps serving, the caller hears of the failure',
    aspired: aspire([[2, 'b']]),
    index: [copy(1, 'c|a', 'READY'), copy(2, 'c|b', 'UNAVAILABLE', 'bad file')],
    expected: { failure: undefined, actions: [], error: "failed to load 'm' version 2: bad file" },
  },
  {
    name: 'a version no longer aspired that is not READY goes at once',
    aspired: aspire([[2, 'b']]),
    index: [copy(1, 'c|a', 'UNAVAILABLE', 'old failure'), copy(2, 'c|b', 'UNAVAILABLE', 'bad file')],
    expected: { failure: undefined, actions: [unload(1, 'c|a')], error: "failed to load 'm' version 2: bad file" },
  },
  {
    name: 'a changed model file reloads the version; the serving copy stays until the load ends',
    aspired: aspire([[1, 'a2']]),
    index: [copy(1, 'c|a', 'READY')],
    expected: { failure: undefined, actions: [load(1, 'c|a2')] },
  },
  {
    name: 'a changed config reloads every version',
    aspired: aspire(
      [
        [1, 'a'],
        [2, 'b'],
      ],
      'c2',
    ),
    index: [copy(1, 'c|a', 'READY'), copy(2, 'c|b', 'READY')],
    expected: { failure: undefined, actions: [load(1, 'c2|a'), load(2, 'c2|b')] },
  },
  {
    name: 'a successful reload replaces the serving copy, which is unloaded',
    aspired: aspire([[1, 'a2']]),
    index: [copy(1, 'c|a', 'READY')],
    attempts: [copy(1, 'c|a2', 'READY')],
    expected: { failure: undefined, actions: [promote(1, 'c|a2'), unload(1, 'c|a')] },
  },
  {
    name: 'a failed reload keeps the serving copy, with the failure as its reason (no error: the version serves)',
    aspired: aspire([[1, 'a2']]),
    index: [copy(1, 'c|a', 'READY')],
    attempts: [copy(1, 'c|a2', 'UNAVAILABLE', 'broken')],
    expected: { failure: undefined, actions: [keep(1, 'c|a', 'reload failed, still serving the previous copy: broken')] },
  },
  {
    name: 'a failed reload of a version that did not serve replaces it',
    aspired: aspire([[1, 'a2']]),
    index: [copy(1, 'c|a', 'UNAVAILABLE', 'first failure')],
    attempts: [copy(1, 'c|a2', 'UNAVAILABLE', 'second failure')],
    expected: { failure: undefined, actions: [promote(1, 'c|a2'), unload(1, 'c|a')], error: "failed to load 'm' version 1: second failure" },
  },
  {
    name: 'the same failed stamp is not retried, and still reported',
    aspired: aspire([[1, 'a']]),
    index: [copy(1, 'c|a', 'UNAVAILABLE', 'broken')],
    expected: { failure: undefined, actions: [], error: "failed to load 'm' version 1: broken" },
  },
  {
    name: 'a version policy change to an older version: the newer one goes once the older is READY',
    aspired: aspire([[1, 'a']]),
    index: [copy(3, 'c|c', 'READY'), copy(1, 'c|a', 'READY')],
    expected: { failure: undefined, actions: [unload(3, 'c|c')] },
  },
  {
    name: 'a version policy change whose versions all failed keeps the old version serving',
    aspired: aspire([
      [1, 'a'],
      [2, 'b'],
    ]),
    index: [copy(3, 'c|c', 'READY'), copy(1, 'c|a', 'UNAVAILABLE', 'x'), copy(2, 'c|b', 'UNAVAILABLE', 'y')],
    expected: { failure: undefined, actions: [], error: "failed to load 'm' version 1: x" },
  },
  {
    name: 'no version folder: everything goes and the reason is shown',
    aspired: { ...aspire([]), noVersionReason: 'no version folder' } as AspiredModel,
    index: [copy(1, 'c|a', 'READY')],
    expected: { failure: 'no version folder', actions: [unload(1, 'c|a')] },
  },
  {
    name: 'a refused config (broken config.pbtxt) changes nothing but the reason',
    aspired: { ok: false, reason: 'config.pbtxt: syntax error' },
    index: [copy(1, 'c|a', 'READY')],
    expected: { failure: 'config.pbtxt: syntax error', actions: [] },
  },
  {
    name: 'a config over a resource cap is refused before anything loads',
    aspired: aspire([[1, 'a2']], 'c2', parseModelConfig('name: "m" backend: "fake" max_batch_size: 100000', 'm')),
    index: [copy(1, 'c|a', 'READY')],
    expected: {
      failure: 'max_batch_size 100000 exceeds the cap of 1024 (--max-batch-size)',
      actions: [],
      error: "failed to load 'm': max_batch_size 100000 exceeds the cap of 1024 (--max-batch-size)",
    },
  },
  {
    name: 'nothing aspired: every copy is unloaded and the model shows "unloaded"',
    aspired: undefined,
    index: [copy(1, 'c|a', 'READY'), copy(2, 'c|b', 'LOADING')],
    expected: { failure: 'unloaded', actions: [unload(1, 'c|a'), unload(2, 'c|b')] },
  },
  { name: 'nothing aspired, nothing there: no reason', aspired: undefined, index: [], expected: { failure: undefined, actions: [] } },
  { name: 'nothing aspired after a failure: still "unloaded"', aspired: undefined, index: [], failure: 'broken', expected: { failure: 'unloaded', actions: [] } },
];

describe('planTransition (availability-preserving policy)', () => {
  for (const row of ROWS) {
    test(row.name, () => {
      const plan = planTransition({ model: 'm', aspired: row.aspired, index: row.index, attempts: row.attempts, failure: row.failure, caps: defaultResourceCaps(4) });
      assert.deepEqual(plan, row.expected);
    });
  }

  test('asked again with the loads finished, the plan settles and never loads twice', () => {
    const aspired = aspire([
      [1, 'a2'],
      [2, 'b'],
    ]);
    const index = [copy(1, 'c|a', 'READY')];
    const first = planTransition({ model: 'm', aspired, index, failure: undefined });
    assert.deepEqual(first.actions, [load(1, 'c|a2'), load(2, 'c|b')]);
    // Version 2 was new (its copy entered the index); version 1's copy waited as an attempt.
    const second = planTransition({ model: 'm', aspired, index: [...index, copy(2, 'c|b', 'READY')], attempts: [copy(1, 'c|a2', 'READY')], failure: undefined });
    assert.deepEqual(second.actions, [promote(1, 'c|a2'), unload(1, 'c|a')]);
    assert.ok(!second.actions.some((a) => a.kind === 'load'));
  });
});
