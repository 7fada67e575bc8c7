import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { ModelDeployment, NodeInfo } from './layout.js';
import { place, placeInSlices, type PlacementInput, type PlacementResult } from './placement.js';
import { generator, nextRound, randomSnapshot } from './testing/random-placement-input.js';

const MiB = 2 ** 20;
const GiB = 2 ** 30;

function assertSame(actual: PlacementResult, expected: PlacementResult, what: string): void {
  assert.deepEqual(actual.decisions, expected.decisions, `${what}: decisions`);
  assert.deepEqual(actual.assignments, expected.assignments, `${what}: assignments`);
  assert.deepEqual(actual.placement, expected.placement, `${what}: placement`);
}

/** Pauses at every step the placement offers (the most interleaving a driver can do), counting the pauses. */
function everyStep(): { sliceMs: number; yieldToLoop: () => Promise<void>; pauses: () => number } {
  let pauses = 0;
  return { sliceMs: 0, yieldToLoop: () => (pauses++, Promise.resolve()), pauses: () => pauses };
}

/** A cluster large enough that placing it takes many slices: `workers` of 64 GiB, `models` of 20–520 MiB, 1–3 replicas. */
function largeCluster(workers: number, models: number): PlacementInput {
  const r = generator(18);
  const nodes: NodeInfo[] = Array.from({ length: workers }, (_, i) => ({
    id: `w${String(i).padStart(5, '0')}`,
    httpAddress: '',
    grpcAddress: '',
    memoryCapacityBytes: 64 * GiB,
    labels: {},
    startedAt: 0,
  }));
  const deployments: ModelDeployment[] = Array.from({ length: models }, (_, i) => ({
    name: `model-${String(i).padStart(5, '0')}`,
    replicas: 1 + r.int(3),
    memoryBytes: Math.round((20 + r.next() * 500) * MiB),
    memoryMeasured: false,
  }));
  return { deployments, nodes, assignments: new Map(), statuses: new Map() };
}

describe('placeInSlices: place() returning to the event loop, same decisions', () => {
  it('decides exactly as place() on the 2,000 random snapshots of the equivalence test, pausing at every step', async () => {
    let pauses = 0;
    for (let seed = 1; seed <= 2000; seed++) {
      const input = randomSnapshot(seed);
      const driver = everyStep();
      assertSame(await placeInSlices(input, driver), place(input), `seed ${seed}`);
      pauses += driver.pauses();
    }
    assert.ok(pauses > 2000, `the driver was offered pauses (${pauses})`);
  });

  it('and through sequences of rounds (each fed the previous assignment, replicas turning READY, workers leaving)', async () => {
    for (let seed = 1; seed <= 200; seed++) {
      const r = generator(seed * 7919);
      let input = randomSnapshot(seed);
      for (let round = 0; round < 6; round++) {
        const expected = place(input);
        assertSame(await placeInSlices(input, everyStep()), expected, `seed ${seed} round ${round}`);
        input = nextRound(input, expected, r);
      }
    }
  });

  it('a large placement returns to the event loop (timers run meanwhile) and still decides as place()', async () => {
    const input = largeCluster(200, 2000);
    const expected = place(input);
    let ticks = 0;
    const timer = setInterval(() => ticks++, 0);
    try {
      // Slices of 0 ms: every step yields through setImmediate, so timers get their turn.
      const actual = await placeInSlices(input, { sliceMs: 0 });
      assertSame(actual, expected, '200 × 2,000 cold');
      assert.ok(ticks > 0, 'a timer ran while placing');
      // After losing a worker, with every replica READY.
      const statuses = new Map([...expected.assignments].map(([id, models]) => [id, { models: Object.fromEntries(models.map((m) => [m, { versions: { '1': { state: 'READY' as const } } }])) }]));
      const lost: PlacementInput = { ...input, nodes: input.nodes.slice(1), assignments: expected.assignments, statuses };
      assertSame(await placeInSlices(lost, { sliceMs: 1 }), place(lost), '200 × 2,000 after a loss');
    } finally {
      clearInterval(timer);
    }
  });
});
