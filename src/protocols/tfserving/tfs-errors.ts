/**
 * Errors of the TF Serving REST API: `{"error": "<message>"}` with the HTTP
 * status TF Serving derives from the canonical code. It differs from the OIP table on purpose
 * (CANCELLED → 499, ALREADY_EXISTS → 409), so TF Serving clients see what they expect. Errors that
 * are not CranberriesErrors (body too large, bad compression) keep the app's generic status.
 */
import type { FastifyInstance } from 'fastify';
import { CranberriesError, type ErrorCode } from '../../core/index.js';
import { describeError, sendError } from '../http/index.js';

const TFS_HTTP_STATUS: Readonly<Record<ErrorCode, number>> = {
  CANCELLED: 499,
  INVALID_ARGUMENT: 400,
  FAILED_PRECONDITION: 400,
  DEADLINE_EXCEEDED: 504,
  NOT_FOUND: 404,
  ALREADY_EXISTS: 409,
  RESOURCE_EXHAUSTED: 429,
  UNIMPLEMENTED: 501,
  INTERNAL: 500,
  UNAVAILABLE: 503,
};

export function tfsHttpStatusOf(code: ErrorCode): number {
  return Object.hasOwn(TFS_HTTP_STATUS, code) ? TFS_HTTP_STATUS[code] : 500;
}

/** Installs the TF Serving error answer on an (encapsulated) fastify context. */
export function installTfsErrorHandler(app: FastifyInstance, maxBodyBytes: number): void {
  app.setErrorHandler((error: unknown, request, reply) => {
    const { status, message } = error instanceof CranberriesError ? { status: tfsHttpStatusOf(error.code), message: error.message } : describeError(error, maxBodyBytes);
    if (status >= 500 && status !== 501 && status !== 503 && status !== 504) request.log.error({ err: error }, 'request failed');
    return sendError(reply, status, message);
  });
}
