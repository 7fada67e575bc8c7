/**
 * The one place where Cranberries error codes become gRPC statuses (Triton's gRPC status codes). Every
 * code of the catalogue has a same-named gRPC status; anything that is not a CranberriesError is a
 * bug on our side and is reported as INTERNAL with its message.
 */
import * as grpc from '@grpc/grpc-js';
import type { Logger } from 'pino';
import { clientMessage, asCranberriesError, type ErrorCode } from '../../core/index.js';

const GRPC_STATUS: Readonly<Record<ErrorCode, grpc.status>> = {
  INVALID_ARGUMENT: grpc.status.INVALID_ARGUMENT,
  NOT_FOUND: grpc.status.NOT_FOUND,
  UNAVAILABLE: grpc.status.UNAVAILABLE,
  RESOURCE_EXHAUSTED: grpc.status.RESOURCE_EXHAUSTED,
  DEADLINE_EXCEEDED: grpc.status.DEADLINE_EXCEEDED,
  CANCELLED: grpc.status.CANCELLED,
  UNIMPLEMENTED: grpc.status.UNIMPLEMENTED,
  ALREADY_EXISTS: grpc.status.ALREADY_EXISTS,
  FAILED_PRECONDITION: grpc.status.FAILED_PRECONDITION,
  INTERNAL: grpc.status.INTERNAL,
};

/** gRPC status for an error code; UNKNOWN for a code this table does not know (a newer catalogue). */
export function grpcStatusOf(code: ErrorCode): grpc.status {
  return Object.hasOwn(GRPC_STATUS, code) ? GRPC_STATUS[code] : grpc.status.UNKNOWN;
}

/** Turns anything thrown into the error object grpc-js sends as the call's status. */
export function toServiceError(error: unknown): grpc.ServerErrorResponse {
  const cranberries = asCranberriesError(error);
  // The status message travels in a header: bounded, so it never exceeds a client's metadata limit.
  // Server folders are shown relative (`server-paths.ts`).
  const message = clientMessage(cranberries.message);
  return Object.assign(new Error(message), { code: grpcStatusOf(cranberries.code), details: message });
}

/** Failures of the server itself are logged as errors; caller mistakes (bad input, unknown model) only at debug. */
export function logFailure(logger: Logger | undefined, rpc: string, error: unknown): void {
  if (logger === undefined) return;
  const cranberries = asCranberriesError(error);
  if (cranberries.code === 'INTERNAL') logger.error({ err: cranberries, rpc }, `${rpc} failed: ${cranberries.message}`);
  else logger.debug({ rpc, code: cranberries.code }, `${rpc} failed: ${cranberries.message}`);
}
