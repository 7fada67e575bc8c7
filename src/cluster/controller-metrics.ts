/**
 * Metrics of the placement controller: leadership, placement rounds and decisions, and the
 * cluster as the last round saw it — models by placement state (PENDING ones are those that fit
 * nowhere), replicas assigned per model, models assigned per worker, live workers.
 *
 * Fed by the controller's `reconciled` event (one per completed round) and its leadership; the
 * live workers are counted from the store's `nodes` children when metrics are collected. The
 * figures of the last round are exported only while this controller leads, so summing over every
 * controller of a cluster counts each model once (a standby's last round is stale).
 */
import { Counter, Gauge, type Registry } from 'prom-client';
import type { EventChannel } from '../core/index.js';
import type { PlacementStatus } from './layout.js';

/** The part of a placement round's result these metrics read (`cluster/placement.ts` PlacementResult). */
export interface PlacementRound {
  readonly assignments: ReadonlyMap<string, readonly string[]>;
  readonly placement: ReadonlyMap<string, PlacementStatus>;
  readonly decisions: readonly { readonly action: string }[];
}

export interface ControllerMetricsSources {
  readonly isLeader: () => boolean;
  readonly reconciled: EventChannel<PlacementRound>;
  /** Leadership changes (the election's `leadershipChanged`), when available. */
  readonly leadershipChanged?: EventChannel<boolean> | undefined;
  /** Ids of the live workers (the store's `nodes` children); failures leave the last value. */
  readonly liveNodes?: (() => Promise<readonly string[]>) | undefined;
}

const PLACEMENT_STATES: readonly PlacementStatus['state'][] = ['PLACED', 'PARTIAL', 'PENDING'];

export class ControllerMetrics {
  private readonly rounds: Counter;
  private readonly decisions: Counter<'action'>;
  private readonly leadershipChanges: Counter;
  private lastRound: PlacementRound | undefined;
  private readonly isLeader: () => boolean;
  private readonly unsubscribe: (() => void)[] = [];

  constructor(registry: Registry, sources: ControllerMetricsSources) {
    this.isLeader = sources.isLeader;
    const registers = [registry];
    const leader: Gauge = new Gauge({
      name: 'cranberries_controller_leader',
      help: '1 while this controller is the leader (the one that places models), else 0.',
      registers,
      collect: () => leader.set(sources.isLeader() ? 1 : 0),
    });
    this.leadershipChanges = new Counter({ name: 'cranberries_controller_leadership_changes_total', help: 'Times this controller became or stopped being the leader.', registers });
    this.rounds = new Counter({ name: 'cranberries_controller_placement_rounds_total', help: 'Completed placement rounds.', registers });
    this.decisions = new Counter({
      name: 'cranberries_controller_placement_decisions_total',
      help: 'Replicas assigned to or unassigned from workers, by action.',
      labelNames: ['action'],
      registers,
    });
    const models: Gauge<'state'> = new Gauge({
      name: 'cranberries_controller_models',
      help: 'Deployed models by placement state as of the last round (PENDING: fits on no worker).',
      labelNames: ['state'],
      registers,
      collect: () => {
        const counts = new Map<string, number>(PLACEMENT_STATES.map((s) => [s, 0]));
        for (const status of this.last?.placement.values() ?? []) counts.set(status.state, (counts.get(status.state) ?? 0) + 1);
        for (const [state, n] of counts) models.set({ state }, n);
      },
    });
    const modelState: Gauge<'model' | 'state'> = new Gauge({
      name: 'cranberries_controller_model_placement',
      help: 'Placement state of each deployed model as of the last round: 1 for its state, 0 for the others.',
      labelNames: ['model', 'state'],
      registers,
      collect: () => {
        modelState.reset();
        for (const [model, status] of this.last?.placement ?? []) {
          for (const state of PLACEMENT_STATES) modelState.set({ model, state }, status.state === state ? 1 : 0);
        }
      },
    });
    const replicas: Gauge<'model'> = new Gauge({
      name: 'cranberries_controller_assigned_replicas',
      help: 'Workers each deployed model is assigned to as of the last round (may exceed the desired count while a replica moves).',
      labelNames: ['model'],
      registers,
      collect: () => {
        replicas.reset();
        for (const [model, status] of this.last?.placement ?? []) replicas.set({ model }, status.nodes.length);
      },
    });
    const perNode: Gauge<'node'> = new Gauge({
      name: 'cranberries_controller_node_assigned_models',
      help: 'Models assigned to each worker as of the last round.',
      labelNames: ['node'],
      registers,
      collect: () => {
        perNode.reset();
        for (const [node, list] of this.last?.assignments ?? []) perNode.set({ node }, list.length);
      },
    });
    const liveNodes = sources.liveNodes;
    let lastNodeCount = 0;
    const nodes: Gauge = new Gauge({
      name: 'cranberries_cluster_nodes',
      help: 'Live workers registered in the coordination store.',
      registers,
      collect: async () => {
        if (liveNodes)
          lastNodeCount = await liveNodes().then(
            (ids) => ids.length,
            () => lastNodeCount,
          );
        nodes.set(lastNodeCount);
      },
    });
    this.unsubscribe.push(sources.reconciled.subscribe((round) => this.roundCompleted(round)));
    if (sources.leadershipChanged) this.unsubscribe.push(sources.leadershipChanged.subscribe(() => this.leadershipChanged()));
    for (const action of ['assign', 'unassign']) this.decisions.inc({ action }, 0);
  }

  /** One completed placement round (called by the `reconciled` subscription). */
  roundCompleted(round: PlacementRound): void {
    this.lastRound = round;
    this.rounds.inc();
    // Counted first, one increment per action: a cold round at 10,000 models has 20,000 decisions.
    const counts = new Map<string, number>();
    for (const decision of round.decisions) counts.set(decision.action, (counts.get(decision.action) ?? 0) + 1);
    for (const [action, count] of counts) this.decisions.inc({ action }, count);
  }

  /** The last round's result while leading; nothing on a standby. */
  private get last(): PlacementRound | undefined {
    return this.isLeader() ? this.lastRound : undefined;
  }

  leadershipChanged(): void {
    this.leadershipChanges.inc();
  }

  close(): void {
    for (const u of this.unsubscribe) u();
  }
}
