import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { place } from './placement.js';
import { placeReference } from './testing/placement-reference.js';
import { generator, nextRound, randomSnapshot } from './testing/random-placement-input.js';

describe('placement: the fast algorithm decides exactly as the reference', () => {
  it('same assignments, statuses and decisions (in order) on 2,000 random snapshots', () => {
    for (let seed = 1; seed <= 2000; seed++) {
      const input = randomSnapshot(seed);
      const expected = placeReference(input);
      const actual = place(input);
      assert.deepEqual(actual.decisions, expected.decisions, `seed ${seed}: decisions`);
      assert.deepEqual(actual.assignments, expected.assignments, `seed ${seed}: assignments`);
      assert.deepEqual(actual.placement, expected.placement, `seed ${seed}: placement`);
    }
  });

  it('and through a sequence of rounds (each round fed the previous assignment, replicas turning READY, workers leaving)', () => {
    for (let seed = 1; seed <= 200; seed++) {
      const r = generator(seed * 7919);
      let input = randomSnapshot(seed);
      for (let round = 0; round < 6; round++) {
        const expected = placeReference(input);
        const actual = place(input);
        assert.deepEqual(actual.decisions, expected.decisions, `seed ${seed} round ${round}`);
        assert.deepEqual(actual.assignments, expected.assignments, `seed ${seed} round ${round}`);
        assert.deepEqual(actual.placement, expected.placement, `seed ${seed} round ${round}`);
        input = nextRound(input, actual, r);
      }
    }
  });
});
