/**
 * Measures how much memory a model takes on this worker: the growth of the process's resident set
 * (RSS) across a version's load (LOADING → READY, which includes warm-up). ONNX Runtime sessions
 * run in worker threads of this process, so their memory shows in its RSS.
 *
 * A measurement is kept only when it is clean: no other load or unload ran at any time during it
 * (their memory would be mixed in), and the growth is positive (a garbage collection during the
 * load can hide it). A model's figure is the sum over its READY versions, and exists only once
 * every one of them has a clean measurement. The figure is approximate by nature (allocator
 * caching, GC timing); the controller only needs it to be better than a guess from file sizes.
 */
import type { VersionState } from './served-models.js';

interface Load {
  readonly baseline: number;
  clean: boolean;
}

export class LoadMemoryProbe {
  private readonly inFlight = new Map<string, Load>();
  private readonly measured = new Map<string, number>();

  constructor(private readonly rss: () => number = () => process.memoryUsage.rss()) {}

  observe(event: { readonly model: string; readonly version: number; readonly state: VersionState }): void {
    const key = `${event.model}/${event.version}`;
    switch (event.state) {
      case 'LOADING': {
        const alone = this.inFlight.size === 0;
        this.spoilInFlight();
        this.inFlight.set(key, { baseline: this.rss(), clean: alone });
        return;
      }
      case 'UNLOADING':
        this.spoilInFlight();
        this.measured.delete(key);
        return;
      case 'READY': {
        const load = this.inFlight.get(key);
        this.inFlight.delete(key);
        if (!load) return;
        const growth = this.rss() - load.baseline;
        if (load.clean && growth > 0) this.measured.set(key, growth);
        else this.measured.delete(key);
        return;
      }
      case 'UNAVAILABLE':
        this.inFlight.delete(key);
        this.measured.delete(key);
        return;
    }
  }

  /** The model's measured memory over the given versions, or undefined unless every one was measured. */
  memoryOf(model: string, versions: readonly number[]): number | undefined {
    if (versions.length === 0) return undefined;
    let total = 0;
    for (const version of versions) {
      const bytes = this.measured.get(`${model}/${version}`);
      if (bytes === undefined) return undefined;
      total += bytes;
    }
    return total;
  }

  private spoilInFlight(): void {
    for (const load of this.inFlight.values()) load.clean = false;
  }
}
