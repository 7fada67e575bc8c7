/**
 * Memory of each loaded model version, where it can be known. ONNX Runtime sessions live in worker
 * threads of this process and report no allocation figures, so the measure is the growth of the
 * process RSS across the version's load (LOADING → READY), taken only when no other load or
 * unload overlapped it (another load would be counted twice, an unload would hide the growth).
 * Approximate by nature: the main thread's own allocations during the load are included, and
 * glibc may keep memory freed after warm-up. (`cluster/load-memory-probe.ts` does the same per
 * model for the worker's status reports.)
 */
import type { EventChannel } from '../core/index.js';
import type { VersionStateEvent } from '../serving/index.js';

export class LoadMemoryProbe {
  private readonly started = new Map<string, { rss: number; clean: boolean }>();
  private readonly measured = new Map<string, number>();
  private readonly unsubscribe: () => void;

  constructor(
    stateChanged: EventChannel<VersionStateEvent>,
    private readonly rss: () => number = () => process.memoryUsage.rss(),
  ) {
    this.unsubscribe = stateChanged.subscribe((event) => this.onState(event));
  }

  /** Bytes the version's load added to the process, if it was measured cleanly. */
  bytes(model: string, version: number): number | undefined {
    return this.measured.get(key(model, version));
  }

  close(): void {
    this.unsubscribe();
  }

  private onState(event: VersionStateEvent): void {
    const k = key(event.model, event.version);
    if (event.state === 'LOADING') {
      for (const other of this.started.values()) other.clean = false;
      this.started.set(k, { rss: this.rss(), clean: this.started.size === 0 });
      return;
    }
    // Memory released by an unload would hide a load's growth.
    if (event.state === 'UNLOADING') for (const other of this.started.values()) other.clean = false;
    const start = this.started.get(k);
    if (start && (event.state === 'READY' || event.state === 'UNAVAILABLE')) {
      this.started.delete(k);
      if (event.state === 'READY' && start.clean) this.measured.set(k, Math.max(0, this.rss() - start.rss));
    }
    // Figures of unloaded versions stay: a reload's new copy turns READY before the old copy's
    // "unloaded" event, so that event cannot tell which copy it is about. Readers ask only for
    // versions that are READY now.
  }
}

function key(model: string, version: number): string {
  return `${model}\u0000${version}`;
}
