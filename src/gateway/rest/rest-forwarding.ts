/**
 * The gateway's own REST behaviour on top of the shared OIP app (`createHttpApp`):
 *
 * - **Inference is relayed as bytes.** `POST /v2/models/{m}[/versions/{v}]/infer` gets a
 *   route-level `onRequest` hook that takes the request over before fastify reads the body: the
 *   body is read as it came (still compressed, binary tail and all), sent to the chosen worker with
 *   its inference headers, and the worker's answer is relayed with its status and headers. Nothing
 *   is parsed, decompressed or re-encoded.
 * - **TF Serving `/v1/...` is relayed the same way** (predict, classify, regress, status,
 *   metadata: the TF Serving plugin's catch-all route) to a replica of the model named in the
 *   path, so the workers' TF Serving REST API — version labels included — shows through unchanged.
 * - **Metadata, config and statistics** routes answer from `GatewayService`'s async variants (a
 *   READY replica's metadata; statistics merged across workers) instead of the synchronous façade.
 *
 * The hooks are attached with an `onRoute` hook, so they must be installed before the OIP plugin
 * loads (right after `createHttpApp`, before `ready`/`listen`); other routes pay nothing. The
 * relayed routes are normally taken even earlier, before fastify sees them, by the fast lane
 * (rest-fast-lane.ts), which ends in the same `relayRaw`; the hooks serve what the lane leaves.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest, RouteOptions, onRequestHookHandler } from 'fastify';
import type { IncomingHttpHeaders, IncomingMessage, ServerResponse } from 'node:http';
import type { Logger } from 'pino';
import { asCranberriesError, CranberriesError } from '../../core/index.js';
import { httpStatusOf, parseVersion } from '../../protocols/http/index.js';
import type { ModelConfig } from '../../repository/index.js';
import type { ModelMetadata, ModelStatistics } from '../../serving/index.js';
import { Cancellation, type Endpoint, type RequestRouter } from '../routing/index.js';
import { forwardedHeaders } from './forwarded-headers.js';
import type { HttpUpstreams, UpstreamResponse } from './http-upstreams.js';
import { newRequestId, REQUEST_ID_HEADER, usableRequestId, withRequestId } from '../../protocols/common/index.js';
import { peekJsonId } from './json-request-id.js';
import { restSequenceKey } from './rest-sequence-key.js';

/** What the relay asks of the gateway's service (`GatewayService` answers it; tests give a stand-in). */
export interface RestRelayService {
  /** False once the gateway is stopping: the fast lane then leaves every request to fastify. */
  live(): boolean;
  /** Some worker that is up, for requests any worker answers alike. */
  anyUpEndpoint(): Endpoint | undefined;
  /** A READY replica's metadata, waiting for the worker if it is not cached yet. */
  fetchModelMetadata(model: string, version?: number): Promise<ModelMetadata>;
  fetchModelConfig(model: string, version?: number): Promise<ModelConfig>;
  /** Statistics of every worker, merged. */
  fetchModelStatistics(model?: string, version?: number): Promise<readonly ModelStatistics[]>;
}

export interface RestForwardingOptions {
  readonly service: RestRelayService;
  readonly router: RequestRouter;
  readonly http: HttpUpstreams;
  /** Largest request body relayed (bytes on the wire); larger ones get 413. */
  readonly maxBodyBytes: number;
  readonly logger?: Logger | undefined;
  /** Request headers forwarded besides the inference ones (the restricted-API headers). */
  readonly forwardHeaders?: readonly string[] | undefined;
  /** Whether a request may take the fast lane (access control); false: fastify's hooks answer it. */
  readonly fastLaneAdmits?: ((method: string | undefined, url: string, headers: IncomingHttpHeaders) => boolean) | undefined;
}

interface ModelParams {
  model?: string;
  version?: string;
}

const INFER_ROUTES = new Set(['/v2/models/:model/infer', '/v2/models/:model/versions/:version/infer']);
const METADATA_ROUTES = new Set(['/v2/models/:model', '/v2/models/:model/versions/:version']);
const CONFIG_ROUTES = new Set(['/v2/models/:model/config', '/v2/models/:model/versions/:version/config']);
const STATS_ROUTES = new Set(['/v2/models/stats', '/v2/models/:model/stats', '/v2/models/:model/versions/:version/stats']);
/** The TF Serving REST plugin's catch-all route (`protocols/tfserving/tfs-rest-routes.ts`). */
const TF_SERVING_ROUTE = '/v1/*';
const TF_SERVING_PATH = /^\/v1\/models\/([^/:?]+)(?:\/versions\/([0-9]+))?/;

export function installRestForwarding(app: FastifyInstance, options: RestForwardingOptions): void {
  const relayInfer: onRequestHookHandler = (request, reply) => {
    const { model = '', version } = request.params as ModelParams;
    let parsed: number | undefined;
    try {
      parsed = parseVersion(version);
    } catch (error) {
      writeError(reply, error);
      return;
    }
    relay(options, request, reply, model, parsed);
  };
  const relayTfServing: onRequestHookHandler = (request, reply) => {
    const match = TF_SERVING_PATH.exec(request.url);
    let model: string | undefined;
    try {
      model = match?.[1] === undefined ? undefined : decodeURIComponent(match[1]);
    } catch {
      model = undefined;
    }
    relay(options, request, reply, model, match?.[2] === undefined ? undefined : Number(match[2]), true);
  };
  const json = (reply: FastifyReply, value: unknown): FastifyReply => reply.header('content-type', 'application/json').send(JSON.stringify(value));
  const metadata = async (request: FastifyRequest, reply: FastifyReply): Promise<FastifyReply> => {
    const { model = '', version } = request.params as ModelParams;
    return json(reply, await options.service.fetchModelMetadata(model, parseVersion(version)));
  };
  const config = async (request: FastifyRequest, reply: FastifyReply): Promise<FastifyReply> => {
    const { model = '', version } = request.params as ModelParams;
    return json(reply, await options.service.fetchModelConfig(model, parseVersion(version)));
  };
  const stats = async (request: FastifyRequest, reply: FastifyReply): Promise<FastifyReply> => {
    const { model, version } = request.params as ModelParams;
    return json(reply, { model_stats: await options.service.fetchModelStatistics(model, parseVersion(version)) });
  };

  app.addHook('onRoute', (route: RouteOptions) => {
    const hook =
      route.url === TF_SERVING_ROUTE
        ? relayTfServing
        : route.method === 'POST' && INFER_ROUTES.has(route.url)
          ? relayInfer
          : route.method === 'GET' && METADATA_ROUTES.has(route.url)
            ? metadata
            : route.method === 'GET' && CONFIG_ROUTES.has(route.url)
              ? config
              : route.method === 'GET' && STATS_ROUTES.has(route.url)
                ? stats
                : undefined;
    if (!hook) return;
    const existing = route.onRequest === undefined ? [] : Array.isArray(route.onRequest) ? route.onRequest : [route.onRequest];
    route.onRequest = [...existing, hook];
  });
}

/**
 * Takes the request over: reads the raw body, routes it, writes the worker's answer. With
 * `anyWorkerIfUnknown`, a model (or version) the cluster does not know is asked of any worker, so
 * the "not found" answer comes in that API's own wording (TF Serving's differs from OIP's).
 */
function relay(options: RestForwardingOptions, request: FastifyRequest, reply: FastifyReply, model: string | undefined, version: number | undefined, anyWorkerIfUnknown = false): void {
  reply.hijack();
  relayRaw(options, request.raw, reply.raw, model, version, anyWorkerIfUnknown, request.id);
}

/**
 * The relay on node's own request and response (fastify's hooks and the fast lane both end here).
 * `generatedId` is the id to use when neither the header nor the body names one (fastify made one
 * already; the fast lane makes one only then).
 */
export function relayRaw(
  options: RestForwardingOptions,
  req: IncomingMessage,
  res: ServerResponse,
  model: string | undefined,
  version: number | undefined,
  anyWorkerIfUnknown: boolean,
  generatedId?: string,
): void {
  const cancel = new Cancellation();
  res.once('close', () => {
    if (!res.writableFinished) cancel.abort(new CranberriesError('CANCELLED', 'the client closed the connection'));
  });
  // The header's id, else (once the body is read) the OIP id, else a generated one.
  let requestId = usableRequestId(req.headers[REQUEST_ID_HEADER]);
  readBody(req, options.maxBodyBytes)
    .then((body) => {
      requestId ??= peekId(req, body) ?? generatedId ?? newRequestId();
      const id = requestId;
      const upstream = { method: req.method ?? 'POST', path: req.url ?? '/', headers: forwardedHeaders(req.headers, id, options.forwardHeaders), body };
      if (model === undefined) return relayToAnyWorker(options, upstream, id, cancel);
      const affinity = restSequenceKey(body, req.headers['inference-header-content-length'], req.headers['content-encoding']);
      const routed = options.router.route({ model, version, requestId: id, cancel, affinity }, (endpoint) => options.http.send(endpoint, upstream, cancel));
      if (!anyWorkerIfUnknown) return routed;
      return routed.catch((error: unknown) => {
        if (error instanceof CranberriesError && error.code === 'NOT_FOUND') return relayToAnyWorker(options, upstream, id, cancel);
        throw error;
      });
    })
    .then(
      (response) => {
        try {
          writeResponse(res, response);
        } catch (error) {
          // A header node refuses to write (nothing a worker should send): the exchange cannot be saved.
          options.logger?.error({ err: error, requestId, url: req.url }, 'relaying a worker answer failed');
          res.destroy();
        }
      },
      (error: unknown) => {
        const failure = asCranberriesError(error);
        if (failure.code === 'INTERNAL') options.logger?.error({ err: error, requestId, url: req.url }, 'relaying a request failed');
        writeRawError(res, statusOf(failure), failure.message, (requestId ??= generatedId ?? newRequestId()));
      },
    );
}

/** For `/v1/...` paths that name no model: any worker that is up answers them alike. */
async function relayToAnyWorker(options: RestForwardingOptions, upstream: Parameters<HttpUpstreams['send']>[1], requestId: string, cancel: Cancellation): Promise<UpstreamResponse> {
  const endpoint = options.service.anyUpEndpoint();
  if (!endpoint) throw withRequestId(new CranberriesError('UNAVAILABLE', 'no worker is reachable'), requestId);
  const outcome = await options.http.send(endpoint, upstream, cancel);
  if (outcome.ok) return outcome.value;
  if (outcome.answer) return outcome.answer;
  throw withRequestId(new CranberriesError('UNAVAILABLE', `worker ${endpoint.nodeId} could not serve it (${outcome.detail})`), requestId);
}

/** The OIP `id` of an uncompressed JSON request, if cheap to find. */
function peekId(req: IncomingMessage, body: Buffer | undefined): string | undefined {
  if (!body || (req.headers['content-encoding'] ?? 'identity') !== 'identity') return undefined;
  const header = req.headers['inference-header-content-length'];
  const jsonLength = header === undefined ? body.length : Number(header);
  return Number.isInteger(jsonLength) && jsonLength > 0 ? peekJsonId(body, jsonLength) : undefined;
}

function readBody(req: IncomingMessage, maxBytes: number): Promise<Buffer | undefined> {
  return new Promise((resolve, reject) => {
    const declared = Number(req.headers['content-length']);
    if (declared > maxBytes) {
      reject(tooLarge(maxBytes));
      req.resume();
      return;
    }
    const chunks: Buffer[] = [];
    let length = 0;
    req.on('data', (chunk: Buffer) => {
      length += chunk.length;
      if (length > maxBytes) {
        reject(tooLarge(maxBytes));
        req.destroy();
        return;
      }
      chunks.push(chunk);
    });
    req.once('end', () => resolve(chunks.length === 0 ? undefined : chunks.length === 1 ? chunks[0] : Buffer.concat(chunks, length)));
    req.once('error', reject);
    req.once('aborted', () => reject(new CranberriesError('CANCELLED', 'the client closed the connection')));
  });
}

class PayloadTooLarge extends CranberriesError {
  readonly status = 413;
}

function tooLarge(maxBytes: number): CranberriesError {
  return new PayloadTooLarge('INVALID_ARGUMENT', `request body exceeds the limit of ${maxBytes} bytes`);
}

function writeResponse(res: ServerResponse, response: UpstreamResponse): void {
  if (res.destroyed) return;
  // The headers object is this answer's own copy (relayedHeaders): completed in place.
  response.headers['content-length'] = String(response.length);
  res.writeHead(response.statusCode, response.headers);
  // One write: headers and body leave in a single syscall (each write would be one).
  const [first] = response.body;
  res.end(response.body.length === 1 ? first : response.body.length === 0 ? undefined : Buffer.concat(response.body, response.length));
}

/** The error answer every Cranberries REST API gives (`{"error", "request_id"}`, `x-request-id`). */
function writeRawError(res: ServerResponse, status: number, message: string, requestId: string): void {
  if (res.destroyed || res.headersSent) {
    res.destroy();
    return;
  }
  const body = JSON.stringify({ error: message, request_id: requestId });
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(body)), [REQUEST_ID_HEADER]: requestId });
  res.end(body);
}

function writeError(reply: FastifyReply, error: unknown): void {
  const failure = asCranberriesError(error);
  reply.hijack();
  writeRawError(reply.raw, statusOf(failure), failure.message, reply.request.id);
}

function statusOf(error: CranberriesError): number {
  return error instanceof PayloadTooLarge ? error.status : httpStatusOf(error.code);
}
