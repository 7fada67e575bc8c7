/**
 * The one place where errors become HTTP answers (the OIP REST errors): a CranberriesError's code
 * picks the status, every error body is `{"error": "<message>"}` with `Content-Type:
 * application/json`, and nothing reaches the client in fastify's own error shape.
 *
 * Installed once on the app, so every plugin (OIP, TF Serving REST, ...) shares it.
 */
import type { FastifyError, FastifyInstance, FastifyReply } from 'fastify';
import { clientMessage, CranberriesError, type ErrorCode } from '../../core/index.js';

const STATUS_BY_CODE: Readonly<Record<ErrorCode, number>> = {
  INVALID_ARGUMENT: 400,
  FAILED_PRECONDITION: 400,
  ALREADY_EXISTS: 400,
  CANCELLED: 400,
  NOT_FOUND: 404,
  // A full queue or a rate limit: the client may retry later. An over-sized body is answered 413
  // by `installErrorHandling` before any CranberriesError exists.
  RESOURCE_EXHAUSTED: 429,
  UNIMPLEMENTED: 501,
  UNAVAILABLE: 503,
  DEADLINE_EXCEEDED: 504,
  INTERNAL: 500,
};

export function httpStatusOf(code: ErrorCode): number {
  return STATUS_BY_CODE[code];
}

/** Sends `{"error": message}` with `status`; the reply for every failure. */
export function sendError(reply: FastifyReply, status: number, message: string): FastifyReply {
  return reply
    .code(status)
    .header('content-type', 'application/json')
    .send(JSON.stringify({ error: clientMessage(message) }));
}

/** Status and message for anything thrown while handling a request. */
export function describeError(error: unknown, maxBodyBytes: number): { status: number; message: string } {
  if (error instanceof CranberriesError) return { status: httpStatusOf(error.code), message: clientMessage(error.message) };
  const fastifyError = error as Partial<FastifyError> | null;
  const message = clientMessage(error instanceof Error ? error.message : String(error));
  if (fastifyError?.code === 'FST_ERR_CTP_BODY_TOO_LARGE') {
    return { status: 413, message: `request body exceeds the limit of ${maxBodyBytes} bytes` };
  }
  if (typeof fastifyError?.code === 'string' && fastifyError.code.startsWith('Z_')) {
    // zlib failed on a Content-Encoding: gzip|deflate body.
    return { status: 400, message: `cannot decompress the request body: ${message}` };
  }
  const status = fastifyError?.statusCode;
  if (typeof status === 'number' && status >= 400 && status <= 599) return { status, message };
  return { status: 500, message };
}

/**
 * Error handler, 404 handler (`{"error":"Not Found"}`) and the shape of fastify's framework errors
 * (bad URL encoding, over-long path parameters). Framework errors are wired through
 * `frameworkErrorHandler`, which must be passed to the fastify constructor.
 */
export function installErrorHandling(app: FastifyInstance, maxBodyBytes: number): void {
  app.setErrorHandler((error: unknown, request, reply) => {
    const { status, message } = describeError(error, maxBodyBytes);
    // UNAVAILABLE (503) answers a request the server cannot take now or in its mode (a model not
    // ready, load/unload outside explicit mode): the caller's to fix, so one line, no stack trace.
    if (error instanceof CranberriesError && error.code === 'UNAVAILABLE') request.log.info({ status, error: message }, 'request refused');
    else if (status >= 500) request.log.error({ err: error }, 'request failed');
    return sendError(reply, status, message);
  });
  app.setNotFoundHandler((_request, reply) => sendError(reply, 404, 'Not Found'));
}

export function frameworkErrorHandler(error: FastifyError, _request: unknown, reply: FastifyReply): void {
  void sendError(reply, error.statusCode ?? 400, error.message);
}
