/**
 * Ensembles in a cluster run their steps on their own worker: an ensemble calls its step models
 * through the serving core of the worker it is on, never across the network. So after placement,
 * every worker assigned an ensemble is also assigned each of its step models (and theirs, for
 * nested ensembles), in addition to the step models' own replicas. PURE, like `placement.ts`.
 *
 * The extra step replicas are not counted against the worker's memory (the ensemble's deployment
 * carries only its own, near-zero, estimate): a limit of this first rule.
 */
import type { ModelDeployment } from './layout.js';
import type { PlacementDecision, PlacementResult } from './placement.js';

export function colocateEnsembleSteps(result: PlacementResult, deployments: readonly ModelDeployment[], before: ReadonlyMap<string, readonly string[]>): PlacementResult {
  const requires = new Map(deployments.flatMap((d) => (d.requires && d.requires.length > 0 ? [[d.name, d.requires] as const] : [])));
  if (requires.size === 0) return result;
  const known = new Set(deployments.map((d) => d.name));
  const assignments = new Map<string, readonly string[]>();
  const added = new Set<string>();
  const decisions: PlacementDecision[] = [];
  for (const [node, models] of result.assignments) {
    const set = new Set(models);
    const queue = models.filter((m) => requires.has(m));
    while (queue.length > 0) {
      const ensemble = queue.shift()!;
      for (const step of requires.get(ensemble) ?? []) {
        if (set.has(step) || !known.has(step)) continue;
        set.add(step);
        added.add(`${node}\u0000${step}`);
        if (!(before.get(node) ?? []).includes(step)) decisions.push({ action: 'assign', model: step, node, reason: `a step of ensemble '${ensemble}', which runs its steps on its own worker` });
        if (requires.has(step)) queue.push(step);
      }
    }
    assignments.set(node, set.size === models.length ? models : [...set].sort());
  }
  // Placement may have just dropped a step replica the ensemble keeps: that is no decision.
  const kept = result.decisions.filter((d) => !(d.action === 'unassign' && added.has(`${d.node}\u0000${d.model}`)));
  return { ...result, assignments, decisions: [...kept, ...decisions] };
}
