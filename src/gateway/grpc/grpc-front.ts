/**
 * The gateway's gRPC front door: a raw `node:http2` server on the public gRPC port that relays the
 * unary inference methods (`RELAYED_UNARY_METHODS`: OIP ModelInfer, TF Serving Predict & co.)
 * straight to a worker, frame bytes in, frame bytes out, and hands every other call to the
 * gateway's grpc-js server (metadata, health, repository, ModelStreamInfer...), reached over an
 * in-memory connection, by proxying the HTTP/2 stream as it is (the front itself is
 * `protocols/grpc`'s `H2UnaryFront`; this file is the relay).
 *
 * Why: relaying through grpc-js as server *and* client cost the gateway about as much CPU per call
 * as the load generator and the worker together (B8, tiny model: 350–650 µs against ~200 + ~200);
 * the call path here is one HTTP/2 stream in and one out, with only the routing fields read
 * (wire-fields.ts), about 30% less CPU per call side by side. What remains is mostly node:http2
 * itself (nghttp2, the stream objects and the young-generation GC they cause).
 *
 * What a relayed call keeps from the grpc-js path: the request id (`x-request-id`, else the OIP
 * `id`, else generated) sent to the worker and echoed; the client's other metadata forwarded;
 * the worker's headers, message and trailers (status, message, trailing metadata) relayed
 * unchanged; the retry policy, health marking and metrics of the request router; cancellation
 * when the client resets the stream; `grpc-timeout` enforced here and forwarded (reduced on a
 * retry); gateway errors as gRPC statuses with the request id. Anything a relayed call does not
 * expect — a compressed or malformed message, an over-sized one, an unreadable `grpc-timeout`,
 * another content type — goes to grpc-js instead, so its answers (RESOURCE_EXHAUSTED and the
 * rest) stay exactly grpc-js's.
 */
import type * as http2 from 'node:http2';
import type { Duplex } from 'node:stream';
import type { TlsOptions } from 'node:tls';
import type { Logger } from 'pino';
import { CranberriesError } from '../../core/index.js';
import { H2UnaryFront, logFailure, relayedHeaders, safely, writeError, writeStatus, type FrontCall, type FrontHandler } from '../../protocols/grpc/index.js';
import { REQUEST_ID_HEADER, resolveRequestId, type GrpcListenerLimits } from '../../protocols/common/index.js';
import { Cancellation, type RequestRouter } from '../routing/index.js';
import { RELAYED_UNARY_METHODS, TFS_PREDICT, type MessageRouter } from './grpc-forwarding.js';
import { TENSOR_SERIALIZATION_HEADER } from '../../protocols/tfserving/index.js';
import type { H2Answer, H2Upstreams } from './h2-upstreams.js';

export { parseTimeout } from '../../protocols/grpc/index.js';

export interface GrpcFrontOptions {
  readonly router: RequestRouter;
  readonly upstreams: H2Upstreams;
  /** Opens a connection to the gateway's grpc-js server, which answers every call not relayed here. */
  readonly connectFallback: () => Duplex;
  /** Largest request message relayed; larger ones go to grpc-js, which refuses them. */
  readonly maxMessageBytes: number;
  /** Methods relayed here, by path. Default `RELAYED_UNARY_METHODS`. */
  readonly methods?: ReadonlyMap<string, MessageRouter> | undefined;
  readonly logger?: Logger | undefined;
  /** Connection limit, idle/keepalive/age timeouts, streams per connection. Default `DEFAULT_LISTENER_LIMITS.grpc`. */
  readonly limits?: GrpcListenerLimits | undefined;
  /** Whether a call may be relayed here (access control); false: grpc-js, whose interceptor answers it. */
  readonly admits?: ((path: string, headers: http2.IncomingHttpHeaders) => boolean) | undefined;
  /** Serve gRPC over TLS (ALPN h2) with these options; absent: plaintext (h2c). */
  readonly tls?: TlsOptions | undefined;
  /** Ask the workers for TF Serving Predict answers in `tensor_content` (`--enable-serialization-as-tensor-content`), unless the client asked for a form. */
  readonly tfsTensorContent?: boolean | undefined;
}

const DEADLINE_EXCEEDED = 4;
/** Client headers not forwarded to a worker: set anew for the upstream call, or connection-specific. */
const NOT_FORWARDED = new Set([
  'content-type',
  'te',
  REQUEST_ID_HEADER,
  'user-agent',
  'grpc-timeout',
  'connection',
  'keep-alive',
  'proxy-connection',
  'transfer-encoding',
  'upgrade',
  'host',
  'content-length',
  'http2-settings',
]);

export class GrpcFront {
  private readonly front: H2UnaryFront;

  constructor(private readonly options: GrpcFrontOptions) {
    const handlers = new Map<string, FrontHandler>();
    for (const [path, route] of options.methods ?? RELAYED_UNARY_METHODS) handlers.set(path, (call) => this.relay(call, route));
    this.front = new H2UnaryFront({
      handlers,
      connectFallback: options.connectFallback,
      maxMessageBytes: options.maxMessageBytes,
      limits: options.limits,
      admits: options.admits,
      tls: options.tls,
    });
  }

  /** The node server (an Http2SecureServer with TLS, whose certificate the caller keeps current). */
  get nodeServer(): http2.Http2Server | http2.Http2SecureServer {
    return this.front.nodeServer;
  }

  listen(host: string, port: number): Promise<number> {
    return this.front.listen(host, port);
  }

  /** Stops accepting connections and ends every session once its calls are answered (GOAWAY). */
  close(): Promise<void> {
    return this.front.close();
  }

  /** Sends one call to a replica of its model and relays the answer. */
  private relay(call: FrontCall, route: MessageRouter): void {
    const { stream, headers, path, body, timeoutMs } = call;
    let target: ReturnType<MessageRouter>;
    try {
      target = route(body.subarray(5));
    } catch (error) {
      logFailure(this.options.logger, path, error);
      writeError(stream, error, undefined);
      return;
    }
    const requestId = resolveRequestId(headers[REQUEST_ID_HEADER], target.id).id;
    const cancel = new Cancellation();
    let answered = false;
    stream.once('close', () => {
      if (!answered) cancel.abort(new CranberriesError('CANCELLED', 'the client cancelled the call'));
    });
    const upstream = forwardedHeaders(headers, path, requestId);
    if (this.options.tfsTensorContent && path === TFS_PREDICT && upstream[TENSOR_SERIALIZATION_HEADER] === undefined) upstream[TENSOR_SERIALIZATION_HEADER] = 'tensor_content';
    let timer: NodeJS.Timeout | undefined;
    let deadline = 0;
    if (timeoutMs !== undefined) {
      deadline = Date.now() + timeoutMs;
      timer = setTimeout(() => {
        if (answered) return;
        answered = true;
        cancel.abort(new CranberriesError('DEADLINE_EXCEEDED', 'Deadline exceeded'));
        writeStatus(stream, DEADLINE_EXCEEDED, 'Deadline exceeded', requestId);
      }, timeoutMs);
    }
    const { upstreams } = this.options;
    this.options.router
      .route({ model: target.model, version: target.version, requestId, cancel, affinity: target.affinity }, (endpoint) => {
        // The worker gets what is left of the caller's deadline (less on a retry).
        if (timer !== undefined) upstream['grpc-timeout'] = `${Math.max(1, Math.ceil(deadline - Date.now()))}m`;
        return upstreams.unary(endpoint, upstream, body, cancel);
      })
      .then(
        (answer) => {
          clearTimeout(timer);
          if (answered) return;
          answered = true;
          writeAnswer(stream, answer);
        },
        (error: unknown) => {
          clearTimeout(timer);
          if (answered) return;
          answered = true;
          logFailure(this.options.logger, path, error);
          writeError(stream, error, requestId);
        },
      );
  }
}

/** The headers of the upstream call: method, path, content type, the request id, and the client's metadata. */
function forwardedHeaders(headers: http2.IncomingHttpHeaders, path: string, requestId: string): http2.OutgoingHttpHeaders {
  const out: http2.OutgoingHttpHeaders = { ':method': 'POST', ':path': path, 'content-type': headers['content-type'], te: 'trailers', [REQUEST_ID_HEADER]: requestId };
  for (const name in headers) {
    if (name.charCodeAt(0) === 0x3a || NOT_FORWARDED.has(name)) continue;
    out[name] = headers[name];
  }
  return out;
}

/** Writes a worker's answer: its headers, message frames and trailers (or its trailers-only answer). */
function writeAnswer(stream: http2.ServerHttp2Stream, answer: H2Answer): void {
  if (stream.closed || stream.destroyed) return;
  safely(stream, () => {
    const head = relayedHeaders(answer.headers);
    const trailers = answer.trailers;
    if (trailers === undefined) {
      stream.respond(head, { endStream: true });
      return;
    }
    stream.respond(head, { waitForTrailers: true });
    stream.once('wantTrailers', () => safely(stream, () => stream.sendTrailers(relayedHeaders(trailers))));
    const { body } = answer;
    if (body.length === 1) stream.end(body[0]);
    else {
      for (const chunk of body) stream.write(chunk);
      stream.end();
    }
  });
}
