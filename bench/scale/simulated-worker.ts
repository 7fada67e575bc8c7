/**
 * A simulated worker: what a `WorkerAgent` looks like from the store, without a model server (see
 * simulation.ts), and the gateway-side check that every replica is READY. Shared by the one-process
 * simulation and the worker and gateway child processes of `--processes`.
 */
import { NodeAssignment, decodeJson, encodeJson, type ClusterPaths, type CoordinationStore, type ModelDeployment, type NodeInfo, type NodeStatus } from '../../src/cluster/index.js';
import type { EndpointTable } from '../../src/gateway/routing/index.js';

const MiB = 2 ** 20;

export class SimulatedWorker {
  readonly status: NodeStatus = { models: {} };
  private unwatch: (() => void) | undefined;
  private assigned = new Set<string>();
  private readonly queue: string[] = [];
  private loading = 0;
  private writing: Promise<void> | undefined;
  private writeAgain = false;
  private writeTimer: NodeJS.Timeout | undefined;
  private readonly timers = new Set<NodeJS.Timeout>();
  alive = false;

  constructor(
    readonly node: NodeInfo,
    private readonly store: CoordinationStore,
    private readonly paths: ClusterPaths,
    private readonly deployments: ReadonlyMap<string, ModelDeployment>,
    private readonly loadTimeScale: number,
  ) {}

  async join(): Promise<void> {
    this.alive = true;
    this.status.models = {};
    this.assigned = new Set();
    await this.store.create(this.paths.node(this.node.id), encodeJson(this.node), 'ephemeral');
    await this.store.create(this.paths.nodeStatus(this.node.id), encodeJson(this.status), 'ephemeral');
    // As the real worker agent watches it: data only.
    this.unwatch = this.store.watch(this.paths.assignment(this.node.id), () => void this.readAssignment(), { children: false });
    await this.readAssignment();
  }

  /** Dies: stops everything; the caller removes the ephemerals (or closes the session). */
  die(): void {
    this.alive = false;
    this.unwatch?.();
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
    clearTimeout(this.writeTimer);
    this.writeTimer = undefined;
    this.queue.length = 0;
    this.loading = 0;
  }

  private async readAssignment(): Promise<void> {
    if (!this.alive) return;
    const node = await this.store.get(this.paths.assignment(this.node.id)).catch(() => undefined);
    const models = decodeJson(NodeAssignment, node?.data)?.models ?? [];
    const next = new Set(models);
    let changed = false;
    for (const model of this.assigned) {
      if (next.has(model)) continue;
      delete this.status.models[model];
      changed = true;
    }
    for (const model of next) {
      if (this.assigned.has(model)) continue;
      this.status.models[model] = { versions: { '1': { state: 'LOADING' } } };
      this.queue.push(model);
      changed = true;
    }
    this.assigned = next;
    this.pump();
    if (changed) this.publishSoon();
  }

  private pump(): void {
    while (this.loading < 2 && this.queue.length > 0) {
      const model = this.queue.shift()!;
      if (!this.assigned.has(model)) continue;
      this.loading++;
      const memory = this.deployments.get(model)?.memoryBytes ?? 0;
      const timer = setTimeout(
        () => {
          this.timers.delete(timer);
          this.loading--;
          if (this.alive && this.assigned.has(model)) {
            this.status.models[model] = { versions: { '1': { state: 'READY' } }, memoryBytes: memory };
            this.publishSoon();
          }
          this.pump();
        },
        (200 + (3 * memory) / MiB) * this.loadTimeScale,
      );
      this.timers.add(timer);
    }
  }

  private publishSoon(): void {
    if (this.writeTimer || !this.alive) return;
    this.writeTimer = setTimeout(() => {
      this.writeTimer = undefined;
      void this.publish();
    }, 100);
  }

  private publish(): Promise<void> {
    if (this.writing) {
      this.writeAgain = true;
      return this.writing;
    }
    this.writing = (async () => {
      do {
        this.writeAgain = false;
        if (!this.alive) return;
        await this.store.set(this.paths.nodeStatus(this.node.id), encodeJson(this.status)).catch(() => undefined);
      } while (this.writeAgain);
    })().finally(() => (this.writing = undefined));
    return this.writing;
  }
}

/** Every replica READY in the gateway's fresh tier (a dead worker's retained entries do not count). */
export function allReady(table: EndpointTable, deployments: readonly ModelDeployment[], liveWorkers: number, dead: ReadonlySet<string>): boolean {
  for (const d of deployments) {
    const want = Math.min(d.replicas, liveWorkers);
    // A replica on a dead worker the table still shows (not refreshed yet) does not count.
    if (want > 0 && table.replicas(d.name, 1).fresh.filter((e) => !dead.has(e.nodeId)).length < want) return false;
  }
  return true;
}
