/**
 * Applies a worker's assignment to its `AssignmentSelection` in stages: models leaving the
 * assignment leave the selection at once, new models enter it ONE AT A TIME, each once the
 * previous one's load has settled. Loads that do not overlap can each be measured cleanly (see
 * `LoadMemoryProbe`), and a worker given many models does not take all their memory spikes at once.
 *
 * A model "settles" when none of its versions is LOADING after it has been seen loading. A model
 * that shows no load within `startMs` (not in the repository, or nothing to do) or does not settle
 * within `settleMs` does not hold up the next one.
 */
import type { AssignmentSelection } from './assignment-selection.js';
import type { ServedModels } from './served-models.js';

export interface StagedAdmissionOptions {
  /** How long a newly selected model may take to start loading. Default 2 s. */
  readonly startMs?: number;
  /** How long one model's load may hold up the next. Default 120 s. */
  readonly settleMs?: number;
}

export class StagedAdmission {
  private target: ReadonlySet<string> = new Set();
  private running: Promise<void> | undefined;
  private stopped = false;
  private wake: (() => void) | undefined;

  constructor(
    private readonly selection: AssignmentSelection,
    private readonly models: ServedModels,
    private readonly options: StagedAdmissionOptions = {},
  ) {}

  /** The models being admitted or admitted, sorted. */
  targetList(): string[] {
    return [...this.target].sort();
  }

  /** Sets the assignment: removals apply now, additions are admitted one by one in the background. */
  setTarget(models: Iterable<string>): void {
    this.target = new Set(models);
    this.selection.update(this.selection.list().filter((m) => this.target.has(m)));
    this.wake?.(); // a model being waited on may have left the target
    this.running ??= this.admitAll().finally(() => (this.running = undefined));
  }

  /** Resolves once every model of the target is in the selection (or admission stopped). */
  async settled(): Promise<void> {
    while (this.running) await this.running;
  }

  stop(): void {
    this.stopped = true;
    this.wake?.();
  }

  private async admitAll(): Promise<void> {
    while (!this.stopped) {
      const next = [...this.target].sort().find((m) => !this.selection.has(m));
      if (next === undefined) return;
      const settled = this.settle(next);
      this.selection.update([...this.selection.list(), next]);
      await settled;
    }
  }

  /** Resolves when `model`'s load settles, it leaves the target, or a time bound passes. */
  private settle(model: string): Promise<void> {
    const { startMs = 2000, settleMs = 120_000 } = this.options;
    return new Promise<void>((resolve) => {
      let seenLoading = false;
      const loading = (): boolean => this.models.versions(model).some((v) => v.state === 'LOADING');
      const finish = (): void => {
        clearTimeout(startTimer);
        clearTimeout(settleTimer);
        unsubscribe();
        this.wake = undefined;
        resolve();
      };
      const unsubscribe = this.models.stateChanged.subscribe((event) => {
        if (event.model !== model) return;
        if (event.state === 'LOADING') seenLoading = true;
        else if (seenLoading && !loading()) finish();
      });
      const startTimer = setTimeout(() => {
        if (!seenLoading && !loading()) finish();
      }, startMs);
      const settleTimer = setTimeout(finish, settleMs);
      this.wake = () => {
        if (this.stopped || !this.target.has(model)) finish();
      };
    });
  }
}
