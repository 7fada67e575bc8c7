/**
 * Request ids and failure accounting for a fastify app serving inference routes:
 * - every request gets an id (`request-id.ts`): the `x-request-id` header, or a generated one,
 *   given by fastify's `genReqId` (`httpRequestId`, set by `protocols/http/http-server.ts`, so
 *   fastify's own log lines carry it too), or later the OIP `id` of the body (`adoptOipRequestId`,
 *   called by the infer route once decoded, when no header named one);
 * - every answer carries it back in `x-request-id`, and every `{"error": ...}` body gets it as
 *   `"request_id"` after the `"error"` key;
 * - a failed inference route reports its error to the service (`InferenceService.recordRejected`),
 *   which counts failures `infer` never saw (undecodable bodies, body limits) and ignores the rest.
 *
 * Installed on the app before it starts (hooks on the root reach every plugin's routes).
 */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { CranberriesError } from '../../core/index.js';
import type { InferenceService } from '../../serving/index.js';
import { REQUEST_ID_HEADER, resolveRequestId, usableRequestId, versionOrUndefined } from '../common/index.js';

export interface HttpRequestTrackingOptions {
  /** Receives the failures of inference routes (the serving core). */
  readonly recorder?: Pick<InferenceService, 'recordRejected'> | undefined;
}

const ERROR_BODY_START = '{"error":';

/** fastify's `genReqId`: the request's usable `x-request-id` header, else a generated id. */
export function httpRequestId(request: { readonly headers: Readonly<Record<string, unknown>> }): string {
  return resolveRequestId(request.headers[REQUEST_ID_HEADER]).id;
}

/** Needs an app created with `genReqId: httpRequestId` (`createHttpApp` does it). */
export function installHttpRequestTracking(app: FastifyInstance, options: HttpRequestTrackingOptions = {}): void {
  app.addHook('onSend', (request, reply, payload, done) => {
    reply.header(REQUEST_ID_HEADER, request.id);
    if (reply.statusCode >= 400 && typeof payload === 'string' && payload.startsWith(ERROR_BODY_START) && payload.endsWith('}')) {
      done(null, `${payload.slice(0, -1)},"request_id":${JSON.stringify(request.id)}}`);
      return;
    }
    done(null, payload);
  });
  const recorder = options.recorder;
  if (recorder?.recordRejected) {
    app.addHook('onError', (request, _reply, error, done) => {
      const target = inferenceTarget(request);
      if (target) recorder.recordRejected?.(target.model, target.version, asClientError(error), request.id);
      done();
    });
  }
}

/** Once an inference body is decoded: its OIP `id` becomes the request id unless a header named one. */
export function adoptOipRequestId(request: FastifyRequest, oipId: string | undefined): void {
  if (oipId === undefined || usableRequestId(request.headers[REQUEST_ID_HEADER]) !== undefined) return;
  const usable = usableRequestId(oipId);
  if (usable !== undefined) request.id = usable;
}

/**
 * Fastify's own errors (an over-sized body, a body that does not decompress) carry a 4xx status
 * but are no CranberriesError; counted as they are they would read as server failures.
 */
function asClientError(error: unknown): unknown {
  if (error instanceof CranberriesError) return error;
  const status = (error as { statusCode?: unknown } | null)?.statusCode;
  if (typeof status !== 'number' || status < 400 || status > 499) return error;
  return new CranberriesError('INVALID_ARGUMENT', error instanceof Error ? error.message : String(error), { cause: error });
}

/** Model and version of an OIP inference route (`/v2/models/:model[/versions/:version]/infer`). */
function inferenceTarget(request: FastifyRequest): { model: string; version: number | undefined } | undefined {
  const url = request.routeOptions.url;
  if (url === undefined || !url.endsWith('/infer')) return undefined;
  const params = request.params as { model?: unknown; version?: unknown } | undefined;
  if (typeof params?.model !== 'string') return undefined;
  return { model: params.model, version: typeof params.version === 'string' ? versionOrUndefined(params.version) : undefined };
}
