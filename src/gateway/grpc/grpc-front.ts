/**
 * The gateway's gRPC front door: a raw `node:http2` server on the public gRPC port that relays the
 * unary inference methods (`RELAYED_UNARY_METHODS`: OIP ModelInfer, TF Serving Predict & co.)
 * straight to a worker, frame bytes in, frame bytes out, and hands every other call to the
 * gateway's grpc-js server (metadata, health, repository, ModelStreamInfer...), which listens on an
 * in-process loopback port, by proxying the HTTP/2 stream as it is.
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
import * as http2 from 'node:http2';
import type { AddressInfo } from 'node:net';
import type { TlsOptions } from 'node:tls';
import type { Logger } from 'pino';
import { CranberriesError, unavailable } from '../../core/index.js';
import { logFailure, toServiceError, applyHttp2SessionLimits, http2SettingsWithLimits } from '../../protocols/grpc/index.js';
import { REQUEST_ID_HEADER, resolveRequestId, DEFAULT_LISTENER_LIMITS, type GrpcListenerLimits } from '../../protocols/common/index.js';
import { Cancellation, type RequestRouter } from '../routing/index.js';
import { RELAYED_UNARY_METHODS, TFS_PREDICT, type MessageRouter } from './grpc-forwarding.js';
import { TENSOR_SERIALIZATION_HEADER } from '../../protocols/tfserving/index.js';
import { forgetListeners, H2_SESSION_WINDOW, H2_SETTINGS, messageLength, type H2Answer, type H2Upstreams } from './h2-upstreams.js';

export interface GrpcFrontOptions {
  readonly router: RequestRouter;
  readonly upstreams: H2Upstreams;
  /** `host:port` of the gateway's grpc-js server, which answers every call not relayed here. */
  readonly fallbackAddress: () => string;
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

const { NGHTTP2_CANCEL, NGHTTP2_INTERNAL_ERROR, NGHTTP2_NO_ERROR, NGHTTP2_FLAG_END_STREAM } = http2.constants;
const GRPC_CONTENT_TYPE = 'application/grpc+proto';
const DEADLINE_EXCEEDED = 4;
/** `grpc-timeout`: up to 8 digits and a unit (hours, minutes, seconds, milli-, micro-, nanoseconds). */
const TIMEOUT = /^(\d{1,8})([HMSmun])$/;
const TIMEOUT_UNIT_MS: Readonly<Record<string, number>> = { H: 3_600_000, M: 60_000, S: 1000, m: 1, u: 0.001, n: 0.000001 };
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
/** Answer headers not relayed: node:http2 sets its own, or they describe the worker's connection. */
const NOT_RELAYED = new Set(['date', 'connection', 'keep-alive', 'proxy-connection', 'transfer-encoding', 'upgrade', 'content-length']);

const ignore = (): void => undefined;

export class GrpcFront {
  private readonly server: http2.Http2Server | http2.Http2SecureServer;
  private readonly sessions = new Set<http2.ServerHttp2Session>();
  private readonly methods: ReadonlyMap<string, MessageRouter>;
  private fallback: http2.ClientHttp2Session | undefined;

  constructor(private readonly options: GrpcFrontOptions) {
    this.methods = options.methods ?? RELAYED_UNARY_METHODS;
    const limits = options.limits ?? DEFAULT_LISTENER_LIMITS.grpc;
    const serverOptions = { settings: http2SettingsWithLimits(H2_SETTINGS, limits), maxSessionMemory: Number.MAX_SAFE_INTEGER, maxSendHeaderBlockLength: Number.MAX_SAFE_INTEGER };
    this.server = options.tls ? http2.createSecureServer({ ...serverOptions, ...options.tls, ALPNProtocols: ['h2'] }) : http2.createServer(serverOptions);
    this.server.on('session', (session) => {
      this.sessions.add(session);
      session.on('error', ignore);
      session.once('close', () => this.sessions.delete(session));
      session.once('connect', () => session.setLocalWindowSize(H2_SESSION_WINDOW));
    });
    this.server.on('stream', (stream, headers) => this.onStream(stream, headers));
    this.server.on('sessionError', ignore);
    applyHttp2SessionLimits(this.server, limits);
  }

  /** The node server (an Http2SecureServer with TLS, whose certificate the caller keeps current). */
  get nodeServer(): http2.Http2Server | http2.Http2SecureServer {
    return this.server;
  }

  listen(host: string, port: number): Promise<number> {
    return new Promise((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(port, host, () => {
        this.server.off('error', reject);
        resolve((this.server.address() as AddressInfo).port);
      });
    });
  }

  /** Stops accepting connections and ends every session once its calls are answered (GOAWAY). */
  close(): Promise<void> {
    return new Promise((resolve) => {
      if (!this.server.listening) {
        resolve();
        return;
      }
      this.server.close(() => {
        this.fallback?.close();
        resolve();
      });
      for (const session of this.sessions) session.close();
    });
  }

  private onStream(stream: http2.ServerHttp2Stream, headers: http2.IncomingHttpHeaders): void {
    stream.on('error', ignore);
    stream.once('close', onClosed);
    const path = headers[':path'];
    const route = path === undefined ? undefined : this.methods.get(path);
    const contentType = headers['content-type'];
    if (
      route === undefined ||
      path === undefined ||
      headers[':method'] !== 'POST' ||
      contentType === undefined ||
      !contentType.startsWith('application/grpc') ||
      (this.options.admits !== undefined && !this.options.admits(path, headers))
    ) {
      this.proxy(stream, headers, [], false);
      return;
    }
    let timeoutMs: number | undefined;
    const timeout = headers['grpc-timeout'];
    if (timeout !== undefined) {
      timeoutMs = parseTimeout(timeout);
      if (timeoutMs === undefined) {
        this.proxy(stream, headers, [], false);
        return;
      }
    }
    const max = this.options.maxMessageBytes;
    const chunks: Buffer[] = [];
    let length = 0;
    const onData = (chunk: Buffer): void => {
      const before = length;
      length += chunk.length;
      chunks.push(chunk);
      if (before < 5 && length >= 5 && messageLength(chunks) > max) {
        // Over the limit: grpc-js answers it (RESOURCE_EXHAUSTED, in its words) from the prefix on.
        stream.off('data', onData);
        stream.off('end', onEnd);
        this.proxy(stream, headers, chunks, false);
      }
    };
    const onEnd = (): void => {
      const body = chunks.length === 1 ? (chunks[0] as Buffer) : Buffer.concat(chunks, length);
      // Exactly one uncompressed message; anything else is grpc-js's to answer.
      if (length < 5 || body[0] !== 0 || body.readUInt32BE(1) !== length - 5) this.proxy(stream, headers, chunks, true);
      else this.relay(stream, headers, path, route, body, timeoutMs);
    };
    stream.on('data', onData);
    stream.once('end', onEnd);
  }

  /** Sends one call to a replica of its model and relays the answer. */
  private relay(stream: http2.ServerHttp2Stream, headers: http2.IncomingHttpHeaders, path: string, route: MessageRouter, body: Buffer, timeoutMs: number | undefined): void {
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

  /**
   * Hands a call to the gateway's grpc-js server: the client's headers and the bytes read so far,
   * then the rest of the stream both ways, answer headers and trailers as grpc-js sends them.
   */
  private proxy(stream: http2.ServerHttp2Stream, headers: http2.IncomingHttpHeaders, read: readonly Buffer[], ended: boolean): void {
    let call: http2.ClientHttp2Stream;
    try {
      call = this.fallbackSession().request(copyHeaders(headers, NO_PSEUDO_EXCEPT_PATH_AND_METHOD, true));
    } catch (error) {
      writeError(stream, unavailable(`the gateway's gRPC service is not available: ${error instanceof Error ? error.message : String(error)}`), undefined);
      return;
    }
    call.on('error', ignore);
    let trailers: http2.IncomingHttpHeaders | undefined;
    call.once('response', (head, flags) => {
      if (stream.closed || stream.destroyed) return;
      safely(stream, () => {
        if ((flags & NGHTTP2_FLAG_END_STREAM) !== 0) {
          stream.respond(copyHeaders(head, NOT_RELAYED, false), { endStream: true });
          return;
        }
        stream.respond(copyHeaders(head, NOT_RELAYED, false), { waitForTrailers: true });
        stream.once('wantTrailers', () => {
          safely(stream, () => stream.sendTrailers(trailers ? copyHeaders(trailers, NOT_RELAYED, false) : { 'grpc-status': '13', 'grpc-message': encodeURI('the call ended without a status') }));
        });
        call.pipe(stream);
      });
    });
    call.on('trailers', (received: http2.IncomingHttpHeaders) => {
      trailers = received;
    });
    call.once('close', () => {
      if (call.rstCode === NGHTTP2_NO_ERROR || stream.closed || stream.destroyed) return;
      if (!stream.headersSent) writeError(stream, unavailable("the gateway's gRPC service dropped the call"), undefined);
      else stream.close(NGHTTP2_INTERNAL_ERROR);
    });
    stream.once('close', () => {
      if (!call.closed) call.close(NGHTTP2_CANCEL);
    });
    for (const chunk of read) call.write(chunk);
    if (ended) call.end();
    else stream.pipe(call);
  }

  private fallbackSession(): http2.ClientHttp2Session {
    const existing = this.fallback;
    if (existing && !existing.closed && !existing.destroyed) return existing;
    const session = http2.connect(`http://${this.options.fallbackAddress()}`, { settings: H2_SETTINGS, maxSessionMemory: Number.MAX_SAFE_INTEGER });
    session.on('error', ignore);
    session.once('connect', () => session.setLocalWindowSize(H2_SESSION_WINDOW));
    session.once('close', () => {
      if (this.fallback === session) this.fallback = undefined;
    });
    session.unref();
    this.fallback = session;
    return session;
  }
}

/** Runs first among a front stream's 'close' listeners (the others still run: emit copies the list). */
function onClosed(this: http2.ServerHttp2Stream): void {
  forgetListeners(this);
}

/** A `grpc-timeout` value in ms, or undefined when it is not one. */
export function parseTimeout(value: string | string[]): number | undefined {
  const match = typeof value === 'string' ? TIMEOUT.exec(value) : null;
  if (match === null) return undefined;
  return Number(match[1]) * (TIMEOUT_UNIT_MS[match[2] as string] as number);
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

const NO_PSEUDO_EXCEPT_PATH_AND_METHOD = new Set(['connection', 'keep-alive', 'proxy-connection', 'transfer-encoding', 'upgrade', 'host', 'http2-settings']);

/** A copy of a header block without the `skip`ped names and, unless `keepPathAndMethod`, without pseudo-headers other than `:status`. */
function copyHeaders(headers: http2.OutgoingHttpHeaders, skip: ReadonlySet<string>, keepPathAndMethod: boolean): http2.OutgoingHttpHeaders {
  const out: http2.OutgoingHttpHeaders = {};
  for (const name in headers) {
    if (skip.has(name)) continue;
    if (name.charCodeAt(0) === 0x3a) {
      const keep = keepPathAndMethod ? name === ':path' || name === ':method' : name === ':status';
      if (!keep) continue;
    }
    out[name] = headers[name];
  }
  return out;
}

/**
 * Runs `write` on a stream, resetting the stream if node refuses it (a header it will not send,
 * a stream closed in between): an exception here would otherwise escape an event handler.
 */
function safely(stream: http2.ServerHttp2Stream, write: () => void): void {
  try {
    write();
  } catch {
    if (!stream.destroyed) stream.close(NGHTTP2_INTERNAL_ERROR);
  }
}

/** Writes a worker's answer: its headers, message frames and trailers (or its trailers-only answer). */
function writeAnswer(stream: http2.ServerHttp2Stream, answer: H2Answer): void {
  if (stream.closed || stream.destroyed) return;
  safely(stream, () => {
    const head = copyHeaders(answer.headers, NOT_RELAYED, false);
    const trailers = answer.trailers;
    if (trailers === undefined) {
      stream.respond(head, { endStream: true });
      return;
    }
    stream.respond(head, { waitForTrailers: true });
    stream.once('wantTrailers', () => safely(stream, () => stream.sendTrailers(copyHeaders(trailers, NOT_RELAYED, false))));
    const { body } = answer;
    if (body.length === 1) stream.end(body[0]);
    else {
      for (const chunk of body) stream.write(chunk);
      stream.end();
    }
  });
}

/** The gateway's own failure as a gRPC status (with the request id in the response metadata once known). */
function writeError(stream: http2.ServerHttp2Stream, error: unknown, requestId: string | undefined): void {
  const status = toServiceError(error);
  writeStatus(stream, status.code ?? 2, status.details ?? status.message, requestId);
}

function writeStatus(stream: http2.ServerHttp2Stream, code: number, details: string, requestId: string | undefined): void {
  if (stream.closed || stream.destroyed) return;
  if (stream.headersSent) {
    stream.close(NGHTTP2_INTERNAL_ERROR);
    return;
  }
  const trailers = { 'grpc-status': String(code), 'grpc-message': encodeURI(details) };
  safely(stream, () => {
    if (requestId === undefined) {
      stream.respond({ ':status': 200, 'content-type': GRPC_CONTENT_TYPE, ...trailers }, { endStream: true });
      return;
    }
    // As grpc-js did: the id in the response metadata, then the status.
    stream.respond({ ':status': 200, 'content-type': GRPC_CONTENT_TYPE, [REQUEST_ID_HEADER]: requestId }, { waitForTrailers: true });
    stream.once('wantTrailers', () => safely(stream, () => stream.sendTrailers(trailers)));
    stream.end();
  });
}
