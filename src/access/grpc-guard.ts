/**
 * The gRPC side of access control: a grpc-js server interceptor that applies the access policy to
 * every call by its method's API group before the call reaches its implementation, from the
 * call's metadata (the restricted-protocol key, `authorization: Bearer <token>`).
 *
 * A call refused for a restricted group ends PERMISSION_DENIED with Triton's message (Triton itself
 * answers UNAVAILABLE, which clients and gateways treat as "retry elsewhere": wrong for a refusal
 * that every retry gets again); a missing or wrong token ends UNAUTHENTICATED.
 */
import * as grpc from '@grpc/grpc-js';
import { grpcGroupOf } from './api-groups.js';
import type { AccessPolicy, Denial } from './access-policy.js';

/** Longest metadata value read for a check; longer values count as absent. */
const MAX_VALUE_LENGTH = 8192;

export function grpcAccessInterceptor(policy: AccessPolicy): grpc.ServerInterceptor {
  return (method, call) => {
    const group = grpcGroupOf(method.path);
    const listener = new grpc.ServerListenerBuilder()
      .withOnReceiveMetadata((metadata, next) => {
        const denial = policy.checkGrpc(group, (name) => metadataValue(metadata, name));
        if (denial === undefined) next(metadata);
        else call.sendStatus(statusOf(denial));
      })
      .build();
    const responder = new grpc.ResponderBuilder().withStart((next) => next(listener)).build();
    return new grpc.ServerInterceptingCall(call, responder);
  };
}

/**
 * For a front that relays some calls ahead of grpc-js (the gateway's HTTP/2 front): whether a call
 * to `path` with these headers may go that way. False hands it to grpc-js, whose interceptor
 * answers it.
 */
export function grpcFrontAdmits(policy: AccessPolicy, path: string, headers: Readonly<Record<string, string | string[] | undefined>>): boolean {
  return (
    policy.checkGrpc(grpcGroupOf(path), (name) => {
      const value = headers[name];
      return Array.isArray(value) ? value[0] : value;
    }) === undefined
  );
}

function metadataValue(metadata: grpc.Metadata, name: string): string | undefined {
  const [value] = metadata.get(name);
  if (typeof value !== 'string' || value.length > MAX_VALUE_LENGTH) return undefined;
  return value;
}

function statusOf(denial: Denial): { code: grpc.status; details: string } {
  if (denial.kind === 'restricted') return { code: grpc.status.PERMISSION_DENIED, details: denial.message };
  return { code: grpc.status.UNAUTHENTICATED, details: denial.message };
}
