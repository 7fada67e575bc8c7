/**
 * The HTTP front end: one fastify app carrying the generic HTTP behaviour every REST API of
 * Cranberries shares (raw Buffer bodies, request decompression, response compression, body limit,
 * `{"error": ...}` bodies, 404/405) and the OIP REST routes as a plugin. Other REST APIs (TF Serving
 * `/v1/...`) are further plugins the composition code passes in `apis`; this file knows none of them.
 *
 * The app is returned with routes registered but not listening: the caller owns `listen`/`close`.
 * Per-request logging is off: at tens of thousands of requests per second a log line per request
 * would cost more than the request; failures with status ≥ 500 are still logged. Every request's
 * fastify id is its request id (`x-request-id`, else generated; `protocols/common/request-id.ts`), so the
 * lines fastify logs carry the same id as the answer and the request log.
 */
import type { TlsOptions } from 'node:tls';
import Fastify, { LogController, type FastifyBaseLogger, type FastifyInstance, type FastifyPluginCallback } from 'fastify';
import type { Logger } from 'pino';
import type { InferenceService } from '../../serving/index.js';
import { httpRequestId } from './request-tracking.js';
import { frameworkErrorHandler, installErrorHandling } from './error-mapping.js';
import { applyHttpLimits, DEFAULT_LISTENER_LIMITS, httpServerOptions, type HttpListenerLimits } from '../common/index.js';
import { InflateBudget } from './inflate-budget.js';
import { clientErrorAnswer, installClosingAnswer } from './listener-answers.js';
import { oipRoutes } from './oip-routes.js';
import { installBodyParsing } from './request-body.js';
import { installResponseCompression } from './response-compression.js';
import { AccessPolicy, installRestAccess } from '../../access/index.js';
import { logSettingsOf, type LogSettings } from '../../core/index.js';
import { loggingRoutes } from './logging-routes.js';
import type { SharedMemoryRegions } from '../../shared-memory/index.js';

export interface HttpAppOptions {
  readonly service: InferenceService;
  /** Largest request body accepted, after decompression; larger ones get 413. */
  readonly maxBodyBytes: number;
  /** Omitted or false: no logging. */
  readonly logger?: Logger | false;
  /**
   * Serve OIP inference on the raw request and response when fastify's body handling is not
   * needed (`infer-route.ts`). Off for apps that relay inference themselves (the gateway).
   */
  readonly directInference?: boolean;
  /** Timeouts, connection limits and the decompression budget of the listener. Default `DEFAULT_LISTENER_LIMITS.http`. */
  readonly limits?: HttpListenerLimits | undefined;
  /**
   * Who may call what, and from which origins (`access/`). Absent: every API open and no CORS, but
   * calls that change the server still refuse cross-site browser requests.
   */
  readonly access?: AccessPolicy | undefined;
  /** Serve HTTPS with these options (`tls/server-tls.ts`); absent: plain HTTP. */
  readonly https?: TlsOptions | undefined;
  /** Serve the logging extension (`/v2/logging`) over these settings. Default: the logger's, if it has run-time settings. */
  readonly logSettings?: LogSettings | undefined;
  /** System shared-memory regions (`shared-memory/`); absent: the extension's routes refuse registration. */
  readonly sharedMemory?: SharedMemoryRegions | undefined;
  /** Further REST APIs (protocol families such as TF Serving's `/v1/...`), registered after the OIP routes. */
  readonly apis?: readonly FastifyPluginCallback[] | undefined;
}

/** Model names are path segments; fastify's default cap of 100 characters is too small for some. */
const MAX_PATH_PARAMETER_LENGTH = 1024;

export function createHttpApp(options: HttpAppOptions): FastifyInstance {
  // A pino Logger is a FastifyBaseLogger; typing it as the base keeps the app a plain
  // FastifyInstance, which plugins typed against the default accept.
  const loggerInstance: FastifyBaseLogger | undefined = options.logger || undefined;
  const limits = options.limits ?? DEFAULT_LISTENER_LIMITS.http;
  // An https app is typed over https.Server, which is an http.Server for everything the app and
  // its callers do with it (request listeners, address, close); one type keeps the plugins shared.
  // https.createServer takes http.createServer's options too, so the limits apply either way.
  const app = (Fastify as (options: object) => FastifyInstance)({
    ...(options.https ? { https: { ...httpServerOptions(limits), ...options.https } } : { http: httpServerOptions(limits) }),
    clientErrorHandler: clientErrorAnswer,
    ...(loggerInstance ? { loggerInstance } : { logger: false }),
    logController: new LogController({ disableRequestLogging: true }),
    genReqId: httpRequestId,
    bodyLimit: options.maxBodyBytes,
    routerOptions: { maxParamLength: MAX_PATH_PARAMETER_LENGTH },
    frameworkErrors: frameworkErrorHandler,
    // installClosingAnswer answers these in the documented shape.
    return503OnClosing: false,
  });
  applyHttpLimits(app.server, limits);
  installErrorHandling(app, options.maxBodyBytes);
  installClosingAnswer(app);
  // Before any route is added: the hook runs ahead of every route's own hooks (the direct lane's too).
  installRestAccess(app, options.access ?? new AccessPolicy());
  installBodyParsing(app, new InflateBudget(limits.maxInflatingBytes));
  installResponseCompression(app);
  void app.register(
    oipRoutes(options.service, {
      maxBodyBytes: options.maxBodyBytes,
      direct: options.directInference ?? false,
      logger: options.logger || undefined,
      sharedMemory: options.sharedMemory && { regions: options.sharedMemory, maxInputBytes: options.maxBodyBytes },
    }),
  );
  for (const api of options.apis ?? []) void app.register(api);
  const logSettings = options.logSettings ?? logSettingsOf(options.logger || undefined);
  if (logSettings) void app.register(loggingRoutes(logSettings));
  return app;
}
