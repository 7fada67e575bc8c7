/**
 * What every benchmark of the suite shares: where models and repositories live, how long to
 * measure (full or `--quick`), logging, and the helpers to drive a model over OIP REST.
 */
import { availableParallelism, cpus, loadavg, totalmem } from 'node:os';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { buildInputs } from '../../src/load-generator/bench-inputs.js';
import { measureLevel } from '../../src/load-generator/bench-runner.js';
import { RestTransport } from '../../src/load-generator/rest-transport.js';
import { GrpcTransport } from '../../src/load-generator/grpc-transport.js';
import type { BenchTransport } from '../../src/load-generator/transport.js';
import type { Tensor } from '../../src/tensors/tensor.js';
import type { CpuMeasuredLevel } from './level-summary.js';
import { CpuWindow } from './process-cpu.js';
import { ROOT } from './server-process.js';

export interface SuiteContext {
  readonly quick: boolean;
  /** `bench/models`: generated model files. */
  readonly modelsDir: string;
  /** `bench/models/repos`: model repositories written for this run. */
  readonly reposDir: string;
  log(message: string): void;
  /** A duration in seconds, shortened in quick mode. */
  secs(full: number): number;
}

export function createContext(quick: boolean): SuiteContext {
  const modelsDir = join(ROOT, 'bench/models');
  const started = Date.now();
  return {
    quick,
    modelsDir,
    reposDir: join(modelsDir, 'repos'),
    log: (message) => process.stdout.write(`[${((Date.now() - started) / 1000).toFixed(0).padStart(4)} s] ${message}\n`),
    secs: (full) => (quick ? Math.max(0.5, full / 4) : full),
  };
}

export interface MachineInfo {
  readonly cpuModel: string;
  readonly cores: number;
  readonly memoryGiB: number;
  readonly node: string;
  readonly onnxruntime: string;
  readonly platform: string;
  /** 1-minute load average when the suite started and ended: other work on the machine skews results. */
  readonly loadAverageStart: number;
  loadAverageEnd?: number;
}

export function machineInfo(): MachineInfo {
  const ortPackage = JSON.parse(readFileSync(join(ROOT, 'node_modules/onnxruntime-node/package.json'), 'utf8')) as { version: string };
  return {
    cpuModel: cpus()[0]?.model.trim() ?? 'unknown',
    cores: availableParallelism(),
    memoryGiB: Math.round(totalmem() / 2 ** 30),
    node: process.version,
    onnxruntime: ortPackage.version,
    platform: `${process.platform} ${process.arch}`,
    loadAverageStart: Number(loadavg()[0]!.toFixed(2)),
  };
}

/** A model driven over one protocol: its metadata read once, its request encoded once. */
export interface ModelTarget<T extends BenchTransport = BenchTransport> {
  readonly transport: T;
  readonly inputs: readonly Tensor[];
  readonly send: () => Promise<void>;
  /** One level; with `serverPid` given at creation, also the server's CPU seconds in the window. */
  run(concurrency: number, warmupSecs: number, measureSecs: number): Promise<CpuMeasuredLevel>;
  close(): Promise<void>;
}

export type RestTarget = ModelTarget<RestTransport>;

export function restTarget(url: string, model: string, options: { binary: boolean; connections: number; batchSize?: number; serverPid?: number }): Promise<RestTarget> {
  return modelTarget(new RestTransport({ url, binary: options.binary, connections: options.connections }), model, options);
}

/** `model` over gRPC (the load generator's raw HTTP/2 client) at `address` (`host:port`). */
export function grpcTarget(address: string, model: string, options: { batchSize?: number; serverPid?: number }): Promise<ModelTarget<GrpcTransport>> {
  return modelTarget(new GrpcTransport(address), model, options);
}

async function modelTarget<T extends BenchTransport>(transport: T, model: string, options: { batchSize?: number; serverPid?: number }): Promise<ModelTarget<T>> {
  const info = await transport.metadata(model);
  const inputs = await buildInputs(info, { inputs: [], shapes: new Map(), batchSize: options.batchSize ?? 1 });
  const send = transport.prepare({ model, inputs });
  const rows = info.maxBatchSize > 0 ? (inputs[0]?.shape[0] ?? 1) : 1;
  return {
    transport,
    inputs,
    send,
    run: async (concurrency, warmupSecs, measureSecs) => {
      const cpu = options.serverPid === undefined ? undefined : new CpuWindow([options.serverPid]);
      const level = await measureLevel({
        mode: { kind: 'concurrency', concurrency },
        send,
        rowsPerRequest: rows,
        warmupSecs,
        measureSecs,
        statistics: () => transport.statistics(model),
        onWindow: cpu?.onWindow,
      });
      return cpu ? { ...level, serverCpuSeconds: cpu.seconds } : level;
    },
    close: () => transport.close(),
  };
}
