/**
 * `cranberries bench`: a load generator for any Open Inference Protocol server, like Triton's
 * perf_analyzer. Fixed concurrency, a concurrency sweep or a fixed request rate over REST (JSON or
 * binary tensors) or gRPC; prints throughput, latency percentiles and the server's own queue /
 * compute split and average batch size for each level (or JSON with `--json`).
 */
import { Command, InvalidArgumentError, Option } from 'commander';
import { parseInputFlag, parseShapeFlag, type InputFlag } from '../bench/bench-inputs.js';
import { formatReport } from '../bench/bench-report.js';
import { runBench } from '../bench/bench-runner.js';
import { GrpcTransport } from '../bench/grpc-transport.js';
import { parseConcurrency } from '../bench/load-levels.js';
import type { LoadMode } from '../bench/load-generator.js';
import { ProgressBar } from '../bench/progress-bar.js';
import { RestTransport } from '../bench/rest-transport.js';
import { BENCH_PROTOCOLS, type BenchProtocol, type BenchTransport } from '../bench/transport.js';
import { collect, positiveNumber } from './options.js';
import { addClientTlsFlags, clientTlsOptions, type ClientTlsFlags } from './tls-flags.js';

interface BenchFlags extends ClientTlsFlags {
  url?: string;
  model: string;
  modelVersion?: string;
  protocol: BenchProtocol;
  concurrency?: string;
  requestRate?: number;
  maxOutstanding: number;
  warmupSecs: number;
  measureSecs: number;
  input: string[];
  shape: string[];
  output: string[];
  batchSize: number;
  json?: boolean;
}

const wrap =
  <T>(parse: (value: string) => T) =>
  (value: string): T => {
    try {
      return parse(value);
    } catch (error) {
      throw new InvalidArgumentError(error instanceof Error ? error.message : String(error));
    }
  };

function positiveInteger(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError(`"${value}" is not a positive integer`);
  return n;
}

function nonNegative(value: string): number {
  const n = Number(value);
  if (!Number.isFinite(n) || n < 0) throw new InvalidArgumentError(`"${value}" is not a number ≥ 0`);
  return n;
}

export function benchCommand(): Command {
  const command = new Command('bench')
    .description('Measure a served model: throughput, latency percentiles, server queue vs compute time and batch size.')
    .option('-u, --url <url>', 'server address (default http://127.0.0.1:8000 for REST, 127.0.0.1:8001 for gRPC)')
    .requiredOption('-m, --model <name>', 'model to measure')
    .option('--model-version <version>', 'model version (default: the server picks)')
    .addOption(new Option('-i, --protocol <protocol>', 'rest-json, rest-binary (binary tensor extension) or grpc').choices(BENCH_PROTOCOLS).default('rest-binary'))
    .option('--concurrency <levels>', 'concurrent requests: N, a list 1,4,16, or a sweep start:end:xF / start:end:+S (default 1)')
    .option('--request-rate <per-second>', 'send at a fixed rate instead of a fixed concurrency (open loop)', positiveNumber)
    .option('--max-outstanding <n>', 'with --request-rate: requests in flight at most; later ones are skipped and counted', positiveInteger, 1024)
    .option('--warmup-secs <seconds>', 'warm-up before each measurement window', nonNegative, 2)
    .option('--measure-secs <seconds>', 'measurement window per load level', positiveNumber, 5)
    .option('--input <name=source>', 'input data: name=@file.npy, name=@file.json or name=random (repeatable; default random)', collect, [])
    .option('--shape <name=dims>', 'item dims of an input with variable dims, without the batch dim, e.g. x=3,224,224 (repeatable)', collect, [])
    .option('--output <name>', 'output to request (repeatable; default all)', collect, [])
    .option('-b, --batch-size <n>', 'rows per request for batching models', positiveInteger, 1)
    .option('--json', 'print the results as JSON');
  return addClientTlsFlags(command).action(async (flags: BenchFlags) => {
      if (flags.requestRate !== undefined && flags.concurrency !== undefined) throw new InvalidArgumentError('give --concurrency or --request-rate, not both');
      const modes: LoadMode[] =
        flags.requestRate !== undefined
          ? [{ kind: 'rate', perSecond: flags.requestRate, maxOutstanding: flags.maxOutstanding }]
          : wrap(parseConcurrency)(flags.concurrency ?? '1').map((concurrency) => ({ kind: 'concurrency', concurrency }));
      const inputs: InputFlag[] = flags.input.map(wrap(parseInputFlag));
      const shapes = new Map(flags.shape.map(wrap(parseShapeFlag)));
      const connections = Math.max(...modes.map((m) => (m.kind === 'concurrency' ? m.concurrency : m.maxOutstanding)));
      const tls = clientTlsOptions(flags);
      const transport: BenchTransport =
        flags.protocol === 'grpc'
          ? new GrpcTransport(flags.url ?? '127.0.0.1:8001', tls)
          : new RestTransport({ url: flags.url ?? 'http://127.0.0.1:8000', binary: flags.protocol === 'rest-binary', connections, tls });
      const progress = !flags.json && process.stdout.isTTY ? new ProgressBar(process.stdout) : undefined;
      try {
        const report = await runBench({
          transport,
          model: flags.model,
          version: flags.modelVersion,
          modes,
          warmupSecs: flags.warmupSecs,
          measureSecs: flags.measureSecs,
          inputs: { inputs, shapes, batchSize: flags.batchSize },
          outputs: flags.output.length > 0 ? flags.output : undefined,
          onProgress: progress ? (label, fraction) => progress.update(label, fraction) : undefined,
        });
        progress?.clear();
        process.stdout.write(flags.json ? `${JSON.stringify(report, null, 2)}\n` : `${formatReport(report)}\n`);
        if (report.levels.every((l) => l.completed === 0)) process.exitCode = 1;
      } finally {
        progress?.clear();
        await transport.close();
      }
    });
}
