/** The scale rows of the benchmark suite: `runScale` at each size and store, and their markdown. */
import { existsSync } from 'node:fs';
import { runScale, type ScaleResult, type StoreKind } from './simulation.js';

export interface ScaleSuiteOptions {
  readonly sizes: readonly { workers: number; models: number }[];
  readonly maxWorkers?: number | undefined;
  readonly stores: readonly StoreKind[];
  readonly zookeeperMaxWorkers: number;
  readonly workerSessions?: number | undefined;
  readonly loadTimeScale?: number | undefined;
  /** Writes a CPU profile of each phase to this folder. */
  readonly cpuProfileDir?: string | undefined;
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
};

export interface ScaleSuiteResults {
  readonly runs: ScaleResult[];
  readonly errors: string[];
}

export async function runScaleSuite(options: ScaleSuiteOptions, log: (line: string) => void): Promise<ScaleSuiteResults> {
  const runs: ScaleResult[] = [];
  const errors: string[] = [];
  for (const size of options.sizes) {
    if (options.maxWorkers !== undefined && size.workers > options.maxWorkers) continue;
    for (const store of options.stores) {
      if (store === 'zookeeper' && size.workers > options.zookeeperMaxWorkers) continue;
      if (store === 'zookeeper' && !existsSync('/usr/share/java/zookeeper.jar')) {
        errors.push('ZooKeeper rows skipped: Debian zookeeper is not installed');
        continue;
      }
      try {
        runs.push(await runScale({ ...size, store, workerSessions: options.workerSessions, loadTimeScale: options.loadTimeScale, cpuProfileDir: options.cpuProfileDir, log }));
      } catch (error) {
        errors.push(`${store} ${size.workers}×${size.models}: ${error instanceof Error ? error.message : String(error)}`);
        log(errors.at(-1)!);
      }
    }
  }
  return { runs, errors };
}

const kib = (bytes: number): string => (bytes >= 2 ** 20 ? `${(bytes / 2 ** 20).toFixed(1)} MiB` : `${(bytes / 1024).toFixed(1)} KiB`);

export function renderScaleMarkdown(results: ScaleSuiteResults): string {
  const lines = [
    '### Scale: control plane (real controller, store and gateway table; simulated workers)',
    '',
    '| store | workers × models (replicas) | cold: decisions written | cold: all READY | loss: decisions written | loss: all READY elsewhere | loss: writes (ctl / workers) | loss: bytes written | loss: watch events (ctl / gw / workers) | loss: gw reads | table rebuild mean / max | loop delay p99 / max cold | loop delay p99 / max loss | znodes | data | largest assignment / status | table heap |',
    '|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|',
  ];
  for (const r of results.runs) {
    const l = r.loss;
    lines.push(
      `| ${r.store}${r.store === 'zookeeper' ? ` (${r.workerSessions} worker sessions)` : ''} | ${r.workers} × ${r.models} (${r.replicas}) | ${r.cold.decisionsWrittenMs} ms | ${r.cold.allReadyMs} ms | ${l.decisionsWrittenMs} ms | ${l.allReadyMs} ms | ${l.controller.writes} / ${l.workers.writes} | ${kib(l.controller.bytesWritten + l.workers.bytesWritten)} | ${l.controller.watchEvents} / ${l.gateway.watchEvents} / ${l.workers.watchEvents} | ${l.gateway.reads} (${kib(l.gateway.bytesRead)}) | ${l.tableRebuildMeanMs} / ${l.tableRebuildMaxMs} ms | ${r.cold.loopDelay.p99Ms} / ${r.cold.loopDelay.maxMs} ms | ${l.loopDelay.p99Ms} / ${l.loopDelay.maxMs} ms | ${r.znodes} | ${kib(r.dataBytes)} | ${kib(r.largest['assignments'] ?? 0)} / ${kib(r.largest['status'] ?? 0)} | ${r.tableHeapBytes === undefined ? 'n/a' : kib(r.tableHeapBytes)} |`,
    );
  }
  for (const e of results.errors) lines.push('', `- ${e}`);
  return lines.join('\n');
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
  };
}
