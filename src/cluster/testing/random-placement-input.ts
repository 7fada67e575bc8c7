/**
 * Random placement inputs for property tests: the same seeded snapshots as the equivalence test
 * of `place()` against the reference algorithm (mixed capacities, some workers gone, stale
 * assignments, partial READY), and the next round's input from a result. Test support only.
 */
import type { ModelDeployment, NodeInfo, NodeStatus } from '../layout.js';
import type { PlacementInput, PlacementResult } from '../placement.js';

const MiB = 2 ** 20;

export interface SeededGenerator {
  next(): number;
  int(n: number): number;
  pick<T>(items: readonly T[]): T;
}

/** A small seeded generator, so a failing round can be replayed. */
export function generator(seed: number): SeededGenerator {
  let state = seed;
  const next = (): number => (state = (state * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
  return { next, int: (n) => Math.floor(next() * n), pick: (items) => items[Math.floor(next() * items.length)]! };
}

/** A random snapshot mid-life: mixed capacities, some workers gone, stale assignments, partial READY. */
export function randomSnapshot(seed: number): PlacementInput {
  const r = generator(seed);
  const capacities = [256, 512, 768, 1024, 2048].map((m) => m * MiB);
  const nodeCount = r.int(12);
  const nodes: NodeInfo[] = Array.from({ length: nodeCount }, (_, i) => ({
    id: `w${i}`,
    httpAddress: '',
    grpcAddress: '',
    memoryCapacityBytes: r.next() < 0.1 ? 0 : r.pick(capacities.slice(0, 1 + r.int(capacities.length))),
    labels: {},
    startedAt: 0,
  }));
  const deployments: ModelDeployment[] = Array.from({ length: r.int(30) }, (_, i) => ({
    name: `m${i}`,
    replicas: r.int(5),
    // Equal sizes are common on purpose: ties exercise the tie-breaks.
    memoryBytes: r.next() < 0.1 ? 0 : r.pick([16, 32, 64, 100, 128, 200, 300]) * MiB,
    memoryMeasured: false,
  }));
  const ids = [...nodes.map((n) => n.id), 'gone1', 'gone2'];
  const names = [...deployments.map((d) => d.name), 'removed'];
  const assignments = new Map<string, string[]>();
  const statuses = new Map<string, NodeStatus>();
  for (const id of ids) {
    if (r.next() < 0.3) continue;
    const models = names.filter(() => r.next() < 0.25);
    assignments.set(id, models);
    const reported = names.filter((m) => (models.includes(m) ? r.next() < 0.7 : r.next() < 0.05));
    statuses.set(id, { models: Object.fromEntries(reported.map((m) => [m, { versions: { '1': { state: r.next() < 0.8 ? ('READY' as const) : ('LOADING' as const) } } }])) });
  }
  return { deployments, nodes, assignments, statuses };
}

/** The next round's input: the result's assignment, most replicas turned READY, a few workers gone. */
export function nextRound(input: PlacementInput, result: PlacementResult, r: SeededGenerator): PlacementInput {
  const statuses = new Map<string, NodeStatus>();
  for (const [id, models] of result.assignments) {
    statuses.set(id, { models: Object.fromEntries(models.filter(() => r.next() < 0.8).map((m) => [m, { versions: { '1': { state: 'READY' as const } } }])) });
  }
  const nodes = input.nodes.filter(() => r.next() < 0.9);
  return { ...input, nodes, assignments: result.assignments, statuses };
}
