/**
 * Who may call what: the one decision every protocol front asks, given a request's API group and
 * its headers (REST) or metadata (gRPC).
 *
 * Two independent mechanisms, both optional:
 *
 * - **Restricted groups** (Triton's `--http-restricted-api` / `--grpc-restricted-protocol`): a
 *   request to a restricted group must carry a given header with a given value, else 403 /
 *   PERMISSION_DENIED with Triton's wording. Over gRPC the metadata key is Triton's
 *   `triton-grpc-protocol-<key>`.
 * - **Bearer tokens**: the admin token guards the groups that change the server
 *   (`ADMIN_GROUPS`); the inference token guards `inference`. The admin token is accepted
 *   wherever the inference token is. A missing or wrong token is 401 with `WWW-Authenticate:
 *   Bearer` / UNAUTHENTICATED.
 *
 * Health, metadata, model-config and statistics are not token-guarded: load balancers probe
 * health, and a gateway fetches metadata, configuration and statistics from its workers with no
 * client request to take a credential from. They can still be restricted by header.
 */
import type { ApiGroup } from './api-groups.js';
import { bearerToken, type TokenStore } from './token-store.js';

export interface RestrictedGroups {
  readonly groups: readonly ApiGroup[];
  /** Header name (REST, lower-cased) or metadata key without Triton's prefix (gRPC). */
  readonly key: string;
  readonly value: string;
}

export interface AccessPolicyOptions {
  readonly restrictedHttp?: readonly RestrictedGroups[] | undefined;
  readonly restrictedGrpc?: readonly RestrictedGroups[] | undefined;
  readonly adminTokens?: TokenStore | undefined;
  readonly inferenceTokens?: TokenStore | undefined;
  /** Origins allowed to call cross-site (CORS); empty: none. `*` is not accepted. */
  readonly corsOrigins?: readonly string[] | undefined;
}

/** Groups the admin token guards: every group with calls that change the server or the cluster. */
export const ADMIN_GROUPS: ReadonlySet<ApiGroup> = new Set(['model-repository', 'cluster-admin', 'shared-memory', 'trace', 'logging']);
/** Groups the inference token guards. */
export const INFERENCE_GROUPS: ReadonlySet<ApiGroup> = new Set(['inference']);

/** Triton's gRPC metadata key prefix for restricted protocols. */
export const GRPC_RESTRICTED_PREFIX = 'triton-grpc-protocol-';

export type Denial = { readonly kind: 'restricted'; readonly message: string } | { readonly kind: 'unauthenticated'; readonly message: string; readonly presented: boolean };

/** Reads one header (REST) or metadata value (gRPC) by lower-case name. */
export type HeaderLookup = (name: string) => string | undefined;

export class AccessPolicy {
  private readonly restrictedHttp: ReadonlyMap<ApiGroup, RestrictedGroups>;
  private readonly restrictedGrpc: ReadonlyMap<ApiGroup, RestrictedGroups>;
  readonly corsOrigins: ReadonlySet<string>;

  constructor(private readonly options: AccessPolicyOptions = {}) {
    this.restrictedHttp = byGroup(options.restrictedHttp ?? [], 'http');
    this.restrictedGrpc = byGroup(options.restrictedGrpc ?? [], 'grpc');
    this.corsOrigins = new Set(options.corsOrigins ?? []);
  }

  /** A policy that lets everything through (the default: no flags given). */
  get open(): boolean {
    return this.restrictedHttp.size === 0 && this.restrictedGrpc.size === 0 && this.options.adminTokens === undefined && this.options.inferenceTokens === undefined;
  }

  /** Header names the REST API reads for access (forwarded by a gateway to its workers). */
  get restHeaderNames(): readonly string[] {
    return ['authorization', ...new Set([...this.restrictedHttp.values()].map((r) => r.key))];
  }

  /** Whether any check applies to `group` over REST (lets hot paths skip the lookup). */
  guardsRest(group: ApiGroup | undefined): boolean {
    return group !== undefined && (this.restrictedHttp.has(group) || this.tokensFor(group) !== undefined);
  }

  checkRest(group: ApiGroup | undefined, header: HeaderLookup): Denial | undefined {
    if (group === undefined) return undefined;
    const restriction = this.restrictedHttp.get(group);
    if (restriction !== undefined && header(restriction.key) !== restriction.value) {
      return { kind: 'restricted', message: `This API is restricted, expecting header '${restriction.key}'` };
    }
    return this.checkToken(group, header);
  }

  checkGrpc(group: ApiGroup | undefined, metadata: HeaderLookup): Denial | undefined {
    if (group === undefined) return undefined;
    const restriction = this.restrictedGrpc.get(group);
    if (restriction !== undefined) {
      const key = GRPC_RESTRICTED_PREFIX + restriction.key;
      if (metadata(key) !== restriction.value) return { kind: 'restricted', message: `This protocol is restricted, expecting header '${key}'` };
    }
    return this.checkToken(group, metadata);
  }

  close(): void {
    this.options.adminTokens?.close();
    this.options.inferenceTokens?.close();
  }

  private tokensFor(group: ApiGroup): readonly TokenStore[] | undefined {
    const { adminTokens, inferenceTokens } = this.options;
    if (ADMIN_GROUPS.has(group)) return adminTokens === undefined ? undefined : [adminTokens];
    if (INFERENCE_GROUPS.has(group)) {
      if (inferenceTokens === undefined) return undefined;
      return adminTokens === undefined ? [inferenceTokens] : [inferenceTokens, adminTokens];
    }
    return undefined;
  }

  private checkToken(group: ApiGroup, header: HeaderLookup): Denial | undefined {
    const stores = this.tokensFor(group);
    if (stores === undefined) return undefined;
    const authorization = header('authorization');
    const token = bearerToken(authorization);
    if (token !== undefined && stores.some((store) => store.accepts(token))) return undefined;
    const presented = authorization !== undefined;
    const which = ADMIN_GROUPS.has(group) ? 'the admin token' : 'the inference token';
    return { kind: 'unauthenticated', presented, message: presented ? `invalid bearer token: '${group}' calls need ${which}` : `'${group}' calls need ${which} (Authorization: Bearer <token>)` };
  }
}

function byGroup(restrictions: readonly RestrictedGroups[], protocol: string): Map<ApiGroup, RestrictedGroups> {
  const map = new Map<ApiGroup, RestrictedGroups>();
  for (const restriction of restrictions) {
    for (const group of restriction.groups) {
      if (map.has(group)) throw new Error(`${protocol}: API group '${group}' is restricted more than once`);
      map.set(group, restriction);
    }
  }
  return map;
}
