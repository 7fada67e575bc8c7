/**
 * `cranberries bench`: a load generator for any Open Inference Protocol server, like Triton's
 * perf_analyzer. Fixed concurrency, a concurrency sweep or a fixed request rate over REST (JSON or
 * binary tensors) or gRPC; prints throughput, latency percentiles and the server's own queue /
 * compute split and average batch size for each level (or JSON with `--json`).
 */
import { Command, InvalidArgumentError, Option } from 'commander';
import {
  parseInputFlag,
  parseShapeFlag,
  type InputFlag,
  formatReport,
  runBench,
  GrpcTransport,
  parseConcurrency,
  ProgressBar,
  RestTransport,
  BENCH_PROTOCOLS,
  type BenchProtocol,
  type BenchTransport,
} from '../load-generator/index.js';
import type { LoadMode } from '../load-generator/index.js';
import { collect, positiveNumber } from './options.js';
import { addClientTlsFlags, clientTlsOptions, type ClientTlsFlags } from './tls-flags.js';
import { parseServerAddress, serverAddressArgument, serverUrl } from './server-url.js';

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

/** What to measure against: the protocol and the transport's address. */
export interface BenchTarget {
  readonly protocol: BenchProtocol;
  /** REST: a URL; gRPC: `host:port` or `grpcs://host:port`. */
  readonly address: string;
  /** `--input` values that are data specs (not old-style protocol names). */
  readonly inputs: readonly string[];
}

/**
 * The protocol and address from `--url`, `--protocol` and `-i`: a grpc(s):// URL picks gRPC unless
 * `--protocol` says otherwise (then it is an error); `-i grpc` / `-i rest-json` / `-i rest-binary`
 * (the protocol letter before `-i` meant `--input`, as in `infer`) still selects the protocol.
 */
export function benchTarget(url: string | undefined, protocol: BenchProtocol, protocolGiven: boolean, inputs: readonly string[]): BenchTarget {
  const isProtocol = (value: string): value is BenchProtocol => (BENCH_PROTOCOLS as readonly string[]).includes(value);
  const legacy = inputs.filter(isProtocol);
  const data = inputs.filter((value) => !isProtocol(value));
  let chosen = legacy.at(-1) ?? protocol;
  const given = protocolGiven || legacy.length > 0;
  const address = url === undefined ? undefined : parseServerAddress(url);
  const grpcScheme = address?.scheme === 'grpc' || address?.scheme === 'grpcs';
  if (grpcScheme && chosen !== 'grpc') {
    if (given) throw new InvalidArgumentError(`--url ${url ?? ''} is a gRPC address but --protocol is ${chosen}`);
    chosen = 'grpc';
  }
  if (chosen === 'grpc') {
    const secure = address?.scheme === 'grpcs' || address?.scheme === 'https';
    return { protocol: chosen, address: address ? `${secure ? 'grpcs://' : ''}${address.authority}` : '127.0.0.1:8001', inputs: data };
  }
  return { protocol: chosen, address: address ? serverUrl(address, 'http') : 'http://127.0.0.1:8000', inputs: data };
}

export function benchCommand(): Command {
  const command = new Command('bench')
    .description('Measure a served model: throughput, latency percentiles, server queue vs compute time and batch size.')
    .option('-u, --url <url>', 'server: host:port, http(s)://host:port or grpc(s)://host:port (default 127.0.0.1:8000 for REST, :8001 for gRPC)', serverAddressArgument)
    .requiredOption('-m, --model <name>', 'model to measure')
    .option('-x, --model-version <version>', 'model version (default: the server picks)')
    .addOption(new Option('--protocol <protocol>', 'rest-json, rest-binary (binary tensor extension) or grpc (a grpc:// URL implies grpc)').choices(BENCH_PROTOCOLS).default('rest-binary'))
    .option('--concurrency <levels>', 'concurrent requests: N, a list 1,4,16, or a sweep start:end:xF / start:end:+S (default 1)')
    .option('--request-rate <per-second>', 'send at a fixed rate instead of a fixed concurrency (open loop)', positiveNumber)
    .option('--max-outstanding <n>', 'with --request-rate: requests in flight at most; later ones are skipped and counted', positiveInteger, 1024)
    .option('--warmup-secs <seconds>', 'warm-up before each measurement window', nonNegative, 2)
    .option('--measure-secs <seconds>', 'measurement window per load level', positiveNumber, 5)
    .option('-i, --input <name=source>', 'input data: name=@file.npy, name=@file.json or name=random (repeatable; default random)', collect, [])
    .option('--shape <name=dims>', 'item dims of an input with variable dims, without the batch dim, e.g. x=3,224,224 (repeatable)', collect, [])
    .option('-o, --output <name>', 'output to request (repeatable; default all)', collect, [])
    .option('-b, --batch-size <n>', 'rows per request for batching models', positiveInteger, 1)
    .option('--json', 'print the results as JSON');
  return addClientTlsFlags(command).action(async (flags: BenchFlags, self: Command) => {
    const target = benchTarget(flags.url, flags.protocol, self.getOptionValueSource('protocol') !== 'default', flags.input);
    if (flags.requestRate !== undefined && flags.concurrency !== undefined) throw new InvalidArgumentError('give --concurrency or --request-rate, not both');
    const modes: LoadMode[] =
      flags.requestRate !== undefined
        ? [{ kind: 'rate', perSecond: flags.requestRate, maxOutstanding: flags.maxOutstanding }]
        : wrap(parseConcurrency)(flags.concurrency ?? '1').map((concurrency) => ({ kind: 'concurrency', concurrency }));
    const inputs: InputFlag[] = target.inputs.map(wrap(parseInputFlag));
    const shapes = new Map(flags.shape.map(wrap(parseShapeFlag)));
    const connections = Math.max(...modes.map((m) => (m.kind === 'concurrency' ? m.concurrency : m.maxOutstanding)));
    const tls = clientTlsOptions(flags);
    const transport: BenchTransport =
      target.protocol === 'grpc' ? new GrpcTransport(target.address, tls) : new RestTransport({ url: target.address, binary: target.protocol === 'rest-binary', connections, tls });
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
