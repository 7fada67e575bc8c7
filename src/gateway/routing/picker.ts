/**
 * Picks the replica a request goes to (grpc-js's Picker role): among the READY replicas of the
 * requested version that are not marked down, the one with the fewest outstanding requests. Ties
 * are broken uniformly at random — what power-of-two-choices amounts to among equals — so equal
 * replicas share load evenly without a shared round-robin cursor. (A full scan beats sampling two
 * here: replica sets are a handful of workers, and the scan never misses the idle one.) A version-less request goes to the highest version
 * with a usable replica. Replicas on workers that just vanished from the store (retained) are used
 * only when no fresh replica can serve.
 *
 * Outstanding counts are per worker (across models: a worker's load is what matters) and outlive
 * table swaps, so a new table never forgets requests in flight. Every `pick` that comes to a
 * replica must be paired with one `release`.
 *
 * A pick's result is a value in grpc-js's picker shape (`PickResult`), never an exception: `pick`
 * (grpc-js COMPLETE: a replica, counted outstanding) or `fail` (TRANSIENT_FAILURE / DROP: the error
 * the request ends with). There is no `queue` (QUEUE): grpc-js queues a call while a channel is
 * connecting, but a gateway replica is usable or not as the table and health say, and a request
 * that nothing can serve fails at once, as it would on a worker. Errors mirror a worker's own
 * wording (model-manager.ts) so clients cannot tell the gateway from a worker: NOT_FOUND for
 * unknown models and versions, UNAVAILABLE for versions that are not READY or whose replicas are
 * all down.
 */
import { notFound, unavailable, type CranberriesError } from '../../core/index.js';
import type { Endpoint, EndpointTable } from './endpoint-table.js';
import { StickySequences } from './sequence-affinity.js';

/** Whether a worker may be sent requests (the health tracker's answer). */
export interface EndpointHealthView {
  isUp(key: string): boolean;
}

/** What a pick comes to: a replica (counted outstanding until `release`), or the error to answer. */
export type PickResult = { readonly kind: 'pick'; readonly endpoint: Endpoint; readonly version: number } | { readonly kind: 'fail'; readonly error: CranberriesError };

/** The version a request resolves to in a table, or why it resolves to none. */
export type VersionResolution = { readonly kind: 'ready'; readonly version: number } | { readonly kind: 'fail'; readonly error: CranberriesError };

type Chosen = { readonly endpoint: Endpoint; readonly version: number };

export interface PickerOptions {
  /** Uniform random in [0, 1); injectable so tests are deterministic. */
  readonly random?: () => number;
}

export class Picker {
  private readonly outstandingByKey = new Map<string, number>();
  private readonly random: () => number;
  /** Requests of one sequence go to one replica (sequence-affinity.ts). */
  private readonly sticky = new StickySequences();

  constructor(
    private readonly health: EndpointHealthView,
    options: PickerOptions = {},
  ) {
    this.random = options.random ?? Math.random;
  }

  /**
   * Chooses a replica and counts the request as outstanding on it. `exclude` holds endpoint keys
   * already tried for this request. `affinity` (a sequence key) makes every request with the same
   * key go to the same usable replica instead of the least loaded. Nothing usable: `fail` with
   * NOT_FOUND / UNAVAILABLE, and nothing counted.
   */
  pick(table: EndpointTable, model: string, version: number | undefined, exclude?: ReadonlySet<string>, affinity?: string): PickResult {
    const sticky = affinity === undefined ? undefined : `${model}\n${affinity}`;
    const chosen = version === undefined ? this.pickLatest(table, model, exclude, sticky) : this.pickVersion(table, model, version, exclude, sticky);
    if (chosen !== undefined) {
      this.outstandingByKey.set(chosen.endpoint.key, (this.outstandingByKey.get(chosen.endpoint.key) ?? 0) + 1);
      return { kind: 'pick', endpoint: chosen.endpoint, version: chosen.version };
    }
    const resolved = resolveReadyVersion(table, model, version);
    return { kind: 'fail', error: resolved.kind === 'fail' ? resolved.error : this.unreachable(table, model, resolved.version, exclude) };
  }

  /** Ends a picked request's outstanding count. */
  release(endpoint: Endpoint): void {
    const count = (this.outstandingByKey.get(endpoint.key) ?? 0) - 1;
    if (count > 0) this.outstandingByKey.set(endpoint.key, count);
    else this.outstandingByKey.delete(endpoint.key);
  }

  outstanding(key: string): number {
    return this.outstandingByKey.get(key) ?? 0;
  }

  private pickLatest(table: EndpointTable, model: string, exclude: ReadonlySet<string> | undefined, sticky?: string): Chosen | undefined {
    for (const version of table.freshVersions(model)) {
      const endpoint = this.choose(table.replicas(model, version).fresh, exclude, sticky && `${version}\n${sticky}`);
      if (endpoint) return { endpoint, version };
    }
    for (const version of [...table.freshVersions(model), ...table.retainedVersions(model)].sort((a, b) => b - a)) {
      const endpoint = this.choose(table.replicas(model, version).retained, exclude, sticky && `${version}\n${sticky}`);
      if (endpoint) return { endpoint, version };
    }
    return undefined;
  }

  private pickVersion(table: EndpointTable, model: string, version: number, exclude: ReadonlySet<string> | undefined, sticky?: string): Chosen | undefined {
    const replicas = table.replicas(model, version);
    const key = sticky && `${version}\n${sticky}`;
    const endpoint = this.choose(replicas.fresh, exclude, key) ?? this.choose(replicas.retained, exclude, key);
    return endpoint && { endpoint, version };
  }

  private unreachable(table: EndpointTable, model: string, version: number, exclude: ReadonlySet<string> | undefined): CranberriesError {
    const replicas = table.replicas(model, version);
    const all = [...replicas.fresh, ...replicas.retained];
    const tried = all.filter((e) => exclude?.has(e.key)).length;
    const down = all.filter((e) => !exclude?.has(e.key) && !this.health.isUp(e.key)).length;
    const parts = [down > 0 ? `${down} down` : '', tried > 0 ? `${tried} already tried` : ''].filter(Boolean).join(', ');
    return unavailable(`Request for model '${model}' version ${version}: no reachable replica (${all.length} READY, ${parts})`);
  }

  /** Least outstanding among usable candidates; ties broken uniformly at random. With a sticky key, the sequence's replica. */
  private choose(candidates: readonly Endpoint[], exclude: ReadonlySet<string> | undefined, sticky?: string): Endpoint | undefined {
    if (sticky)
      return this.sticky.choose(
        sticky,
        candidates.filter((e) => !exclude?.has(e.key) && this.health.isUp(e.key)),
      );
    let best: Endpoint | undefined;
    let bestLoad = Infinity;
    let ties = 0;
    for (const endpoint of candidates) {
      if (exclude?.has(endpoint.key) || !this.health.isUp(endpoint.key)) continue;
      const load = this.outstanding(endpoint.key);
      if (load < bestLoad) {
        best = endpoint;
        bestLoad = load;
        ties = 1;
      } else if (load === bestLoad) {
        // Reservoir sampling over the tied: each equal replica is equally likely, without a second pass.
        ties++;
        if (this.random() * ties < 1) best = endpoint;
      }
    }
    return best;
  }
}

/**
 * The READY version a request for `model` (and `version`, if given) resolves to in the table,
 * whatever the health of its replicas; else what a worker would answer (model-manager.ts `find`):
 * NOT_FOUND for unknown models and versions, UNAVAILABLE when nothing is READY.
 */
export function resolveReadyVersion(table: EndpointTable, model: string, version: number | undefined): VersionResolution {
  const fail = (error: CranberriesError): VersionResolution => ({ kind: 'fail', error });
  if (!table.hasModel(model)) return fail(notFound(`Request for unknown model: '${model}' is not found`));
  if (version === undefined) {
    const latest = table.latestReadyVersion(model);
    if (latest !== undefined) return { kind: 'ready', version: latest };
    const reason = table.replicaStates(model).find((r) => r.reason)?.reason;
    return fail(unavailable(`Request for model '${model}': no version is ready${reason ? ` (${reason})` : ''}`));
  }
  const replicas = table.replicas(model, version);
  if (replicas.fresh.length > 0 || replicas.retained.length > 0) return { kind: 'ready', version };
  const state = table.replicaStates(model).find((r) => r.version === version);
  if (!state) return fail(notFound(`Request for unknown model: '${model}' version ${version} is not found`));
  return fail(unavailable(`Request for model '${model}' version ${version}: the version is not at ready state (${state.state}${state.reason ? `: ${state.reason}` : ''})`));
}

/** `resolveReadyVersion` for the service's façade methods, whose contract is to throw. */
export function readyVersionOrThrow(table: EndpointTable, model: string, version: number | undefined): number {
  const resolved = resolveReadyVersion(table, model, version);
  if (resolved.kind === 'fail') throw resolved.error;
  return resolved.version;
}
