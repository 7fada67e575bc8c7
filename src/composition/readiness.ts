/**
 * Server readiness that means "ready to serve what it was asked to serve" (Triton's
 * `--strict-readiness`). Liveness stays separate (`ServingCore.live()`).
 *
 * Readiness is a set of named holds plus, when strict, "every model the server is asked to serve
 * is READY". A hold is a condition some part of the server still waits for: the model server's
 * startup loads, a cluster worker's assignment, a standalone server's first placement. The server
 * is ready when no hold remains and, with strict readiness, every aspired model is READY.
 *
 * - strict (default): ready only once the startup has settled AND every model is READY; a model
 *   that failed keeps the server not ready (as Triton's strict readiness).
 * - not strict: ready once the startup has settled (each startup model READY or UNAVAILABLE with a
 *   reason), whatever the models' states afterwards (as Triton without strict readiness, whose
 *   endpoints only come up after the startup loads).
 *
 * Every transition is logged once: "server is ready", or "server is not ready: <why>".
 */
import type { Logger } from '../core/index.js';

/** What readiness needs to know about the served models (the model manager satisfies it). */
export interface ReadinessModels {
  allReady(): boolean;
  modelNames(): string[];
  isAspired(model: string): boolean;
  isReady(model: string): boolean;
  isSettled(model: string): boolean;
  failure(model: string): string | undefined;
  versions(model: string): readonly { readonly version: number; readonly state: string; readonly reason: string | undefined }[];
  readonly stateChanged: { subscribe(listener: () => void): () => void };
  readonly modelSettled: { subscribe(listener: () => void): () => void };
}

export interface ServerReadinessOptions {
  readonly models: ReadinessModels;
  /** Default true. */
  readonly strict?: boolean | undefined;
  readonly logger?: Logger | undefined;
}

/** A condition readiness waits for: undefined when met, else why not (shown in logs). */
export type ReadinessCondition = () => string | undefined;

export class ServerReadiness {
  readonly strict: boolean;
  private readonly holds = new Map<string, ReadinessCondition>();
  private lastLogged: boolean | undefined;
  private readonly unsubscribe: (() => void)[];
  private readonly waiters = new Set<() => void>();
  private closed = false;

  constructor(private readonly options: ServerReadinessOptions) {
    this.strict = options.strict ?? true;
    const changed = (): void => this.changed();
    this.unsubscribe = [options.models.stateChanged.subscribe(changed), options.models.modelSettled.subscribe(changed)];
  }

  /**
   * Holds readiness until `condition` returns undefined (a fixed reason string: until released).
   * Returns the release function. Holding under an existing name replaces that hold.
   */
  hold(name: string, condition: ReadinessCondition | string): () => void {
    const check = typeof condition === 'string' ? () => condition : condition;
    this.holds.set(name, check);
    this.changed();
    return () => {
      if (this.holds.get(name) !== check) return;
      this.holds.delete(name);
      this.changed();
    };
  }

  ready(): boolean {
    return this.whyNotReady() === undefined;
  }

  /** True when no hold remains: the startup has settled, whether or not every model is READY. */
  settled(): boolean {
    return this.pendingHold() === undefined;
  }

  private pendingHold(): string | undefined {
    for (const condition of this.holds.values()) {
      const why = condition();
      if (why !== undefined) return why;
    }
    return undefined;
  }

  /** Why the server is not ready (the first reason found), or undefined when it is. */
  whyNotReady(): string | undefined {
    const held = this.pendingHold();
    if (held !== undefined) return held;
    if (!this.strict) return undefined;
    const { models } = this.options;
    if (models.allReady()) return undefined;
    const notReady = models.modelNames().filter((m) => models.isAspired(m) && !models.isReady(m));
    return `strict readiness: not every model is READY (${describeModels(models, notReady)})`;
  }

  /** Re-evaluates readiness (logs a transition, wakes waiters); call when a hold's condition may have changed. */
  changed(): void {
    if (this.closed) return;
    const why = this.whyNotReady();
    const ready = why === undefined;
    if (this.settled()) for (const wake of [...this.waiters]) wake();
    // Transitions are logged once startup holds are gone or the state flips after having been ready.
    if (this.lastLogged === ready) return;
    if (!ready && this.lastLogged === undefined) return; // still starting: nothing to report yet
    this.lastLogged = ready;
    if (ready) this.options.logger?.info({ ready }, 'server is ready');
    else this.options.logger?.warn({ ready, reason: why }, `server is not ready any more: ${why}`);
  }

  /** Logs where readiness stands once the endpoints are up; from then on every transition is logged. */
  report(notReadyLevel: 'info' | 'warn' = 'info'): void {
    const why = this.whyNotReady();
    const ready = why === undefined;
    if (this.lastLogged === ready) return;
    this.lastLogged = ready;
    if (ready) this.options.logger?.info({ ready }, 'server is ready');
    else this.options.logger?.[notReadyLevel]({ ready, reason: why }, `server is not ready${notReadyLevel === 'info' ? ' yet' : ''}: ${why}`);
  }

  /** Resolves true once the startup has settled (no hold remains), or false after `timeoutMs`. */
  whenSettled(timeoutMs: number): Promise<boolean> {
    if (this.settled()) return Promise.resolve(true);
    return new Promise<boolean>((resolve) => {
      const done = (result: boolean): void => {
        clearTimeout(timer);
        clearInterval(poll);
        this.waiters.delete(wake);
        resolve(result);
      };
      const wake = (): void => done(true);
      const timer = setTimeout(() => done(false), timeoutMs);
      // Holds may depend on things that publish no event here (e.g. a coordination store).
      const poll = setInterval(() => this.settled() && done(true), 100);
      this.waiters.add(wake);
    });
  }

  /** Stops following the models (on shutdown: the transitions that follow are not news). */
  close(): void {
    this.closed = true;
    for (const u of this.unsubscribe) u();
  }
}

/** The startup models that did not become READY, each with its reason (for exit-on-error and logs). */
export function startupFailures(models: ReadinessModels, names: readonly string[]): { model: string; reason: string }[] {
  return names.filter((m) => !models.isReady(m)).map((model) => ({ model, reason: modelReason(models, model) ?? 'not ready' }));
}

/** Why a model is not READY, in one phrase. */
export function modelReason(models: ReadinessModels, model: string): string | undefined {
  const failure = models.failure(model);
  if (failure) return failure;
  const versions = models.versions(model);
  const failed = versions.find((v) => v.state === 'UNAVAILABLE' && v.reason);
  if (failed) return `version ${failed.version}: ${failed.reason}`;
  const loading = versions.find((v) => v.state === 'LOADING');
  if (loading) return `version ${loading.version} is loading`;
  return versions.length === 0 && !models.isSettled(model) ? 'loading' : undefined;
}

const MAX_LISTED = 5;

/** "a: reason; b: reason (and 3 more)" for log lines, bounded. */
export function describeModels(models: ReadinessModels, names: readonly string[]): string {
  const listed = names.slice(0, MAX_LISTED).map((m) => `${m}: ${modelReason(models, m) ?? 'not ready'}`);
  return listed.join('; ') + (names.length > MAX_LISTED ? ` (and ${names.length - MAX_LISTED} more)` : '');
}
