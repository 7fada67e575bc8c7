/**
 * One load level of a benchmark, reduced to what the report shows. Apart from `results.ts` (which
 * imports every benchmark's result type) so the benchmarks can use it without an import cycle.
 */
import type { BenchLevelResult } from '../../src/load-generator/bench-runner.js';

/** One load level, reduced to what the report shows. */
export interface LevelSummary {
  readonly requestsPerSecond: number;
  readonly inferencesPerSecond: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
  readonly failed: number;
  readonly avgBatch: number | undefined;
  readonly queueUs: number | undefined;
  readonly computeUs: number | undefined;
  /** Server CPU (all its threads) per completed request / inference in the window, when measured. */
  readonly serverCpuUsPerRequest?: number | undefined;
  readonly serverCpuUsPerInference?: number | undefined;
}

/** A level measured together with the CPU seconds the server spent in its window. */
export type CpuMeasuredLevel = BenchLevelResult & { readonly serverCpuSeconds?: number | undefined };

export function levelSummary(level: CpuMeasuredLevel): LevelSummary {
  const cpuUs = level.serverCpuSeconds !== undefined && level.completed > 0 ? (level.serverCpuSeconds * 1e6) / level.completed : undefined;
  const rowsPerRequest = level.requestsPerSecond > 0 ? level.inferencesPerSecond / level.requestsPerSecond : 1;
  return {
    serverCpuUsPerRequest: cpuUs,
    serverCpuUsPerInference: cpuUs === undefined ? undefined : cpuUs / rowsPerRequest,
    requestsPerSecond: level.requestsPerSecond,
    inferencesPerSecond: level.inferencesPerSecond,
    p50Ms: level.latency.p50Ms,
    p99Ms: level.latency.p99Ms,
    failed: level.failed,
    avgBatch: level.server?.avgBatch,
    queueUs: level.server?.queueUs,
    computeUs: level.server?.computeUs,
  };
}
