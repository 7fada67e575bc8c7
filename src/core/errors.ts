/**
 * The one error catalogue of Cranberries.
 *
 * The core raises `CranberriesError`s with a protocol-neutral code; each protocol adapter maps the
 * code to its own status (HTTP status, gRPC status) in exactly one place. Codes follow the gRPC /
 * `tensorflow.error.Code` vocabulary because every protocol we speak already knows it.
 */
export type ErrorCode =
  'INVALID_ARGUMENT' | 'NOT_FOUND' | 'UNAVAILABLE' | 'RESOURCE_EXHAUSTED' | 'DEADLINE_EXCEEDED' | 'CANCELLED' | 'UNIMPLEMENTED' | 'ALREADY_EXISTS' | 'FAILED_PRECONDITION' | 'INTERNAL';

/**
 * Why a request failed, as counted by metrics (`reason` label). Derived from the code, so raising
 * an error never needs a second argument to be counted correctly.
 */
export type FailureReason = 'invalid_argument' | 'not_found' | 'rejected' | 'timeout' | 'cancelled' | 'backend' | 'other';

export class CranberriesError extends Error {
  override readonly name = 'CranberriesError';
  constructor(
    readonly code: ErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }

  get reason(): FailureReason {
    switch (this.code) {
      case 'INVALID_ARGUMENT':
      case 'FAILED_PRECONDITION':
        return 'invalid_argument';
      case 'NOT_FOUND':
        return 'not_found';
      case 'UNAVAILABLE':
      case 'RESOURCE_EXHAUSTED':
        return 'rejected';
      case 'DEADLINE_EXCEEDED':
        return 'timeout';
      case 'CANCELLED':
        return 'cancelled';
      case 'INTERNAL':
        return 'backend';
      default:
        return 'other';
    }
  }
}

export const invalidArgument = (message: string): CranberriesError => new CranberriesError('INVALID_ARGUMENT', message);
export const notFound = (message: string): CranberriesError => new CranberriesError('NOT_FOUND', message);
export const unavailable = (message: string): CranberriesError => new CranberriesError('UNAVAILABLE', message);
export const internal = (message: string, cause?: unknown): CranberriesError => new CranberriesError('INTERNAL', message, { cause });

/** Wraps anything thrown into a CranberriesError, keeping ours untouched. */
export function asCranberriesError(error: unknown): CranberriesError {
  if (error instanceof CranberriesError) return error;
  const message = error instanceof Error ? error.message : String(error);
  return internal(message, error);
}
