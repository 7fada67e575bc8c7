/**
 * B1 — serving overhead. The tiny model over OIP REST (JSON) against a bare `node:http` server that
 * answers the very bytes the real server answered, with the same load generator, connections and
 * concurrency. Both servers run side by side (each in its own process) and are measured in
 * alternating rounds, so whatever else the machine is doing weighs on both alike.
 * Ratio = served throughput / bare throughput over all rounds (reported). The target is the CPU
 * each request costs the server process (all its threads) against the bare server's, measured in
 * the same windows: served ≤ 2× bare.
 *
 * The same server is also driven, in the same rounds, over REST binary and over gRPC (the load
 * generator's raw HTTP/2 client): the target is that a tiny gRPC request costs the server no more
 * CPU than a REST binary one (grpc ÷ rest-binary ≤ 1).
 */
import { join } from 'node:path';
import { encodeRestRequest } from '../../src/load-generator/rest-transport.js';
import { measureLevel } from '../../src/load-generator/bench-runner.js';
import { startBareReplay } from './bare-server.js';
import { grpcTarget, restTarget, type SuiteContext } from './context.js';
import { BATCHING, type ModelFiles, writeRepository } from './models.js';
import { ServerProcess } from './server-process.js';
import { levelSummary, type CpuMeasuredLevel, type LevelSummary } from './level-summary.js';
import { CpuWindow } from './process-cpu.js';

export interface B1Result {
  readonly model: string;
  readonly protocol: 'rest-json';
  readonly concurrency: number;
  readonly config: string;
  readonly rounds: number;
  /** The round with the median ratio, for latencies. */
  readonly served: LevelSummary;
  readonly bare: LevelSummary;
  /** Requests per second over all rounds. */
  readonly servedRequestsPerSecond: number;
  readonly bareRequestsPerSecond: number;
  readonly roundRatios: readonly number[];
  readonly ratio: number;
  /** Server CPU µs per request over all rounds (CPU seconds ÷ requests of every window). */
  readonly servedCpuUsPerRequest: number;
  readonly bareCpuUsPerRequest: number;
  /** served ÷ bare CPU per request; target ≤ B1_MAX_CPU_RATIO. */
  readonly cpuRatio: number;
  /** The same server over REST binary and over gRPC, same rounds: requests/s and server CPU µs per request. */
  readonly protocols: readonly ProtocolCost[];
  /** gRPC ÷ REST binary server CPU per request; target ≤ B1_MAX_GRPC_RATIO. */
  readonly grpcCpuRatio: number;
}

export interface ProtocolCost {
  readonly protocol: 'rest-binary' | 'grpc';
  readonly requestsPerSecond: number;
  readonly cpuUsPerRequest: number;
  readonly level: LevelSummary;
}

export const B1_MAX_GRPC_RATIO = 1;

export const B1_MAX_CPU_RATIO = 2;

export const B1_CONCURRENCY = 16;
const ROUNDS = 3;

export async function runB1(ctx: SuiteContext, models: ModelFiles): Promise<B1Result> {
  const repository = await writeRepository(ctx, 'b1', { tiny: { file: models.tiny, config: BATCHING } });
  const server = await ServerProcess.start({ repository });
  const stops: (() => Promise<void>)[] = [() => server.stop()];
  try {
    const target = await restTarget(server.httpUrl, 'tiny', { binary: false, connections: B1_CONCURRENCY, serverPid: server.pid });
    stops.push(() => target.close());
    // The answer the real server gives, recorded once for the bare server to replay.
    const request = encodeRestRequest({ model: 'tiny', inputs: target.inputs }, false);
    const bareServer = await startBareReplay(server.httpUrl, request, join(ctx.reposDir, 'b1', 'answer.json'), B1_CONCURRENCY);
    stops.push(() => bareServer.stop());
    const bareSend = bareServer.send;
    const restBinary = await restTarget(server.httpUrl, 'tiny', { binary: true, connections: B1_CONCURRENCY, serverPid: server.pid });
    stops.push(() => restBinary.close());
    const grpc = await grpcTarget(server.grpcAddress, 'tiny', { serverPid: server.pid });
    stops.push(() => grpc.close());
    const byProtocol = { 'rest-binary': [] as CpuMeasuredLevel[], grpc: [] as CpuMeasuredLevel[] };

    const served: CpuMeasuredLevel[] = [];
    const bare: CpuMeasuredLevel[] = [];
    const mode = { kind: 'concurrency', concurrency: B1_CONCURRENCY } as const;
    for (let round = 1; round <= ROUNDS; round++) {
      ctx.log(`B1 round ${round}/${ROUNDS}: tiny model over OIP REST JSON, then the bare node:http server, concurrency ${B1_CONCURRENCY}`);
      served.push(await target.run(B1_CONCURRENCY, ctx.secs(1), ctx.secs(3)));
      const bareCpu = new CpuWindow([bareServer.pid]);
      const bareLevel = await measureLevel({ mode, send: bareSend, rowsPerRequest: 1, warmupSecs: ctx.secs(1), measureSecs: ctx.secs(3), onWindow: bareCpu.onWindow });
      bare.push({ ...bareLevel, serverCpuSeconds: bareCpu.seconds });
      ctx.log(`B1 round ${round}/${ROUNDS}: the same server over REST binary, then gRPC`);
      byProtocol['rest-binary'].push(await restBinary.run(B1_CONCURRENCY, ctx.secs(1), ctx.secs(3)));
      byProtocol.grpc.push(await grpc.run(B1_CONCURRENCY, ctx.secs(1), ctx.secs(3)));
    }
    const total = (levels: readonly CpuMeasuredLevel[]): number => levels.reduce((n, l) => n + l.requestsPerSecond, 0) / levels.length;
    const roundRatios = served.map((s, i) => s.requestsPerSecond / bare[i]!.requestsPerSecond);
    const cpuPerRequest = (levels: readonly CpuMeasuredLevel[]): number => (levels.reduce((n, l) => n + (l.serverCpuSeconds ?? Number.NaN), 0) * 1e6) / levels.reduce((n, l) => n + l.completed, 0);
    const protocols = (['rest-binary', 'grpc'] as const).map((protocol): ProtocolCost => ({
      protocol,
      requestsPerSecond: total(byProtocol[protocol]),
      cpuUsPerRequest: cpuPerRequest(byProtocol[protocol]),
      level: levelSummary(byProtocol[protocol][Math.floor(ROUNDS / 2)]!),
    }));
    const median = [...roundRatios.keys()].sort((a, b) => roundRatios[a]! - roundRatios[b]!)[Math.floor(ROUNDS / 2)]!;
    return {
      model: 'tiny (add/sub, 2 × FP32[1,4])',
      protocol: 'rest-json',
      concurrency: B1_CONCURRENCY,
      config: BATCHING.trim(),
      rounds: ROUNDS,
      served: levelSummary(served[median]!),
      bare: levelSummary(bare[median]!),
      servedRequestsPerSecond: total(served),
      bareRequestsPerSecond: total(bare),
      roundRatios,
      ratio: total(served) / total(bare),
      servedCpuUsPerRequest: cpuPerRequest(served),
      bareCpuUsPerRequest: cpuPerRequest(bare),
      cpuRatio: cpuPerRequest(served) / cpuPerRequest(bare),
      protocols,
      grpcCpuRatio: cpuPerRequest(byProtocol.grpc) / cpuPerRequest(byProtocol['rest-binary']),
    };
  } finally {
    for (const stop of stops.reverse()) await stop().catch(() => undefined);
  }
}
