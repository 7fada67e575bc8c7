/**
 * B8 — gateway cost. A local cluster with ONE worker (private ZooKeeper, controller, worker,
 * gateway: `startLocalCluster`), serving the tiny model. The same load (concurrency 16) goes
 * through the gateway and straight to the worker, in alternating rounds so machine noise weighs on
 * both alike, over REST binary and gRPC. Reported: req/s and p50/p99 per side, the throughput ratio
 * gateway ÷ direct (target ≥ 0.8) and the extra p50 the hop adds (target < 1 ms).
 *
 * Also the CPU each process spends per request over the measured windows (the gateway's and the
 * worker's own `process_cpu_seconds_total`, this process's `cpuUsage`): load generator, worker and
 * gateway share the machine's cores, so the ratio is bounded by how the gateway's CPU per request
 * compares with the other two's, and this says by how much.
 *
 * Peers in the same run: nginx and HAProxy in front of the same worker (`peers.ts`), measured in the
 * same alternating rounds (gateway, direct, nginx, HAProxy). Target: the gateway's ratio and CPU per
 * request at least as good as nginx's, and its extra p50 no worse.
 */
import { createServer } from 'node:net';
import { join } from 'node:path';
import { buildInputs } from '../../src/load-generator/bench-inputs.js';
import { measureLevel, type BenchLevelResult } from '../../src/load-generator/bench-runner.js';
import { GrpcTransport } from '../../src/load-generator/grpc-transport.js';
import { RestTransport } from '../../src/load-generator/rest-transport.js';
import type { BenchTransport } from '../../src/load-generator/transport.js';
import { startLocalCluster, type LocalCluster, type ServiceAddresses } from '../../src/cli/cluster.js';
import type { SuiteContext } from './context.js';
import { BATCHING, type ModelFiles, writeRepository } from './models.js';
import { levelSummary, type LevelSummary } from './level-summary.js';
import { ensurePeerBinaries, startPeer, type Peer, type PeerName } from './peers.js';
import { CpuWindow } from './process-cpu.js';

/** A proxy in front of the same worker, measured in the gateway's rounds. */
export interface B8PeerRow {
  readonly peer: PeerName;
  /** The median round, for latencies. */
  readonly level: LevelSummary;
  readonly requestsPerSecond: number;
  /** Peer ÷ direct throughput over all rounds. */
  readonly ratio: number;
  /** Median of per-round (peer p50 − direct p50), ms. */
  readonly extraP50Ms: number;
  /** CPU µs per request of the peer process, and of the worker behind it. */
  readonly cpuMicrosPerRequest: { readonly peer: number; readonly worker: number };
}

export type B8Protocol = 'rest-binary' | 'grpc';

/** CPU time per completed request in each process, µs, over the measured windows of one side. */
export interface B8CpuPerRequest {
  readonly loadGenerator: number;
  readonly worker: number;
  readonly gateway: number;
}

export interface B8Row {
  readonly protocol: B8Protocol;
  /** The median round of each side, for latencies. */
  readonly gateway: LevelSummary;
  readonly direct: LevelSummary;
  /** Requests per second over all rounds. */
  readonly gatewayRequestsPerSecond: number;
  readonly directRequestsPerSecond: number;
  /** Gateway ÷ direct throughput (target ≥ 0.8). */
  readonly ratio: number;
  /** Median of per-round (gateway p50 − direct p50), ms (target < 1). */
  readonly extraP50Ms: number;
  readonly roundRatios: readonly number[];
  /** CPU per request of each process, through the gateway and straight to the worker. */
  readonly cpuMicrosPerRequest: { readonly gateway: B8CpuPerRequest; readonly direct: B8CpuPerRequest };
  /** nginx and HAProxy in front of the same worker, same rounds (absent in older results). */
  readonly peers?: readonly B8PeerRow[];
}

export interface B8Result {
  readonly model: string;
  readonly config: string;
  readonly concurrency: number;
  readonly rounds: number;
  readonly workers: 1;
  readonly rows: readonly B8Row[];
  /** Peers that could not run, with why (e.g. not installed). */
  readonly peersSkipped?: Readonly<Partial<Record<PeerName, string>>>;
}

export const B8_CONCURRENCY = 16;
export const B8_MIN_RATIO = 0.8;
export const B8_MAX_EXTRA_P50_MS = 1;
const ROUNDS = 2;
const MODEL = 'tiny';
/** Ports the cluster takes relative to its base: gateway +0..+2, controller metrics +3, worker 1 +10..+12. */
const PORT_OFFSETS = [0, 1, 2, 3, 10, 11, 12];

export async function runB8(ctx: SuiteContext, models: ModelFiles): Promise<B8Result> {
  const repository = await writeRepository(ctx, 'b8', { [MODEL]: { file: models.tiny, config: BATCHING } });
  const basePort = await freeBasePort();
  ctx.log(`B8: starting a local cluster (ZooKeeper, controller, 1 worker, gateway) on ports ${basePort}+`);
  const cluster = await startLocalCluster({
    workers: 1,
    modelRepository: repository,
    basePort,
    logLevel: 'warn',
    logDir: join(ctx.reposDir, 'b8-logs'),
    onUnexpectedExit: (name, how, logFile) => ctx.log(`B8: ${name} exited (${how}); log ${logFile}`),
  });
  const peers: Peer[] = [];
  try {
    await waitForModel(cluster, 60_000);
    const worker = cluster.workers[0]!;
    const peersSkipped = ensurePeerBinaries((message) => ctx.log(message));
    for (const name of ['nginx', 'haproxy'] as const) {
      if (peersSkipped[name]) continue;
      try {
        peers.push(await startPeer(name, worker));
      } catch (error) {
        peersSkipped[name] = error instanceof Error ? error.message : String(error);
      }
    }
    for (const [name, why] of Object.entries(peersSkipped)) ctx.log(`B8: peer ${name} skipped: ${why}`);
    const rows: B8Row[] = [];
    for (const protocol of ['rest-binary', 'grpc'] as const) {
      rows.push(await compare(ctx, protocol, cluster.gateway, worker, peers));
    }
    return { model: 'tiny (add/sub, 2 × FP32[1,4])', config: BATCHING.trim(), concurrency: B8_CONCURRENCY, rounds: ROUNDS, workers: 1, rows, peersSkipped };
  } finally {
    for (const peer of peers) await peer.stop().catch(() => undefined);
    await cluster.stop();
  }
}

async function compare(ctx: SuiteContext, protocol: B8Protocol, gatewayAddress: ServiceAddresses, workerAddress: ServiceAddresses, peers: readonly Peer[]): Promise<B8Row> {
  const open = (address: { http: string; grpc: string }): BenchTransport =>
    protocol === 'grpc' ? new GrpcTransport(address.grpc) : new RestTransport({ url: `http://${address.http}`, binary: true, connections: B8_CONCURRENCY });
  const direct = open(workerAddress);
  const gateway = open(gatewayAddress);
  const peerTransports = peers.map((peer) => ({ peer, transport: open(peer) }));
  try {
    // Inputs from the worker's metadata, so both sides send the very same request.
    const info = await direct.metadata(MODEL);
    const inputs = await buildInputs(info, { inputs: [], shapes: new Map(), batchSize: 1 });
    const target = { model: MODEL, inputs };
    const sends = { gateway: gateway.prepare(target), direct: direct.prepare(target) };
    const mode = { kind: 'concurrency', concurrency: B8_CONCURRENCY } as const;
    const cpu = { gateway: new CpuMeter(gatewayAddress.metrics, workerAddress.metrics), direct: new CpuMeter(gatewayAddress.metrics, workerAddress.metrics) };
    const measure = async (send: () => Promise<void>, meter: CpuMeter): Promise<BenchLevelResult> => {
      const level = await measureLevel({ mode, send, rowsPerRequest: 1, warmupSecs: ctx.secs(1), measureSecs: ctx.secs(3), onWindow: (edge) => meter.edge(edge) });
      meter.completed(level.completed);
      return level;
    };
    // Both ends are fresh processes (cold JIT, new connections): one unmeasured window each first.
    ctx.log(`B8: warming up ${protocol} through the gateway and straight to the worker`);
    const peerSides = peerTransports.map(({ peer, transport }) => ({
      peer,
      send: transport.prepare(target),
      meter: new CpuMeter(gatewayAddress.metrics, workerAddress.metrics),
      window: new CpuWindow([peer.pid]),
      peerCpuSeconds: 0,
      levels: [] as BenchLevelResult[],
    }));
    for (const send of [sends.gateway, sends.direct, ...peerSides.map((p) => p.send)]) await measureLevel({ mode, send, rowsPerRequest: 1, warmupSecs: 0, measureSecs: ctx.secs(2) });
    const viaGateway: BenchLevelResult[] = [];
    const straight: BenchLevelResult[] = [];
    for (let round = 1; round <= ROUNDS; round++) {
      const names = ['the gateway', 'straight to the worker', ...peerSides.map((p) => p.peer.name)].join(', then ');
      ctx.log(`B8 round ${round}/${ROUNDS}: tiny model over ${protocol} through ${names}, concurrency ${B8_CONCURRENCY}`);
      viaGateway.push(await measure(sends.gateway, cpu.gateway));
      straight.push(await measure(sends.direct, cpu.direct));
      for (const side of peerSides) {
        const level = await measureLevel({
          mode,
          send: side.send,
          rowsPerRequest: 1,
          warmupSecs: ctx.secs(1),
          measureSecs: ctx.secs(3),
          onWindow: async (edge) => {
            await Promise.all([side.meter.edge(edge), side.window.onWindow(edge)]);
          },
        });
        side.meter.completed(level.completed);
        side.peerCpuSeconds += side.window.seconds;
        side.levels.push(level);
      }
    }
    const mean = (levels: readonly BenchLevelResult[]): number => levels.reduce((n, l) => n + l.requestsPerSecond, 0) / levels.length;
    const roundRatios = viaGateway.map((g, i) => g.requestsPerSecond / straight[i]!.requestsPerSecond);
    const extras = viaGateway.map((g, i) => g.latency.p50Ms - straight[i]!.latency.p50Ms);
    const medianIndex = [...roundRatios.keys()].sort((a, b) => roundRatios[a]! - roundRatios[b]!)[Math.floor((ROUNDS - 1) / 2)]!;
    return {
      protocol,
      gateway: levelSummary(viaGateway[medianIndex]!),
      direct: levelSummary(straight[medianIndex]!),
      gatewayRequestsPerSecond: mean(viaGateway),
      directRequestsPerSecond: mean(straight),
      ratio: mean(viaGateway) / mean(straight),
      extraP50Ms: median(extras),
      roundRatios,
      cpuMicrosPerRequest: { gateway: cpu.gateway.perRequest(), direct: cpu.direct.perRequest() },
      peers: peerSides.map((side): B8PeerRow => {
        const ratios = side.levels.map((l, i) => l.requestsPerSecond / straight[i]!.requestsPerSecond);
        const middle = [...ratios.keys()].sort((a, b) => ratios[a]! - ratios[b]!)[Math.floor((ROUNDS - 1) / 2)]!;
        const completed = side.levels.reduce((n, l) => n + l.completed, 0);
        return {
          peer: side.peer.name,
          level: levelSummary(side.levels[middle]!),
          requestsPerSecond: mean(side.levels),
          ratio: mean(side.levels) / mean(straight),
          extraP50Ms: median(side.levels.map((l, i) => l.latency.p50Ms - straight[i]!.latency.p50Ms)),
          cpuMicrosPerRequest: { peer: completed === 0 ? Number.NaN : Math.round((side.peerCpuSeconds * 1e6) / completed), worker: side.meter.perRequest().worker },
        };
      }),
    };
  } finally {
    await gateway.close();
    await direct.close();
    for (const { transport } of peerTransports) await transport.close();
  }
}

/**
 * CPU seconds of the gateway, the worker and this process at the edges of measured windows, summed
 * over the windows; divided by the requests completed in them. A scrape costs each process about a
 * millisecond, against seconds of load.
 */
class CpuMeter {
  private readonly totals = { loadGenerator: 0, worker: 0, gateway: 0 };
  private requests = 0;
  private start: { loadGenerator: number; worker: number; gateway: number } | undefined;

  constructor(
    private readonly gatewayMetrics: string,
    private readonly workerMetrics: string,
  ) {}

  async edge(edge: 'start' | 'end'): Promise<void> {
    const [gateway, worker] = await Promise.all([processCpuSeconds(this.gatewayMetrics), processCpuSeconds(this.workerMetrics)]);
    const usage = process.cpuUsage();
    const now = { loadGenerator: (usage.user + usage.system) / 1e6, worker, gateway };
    if (edge === 'start') {
      this.start = now;
      return;
    }
    const start = this.start;
    if (!start) return;
    this.totals.loadGenerator += now.loadGenerator - start.loadGenerator;
    this.totals.worker += now.worker - start.worker;
    this.totals.gateway += now.gateway - start.gateway;
  }

  completed(requests: number): void {
    this.requests += requests;
  }

  perRequest(): B8CpuPerRequest {
    const us = (seconds: number): number => (this.requests === 0 ? 0 : Math.round((seconds * 1e6) / this.requests));
    return { loadGenerator: us(this.totals.loadGenerator), worker: us(this.totals.worker), gateway: us(this.totals.gateway) };
  }
}

/** `process_cpu_seconds_total` (user + system, all threads) from a Cranberries metrics endpoint; NaN if unreadable. */
async function processCpuSeconds(address: string): Promise<number> {
  try {
    const text = await (await fetch(`http://${address}/metrics`, { signal: AbortSignal.timeout(2000) })).text();
    const line = /^process_cpu_seconds_total (\S+)$/m.exec(text);
    return line ? Number(line[1]) : Number.NaN;
  } catch {
    return Number.NaN;
  }
}

function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

/** The gateway is ready once every deployed model has a READY replica: wait for the tiny model itself to be routable. */
async function waitForModel(cluster: LocalCluster, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  if (!(await cluster.waitUntilReady(timeoutMs))) throw new Error(`the B8 gateway is not ready after ${timeoutMs / 1000} s; logs in ${cluster.logDir}`);
  const url = `http://${cluster.gateway.http}/v2/models/${MODEL}/ready`;
  while (Date.now() < deadline) {
    const status = await fetch(url, { signal: AbortSignal.timeout(1000) }).then(
      (r) => r.status,
      () => 0,
    );
    if (status === 200) return;
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error(`model '${MODEL}' is not ready through the B8 gateway after ${timeoutMs / 1000} s; logs in ${cluster.logDir}`);
}

/** A base port whose whole range the cluster needs is free on 127.0.0.1 (bind check, bounded tries). */
async function freeBasePort(): Promise<number> {
  for (let attempt = 0; attempt < 50; attempt++) {
    const base = 20_000 + 20 * Math.floor(Math.random() * 1500);
    let free = true;
    for (const offset of PORT_OFFSETS) {
      if (!(await canBind(base + offset))) {
        free = false;
        break;
      }
    }
    if (free) return base;
  }
  throw new Error('B8: found no free range of ports for the local cluster');
}

function canBind(port: number): Promise<boolean> {
  return new Promise((resolvePort) => {
    const server = createServer();
    server.once('error', () => resolvePort(false));
    server.listen(port, '127.0.0.1', () => server.close(() => resolvePort(true)));
  });
}
