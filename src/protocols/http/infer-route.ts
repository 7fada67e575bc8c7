/**
 * `POST /v2/models/{m}[/versions/{v}]/infer`: the OIP REST inference route, in two lanes that
 * answer byte for byte alike.
 *
 * - **Direct lane** (opt-in, `direct: true`; what a model server uses): a route-level `onRequest`
 *   hook takes the exchange over (`reply.hijack()`) before fastify parses the body, reads the body
 *   from the raw request, runs the inference and writes the answer to the raw response. Fastify's
 *   body parsing, preParsing/onSend hooks and reply serialization cost as much CPU as decoding,
 *   queueing and encoding a small request together (profiled on the tiny model: the handler's own
 *   work was under half of the main thread's time), so skipping them is most of the serving
 *   overhead that can be skipped. What the app's hooks do for other routes, this lane does itself:
 *   the request id in `x-request-id` and in error bodies, failures reported to the service, one
 *   log line per 5xx, response compression.
 * - **Normal lane**: a fastify handler, for requests the direct lane leaves alone — compressed
 *   bodies (the app's preParsing hook inflates them), bodies without `Content-Length` or over the
 *   limit (fastify's body reader enforces it) — and for apps that relay inference elsewhere (the
 *   gateway installs its own hook on this route and leaves `direct` off).
 */
import type { ServerResponse } from 'node:http';
import type { FastifyRequest, onRequestHookHandler, RouteHandlerMethod } from 'fastify';
import type { Logger } from 'pino';
import type { InferenceService, RequestContext } from '../../serving/index.js';
import { adoptOipRequestId } from './request-tracking.js';
import { REQUEST_ID_HEADER } from '../common/index.js';
import { giveBack, takeBuffer, markExclusive } from '../../tensors/index.js';
import { connectionSignal } from './client-signal.js';
import { describeError } from './error-mapping.js';
import { decodeInferRequest, INFERENCE_HEADER_CONTENT_LENGTH, parseJsonLengthHeader, type HttpInferRequest } from './infer-request.js';
import { encodeInferResponse, type EncodedInferResponse } from './infer-response.js';
import { decodeRawInferRequest } from './raw-request.js';
import { bodyOf } from './request-body.js';
import { compressForClient } from './response-compression.js';
import { parseVersion } from './version-param.js';
import { sharedMemoryUse, type SharedMemoryAccess, type SharedMemoryUse } from '../../shared-memory/index.js';
import { startHttpTrace, traceHttpSend, type RequestTrace } from '../../tracing/index.js';

export interface InferRouteOptions {
  readonly service: InferenceService;
  /** System shared memory for tensors that name a region; absent: such tensors are refused. */
  readonly sharedMemory?: SharedMemoryAccess | undefined;
  /** Largest body the direct lane reads; larger ones go the normal lane, which answers 413. */
  readonly maxBodyBytes: number;
  /** Serve eligible requests on the raw request/response (see the module comment). */
  readonly direct: boolean;
  /** Where the direct lane logs 5xx answers (the normal lane logs through fastify). */
  readonly logger?: Logger | undefined;
}

interface InferParams {
  model?: string;
  version?: string;
}

/** The route's handler (normal lane) and, with `direct`, its onRequest hook (direct lane). */
export function inferRoute(options: InferRouteOptions): { handler: RouteHandlerMethod; onRequest?: onRequestHookHandler } {
  const { service } = options;
  const handler: RouteHandlerMethod = async (request, reply) => {
    const { model, version } = targetOf(request);
    const sharedMemory = sharedMemoryUse(options.sharedMemory, model);
    const trace = startHttpTrace(service, model, request.headers, true);
    let encoded: EncodedInferResponse;
    try {
      const http = decodeBody(service, model, version, bodyOf(request), request.headers, sharedMemory);
      adoptOipRequestId(request, http.request.id);
      encoded = await infer(service, http, request, trace);
    } finally {
      sharedMemory?.release();
      if (trace) traceHttpSend(trace, reply.raw);
    }
    if (encoded.jsonLength !== undefined) reply.header(INFERENCE_HEADER_CONTENT_LENGTH, encoded.jsonLength);
    return reply.header('content-type', encoded.contentType).send(encoded.body);
  };
  if (!options.direct) return { handler };

  const onRequest: onRequestHookHandler = (request, reply, done) => {
    if (!directLaneFits(request, options.maxBodyBytes)) {
      done();
      return;
    }
    reply.hijack();
    const trace = startHttpTrace(service, (request.params as InferParams).model ?? '', request.headers, false);
    // A client that goes away before its body arrives ends the trace too.
    if (trace) reply.raw.once('close', () => trace.end());
    readBody(request, Number(request.headers['content-length']), (body) => {
      trace?.stamp('HTTP_RECV_END');
      void answerDirectly(options, request, reply.raw, body, trace);
    });
  };
  return { handler, onRequest };
}

/** Uncompressed, with a declared length within the limit: everything else needs fastify's body reader. */
function directLaneFits(request: FastifyRequest, maxBodyBytes: number): boolean {
  const { headers } = request;
  const encoding = headers['content-encoding'];
  if (encoding !== undefined && encoding !== '' && encoding.trim().toLowerCase() !== 'identity') return false;
  const length = headers['content-length'];
  return length !== undefined && headers['transfer-encoding'] === undefined && Number(length) <= maxBodyBytes;
}

/**
 * Bytes of a body's buffer taken before any of it arrives. Bodies up to this size (nearly all
 * requests, images of a few hundred KB included) are read into one buffer of the declared length,
 * as before; a larger declared length only grows the buffer as data arrives (doubling, so the
 * copies cost at most the body's size once more), so sockets that declare 64 MiB and send nothing
 * hold 1 MiB each at most, not 64.
 */
export const EAGER_BODY_BYTES = 1024 * 1024;

/**
 * The whole body, read into one buffer; nothing when the client goes away first (there is nobody
 * to answer). The buffer starts early enough that the binary part (after
 * `Inference-Header-Content-Length` bytes of JSON) is 8-byte aligned, so tensors decode as views
 * instead of copies, and it is exclusive to this request (see `tensors/exclusive-buffers.ts`).
 * Large bodies are read into recycled buffers (`tensors/buffer-pool.ts`).
 */
export function readBody(request: FastifyRequest, declaredLength: number, onBody: (body: Buffer) => void): void {
  const jsonLength = Number(request.headers[INFERENCE_HEADER_CONTENT_LENGTH] ?? 0);
  const pad = Number.isSafeInteger(jsonLength) && jsonLength > 0 ? (8 - (jsonLength % 8)) % 8 : 0;
  let capacity = Math.min(declaredLength, EAGER_BODY_BYTES);
  let body = Buffer.from(takeBuffer(pad + capacity), pad, capacity);
  let received = 0;
  const raw = request.raw;
  raw.on('data', (chunk: Buffer) => {
    // The HTTP parser never delivers more than Content-Length; the guards keep it that way.
    if (received + chunk.length > capacity && capacity < declaredLength) {
      capacity = Math.min(declaredLength, Math.max(2 * capacity, received + chunk.length));
      const grown = Buffer.from(takeBuffer(pad + capacity), pad, capacity);
      body.copy(grown, 0, 0, received);
      giveBack(body.buffer);
      body = grown;
    }
    received += chunk.copy(body, received);
  });
  raw.once('end', () => {
    markExclusive(body.buffer);
    onBody(received === declaredLength ? body : body.subarray(0, received));
  });
  raw.once('error', () => undefined);
}

async function answerDirectly(options: InferRouteOptions, request: FastifyRequest, raw: ServerResponse, body: Buffer, trace: RequestTrace | undefined): Promise<void> {
  const { service } = options;
  let target: { model: string; version: number | undefined } | undefined;
  let sharedMemory: SharedMemoryUse | undefined;
  try {
    target = targetOf(request);
    sharedMemory = sharedMemoryUse(options.sharedMemory, target.model);
    const http = decodeBody(service, target.model, target.version, body, request.headers, sharedMemory);
    adoptOipRequestId(request, http.request.id);
    const encoded = await infer(service, http, request, trace);
    const headers: Record<string, string | number> = { 'content-type': encoded.contentType, [REQUEST_ID_HEADER]: request.id };
    if (encoded.jsonLength !== undefined) headers[INFERENCE_HEADER_CONTENT_LENGTH] = encoded.jsonLength;
    const compressing = compressForClient(encoded.body, request.headers['accept-encoding']);
    const compressed = compressing && (await compressing);
    if (compressed !== undefined) {
      headers['content-encoding'] = compressed.encoding;
      headers['vary'] = 'accept-encoding';
    }
    const payload = compressed?.body ?? encoded.body;
    headers['content-length'] = typeof payload === 'string' ? Buffer.byteLength(payload) : payload.byteLength;
    if (trace) traceHttpSend(trace, raw);
    raw.writeHead(200, headers).end(payload);
  } catch (error) {
    const { model, version } = target ?? { model: (request.params as InferParams).model ?? '', version: undefined };
    service.recordRejected?.(model, version, error, request.id);
    const { status, message } = describeError(error, options.maxBodyBytes);
    if (status >= 500) options.logger?.error({ reqId: request.id, err: error }, 'request failed');
    const payload = JSON.stringify({ error: message, request_id: request.id });
    if (trace) traceHttpSend(trace, raw);
    raw.writeHead(status, { 'content-type': 'application/json', [REQUEST_ID_HEADER]: request.id, 'content-length': Buffer.byteLength(payload) }).end(payload);
  } finally {
    sharedMemory?.release();
  }
}

function targetOf(request: FastifyRequest): { model: string; version: number | undefined } {
  const params = request.params as InferParams;
  return { model: params.model ?? '', version: parseVersion(params.version) };
}

function decodeBody(
  service: InferenceService,
  model: string,
  version: number | undefined,
  body: Buffer,
  headers: FastifyRequest['headers'],
  sharedMemory: SharedMemoryUse | undefined,
): HttpInferRequest {
  const jsonLength = parseJsonLengthHeader(headers[INFERENCE_HEADER_CONTENT_LENGTH], body.byteLength);
  if (jsonLength !== 0) return decodeInferRequest(model, version, body, jsonLength, sharedMemory);
  const metadata = service.modelMetadata(model, version);
  return decodeRawInferRequest(model, version, body, metadata.inputs, service.modelConfig(model, version).max_batch_size);
}

async function infer(service: InferenceService, http: HttpInferRequest, request: FastifyRequest, trace: RequestTrace | undefined): Promise<EncodedInferResponse> {
  const context: RequestContext = { signal: connectionSignal(request), requestId: request.id, trace };
  const response = await service.infer(http.request, context);
  trace?.stamp('INFER_RESPONSE_COMPLETE');
  http.sharedMemory?.writeOutputs(response.outputs);
  return encodeInferResponse(response, http);
}
