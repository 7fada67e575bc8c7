/**
 * The `--processes` mode of the scale simulation: what the parent and its child processes (the
 * controller, the gateway's table watcher, the simulated workers) say to each other over the fork
 * IPC channel, and the per-process meter each child runs over a phase (its own event-loop delay,
 * CPU time, heap and GC pauses). Imports nothing of the simulation, so both sides can use it.
 */
import { PerformanceObserver, monitorEventLoopDelay, type IntervalHistogram } from 'node:perf_hooks';

export type ChildRole = 'controller' | 'gateway' | 'workers';

/** What a child is started with (JSON in its first argument). */
export interface ChildConfig {
  readonly role: ChildRole;
  readonly connectionString: string;
  readonly root: string;
  readonly workers: number;
  readonly models: number;
  /** Workers' children: the simulated workers [from, to) this process runs, over `sessions` ZooKeeper sessions. */
  readonly from: number;
  readonly to: number;
  readonly sessions: number;
  readonly loadTimeScale: number;
  /** Writes a V8 CPU profile of each phase here (`<role>-<W>x<M>-<phase>.cpuprofile`). */
  readonly cpuProfileDir?: string | undefined;
}

export interface ChildRequest {
  readonly id: number;
  readonly command: string;
  readonly args?: Record<string, unknown> | undefined;
}

export interface ChildResponse {
  readonly id: number;
  readonly result?: unknown;
  readonly error?: string;
}

/** One process over one phase. */
export interface ProcessFigures {
  readonly loopDelay: { readonly p50Ms: number; readonly p99Ms: number; readonly maxMs: number };
  /** CPU time the process spent in the phase (user + system) (ms). */
  readonly cpuMs: number;
  /** Heap used at the end of the phase, and the most seen at a 100 ms sample (bytes). */
  readonly heapUsedBytes: number;
  readonly heapPeakBytes: number;
  /** Garbage collections in the phase: count, summed and longest pause (ms). */
  readonly gcCount: number;
  readonly gcTotalMs: number;
  readonly gcMaxMs: number;
}

/** What `poll` answers while a phase runs. */
export interface ChildPoll {
  /** Writes to the store since the process started (changes: not quiet). */
  readonly writes: number;
  /** Controller: a round is in progress (placing in slices, writing nothing for a while). */
  readonly busy: boolean;
  /** Controller: epoch ms of the phase's first round with decisions written; gateway: of the first table with every replica READY. */
  readonly reachedAt?: number | undefined;
}

/** Milliseconds since the epoch, sub-millisecond, comparable between processes of one machine. */
export function epochMs(): number {
  return performance.timeOrigin + performance.now();
}

/** A child's own event-loop delay, CPU, heap and GC over a phase. */
export class PhaseMeter {
  private histogram: IntervalHistogram | undefined;
  private cpu: NodeJS.CpuUsage | undefined;
  private heapPeak = 0;
  private sampler: NodeJS.Timeout | undefined;
  private readonly gcPauses: number[] = [];
  private readonly gcObserver = new PerformanceObserver((list) => {
    for (const entry of list.getEntries()) this.gcPauses.push(entry.duration);
  });

  start(): void {
    this.histogram = monitorEventLoopDelay({ resolution: 1 });
    this.histogram.enable();
    this.cpu = process.cpuUsage();
    this.heapPeak = process.memoryUsage().heapUsed;
    this.gcPauses.length = 0;
    this.gcObserver.observe({ entryTypes: ['gc'] });
    this.sampler = setInterval(() => (this.heapPeak = Math.max(this.heapPeak, process.memoryUsage().heapUsed)), 100);
  }

  end(): ProcessFigures {
    const histogram = this.histogram;
    if (!histogram || !this.cpu) throw new Error('phase not started');
    histogram.disable();
    clearInterval(this.sampler);
    this.gcObserver.disconnect();
    const cpu = process.cpuUsage(this.cpu);
    const heapUsed = process.memoryUsage().heapUsed;
    const ms = (ns: number): number => Number((ns / 1e6).toFixed(1));
    const round = (n: number): number => Number(n.toFixed(1));
    this.histogram = undefined;
    return {
      loopDelay: { p50Ms: ms(histogram.percentile(50)), p99Ms: ms(histogram.percentile(99)), maxMs: ms(histogram.max) },
      cpuMs: Math.round((cpu.user + cpu.system) / 1000),
      heapUsedBytes: heapUsed,
      heapPeakBytes: Math.max(this.heapPeak, heapUsed),
      gcCount: this.gcPauses.length,
      gcTotalMs: round(this.gcPauses.reduce((a, b) => a + b, 0)),
      gcMaxMs: round(Math.max(0, ...this.gcPauses)),
    };
  }
}
