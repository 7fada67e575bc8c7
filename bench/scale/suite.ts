/** The scale rows of the benchmark suite: `runScale` at each size and store, and their markdown. */
import { existsSync } from 'node:fs';
import { runScale, type ScaleResult, type StoreKind } from './simulation.js';
import { runScaleInProcesses } from './processes.js';
import type { ProcessFigures } from './process-protocol.js';

export interface ScaleSuiteOptions {
  readonly sizes: readonly { workers: number; models: number }[];
  readonly maxWorkers?: number | undefined;
  readonly stores: readonly StoreKind[];
  readonly zookeeperMaxWorkers: number;
  readonly workerSessions?: number | undefined;
  readonly loadTimeScale?: number | undefined;
  /** Writes a CPU profile of each phase to this folder. */
  readonly cpuProfileDir?: string | undefined;
  /** Only the rows with controller, gateway table watcher and simulated workers each in their own process (ZooKeeper; processes.ts). */
  readonly processes?: boolean | undefined;
  /** Largest size run in separate processes (ZooKeeper), after the one-process rows; 0: none. */
  readonly processesMaxWorkers: number;
  /** With `processes`: child processes the simulated workers are spread over (default 1). */
  readonly workerProcesses?: number | undefined;
}

export const DEFAULT_SCALE_OPTIONS: ScaleSuiteOptions = {
  sizes: [
    { workers: 10, models: 100 },
    { workers: 100, models: 1000 },
    { workers: 300, models: 3000 },
    { workers: 1000, models: 10000 },
  ],
  stores: ['memory', 'zookeeper'],
  zookeeperMaxWorkers: 300,
  processesMaxWorkers: 300,
};

export interface ScaleSuiteResults {
  readonly runs: ScaleResult[];
  readonly errors: string[];
}

const NO_ZOOKEEPER = 'ZooKeeper rows skipped: Debian zookeeper is not installed';

export async function runScaleSuite(options: ScaleSuiteOptions, log: (line: string) => void): Promise<ScaleSuiteResults> {
  const runs: ScaleResult[] = [];
  const errors: string[] = [];
  for (const size of options.sizes) {
    if (options.maxWorkers !== undefined && size.workers > options.maxWorkers) continue;
    // One process per row (each store), then, on ZooKeeper, each loop in its own process.
    const modes: { store: StoreKind; processes: boolean }[] = options.processes ? [] : options.stores.map((store) => ({ store, processes: false }));
    if (options.stores.includes('zookeeper') && size.workers <= options.processesMaxWorkers) modes.push({ store: 'zookeeper', processes: true });
    for (const { store, processes } of modes) {
      if (!processes && store === 'zookeeper' && size.workers > options.zookeeperMaxWorkers) continue;
      if (store === 'zookeeper' && !existsSync('/usr/share/java/zookeeper.jar')) {
        if (!errors.includes(NO_ZOOKEEPER)) errors.push(NO_ZOOKEEPER);
        continue;
      }
      try {
        const run = { ...size, store, workerSessions: options.workerSessions, loadTimeScale: options.loadTimeScale, cpuProfileDir: options.cpuProfileDir, log };
        runs.push(processes ? await runScaleInProcesses({ ...run, workerProcesses: options.workerProcesses }) : await runScale(run));
      } catch (error) {
        errors.push(`${store}${processes ? ' (processes)' : ''} ${size.workers}×${size.models}: ${error instanceof Error ? error.message : String(error)}`);
        log(errors.at(-1)!);
      }
    }
  }
  return { runs, errors };
}

const kib = (bytes: number): string => (bytes >= 2 ** 20 ? `${(bytes / 2 ** 20).toFixed(1)} MiB` : `${(bytes / 1024).toFixed(1)} KiB`);

export function renderScaleMarkdown(results: ScaleSuiteResults): string {
  const lines = ['### Scale: control plane (real controller, store and gateway table; simulated workers)'];
  if (results.runs.some((r) => r.workerProcesses === undefined)) {
    lines.push(
      '',
      '| store | workers × models (replicas) | cold: decisions written | cold: all READY | loss: decisions written | loss: all READY elsewhere | loss: writes (ctl / workers) | loss: bytes written | loss: watch events (ctl / gw / workers) | loss: gw reads | table rebuild mean / max | loop delay p99 / max cold | loop delay p99 / max loss | znodes | data | largest assignment / status | table heap |',
      '|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|',
    );
  }
  for (const r of results.runs) {
    if (r.workerProcesses !== undefined) continue; // the per-process table below
    const l = r.loss;
    lines.push(
      `| ${r.store}${r.store === 'zookeeper' ? ` (${r.workerSessions} worker sessions)` : ''} | ${r.workers} × ${r.models} (${r.replicas}) | ${r.cold.decisionsWrittenMs} ms | ${r.cold.allReadyMs} ms | ${l.decisionsWrittenMs} ms | ${l.allReadyMs} ms | ${l.controller.writes} / ${l.workers.writes} | ${kib(l.controller.bytesWritten + l.workers.bytesWritten)} | ${l.controller.watchEvents} / ${l.gateway.watchEvents} / ${l.workers.watchEvents} | ${l.gateway.reads} (${kib(l.gateway.bytesRead)}) | ${l.tableRebuildMeanMs} / ${l.tableRebuildMaxMs} ms | ${r.cold.loopDelay.p99Ms} / ${r.cold.loopDelay.maxMs} ms | ${l.loopDelay.p99Ms} / ${l.loopDelay.maxMs} ms | ${r.znodes} | ${kib(r.dataBytes)} | ${kib(r.largest['assignments'] ?? 0)} / ${kib(r.largest['status'] ?? 0)} | ${r.tableHeapBytes === undefined ? 'n/a' : kib(r.tableHeapBytes)} |`,
    );
  }
  const separate = results.runs.filter((r) => r.workerProcesses !== undefined);
  if (separate.length > 0) lines.push('', ...renderProcessesMarkdown(separate));
  for (const e of results.errors) lines.push('', `- ${e}`);
  return lines.join('\n');
}

const loop = (f: ProcessFigures | undefined): string => (f ? `${f.loopDelay.p99Ms} / ${f.loopDelay.maxMs} ms` : 'n/a');
const cpuGc = (f: ProcessFigures | undefined): string => (f ? `${f.cpuMs} ms / ${f.gcMaxMs} ms` : 'n/a');

/** The `--processes` rows: each loop's own delay (controller, gateway table watcher, simulated workers) per phase. */
function renderProcessesMarkdown(runs: readonly ScaleResult[]): string[] {
  const lines = [
    '#### Each loop in its own process (ZooKeeper; controller, gateway table watcher and simulated workers in separate processes)',
    '',
    '| workers × models (replicas) | cold: decisions written | cold: all READY | controller loop p99 / max cold | gateway loop p99 / max cold | workers loop p99 / max cold | controller / gateway cpu, longest GC cold | loss: decisions written | loss: all READY elsewhere | loss: writes (ctl / workers) | controller loop p99 / max loss | gateway loop p99 / max loss | controller / gateway heap peak | table rebuild mean / max (cold) |',
    '|---|---|---|---|---|---|---|---|---|---|---|---|---|---|',
  ];
  for (const r of runs) {
    const c = r.cold.processes;
    const l = r.loss.processes;
    lines.push(
      `| ${r.workers} × ${r.models} (${r.replicas}) | ${r.cold.decisionsWrittenMs} ms | ${r.cold.allReadyMs} ms | ${loop(c?.controller)} | ${loop(c?.gateway)} | ${loop(c?.workers)} | ${cpuGc(c?.controller)}; ${cpuGc(c?.gateway)} | ${r.loss.decisionsWrittenMs} ms | ${r.loss.allReadyMs} ms | ${r.loss.controller.writes} / ${r.loss.workers.writes} | ${loop(l?.controller)} | ${loop(l?.gateway)} | ${c ? kib(c.controller.heapPeakBytes) : 'n/a'} / ${c ? kib(c.gateway.heapPeakBytes) : 'n/a'} | ${r.cold.tableRebuildMeanMs} / ${r.cold.tableRebuildMaxMs} ms |`,
    );
  }
  return lines;
}

export function flag(args: readonly string[], name: string): string | undefined {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : undefined;
}

/** The flags of `bench/scale/main.ts`; inside the suite (`bench/run.ts`) each is prefixed `--scale-` (`--scale-max-workers 300`). */
export function parseScaleFlags(args: readonly string[], prefix = ''): ScaleSuiteOptions {
  const named = (name: string): string => `--${prefix}${name}`;
  const sizesText = flag(args, named('sizes'));
  const sizes =
    sizesText === undefined
      ? DEFAULT_SCALE_OPTIONS.sizes
      : sizesText.split(',').map((s) => {
          const [w, m] = s.split('x').map(Number);
          if (!Number.isInteger(w) || !Number.isInteger(m) || w! <= 0 || m! <= 0) throw new Error(`${named('sizes')}: '${s}' is not <workers>x<models>`);
          return { workers: w!, models: m! };
        });
  const number = (name: string): number | undefined => {
    const text = flag(args, named(name));
    if (text === undefined) return undefined;
    const value = Number(text);
    if (!Number.isFinite(value) || value <= 0) throw new Error(`${named(name)}: '${text}' is not a positive number`);
    return value;
  };
  const store = flag(args, named('store')) ?? 'both';
  if (!['memory', 'zookeeper', 'both'].includes(store)) throw new Error(`${named('store')}: '${store}' is not memory, zookeeper or both`);
  return {
    sizes,
    maxWorkers: number('max-workers'),
    stores: store === 'both' ? ['memory', 'zookeeper'] : [store as StoreKind],
    zookeeperMaxWorkers: number('zk-max-workers') ?? DEFAULT_SCALE_OPTIONS.zookeeperMaxWorkers,
    workerSessions: number('worker-sessions'),
    loadTimeScale: number('load-time-scale'),
    cpuProfileDir: flag(args, named('cpu-prof-dir')),
    processes: args.includes(named('processes')),
    processesMaxWorkers: flag(args, named('processes-max-workers')) === '0' ? 0 : (number('processes-max-workers') ?? DEFAULT_SCALE_OPTIONS.processesMaxWorkers),
    workerProcesses: number('worker-processes'),
  };
}
