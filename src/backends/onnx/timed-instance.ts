/**
 * A model instance with an execution timeout (`execution_timeout_ms`). A run that has not answered
 * in time fails with DEADLINE_EXCEEDED (every request of its batch), and the instance is replaced:
 * a fresh session thread takes the slot while the stuck one is abandoned. ONNX Runtime cannot stop
 * a run from outside (see `SessionThread.releaseWhenIdle`), so the abandoned thread keeps its CPU
 * and memory until its run returns; then it is released. A slot keeps at most one abandoned
 * thread: if it times out again while an earlier abandoned run still computes, the next
 * replacement starts only once that earlier thread has ended, so hung runs cannot pile up threads.
 */
import { CranberriesError, asCranberriesError } from '../../core/index.js';
import type { Tensor } from '../../tensors/index.js';
import type { ExecutionResult, ModelInstance } from '../backend.js';
import type { SessionThread } from './session-thread.js';

export interface InstanceEvents {
  /** A run overstayed its timeout: its thread is abandoned and a replacement starts. */
  timedOut?(info: { label: string; timeoutMs: number }): void;
  /** The abandoned run returned and its thread ended. */
  abandonedEnded?(info: { label: string; afterMs: number }): void;
  replacementFailed?(info: { label: string; error: string }): void;
}

export class TimedInstance implements ModelInstance {
  private current: Promise<SessionThread>;
  /** The thread now serving, once `current` has settled (undefined while a replacement starts). */
  private serving: SessionThread | undefined;
  /** Ends when the slot's abandoned thread (if any) has ended. */
  private abandoned: Promise<void> = Promise.resolve();
  private unloaded = false;

  constructor(
    first: SessionThread,
    private readonly startThread: () => Promise<SessionThread>,
    private readonly timeoutMs: number,
    private readonly label: string,
    private readonly events: InstanceEvents = {},
    private readonly onAbandoned: (ended: Promise<void>) => void = () => {},
  ) {
    this.current = Promise.resolve(first);
    this.serving = first;
  }

  async execute(requests: readonly (readonly Tensor[])[], outputNames: readonly string[]): Promise<ExecutionResult> {
    const thread = await this.thread();
    const run = thread.execute(requests, outputNames);
    let timer: NodeJS.Timeout | undefined;
    const expired = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        this.replace(thread);
        reject(
          new CranberriesError('DEADLINE_EXCEEDED', `${this.label}: the model execution did not finish within its execution timeout of ${this.timeoutMs} ms; the model instance is being replaced`),
        );
      }, this.timeoutMs);
    });
    try {
      // `race` subscribes to both, so a run that fails after the timeout is not an unhandled rejection.
      return await Promise.race([run, expired]);
    } finally {
      clearTimeout(timer);
    }
  }

  /** Releases the serving thread; an abandoned one ends on its own when its run returns. */
  async unload(): Promise<void> {
    this.unloaded = true;
    const serving = this.serving;
    this.serving = undefined;
    await serving?.release();
  }

  /** The thread to run on: the serving one, or the replacement once it has started. */
  private async thread(): Promise<SessionThread> {
    try {
      return await this.current;
    } catch {
      // The last replacement could not start (say, its file was removed): try once more for this run.
      this.current = this.startReplacement();
      try {
        return await this.current;
      } catch (error) {
        throw new CranberriesError('UNAVAILABLE', `${this.label}: the model instance could not be replaced after an execution timeout: ${asCranberriesError(error).message}`);
      }
    }
  }

  private replace(stuck: SessionThread): void {
    if (this.serving === stuck) this.serving = undefined;
    this.events.timedOut?.({ label: this.label, timeoutMs: this.timeoutMs });
    const abandonedAt = Date.now();
    const earlier = this.abandoned;
    this.abandoned = stuck
      .releaseWhenIdle()
      .catch(() => undefined)
      .then(() => this.events.abandonedEnded?.({ label: this.label, afterMs: Date.now() - abandonedAt }));
    this.onAbandoned(this.abandoned);
    const next = earlier.then(() => this.startReplacement());
    next.catch(() => undefined);
    this.current = next;
  }

  private async startReplacement(): Promise<SessionThread> {
    const attempt = this.startThread().then(
      async (thread) => {
        if (this.unloaded) {
          await thread.release();
          throw new CranberriesError('UNAVAILABLE', `${this.label}: the model is unloaded`);
        }
        this.serving = thread;
        return thread;
      },
      (error: unknown) => {
        this.events.replacementFailed?.({ label: this.label, error: asCranberriesError(error).message });
        throw error;
      },
    );
    // Nobody may be waiting (no request until the next one): a failure is reported when one asks.
    attempt.catch(() => undefined);
    return attempt;
  }
}
