/**
 * The one error type of `cranberries/client`. Whatever the transport, a failed call rejects with an
 * `InferenceServerError` that carries the server's own message, a protocol-neutral `code` (the gRPC
 * status name, which HTTP statuses map onto) and the raw HTTP status or gRPC code when a server
 * answered. Mistakes caught before anything is sent (a Float64Array for an FP32 input, ...) use
 * code INVALID_ARGUMENT with neither status set; an unreachable server is UNAVAILABLE.
 */

export const STATUS_NAMES = [
  'OK',
  'CANCELLED',
  'UNKNOWN',
  'INVALID_ARGUMENT',
  'DEADLINE_EXCEEDED',
  'NOT_FOUND',
  'ALREADY_EXISTS',
  'PERMISSION_DENIED',
  'RESOURCE_EXHAUSTED',
  'FAILED_PRECONDITION',
  'ABORTED',
  'OUT_OF_RANGE',
  'UNIMPLEMENTED',
  'INTERNAL',
  'UNAVAILABLE',
  'DATA_LOSS',
  'UNAUTHENTICATED',
] as const;

/** gRPC status names; the index in `STATUS_NAMES` is the gRPC status number. */
export type StatusName = (typeof STATUS_NAMES)[number];

export interface InferenceServerErrorOptions {
  readonly httpStatus?: number | undefined;
  readonly grpcCode?: number | undefined;
  readonly cause?: unknown;
}

export class InferenceServerError extends Error {
  override readonly name = 'InferenceServerError';
  /** HTTP status of the answer (REST), when a server answered. */
  readonly httpStatus: number | undefined;
  /** gRPC status number (gRPC), when the call reached the gRPC layer. */
  readonly grpcCode: number | undefined;

  constructor(
    readonly code: StatusName,
    message: string,
    options: InferenceServerErrorOptions = {},
  ) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.httpStatus = options.httpStatus;
    this.grpcCode = options.grpcCode;
  }
}

/** HTTP status → status name, the reverse of the servers' mappings of gRPC-style codes to HTTP statuses (OIP REST and TF Serving REST errors). */
export function statusNameOfHttp(status: number): StatusName {
  switch (status) {
    case 400:
      return 'INVALID_ARGUMENT';
    case 401:
      return 'UNAUTHENTICATED';
    case 403:
      return 'PERMISSION_DENIED';
    case 404:
      return 'NOT_FOUND';
    case 409:
      return 'ALREADY_EXISTS';
    case 413:
    case 429:
      return 'RESOURCE_EXHAUSTED';
    case 499:
      return 'CANCELLED';
    case 500:
      return 'INTERNAL';
    case 501:
      return 'UNIMPLEMENTED';
    case 503:
      return 'UNAVAILABLE';
    case 504:
      return 'DEADLINE_EXCEEDED';
    default:
      return status >= 500 ? 'INTERNAL' : 'UNKNOWN';
  }
}

export function statusNameOfGrpc(code: number): StatusName {
  return STATUS_NAMES[code] ?? 'UNKNOWN';
}

/** A mistake in the caller's arguments, caught before anything was sent. */
export function clientArgumentError(message: string): InferenceServerError {
  return new InferenceServerError('INVALID_ARGUMENT', message);
}

/** A server answer the client cannot make sense of (wrong sizes, bad JSON, ...). */
export function malformedResponse(message: string, cause?: unknown): InferenceServerError {
  return new InferenceServerError('INTERNAL', `malformed response from the server: ${message}`, { cause });
}
