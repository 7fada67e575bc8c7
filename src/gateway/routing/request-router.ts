/**
 * Sends one request to a replica and, when that replica could not serve it, once more to another:
 * the retry policy shared by REST and gRPC forwarding. Protocol code supplies an `attempt` that
 * talks to one worker and classifies what happened:
 *
 * - `refused`: no connection could be made (refused, unreachable, connect timeout). The worker is
 *   marked down — the picker skips it until a health probe brings it back — and the request goes to
 *   another replica.
 * - `reset`: the connection broke while the request was in flight (the worker died, or closed an
 *   idle keep-alive connection just as we used it). Retried on another replica, or on the same one
 *   when it is the only one (a fresh connection will tell whether it is really gone); not marked
 *   down, since a stale pooled connection says nothing about the worker.
 * - `unavailable`: the worker answered 503 / UNAVAILABLE (the version is unloading there), or
 *   404 / NOT_FOUND although the table lists the version READY there (it has just unloaded it and
 *   the table is behind). Retried elsewhere; if no retry is possible the client gets the worker's
 *   own answer.
 *
 * Anything else, including other 4xx answers, is final: client errors are never retried. Inference is
 * idempotent, so a request that reached a dying worker may safely run again. Retries draw on a
 * shared RetryBudget, so when a whole model is down they cannot multiply the load.
 */
import { unavailable } from '../../core/index.js';
import { withRequestId } from '../../protocols/common/index.js';
import type { Cancellation } from './cancellation.js';
import type { Endpoint, EndpointTable } from './endpoint-table.js';
import type { EndpointHealth } from './endpoint-health.js';
import type { Picker, PickResult } from './picker.js';
import type { RetryBudget } from './retry-budget.js';

export type FailureKind = 'refused' | 'reset' | 'unavailable';

export type AttemptOutcome<T> =
  | { readonly ok: true; readonly value: T }
  | {
      readonly ok: false;
      readonly kind: FailureKind;
      /** What went wrong, for logs and the final error message. */
      readonly detail: string;
      /** The worker's own answer (for `unavailable`), returned when no retry is possible. */
      readonly answer?: T | undefined;
    };

export type Attempt<T> = (endpoint: Endpoint, version: number) => Promise<AttemptOutcome<T>>;

export interface RouteTarget {
  readonly model: string;
  readonly version?: number | undefined;
  readonly requestId: string;
  /** Cancelled when the client has gone: no retry is started after that. */
  readonly cancel?: Cancellation | undefined;
  /** The request's sequence key: every request of a sequence goes to the same replica. */
  readonly affinity?: string | undefined;
}

/** Observations for metrics and logs; all optional. */
export interface RouterObserver {
  /** One attempt on `endpoint` that came to an outcome, `seconds` after it was sent (a cancelled one does not). */
  attempted?(endpoint: Endpoint, outcome: 'ok' | FailureKind, seconds: number): void;
  retried?(kind: FailureKind): void;
  budgetExhausted?(): void;
}

export interface RequestRouterOptions {
  readonly table: () => EndpointTable;
  readonly picker: Picker;
  readonly health: EndpointHealth;
  readonly budget: RetryBudget;
  readonly observer?: RouterObserver | undefined;
}

export class RequestRouter {
  constructor(private readonly options: RequestRouterOptions) {}

  async route<T>(target: RouteTarget, attempt: Attempt<T>): Promise<T> {
    const { budget, observer } = this.options;
    budget.recordRequest();
    const first = this.pick(target, undefined);
    if (first.kind === 'fail') throw withRequestId(first.error, target.requestId);
    const outcome = await this.run(first.endpoint, first.version, attempt);
    if (outcome.ok) return outcome.value;
    if (target.cancel?.reason) throw target.cancel.reason;

    const next = this.retryTarget(target, first.endpoint, outcome.kind);
    if (next === undefined) return this.giveUp(target, first.endpoint, outcome);
    if (!budget.tryAcquireRetry()) {
      this.options.picker.release(next.endpoint);
      observer?.budgetExhausted?.();
      return this.giveUp(target, first.endpoint, outcome, 'retry budget exhausted');
    }
    observer?.retried?.(outcome.kind);
    const second = await this.run(next.endpoint, next.version, attempt);
    if (second.ok) return second.value;
    return this.giveUp(target, next.endpoint, second);
  }

  /** Picks a replica (counting the request outstanding on it), or says why none can serve. */
  private pick(target: RouteTarget, exclude: ReadonlySet<string> | undefined): PickResult {
    return this.options.picker.pick(this.options.table(), target.model, target.version, exclude, target.affinity);
  }

  private async run<T>(endpoint: Endpoint, version: number, attempt: Attempt<T>): Promise<AttemptOutcome<T>> {
    const { picker, health, observer } = this.options;
    const started = performance.now();
    try {
      const outcome = await attempt(endpoint, version);
      observer?.attempted?.(endpoint, outcome.ok ? 'ok' : outcome.kind, (performance.now() - started) / 1000);
      if (!outcome.ok && outcome.kind === 'refused') health.markDown(endpoint, outcome.detail);
      return outcome;
    } finally {
      picker.release(endpoint);
    }
  }

  /** Where a retry goes, already counted outstanding; undefined when nowhere. */
  private retryTarget(target: RouteTarget, failed: Endpoint, kind: FailureKind): { endpoint: Endpoint; version: number } | undefined {
    const other = this.pick(target, new Set([failed.key]));
    if (other.kind === 'pick') return other;
    // No other replica. A broken connection to a worker that is still up deserves one fresh try.
    if (kind !== 'reset' || !this.options.health.isUp(failed.key)) return undefined;
    const same = this.pick(target, undefined);
    return same.kind === 'pick' ? same : undefined;
  }

  private giveUp<T>(target: RouteTarget, endpoint: Endpoint, outcome: AttemptOutcome<T> & { ok: false }, why?: string): T {
    if (outcome.answer !== undefined) return outcome.answer;
    const version = target.version === undefined ? '' : ` version ${target.version}`;
    throw unavailable(`Request for model '${target.model}'${version}: worker ${endpoint.nodeId} could not serve it (${outcome.detail})` + `${why ? `; ${why}` : ''} (request id: ${target.requestId})`);
  }
}
