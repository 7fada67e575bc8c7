/**
 * Applies a worker's assignment to its `AssignmentSelection` in stages: models leaving the
 * assignment leave the selection at once, new models enter it at most `concurrency` at a time
 * (`--model-load-thread-count`), each slot freed once that model's load has settled. A worker given
 * many models does not take all their memory spikes at once, and one slow or broken model never
 * holds up the others beyond its own slot. (Loads measured by `LoadMemoryProbe` are clean only
 * when they do not overlap, so with a concurrency above 1 some models keep their estimate.)
 *
 * A model "settles" when the server reports its reconciliation finished (`modelSettled`: READY,
 * failed, or nothing to load), or, for servers without that event, when none of its versions is
 * LOADING after it has been seen loading. A model that shows nothing within `startMs` (e.g. its
 * server never hears of it) or does not settle within `settleMs` frees its slot anyway.
 */
import type { AssignmentSelection } from './assignment-selection.js';
import type { ServedModels } from './served-models.js';

export interface StagedAdmissionOptions {
  /** How long a newly selected model may take to show any progress. Default 2 s. */
  readonly startMs?: number;
  /** How long one model's load may hold its slot. Default 120 s. */
  readonly settleMs?: number;
  /** Models admitted (loading) at once. Default 1. */
  readonly concurrency?: number;
}

export class StagedAdmission {
  private target: ReadonlySet<string> = new Set();
  private running: Promise<void> | undefined;
  private stopped = false;
  /** Models admitted whose load has not settled yet, with the function that stops waiting. */
  private readonly admitting = new Map<string, () => void>();
  private slotFreed: (() => void) | undefined;

  constructor(
    private readonly selection: AssignmentSelection,
    private readonly models: ServedModels,
    private readonly options: StagedAdmissionOptions = {},
  ) {}

  /** The models being admitted or admitted, sorted. */
  targetList(): string[] {
    return [...this.target].sort();
  }

  /** Sets the assignment: removals apply now, additions are admitted in the background. */
  setTarget(models: Iterable<string>): void {
    this.target = new Set(models);
    this.selection.update(this.selection.list().filter((m) => this.target.has(m)));
    for (const [model, finish] of [...this.admitting]) if (!this.target.has(model)) finish(); // left the target
    this.wakeAdmission();
    this.running ??= this.admitAll().finally(() => (this.running = undefined));
  }

  /** Resolves once every model of the target is in the selection (or admission stopped). */
  async settled(): Promise<void> {
    while (this.running) await this.running;
  }

  stop(): void {
    this.stopped = true;
    for (const finish of [...this.admitting.values()]) finish();
    this.wakeAdmission();
  }

  private wakeAdmission(): void {
    const wake = this.slotFreed;
    this.slotFreed = undefined;
    wake?.();
  }

  private async admitAll(): Promise<void> {
    const concurrency = Math.max(1, this.options.concurrency ?? 1);
    while (!this.stopped) {
      const next = [...this.target].sort().find((m) => !this.selection.has(m));
      if (next === undefined && this.admitting.size === 0) return;
      if (next === undefined || this.admitting.size >= concurrency) {
        // Wait for a slot (or, with nothing left to admit, for the loads in flight or a new target).
        await new Promise<void>((resolve) => (this.slotFreed = resolve));
        continue;
      }
      void this.settle(next);
      this.selection.update([...this.selection.list(), next]);
    }
  }

  /** Resolves when `model`'s load settles, it leaves the target, or a time bound passes. */
  private settle(model: string): Promise<void> {
    const { startMs = 2000, settleMs = 120_000 } = this.options;
    return new Promise<void>((resolve) => {
      let seenLoading = false;
      let done = false;
      const loading = (): boolean => this.models.versions(model).some((v) => v.state === 'LOADING');
      const finish = (): void => {
        if (done) return;
        done = true;
        clearTimeout(startTimer);
        clearTimeout(settleTimer);
        for (const u of unsubscribe) u();
        this.admitting.delete(model);
        this.wakeAdmission();
        resolve();
      };
      const unsubscribe = [
        this.models.stateChanged.subscribe((event) => {
          if (event.model !== model) return;
          if (event.state === 'LOADING') seenLoading = true;
          else if (seenLoading && !loading() && !this.models.modelSettled) finish();
        }),
      ];
      if (this.models.modelSettled) unsubscribe.push(this.models.modelSettled.subscribe((event) => event.model === model && finish()));
      const startTimer = setTimeout(() => {
        if (!seenLoading && !loading()) finish();
      }, startMs);
      const settleTimer = setTimeout(finish, settleMs);
      this.admitting.set(model, finish);
    });
  }
}
