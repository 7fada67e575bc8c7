/**
 * The availability-preserving transition policy of the model manager, as a pure function: given
 * what a source aspires to for one model and the copies of its versions that exist, which versions
 * to load, which finished loads take their version's place, and which copies to unload. No I/O, no
 * clock: the manager executes the plan (`model-manager.ts`) and the table tests next to this file
 * pin the policy down (as TF Serving's `AvailabilityPreservingPolicy` tests do).
 *
 * A transition runs in up to two steps. While an aspired version has no copy with its stamp, the
 * plan is "load these" (all at once). Asked again with the loads' outcomes (`attempts`), the plan
 * settles: a successful load replaces the copy it was loaded for, a failed reload of a version that
 * serves keeps the serving copy, and a version no longer aspired is unloaded only once a successor
 * is READY (or nothing is aspired any more), so the model never goes dark in between.
 */
import type { AspiredModel, AspiredVersion } from '../repository/index.js';
import { resourceCapViolation, type ResourceCaps } from '../repository/index.js';
import type { VersionState } from './inference-service.js';

/** One copy of a model version: what the policy needs to know about it. */
export interface VersionCopy {
  readonly version: number;
  /** Which config and model file the copy was loaded from (see `copyStamp`). */
  readonly stamp: string;
  readonly state: VersionState;
  readonly reason?: string | undefined;
}

export interface TransitionInput {
  /** The model's name, for the error messages. */
  readonly model: string;
  /** What the source asks for (undefined: nothing). */
  readonly aspired: AspiredModel | undefined;
  /** The copy of each version the model's index shows (serving, loading, or last tried), in index order. */
  readonly index: readonly VersionCopy[];
  /** Finished loads of versions that already had a copy in the index, which they may replace. */
  readonly attempts?: readonly VersionCopy[] | undefined;
  /** The model's visible reason before this transition. */
  readonly failure: string | undefined;
  /** Limits a config may not exceed; absent: none. */
  readonly caps?: ResourceCaps | undefined;
}

/**
 * - `load`: start a new copy of the version from its aspired files (the index shows it LOADING when
 *   the version has no copy yet; otherwise the copy in place keeps serving during the load).
 * - `promote`: the finished attempt with this stamp takes the version's place in the index.
 * - `keep`: the attempt failed but the copy in place (this stamp) serves: it stays, with `reason`.
 * - `unload`: take the copy with this stamp out of service (drain, then release; a copy that is not
 *   READY holds nothing and is just dropped).
 */
export type TransitionAction =
  | { readonly kind: 'load'; readonly version: number; readonly stamp: string }
  | { readonly kind: 'promote'; readonly version: number; readonly stamp: string }
  | { readonly kind: 'keep'; readonly version: number; readonly stamp: string; readonly reason: string }
  | { readonly kind: 'unload'; readonly version: number; readonly stamp: string };

export interface TransitionPlan {
  /** The model's visible reason once the plan is applied (undefined: none). */
  readonly failure: string | undefined;
  readonly actions: readonly TransitionAction[];
  /**
   * What the caller who asked for the change is told: the change is refused before anything
   * started (over a cap), or, once settled, an aspired version failed to load. Undefined: success.
   */
  readonly error?: string | undefined;
}

/** The stamp of an aspired version's copy: a change of the config or of the model file reloads it. */
export function copyStamp(aspired: { readonly configStamp: string }, version: AspiredVersion): string {
  return `${aspired.configStamp}|${version.stamp}`;
}

export function planTransition(input: TransitionInput): TransitionPlan {
  const { aspired, index } = input;
  if (!aspired) {
    // The index keeps showing the model, as UNAVAILABLE / "unloaded", until it is asked for again.
    const failure = index.length > 0 || input.failure !== undefined ? 'unloaded' : undefined;
    return { failure, actions: index.map(unload) };
  }
  // A broken config never takes down what serves; it only becomes the model's visible reason.
  if (!aspired.ok) return { failure: aspired.reason, actions: [] };
  // Over a cap: refused like a broken config, before any session starts; what serves keeps serving.
  const overCap = input.caps && resourceCapViolation(aspired.config, input.caps);
  if (overCap) return { failure: overCap, actions: [], error: `failed to load '${input.model}': ${overCap}` };
  // A model folder with nothing to load (no version folder, or none its version policy selects).
  const failure = aspired.versions.length === 0 ? (aspired.noVersionReason ?? 'no version to load') : undefined;

  const attempts = input.attempts ?? [];
  const current = new Map(index.map((copy) => [copy.version, copy]));
  const loads: TransitionAction[] = aspired.versions
    .map((v) => ({ kind: 'load' as const, version: v.version, stamp: copyStamp(aspired, v) }))
    .filter((load) => current.get(load.version)?.stamp !== load.stamp && !attempts.some((a) => a.version === load.version && a.stamp === load.stamp));
  if (loads.length > 0) return { failure, actions: loads };

  // Settle: the attempts replace or give way to the copies in place.
  const actions: TransitionAction[] = [];
  for (const attempt of attempts) {
    const previous = current.get(attempt.version);
    if (attempt.state === 'READY' || previous?.state !== 'READY') {
      actions.push({ kind: 'promote', version: attempt.version, stamp: attempt.stamp });
      current.set(attempt.version, attempt);
      if (previous && previous.stamp !== attempt.stamp) actions.push(unload(previous));
    } else {
      const reason = `reload failed, still serving the previous copy: ${attempt.reason}`;
      actions.push({ kind: 'keep', version: previous.version, stamp: previous.stamp, reason });
      current.set(previous.version, { ...previous, reason });
    }
  }
  const aspiredNumbers = new Set(aspired.versions.map((v) => v.version));
  const successorReady = aspired.versions.some((v) => current.get(v.version)?.state === 'READY');
  for (const copy of current.values()) {
    if (aspiredNumbers.has(copy.version)) continue;
    if (copy.state !== 'READY' || successorReady || aspired.versions.length === 0) actions.push(unload(copy));
  }
  const failed = aspired.versions.map((v) => current.get(v.version)).find((copy) => copy?.state === 'UNAVAILABLE');
  const error = failed ? `failed to load '${input.model}' version ${failed.version}: ${failed.reason ?? 'unknown reason'}` : undefined;
  return { failure, actions, ...(error ? { error } : {}) };
}

function unload(copy: VersionCopy): TransitionAction {
  return { kind: 'unload', version: copy.version, stamp: copy.stamp };
}
