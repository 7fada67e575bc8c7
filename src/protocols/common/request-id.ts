/**
 * Request ids: one id per inference request that appears in its logs, in its error answer and in
 * the `x-request-id` response header, so an operator can follow a request from the client through
 * the gateway to the worker.
 *
 * Which id a request gets: the `x-request-id` header (or gRPC metadata) when the caller sent a
 * usable one, else the OIP request `id`, else a generated one. The header wins over the OIP id
 * because the gateway forwards requests without decoding their bodies: the id it chose travels in
 * the header, and the worker must log the same one.
 *
 * A generated id is a random per-process prefix and a counter (`5f1c9a0e2b7d-1a`): unique across
 * the processes of a cluster with overwhelming probability, and about ten times cheaper than a
 * UUID, which matters when one is made for every request.
 */
import { randomBytes } from 'node:crypto';
import { CranberriesError, asCranberriesError } from '../../core/index.js';

export const REQUEST_ID_HEADER = 'x-request-id';

/** Printable ASCII without spaces, at most 128 characters: safe in a header, a log line and a path. */
const USABLE_ID = /^[\x21-\x7e]{1,128}$/;

const PROCESS_PREFIX = `${randomBytes(6).toString('hex')}-`;
let generated = 0;

/** A fresh id, unique to this process and (by its random prefix) to the cluster. */
export function newRequestId(): string {
  return PROCESS_PREFIX + (++generated).toString(16);
}

export interface ResolvedRequestId {
  readonly id: string;
  /** True when the caller chose the id (header or OIP id), false when it was generated. */
  readonly fromCaller: boolean;
}

/** A header value (or gRPC metadata value) as an id, if it is usable as one. */
export function usableRequestId(value: unknown): string | undefined {
  const text = Array.isArray(value) ? (value as unknown[])[0] : value;
  if (typeof text === 'string') return USABLE_ID.test(text) ? text : undefined;
  if (Buffer.isBuffer(text)) return usableRequestId(text.toString('latin1'));
  return undefined;
}

/** Header first, then the OIP `id`, then a fresh id (see the module comment for why). */
export function resolveRequestId(header: unknown, oipId?: unknown): ResolvedRequestId {
  const id = usableRequestId(header) ?? usableRequestId(oipId);
  return id !== undefined ? { id, fromCaller: true } : { id: newRequestId(), fromCaller: false };
}

/**
 * The error with ` (request id: X)` appended to its message, for protocols whose error answer is a
 * bare message (gRPC). The code, and so the status and the failure reason, stay the same.
 */
export function withRequestId(error: unknown, requestId: string): CranberriesError {
  const failure = asCranberriesError(error);
  if (failure.message.endsWith(`(request id: ${requestId})`)) return failure;
  return new CranberriesError(failure.code, `${failure.message} (request id: ${requestId})`, { cause: failure });
}

/** A path or wire version string as a number, or undefined when absent or not a version (the failure is counted all the same). */
export function versionOrUndefined(text: string | undefined): number | undefined {
  if (text === undefined || !/^[0-9]{1,15}$/.test(text)) return undefined;
  return Number(text);
}
