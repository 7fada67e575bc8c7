/**
 * Request accounting: one `RequestEvent` per inference request addressed to a model the server
 * knows, whether it ran or failed before it could (a body that did not decode, an unknown version).
 * Metrics, the request log and statistics subscribers all read these events, so this is the one
 * place that decides what is counted, and that an error reported twice (by `infer`, then again by
 * the protocol adapter that maps it) is counted once.
 */
import { asCranberriesError, type FailureReason, EventChannel } from '../core/index.js';
import type { ExecutionTiming } from '../backends/index.js';
import type { ModelManager } from './model-manager.js';

/**
 * Published once per inference request addressed to a model the server knows, including requests
 * that failed before they could run (see `recordRejected`). A failure's `version` is the one asked
 * for, else the model's default version, and undefined only when the model has no version at all.
 */
export type RequestEvent =
  | {
      readonly model: string;
      readonly version: number;
      readonly requestId?: string | undefined;
      readonly outcome: 'success';
      /** Answered from the response cache: no queue, no execution. */
      readonly cacheHit?: boolean | undefined;
      readonly totalNs: number;
      readonly queueNs: number;
      readonly timing: ExecutionTiming;
    }
  | {
      readonly model: string;
      readonly version: number | undefined;
      readonly requestId?: string | undefined;
      readonly outcome: 'failure';
      readonly reason: FailureReason;
      readonly totalNs: number;
    };

export class RequestAccounting {
  readonly completed = new EventChannel<RequestEvent>();
  /** Failures already published, so an adapter reporting the same error again does not count it twice. */
  private readonly counted = new WeakSet<object>();

  constructor(private readonly manager: Pick<ModelManager, 'versions' | 'isAspired'>) {}

  succeeded(event: Extract<RequestEvent, { outcome: 'success' }>): void {
    this.completed.publish(event);
  }

  /** A request that reached its version and failed there (the version is known). */
  failedAt(model: string, version: number, failure: ReturnType<typeof asCranberriesError>, requestId: string | undefined, totalNs: number): void {
    this.counted.add(failure);
    this.completed.publish({ model, version, requestId, outcome: 'failure', reason: failure.reason, totalNs });
  }

  /** A request that failed before it reached a version; ignored for unknown models and errors already counted. */
  rejected(model: string, version: number | undefined, error: unknown, requestId: string | undefined, totalNs: number): void {
    if (typeof error === 'object' && error !== null) {
      if (this.counted.has(error)) return;
      this.counted.add(error);
    }
    const versions = this.manager.versions(model);
    if (versions.length === 0 && !this.manager.isAspired(model)) return;
    // The version the request was for: the one named, else the one that would have served it.
    const fallback = versions.filter((v) => v.state === 'READY').at(-1) ?? versions.at(-1);
    const reason = asCranberriesError(error).reason;
    this.completed.publish({ model, version: version ?? fallback?.version, requestId, outcome: 'failure', reason, totalNs });
  }
}
