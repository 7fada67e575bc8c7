/**
 * The placement algorithm as it was before it was made fast (a linear scan and a sort of every
 * worker per replica placed): kept verbatim as the oracle of the property test that checks the fast
 * `place()` decides exactly the same on random snapshots. Test support only.
 */
import type { ModelDeployment, NodeInfo, PlacementStatus } from '../layout.js';
import { replicaReady, type PlacementDecision, type PlacementInput, type PlacementResult } from '../placement.js';
import { formatBytes } from '../memory-size.js';

/** A replica leaving a worker, kept until the model's new replicas are READY. */
interface Leaving {
  readonly node: string;
  readonly live: boolean;
  readonly why: string;
}

export function placeReference(input: PlacementInput): PlacementResult {
  const deployments = new Map(input.deployments.map((d) => [d.name, d]));
  const nodes = [...input.nodes].sort((a, b) => a.id.localeCompare(b.id));
  const live = new Map(nodes.map((n) => [n.id, n]));
  const used = new Map(nodes.map((n) => [n.id, 0]));
  const targets = new Map<string, Set<string>>();
  const leaving = new Map<string, Leaving[]>();
  const decisions: PlacementDecision[] = [];
  const ready = (node: string, model: string): boolean => replicaReady(input.statuses.get(node), model);
  const memoryOf = (model: string): number => deployments.get(model)?.memoryBytes ?? 0;
  const free = (node: string): number => live.get(node)!.memoryCapacityBytes - used.get(node)!;
  const targetsOf = (model: string): Set<string> => getOrCreate(targets, model, () => new Set());
  const unassign = (model: string, node: string, reason: string): void => void decisions.push({ action: 'unassign', model, node, reason });

  // 1. Keep what live workers already have, as far as it fits.
  for (const node of nodes) {
    const current = [...new Set(input.assignments.get(node.id) ?? [])];
    const keep: string[] = [];
    for (const model of current) {
      const deployment = deployments.get(model);
      if (!deployment) unassign(model, node.id, 'the model was removed');
      else if (deployment.replicas === 0) unassign(model, node.id, 'replicas is 0');
      else keep.push(model);
    }
    keep.sort((a, b) => Number(ready(node.id, b)) - Number(ready(node.id, a)) || memoryOf(a) - memoryOf(b) || a.localeCompare(b));
    for (const model of keep) {
      const need = memoryOf(model);
      if (need <= free(node.id)) {
        targetsOf(model).add(node.id);
        used.set(node.id, used.get(node.id)! + need);
        continue;
      }
      const why = `it no longer fits on ${node.id} (needs ${formatBytes(need)}, ${formatBytes(Math.max(0, free(node.id)))} free)`;
      if (ready(node.id, model)) {
        getOrCreate(leaving, model, () => []).push({ node: node.id, live: true, why });
        // Loaded memory stays in use until the replica actually leaves.
        used.set(node.id, used.get(node.id)! + need);
      } else {
        unassign(model, node.id, why);
      }
    }
  }

  // 2. Trim models that now have more replicas than wanted.
  for (const [model, holders] of targets) {
    const wanted = deployments.get(model)!.replicas;
    if (holders.size <= wanted) continue;
    const order = [...holders].sort((a, b) => Number(ready(a, model)) - Number(ready(b, model)) || free(a) - free(b) || b.localeCompare(a));
    for (const node of order.slice(0, holders.size - wanted)) {
      holders.delete(node);
      used.set(node, used.get(node)! - memoryOf(model));
      unassign(model, node, `more replicas than the ${wanted} wanted`);
    }
  }

  // Replicas on workers that are gone leave too, once replaced.
  const gone = [...input.assignments.keys()].filter((id) => !live.has(id)).sort();
  for (const node of gone) {
    for (const model of new Set(input.assignments.get(node))) {
      const deployment = deployments.get(model);
      if (deployment && deployment.replicas > 0) getOrCreate(leaving, model, () => []).push({ node, live: false, why: `worker ${node} is gone` });
      else unassign(model, node, deployment ? 'replicas is 0' : 'the model was removed');
    }
  }

  // 3. Place missing replicas, largest models first.
  const placement = new Map<string, PlacementStatus>();
  const active = [...deployments.values()].sort((a, b) => b.memoryBytes - a.memoryBytes || a.name.localeCompare(b.name));
  for (const deployment of active) {
    const model = deployment.name;
    if (deployment.replicas === 0) {
      placement.set(model, { state: 'PLACED', nodes: [], reason: 'replicas is 0: not loaded' });
      continue;
    }
    const holders = targetsOf(model);
    const blocked = new Set([...holders, ...(leaving.get(model) ?? []).filter((l) => l.live).map((l) => l.node)]);
    let shortfall: string | undefined;
    while (holders.size < deployment.replicas) {
      const candidates = nodes.filter((n) => !blocked.has(n.id));
      const fitting = candidates.filter((n) => free(n.id) >= deployment.memoryBytes);
      if (fitting.length === 0) {
        shortfall = explainShortfall(
          deployment,
          nodes.length,
          candidates.map((n) => free(n.id)),
        );
        break;
      }
      const loadAfter = (n: NodeInfo): number => (used.get(n.id)! + deployment.memoryBytes) / Math.max(1, n.memoryCapacityBytes);
      fitting.sort((a, b) => Number(ready(b.id, model)) - Number(ready(a.id, model)) || loadAfter(a) - loadAfter(b) || free(b.id) - free(a.id) || a.id.localeCompare(b.id));
      const chosen = fitting[0]!;
      const freeBefore = free(chosen.id);
      holders.add(chosen.id);
      blocked.add(chosen.id);
      used.set(chosen.id, used.get(chosen.id)! + deployment.memoryBytes);
      decisions.push({
        action: 'assign',
        model,
        node: chosen.id,
        reason: `replica ${holders.size} of ${deployment.replicas}: needs ${formatBytes(deployment.memoryBytes)}, ${formatBytes(freeBefore)} free there`,
      });
    }
    placement.set(model, statusOf(deployment, holders, shortfall));
  }

  // 4. Leaving replicas stay only while the model lacks READY replicas among its new holders.
  const kept = new Map<string, Set<string>>();
  for (const [model, leavers] of leaving) {
    const holders = targetsOf(model);
    const readyHolders = [...holders].filter((n) => ready(n, model));
    const keep = Math.max(0, Math.min(leavers.length, deployments.get(model)!.replicas - readyHolders.length));
    const ordered = [...leavers].sort((a, b) => Number(b.live) - Number(a.live) || a.node.localeCompare(b.node));
    for (const [i, leaver] of ordered.entries()) {
      if (i < keep) {
        getOrCreate(kept, leaver.node, () => new Set()).add(model);
        continue;
      }
      const replacement = readyHolders.length > 0 ? `; READY on ${readyHolders.join(', ')}` : '';
      unassign(model, leaver.node, `${leaver.why}${replacement}`);
    }
    if (keep > 0) {
      const status = placement.get(model)!;
      const from = ordered.slice(0, keep).map((l) => l.node);
      const waiting = [...holders].filter((n) => !ready(n, model)).sort();
      const moving =
        waiting.length > 0
          ? `moving off ${from.join(', ')} (${ordered[0]!.why}): kept until ${waiting.join(', ')} ${waiting.length === 1 ? 'is' : 'are'} READY`
          : `${ordered[0]!.why}: ${from.join(', ')} keeps its assignment until a replacement is READY`;
      placement.set(model, { ...status, reason: status.reason ? `${status.reason}; ${moving}` : moving });
    }
  }

  const assignments = new Map<string, string[]>();
  for (const node of [...nodes.map((n) => n.id), ...gone]) {
    const models = new Set(kept.get(node));
    for (const [model, holders] of targets) if (holders.has(node)) models.add(model);
    assignments.set(node, [...models].sort());
  }
  return { assignments, placement, decisions };
}

function statusOf(deployment: ModelDeployment, holders: ReadonlySet<string>, shortfall: string | undefined): PlacementStatus {
  const nodes = [...holders].sort();
  if (nodes.length >= deployment.replicas) return { state: 'PLACED', nodes };
  const why = shortfall ?? 'not enough workers';
  if (nodes.length === 0) return { state: 'PENDING', nodes, reason: why };
  return { state: 'PARTIAL', nodes, reason: `${nodes.length} of ${deployment.replicas} replicas placed: ${why}` };
}

function explainShortfall(deployment: ModelDeployment, liveCount: number, candidateFree: readonly number[]): string {
  if (liveCount === 0) return 'no live workers';
  if (candidateFree.length === 0) {
    return `only ${liveCount} live worker${liveCount === 1 ? '' : 's'} for ${deployment.replicas} replicas (each replica needs its own worker)`;
  }
  return `needs ${formatBytes(deployment.memoryBytes)}, largest free is ${formatBytes(Math.max(0, ...candidateFree))}`;
}

function getOrCreate<K, V>(map: Map<K, V>, key: K, create: () => V): V {
  let value = map.get(key);
  if (value === undefined) map.set(key, (value = create()));
  return value;
}
