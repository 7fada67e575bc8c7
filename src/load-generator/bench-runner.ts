/**
 * One benchmark: a model, a protocol, and one or more load levels (a concurrency sweep, or a fixed
 * request rate), each run as warm-up + measurement window. For every level it reports client-side
 * throughput and latency percentiles, and the server's own view of the same window (queue vs
 * compute time, average batch size) from the statistics API.
 */
import { buildInputs, type InputOptions } from './bench-inputs.js';
import type { LatencySummary } from './latency-histogram.js';
import { generateLoad, type LoadMode } from './load-generator.js';
import { serverWindow, type ServerWindow, type StatisticsSnapshot } from './server-statistics.js';
import type { BenchProtocol, BenchTransport } from './transport.js';

export interface BenchOptions {
  readonly transport: BenchTransport;
  readonly model: string;
  readonly version?: string | undefined;
  readonly modes: readonly LoadMode[];
  readonly warmupSecs: number;
  readonly measureSecs: number;
  readonly inputs: InputOptions;
  readonly outputs?: readonly string[] | undefined;
  /** Progress of the level being run: its label and the fraction done. */
  readonly onProgress?: ((label: string, fraction: number) => void) | undefined;
}

export interface BenchLevelResult {
  readonly mode: LoadMode;
  readonly requestsPerSecond: number;
  /** Requests per second × rows per request. */
  readonly inferencesPerSecond: number;
  readonly latency: LatencySummary;
  readonly completed: number;
  readonly failed: number;
  readonly skipped: number;
  readonly errors: Readonly<Record<string, number>>;
  /** Undefined when the server's statistics could not be read. */
  readonly server: ServerWindow | undefined;
}

export interface BenchReport {
  readonly model: string;
  readonly version: string | undefined;
  readonly protocol: BenchProtocol;
  /** Rows in each request (1 for models that do not batch). */
  readonly rowsPerRequest: number;
  /** Tensor bytes each request carries. */
  readonly requestBytes: number;
  readonly warmupSecs: number;
  readonly measureSecs: number;
  readonly levels: readonly BenchLevelResult[];
}

export async function runBench(options: BenchOptions): Promise<BenchReport> {
  const { transport, model, version } = options;
  const info = await transport.metadata(model, version);
  const inputs = await buildInputs(info, options.inputs);
  const target = { model, version, inputs, outputs: options.outputs };
  const send = transport.prepare(target);
  const rowsPerRequest = info.maxBatchSize > 0 ? (inputs[0]?.shape[0] ?? 1) : 1;
  const levels: BenchLevelResult[] = [];
  for (const mode of options.modes) {
    levels.push(
      await measureLevel({
        mode,
        send,
        rowsPerRequest,
        warmupSecs: options.warmupSecs,
        measureSecs: options.measureSecs,
        statistics: () => transport.statistics(model, version),
        onProgress: options.onProgress ? (f) => options.onProgress?.(modeLabel(mode), f) : undefined,
      }),
    );
  }
  return {
    model,
    version,
    protocol: transport.protocol,
    rowsPerRequest,
    requestBytes: transport.payloadBytes(target),
    warmupSecs: options.warmupSecs,
    measureSecs: options.measureSecs,
    levels,
  };
}

export interface LevelOptions {
  readonly mode: LoadMode;
  readonly send: () => Promise<void>;
  readonly rowsPerRequest: number;
  readonly warmupSecs: number;
  readonly measureSecs: number;
  /** Reads the server's statistics at the window's edges; omit for servers without them. */
  readonly statistics?: (() => Promise<StatisticsSnapshot>) | undefined;
  /** Also called at the window's edges, e.g. to sample something else over the same window. */
  readonly onWindow?: ((edge: 'start' | 'end') => Promise<void>) | undefined;
  readonly onProgress?: ((fraction: number) => void) | undefined;
}

/** One load level: warm-up, window, and the server statistics of the window. */
export async function measureLevel(options: LevelOptions): Promise<BenchLevelResult> {
  let before: StatisticsSnapshot | undefined;
  let after: StatisticsSnapshot | undefined;
  const read = options.statistics;
  const result = await generateLoad({
    mode: options.mode,
    send: options.send,
    warmupMs: options.warmupSecs * 1000,
    measureMs: options.measureSecs * 1000,
    onWindow: async (edge) => {
      const [snapshot] = await Promise.all([read?.().catch(() => undefined), options.onWindow?.(edge)]);
      if (edge === 'start') before = snapshot;
      else after = snapshot;
    },
    onProgress: options.onProgress,
  });
  return {
    mode: options.mode,
    requestsPerSecond: result.throughput,
    inferencesPerSecond: result.throughput * options.rowsPerRequest,
    latency: result.latency.summary(),
    completed: result.completed,
    failed: result.failed,
    skipped: result.skipped,
    errors: Object.fromEntries(result.errors),
    server: before && after ? serverWindow(before, after) : undefined,
  };
}

export function modeLabel(mode: LoadMode): string {
  return mode.kind === 'concurrency' ? `concurrency ${mode.concurrency}` : `${mode.perSecond} req/s`;
}
