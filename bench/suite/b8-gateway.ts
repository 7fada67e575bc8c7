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
}

export interface B8Result {
  readonly model: string;
  readonly config: string;
  readonly concurrency: number;
  readonly rounds: number;
  readonly workers: 1;
  readonly rows: readonly B8Row[];
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
  try {
    await waitForModel(cluster, 60_000);
    const worker = cluster.workers[0]!;
    const rows: B8Row[] = [];
    for (const protocol of ['rest-binary', 'grpc'] as const) {
      rows.push(await compare(ctx, protocol, cluster.gateway, worker));
    }
    return { model: 'tiny (add/sub, 2 × FP32[1,4])', config: BATCHING.trim(), concurrency: B8_CONCURRENCY, rounds: ROUNDS, workers: 1, rows };
  } finally {
    await cluster.stop();
  }
}

async function compare(ctx: SuiteContext, protocol: B8Protocol, gatewayAddress: ServiceAddresses, workerAddress: ServiceAddresses): Promise<B8Row> {
  const open = (address: { http: string; grpc: string }): BenchTransport =>
    protocol === 'grpc' ? new GrpcTransport(address.grpc) : new RestTransport({ url: `http://${address.http}`, binary: true, connections: B8_CONCURRENCY });
  const direct = open(workerAddress);
  const gateway = open(gatewayAddress);
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
    for (const send of [sends.gateway, sends.direct]) await measureLevel({ mode, send, rowsPerRequest: 1, warmupSecs: 0, measureSecs: ctx.secs(2) });
    const viaGateway: BenchLevelResult[] = [];
    const straight: BenchLevelResult[] = [];
    for (let round = 1; round <= ROUNDS; round++) {
      ctx.log(`B8 round ${round}/${ROUNDS}: tiny model over ${protocol} through the gateway, then straight to the worker, concurrency ${B8_CONCURRENCY}`);
      viaGateway.push(await measure(sends.gateway, cpu.gateway));
      straight.push(await measure(sends.direct, cpu.direct));
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
    };
  } finally {
    await gateway.close();
    await direct.close();
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
