import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { ModelVersionPolicy } from './model-config.js';
import { selectVersions } from './version-policy.js';

const CASES: readonly { policy: ModelVersionPolicy; available: number[]; expected: number[] }[] = [
  { policy: { latest: { num_versions: 1 } }, available: [1, 2, 3], expected: [3] },
  { policy: { latest: { num_versions: 2 } }, available: [3, 10, 2], expected: [3, 10] }, // numeric, not lexical
  { policy: { latest: { num_versions: 0 } }, available: [4, 7], expected: [7] }, // 0 counts as 1
  { policy: { latest: { num_versions: 5 } }, available: [2, 1], expected: [1, 2] },
  { policy: { latest: { num_versions: 1 } }, available: [], expected: [] },
  { policy: { latest: { num_versions: 2 } }, available: [5, 5, 3], expected: [3, 5] },
  { policy: { all: {} }, available: [9, 1, 4], expected: [1, 4, 9] },
  { policy: { all: {} }, available: [], expected: [] },
  { policy: { specific: { versions: [3, 1] } }, available: [1, 2, 3, 4], expected: [1, 3] },
  { policy: { specific: { versions: [5, 2] } }, available: [1, 2, 3], expected: [2] }, // listed but absent: skipped
  { policy: { specific: { versions: [7] } }, available: [1], expected: [] },
];

describe('selectVersions', () => {
  for (const { policy, available, expected } of CASES) {
    it(`${JSON.stringify(policy)} over [${available.join(',')}] serves [${expected.join(',')}]`, () => {
      assert.deepEqual(selectVersions(policy, available), expected);
    });
  }

  it('does not modify its input', () => {
    const available = [3, 1, 2];
    selectVersions({ all: {} }, available);
    assert.deepEqual(available, [3, 1, 2]);
  });
});
