/**
 * The protocol adapters' side of a request trace: starting it (sampling, context propagation from
 * the request's headers or metadata) and stamping the protocol's own points, with Triton's names.
 *
 * - REST: `HTTP_RECV_START` once the request's headers are read, `HTTP_RECV_END` once its body is,
 *   `HTTP_SEND_START` before the answer is written and `HTTP_SEND_END` once it has been flushed to
 *   the socket; requests that go through fastify's body reader (compressed or chunked bodies) have
 *   no receive timestamps.
 * - gRPC: grpc-js calls the handler with the message already read, so there is only
 *   `GRPC_WAITREAD_END` (Triton's `GRPC_WAITREAD_START` includes the wait for the client and has no
 *   counterpart here); `GRPC_SEND_START` before the answer is handed to grpc-js, `GRPC_SEND_END`
 *   once grpc-js has written it to the HTTP/2 stream.
 * - Both: `INFER_RESPONSE_COMPLETE` when the inference answered.
 */
import type { ServerResponse } from 'node:http';
import type { IncomingHttpHeaders } from 'node:http2';
import type { Metadata } from '@grpc/grpc-js';
import type { RequestTrace, Tracer } from './tracer.js';

/** What a protocol trace needs of the inference service: its tracer (absent: nothing is traced). */
export interface TracedService {
  readonly tracer?: Tracer | undefined;
}

type IncomingHeaders = Readonly<Record<string, string | string[] | undefined>>;

/** Starts the trace of a REST request for `model` (undefined when it is not traced). */
export function startHttpTrace(service: TracedService, model: string, headers: IncomingHeaders, received: boolean): RequestTrace | undefined {
  const tracer = service.tracer;
  if (!tracer?.settings.active) return undefined;
  const trace = tracer.start(model, (name) => {
    const value = headers[name];
    return Array.isArray(value) ? value[0] : value;
  });
  if (trace && !received) trace.stamp('HTTP_RECV_START');
  return trace;
}

/** The answer is about to be written to `response`: the trace ends once it is flushed (or the connection closes). */
export function traceHttpSend(trace: RequestTrace, response: ServerResponse): void {
  trace.stamp('HTTP_SEND_START');
  response.once('finish', () => {
    trace.stamp('HTTP_SEND_END');
    trace.end();
  });
  response.once('close', () => trace.end());
}

/**
 * Starts the trace of a gRPC inference request (unary or one message of a stream): its metadata as
 * grpc-js hands it, or the request's HTTP/2 headers when the call is answered without grpc-js.
 */
export function startGrpcTrace(service: TracedService, model: string, metadata: Metadata | IncomingHttpHeaders): RequestTrace | undefined {
  const tracer = service.tracer;
  if (!tracer?.settings.active) return undefined;
  const trace = tracer.start(model, (name) => {
    const value = isMetadata(metadata) ? metadata.get(name)[0] : metadata[name];
    return typeof value === 'string' ? value : undefined;
  });
  trace?.stamp('GRPC_WAITREAD_END');
  return trace;
}

/**
 * The answer is about to be handed to grpc-js. grpc-js writes it in the continuation of the
 * handler's promise, before the next macrotask: `GRPC_SEND_END` is stamped then.
 */
export function traceGrpcSend(trace: RequestTrace | undefined): void {
  if (!trace) return;
  trace.stamp('GRPC_SEND_START');
  setImmediate(() => {
    trace.stamp('GRPC_SEND_END');
    trace.end();
  });
}

function isMetadata(value: Metadata | IncomingHttpHeaders): value is Metadata {
  return typeof (value as Partial<Metadata>).getMap === 'function';
}
