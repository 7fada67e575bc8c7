/**
 * CPU time of the processes under test, read from `/proc/<pid>/stat` (user + system of every
 * thread: the main thread, ONNX Runtime's and libuv's). Reported per request next to throughput,
 * because on a shared 2-core machine throughput moves with whatever else runs while the CPU a
 * request costs the server moves much less.
 */
import { readFileSync } from 'node:fs';

/** Clock ticks per second of `/proc/<pid>/stat` (`getconf CLK_TCK`: 100 on Linux). */
const TICKS_PER_SECOND = 100;

/** User + system CPU seconds of `pid` so far; NaN when it cannot be read (not Linux, process gone). */
export function processCpuSeconds(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after the command name, which is in parentheses and may hold spaces.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) / TICKS_PER_SECOND;
  } catch {
    return Number.NaN;
  }
}

/** CPU seconds `pids` spent between the edges of a measurement window (`measureLevel`'s `onWindow`). */
export class CpuWindow {
  private start = Number.NaN;
  private end = Number.NaN;

  constructor(private readonly pids: readonly number[]) {}

  readonly onWindow = (edge: 'start' | 'end'): Promise<void> => {
    const now = this.pids.reduce((sum, pid) => sum + processCpuSeconds(pid), 0);
    if (edge === 'start') this.start = now;
    else this.end = now;
    return Promise.resolve();
  };

  /** Seconds spent in the last window; NaN when unread. */
  get seconds(): number {
    return this.end - this.start;
  }
}
