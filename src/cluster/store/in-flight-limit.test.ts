import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { InFlightLimit } from './in-flight-limit.js';

describe('InFlightLimit', () => {
  it('starts at most `max` at once, the rest in arrival order as slots free', () => {
    const limit = new InFlightLimit(3);
    const started: number[] = [];
    const releases: (() => void)[] = [];
    for (let i = 0; i < 10; i++) {
      limit.run((release) => {
        started.push(i);
        releases.push(release);
      });
    }
    assert.deepEqual(started, [0, 1, 2]);
    assert.equal(limit.active, 3);
    assert.equal(limit.queued, 7);
    releases[1]!();
    releases[1]!(); // a second release of one slot frees nothing more
    assert.deepEqual(started, [0, 1, 2, 3]);
    for (let i = 0; i < 10; i++) releases[i]?.();
    for (let i = 0; i < 10; i++) releases[i]?.(); // the later ones, started by the releases above
    assert.deepEqual(started, [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    assert.equal(limit.active, 0);
    assert.equal(limit.queued, 0);
  });

  it('200,000 requests that fail at once (released inside start) run in one loop, not one nested call each', () => {
    const limit = new InFlightLimit(1000);
    const holds: (() => void)[] = [];
    for (let i = 0; i < 1000; i++) limit.run((release) => holds.push(release));
    let failed = 0;
    for (let i = 0; i < 200_000; i++) {
      limit.run((release) => {
        failed++;
        release();
      });
    }
    assert.equal(limit.queued, 200_000);
    holds[0]!(); // would overflow the stack if each start's release started the next one recursively
    assert.equal(failed, 200_000);
    assert.equal(limit.active, 999);
  });
});
