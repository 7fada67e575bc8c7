/** `node dist/bench/scale/placement-timing.js [--reference]`: the pure placement function alone at the four sizes. */
import { place, type NodeStatus, type PlacementInput } from '../../src/cluster/index.js';
import { placeReference } from '../../src/cluster/testing/placement-reference.js';
import { syntheticModels, syntheticWorkers } from './synthetic.js';

const fn = process.argv.includes('--reference') ? placeReference : place;
for (const [w, m] of [
  [10, 100],
  [100, 1000],
  [300, 3000],
  [1000, 10000],
] as const) {
  const nodes = syntheticWorkers(w);
  const deployments = syntheticModels(m);
  const cold: PlacementInput = { deployments, nodes, assignments: new Map(), statuses: new Map() };
  let t = performance.now();
  const first = fn(cold);
  const coldMs = performance.now() - t;
  const statuses = new Map<string, NodeStatus>(
    [...first.assignments].map(([id, models]) => [id, { models: Object.fromEntries(models.map((model) => [model, { versions: { '1': { state: 'READY' as const } } }])) }]),
  );
  const lost: PlacementInput = { deployments, nodes: nodes.slice(1), assignments: first.assignments, statuses };
  t = performance.now();
  const second = fn(lost);
  const lossMs = performance.now() - t;
  console.log(`${w}x${m}: cold ${coldMs.toFixed(1)} ms, after losing one worker ${lossMs.toFixed(1)} ms (${second.decisions.length} decisions)`);
}
