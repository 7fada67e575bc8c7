/**
 * One soak run: a local cluster of real processes (ZooKeeper, two controllers, N workers in poll
 * mode, the gateway), mixed REST and gRPC load through the gateway, and a chaos schedule that, one
 * action after the other with a pause between them:
 *
 * - `worker-kill`: SIGKILL of a worker holding replicas, restarted under the same node id after a pause;
 * - `version-swap`: a new version folder (a copy of the latest) in a replicated model, which the
 *   workers' repository poll loads while the old version unloads;
 * - `zookeeper-restart`: ZooKeeper stopped for a while and started again (same port and data);
 * - `controller-failover`: SIGKILL of the leading controller (the standby takes over) and a new standby;
 * - `slow-client-flood`: slow HTTP clients and preface-only HTTP/2 connections against one worker.
 *
 * After each action the run waits (bounded) until every model again has its replicas READY, as the
 * gateway sees them. Every wait is bounded, the load stops by itself, and `runSoak` stops every
 * process it started whatever happens (the caller handles Ctrl-C through `abort`).
 */
import { cp, readdir, rename } from 'node:fs/promises';
import { join } from 'node:path';
import { ProcessCluster, sleep, type WorkerProcess } from '../../test/helpers/process-cluster.js';
import { SoakLoad, type IntervalStats, type SoakLoadResult } from './soak-load.js';
import { buildSoakRequests, SOAK_MODELS, type SoakModel } from './soak-requests.js';
import { floodWithSlowClients, type SlowClientFloodResult } from './slow-clients.js';

export const CHAOS_ACTIONS = ['worker-kill', 'version-swap', 'zookeeper-restart', 'controller-failover', 'slow-client-flood'] as const;
export type ChaosAction = (typeof CHAOS_ACTIONS)[number];

export interface SlowClientFloodSettings {
  /** Slow HTTP sockets: half dribble headers, half bodies. */
  readonly httpSockets: number;
  /** Preface-only HTTP/2 connections to the worker's gRPC port. */
  readonly grpcSockets: number;
  readonly tickMs: number;
  readonly durationMs: number;
}

export interface SoakOptions {
  /**
   * How long the load runs at least. The first round of `actions` always runs whole (so the run
   * lasts longer when it does not fit); later rounds start an action only while it still fits.
   */
  readonly durationMs: number;
  readonly workers: number;
  /** Replicas per model (set through the gateway's admin API); models left out keep 1. */
  readonly replicas: Readonly<Partial<Record<SoakModel, number>>>;
  readonly concurrency: number;
  readonly intervalMs: number;
  readonly requestTimeoutMs: number;
  /** The actions, run in this order, round and round, while time remains. */
  readonly actions: readonly ChaosAction[];
  /** Pause between the end of one action (recovery included) and the next. */
  readonly pauseMs: number;
  /** How long a killed worker stays down, and ZooKeeper stays stopped. */
  readonly downMs: number;
  readonly flood: SlowClientFloodSettings;
  /** The bundled model repository (its digits, diabetes and word_ids folders are copied). */
  readonly modelRepository: string;
  /** Progress lines (periodic stats, chaos events). */
  readonly log: (line: string) => void;
  /** Resolves (or is already resolved) when the run must end early, e.g. on Ctrl-C. */
  readonly abort?: Promise<unknown>;
}

export interface ChaosEvent {
  /** ms since the load started */
  readonly atMs: number;
  readonly action: ChaosAction;
  readonly target: string;
  /** What happened, in a few words (takeover time, new version, flood outcome ...). */
  readonly detail: string;
  /** ms from the start of the action until the cluster had every replica READY again; undefined if it did not within the bound. */
  readonly recoveredAfterMs: number | undefined;
  readonly flood?: SlowClientFloodResult;
}

export interface SoakResult {
  readonly startedAt: string;
  readonly options: Omit<SoakOptions, 'log' | 'abort'>;
  readonly load: SoakLoadResult;
  readonly events: readonly ChaosEvent[];
  /** Models with replicas ≥ 2, whose requests must all succeed. */
  readonly replicatedModels: readonly SoakModel[];
  readonly aborted: boolean;
}

const RECOVERY_TIMEOUT_MS = 60_000;
/** Worker repository poll interval: a new version folder is seen within this. */
const POLL_SECS = 1;

/** Estimated time an action needs (recovery included), to decide whether it still fits. */
function estimateMs(action: ChaosAction, options: SoakOptions): number {
  switch (action) {
    case 'worker-kill':
      return options.downMs + 15_000;
    case 'zookeeper-restart':
      return options.downMs + 12_000;
    case 'slow-client-flood':
      return options.flood.durationMs + 3000;
    default:
      return 10_000;
  }
}

export async function runSoak(options: SoakOptions): Promise<SoakResult> {
  const startedAt = new Date().toISOString();
  const log = options.log;
  let aborted = false;
  const abort = options.abort ?? new Promise<never>(() => undefined);
  void abort.then(() => (aborted = true));
  /** Sleeps, or less when the run is aborted. */
  const pause = (ms: number): Promise<void> =>
    new Promise((resolve) => {
      const timer = setTimeout(resolve, ms);
      void abort.then(() => {
        clearTimeout(timer);
        resolve();
      });
    });

  log(`starting a cluster: ZooKeeper, 2 controllers, ${options.workers} workers (poll mode), gateway`);
  const cluster = await ProcessCluster.start({
    models: {},
    copyModelDirs: SOAK_MODELS.map((m) => join(options.modelRepository, m)),
    workers: options.workers,
    defaultReplicas: 1,
    controllers: 2,
    workerFlags: ['--model-control-mode', 'poll', '--repository-poll-secs', String(POLL_SECS)],
  });
  let load: SoakLoad | undefined;
  try {
    const desired = (model: SoakModel): number => options.replicas[model] ?? 1;
    for (const model of SOAK_MODELS) {
      if (desired(model) === 1) continue;
      const answer = await fetch(`${cluster.gateway.url}/v2/cluster/models/${model}/replicas`, {
        method: 'PUT',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ replicas: desired(model) }),
      });
      // 202: accepted but not carried out within the admin API's wait; the readiness wait below covers it.
      if (answer.status !== 200 && answer.status !== 202) throw new Error(`PUT replicas of ${model}: HTTP ${answer.status} ${await answer.text()}`);
    }
    const healthy = async (): Promise<boolean> => {
      const metrics = await cluster.metrics();
      if (metrics.get('cranberries_gateway_table_stale') !== 0) return false;
      for (const model of SOAK_MODELS) {
        if ((await cluster.admin.getModel(model)).readyReplicas < desired(model)) return false;
        // The gateway routes a version-less request to the highest version: count its READY replicas there.
        const versions = [...metrics].filter(([name, value]) => name.startsWith(`cranberries_gateway_ready_replicas{model="${model}",`) && value > 0);
        const latest = versions.map(([name]) => Number(/version="(\d+)"/.exec(name)?.[1])).sort((a, b) => b - a)[0];
        const ready = versions.find(([name]) => name.includes(`version="${latest}"`))?.[1] ?? 0;
        if (ready < desired(model)) return false;
      }
      return true;
    };
    const waitHealthy = async (timeoutMs: number): Promise<boolean> => {
      const deadline = Date.now() + timeoutMs;
      while (Date.now() < deadline && !aborted) {
        if (await healthy().catch(() => false)) return true;
        await sleep(250);
      }
      return false;
    };
    if (!(await waitHealthy(120_000))) throw new Error('the cluster did not get every model READY with its replicas within 120 s');
    log(`cluster ready: gateway HTTP ${cluster.gateway.url}, gRPC ${cluster.gateway.grpcAddress}; replicas ${SOAK_MODELS.map((m) => `${m}=${desired(m)}`).join(' ')}`);

    const loadStarted = Date.now();
    const since = (): number => Date.now() - loadStarted;
    load = new SoakLoad({
      httpUrl: cluster.gateway.url,
      grpcAddress: cluster.gateway.grpcAddress,
      requests: buildSoakRequests(SOAK_MODELS),
      concurrency: options.concurrency,
      intervalMs: options.intervalMs,
      requestTimeoutMs: options.requestTimeoutMs,
      // A hard stop however long the first round takes (each action is bounded, recovery included).
      maxMs: options.durationMs + options.actions.length * (RECOVERY_TIMEOUT_MS * 2 + options.pauseMs + options.downMs + options.flood.durationMs),
      onInterval: (s) => log(formatInterval(s)),
    });

    const events: ChaosEvent[] = [];
    const chaos = new Chaos(cluster, options, desired);
    // A quiet start gives the first interval a baseline.
    await pause(Math.min(options.pauseMs, options.durationMs));
    for (let i = 0; !aborted; i++) {
      const action = options.actions[i % options.actions.length];
      // The first round runs whole (a short run still sees every action); later ones only while they fit.
      if (!action || (i >= options.actions.length && since() + estimateMs(action, options) > options.durationMs)) break;
      const atMs = since();
      const started = Date.now();
      log(`[${seconds(atMs)}] chaos: ${action} ...`);
      const outcome = await chaos.run(action);
      const recovered = await waitHealthy(RECOVERY_TIMEOUT_MS);
      const event: ChaosEvent = { atMs, action, ...outcome, recoveredAfterMs: recovered ? Date.now() - started : undefined };
      events.push(event);
      log(
        `[${seconds(since())}] chaos: ${action} ${event.target}: ${event.detail}; ${recovered ? `every replica READY again after ${seconds(event.recoveredAfterMs ?? 0)}` : 'NOT recovered within 60 s'}`,
      );
      await pause(options.pauseMs);
    }
    const rest = options.durationMs - since();
    if (rest > 0) await pause(rest);
    const result = await load.stop();
    const { log: _log, abort: _abort, ...settings } = options;
    return { startedAt, options: settings, load: result, events, replicatedModels: SOAK_MODELS.filter((m) => desired(m) >= 2), aborted };
  } finally {
    await load?.stop();
    log('stopping the cluster ...');
    await cluster.close();
  }
}

/** The chaos actions against one cluster; victims and models rotate. */
class Chaos {
  private round = 0;

  constructor(
    private readonly cluster: ProcessCluster,
    private readonly options: SoakOptions,
    private readonly desired: (model: SoakModel) => number,
  ) {}

  run(action: ChaosAction): Promise<Omit<ChaosEvent, 'atMs' | 'action' | 'recoveredAfterMs'>> {
    this.round++;
    switch (action) {
      case 'worker-kill':
        return this.killWorker();
      case 'version-swap':
        return this.swapVersion();
      case 'zookeeper-restart':
        return this.restartZooKeeper();
      case 'controller-failover':
        return this.failOver();
      case 'slow-client-flood':
        return this.flood();
    }
  }

  /** A worker holding a replica of a replicated model, a different one each round. */
  private async victim(): Promise<WorkerProcess> {
    const holders = new Set<string>();
    for (const model of SOAK_MODELS) if (this.desired(model) >= 2) for (const node of await this.cluster.readyNodes(model)) holders.add(node);
    const candidates = [...this.cluster.workers.values()].filter((w) => holders.has(w.id) && w.process.running);
    const pool = candidates.length > 0 ? candidates : [...this.cluster.workers.values()];
    return pool[this.round % pool.length]!;
  }

  /** The models with a READY replica on worker `id`, as a phrase. */
  private async heldBy(id: string): Promise<string> {
    const held: string[] = [];
    for (const model of SOAK_MODELS) if ((await this.cluster.readyNodes(model)).includes(id)) held.push(model);
    return held.join(', ') || 'nothing';
  }

  private async killWorker(): Promise<{ target: string; detail: string }> {
    const victim = await this.victim();
    const held = await this.heldBy(victim.id);
    victim.process.child.kill('SIGKILL');
    await victim.process.exited;
    await sleep(this.options.downMs);
    const started = Date.now();
    const restarted = await this.cluster.startWorker(victim.id);
    return { target: victim.id, detail: `SIGKILL, down ${seconds(this.options.downMs)}, restarted in ${seconds(Date.now() - started)} (HTTP ${restarted.url.slice(7)}); it held ${held}` };
  }

  private async swapVersion(): Promise<{ target: string; detail: string }> {
    const replicated = SOAK_MODELS.filter((m) => this.desired(m) >= 2);
    const model = replicated[this.round % replicated.length] ?? SOAK_MODELS[0];
    const dir = join(this.cluster.repo.root, model);
    const versions = (await readdir(dir, { withFileTypes: true })).filter((e) => e.isDirectory() && /^\d+$/.test(e.name)).map((e) => Number(e.name));
    const latest = Math.max(...versions);
    // Copied under a hidden name first and renamed, so the poll never sees a half-written version.
    const staging = join(dir, `.staging-${latest + 1}`);
    await cp(join(dir, String(latest)), staging, { recursive: true });
    await rename(staging, join(dir, String(latest + 1)));
    const deadline = Date.now() + RECOVERY_TIMEOUT_MS;
    let seen = false;
    while (Date.now() < deadline && !seen) {
      seen = ((await this.cluster.metrics().catch(() => new Map<string, number>())).get(`cranberries_gateway_ready_replicas{model="${model}",version="${latest + 1}"}`) ?? 0) >= this.desired(model);
      if (!seen) await sleep(250);
    }
    return { target: model, detail: `version ${latest + 1} added (copy of ${latest}); ${seen ? 'READY on every replica' : 'NOT READY on every replica within 60 s'}` };
  }

  private async restartZooKeeper(): Promise<{ target: string; detail: string }> {
    await this.cluster.zk.stop();
    await sleep(this.options.downMs);
    const started = Date.now();
    await this.cluster.zk.restart();
    return { target: this.cluster.zk.connectionString, detail: `stopped for ${seconds(this.options.downMs)}, serving again ${seconds(Date.now() - started)} after the restart` };
  }

  private async failOver(): Promise<{ target: string; detail: string }> {
    const leader = await this.cluster.leader();
    if (!leader) return { target: '-', detail: 'no leading controller found: skipped' };
    const killedAt = Date.now();
    leader.child.kill('SIGKILL');
    await leader.exited;
    let next: string | undefined;
    const deadline = Date.now() + RECOVERY_TIMEOUT_MS;
    while (Date.now() < deadline && next === undefined) {
      const current = await this.cluster.leader().catch(() => undefined);
      if (current && current !== leader) next = current.name;
      else await sleep(100);
    }
    const standby = this.cluster.startController();
    return {
      target: leader.name,
      detail: `SIGKILL of the leader; ${next ? `${next} took over after ${seconds(Date.now() - killedAt)}` : 'NO controller took over within 60 s'}; ${standby.name} started as the new standby`,
    };
  }

  private async flood(): Promise<{ target: string; detail: string; flood: SlowClientFloodResult }> {
    const victim = await this.victim();
    const { flood } = this.options;
    const held = await this.heldBy(victim.id);
    const result = await floodWithSlowClients({
      httpAddress: victim.url.slice('http://'.length),
      grpcAddress: victim.grpcAddress,
      httpSockets: flood.httpSockets,
      grpcSockets: flood.grpcSockets,
      tickMs: flood.tickMs,
      durationMs: flood.durationMs,
      pid: victim.process.child.pid,
    });
    const errors = Object.entries(result.connectErrors)
      .map(([code, n]) => `${code}×${n}`)
      .join(' ');
    return {
      target: victim.id,
      detail:
        `(it holds ${held}) ${result.target.header} header + ${result.target.body} body dribblers, ${result.target.h2} HTTP/2 preface-only for ${seconds(result.durationMs)}: ` +
        `peak ${result.peakOpen} open, closed by the worker: ${result.closedByServer.header} header / ${result.closedByServer.body} body / ${result.closedByServer.h2} HTTP/2${errors ? `, connect errors ${errors}` : ''}; ` +
        `direct readiness probes ${result.probes.ok} ok / ${result.probes.failed} failed (slowest ${result.probes.maxMs} ms)` +
        (result.rssMiB ? `; worker RSS ${result.rssMiB.before} → peak ${result.rssMiB.peak} MiB` : ''),
      flood: result,
    };
  }
}

export const seconds = (ms: number): string => `${(ms / 1000).toFixed(1)} s`;

export function formatInterval(s: IntervalStats): string {
  const causes = Object.entries(s.causes)
    .map(([cause, n]) => `${cause}×${n}`)
    .join(' ');
  return `[${seconds(s.endMs)}] ${s.sent} sent, ${s.ok} ok, ${s.failed} failed${causes ? ` (${causes})` : ''}; p50 ${s.p50Ms} ms, p99 ${s.p99Ms} ms, max ${s.maxMs} ms`;
}
