/**
 * A raw `node:http2` gRPC server that answers a few unary methods itself and hands every other
 * call to a grpc-js server by proxying the HTTP/2 stream as it is. The gateway uses it to relay
 * inference to the workers (`gateway/grpc/grpc-front.ts`); a model server uses it to answer
 * ModelInfer and TF Serving Predict (`unary-fast-path.ts`).
 *
 * Why: grpc-js's server machinery (call objects, interceptors, metadata objects, the deadline and
 * cancellation plumbing) costs more CPU per small call than HTTP/2 itself: a worker spent about
 * 200 µs per tiny ModelInfer against about 170 µs for the same call over REST binary. A handler
 * here reads one length-prefixed message from the stream and writes one answer, nothing more.
 *
 * Only the calls a handler is sure to answer exactly as grpc-js would stay here. Anything else —
 * an unknown path, a compressed or malformed message, an over-sized one, an unreadable
 * `grpc-timeout`, another content type, a call the access policy does not admit — goes to grpc-js,
 * so its answers (RESOURCE_EXHAUSTED, UNAUTHENTICATED and the rest) stay exactly grpc-js's. A
 * handler may also hand its call over after reading it (`FrontCall.fallBack`), e.g. when the
 * message does not decode.
 *
 * The grpc-js server is reached over one HTTP/2 session on a connection the caller opens
 * (`connectFallback`): an in-memory pair (`in-memory-connection.ts`), so it listens on no port.
 */
import * as http2 from 'node:http2';
import type { Duplex } from 'node:stream';
import type { AddressInfo } from 'node:net';
import type { TlsOptions } from 'node:tls';
import { unavailable } from '../../core/index.js';
import { DEFAULT_LISTENER_LIMITS, REQUEST_ID_HEADER, type GrpcListenerLimits } from '../common/index.js';
import { applyHttp2SessionLimits, http2SettingsWithLimits } from './http2-session-limits.js';
import { toServiceError } from './status-mapping.js';

/** One call a handler answers: the request's headers and its single framed message, read in full. */
export interface FrontCall {
  readonly stream: http2.ServerHttp2Stream;
  readonly headers: http2.IncomingHttpHeaders;
  readonly path: string;
  /** The request as received: the 5-byte gRPC prefix (uncompressed, length checked) and the message. */
  readonly body: Buffer;
  /** `grpc-timeout` in ms, when the client set one. */
  readonly timeoutMs: number | undefined;
  /** Hands the call to grpc-js instead (before anything was written to the stream). */
  fallBack(): void;
}

export type FrontHandler = (call: FrontCall) => void;

export interface H2UnaryFrontOptions {
  /** The methods answered here, by path (`/package.Service/Method`). */
  readonly handlers: ReadonlyMap<string, FrontHandler>;
  /** Opens a connection to the grpc-js server that answers every other call. */
  readonly connectFallback: () => Duplex;
  /** Largest request message handled here; larger ones go to grpc-js, which refuses them. */
  readonly maxMessageBytes: number;
  /** Connection limit, idle/keepalive/age timeouts, streams per connection. Default `DEFAULT_LISTENER_LIMITS.grpc`. */
  readonly limits?: GrpcListenerLimits | undefined;
  /** Whether a call may be handled here (access control); false: grpc-js, whose interceptor answers it. */
  readonly admits?: ((path: string, headers: http2.IncomingHttpHeaders) => boolean) | undefined;
  /** Serve gRPC over TLS (ALPN h2) with these options; absent: plaintext (h2c). */
  readonly tls?: TlsOptions | undefined;
}

/** HTTP/2 settings of the front and its connections: windows large enough that big tensors are not throttled by flow control. */
export const H2_SETTINGS: http2.Settings = { initialWindowSize: 1 << 20, maxHeaderListSize: 1 << 20 };
/** Connection-level receive window of the front's sessions (both sides). */
export const H2_SESSION_WINDOW = 8 << 20;

const { NGHTTP2_CANCEL, NGHTTP2_INTERNAL_ERROR, NGHTTP2_NO_ERROR, NGHTTP2_FLAG_END_STREAM } = http2.constants;
export const GRPC_CONTENT_TYPE = 'application/grpc+proto';
/** `grpc-timeout`: up to 8 digits and a unit (hours, minutes, seconds, milli-, micro-, nanoseconds). */
const TIMEOUT = /^(\d{1,8})([HMSmun])$/;
const TIMEOUT_UNIT_MS: Readonly<Record<string, number>> = { H: 3_600_000, M: 60_000, S: 1000, m: 1, u: 0.001, n: 0.000001 };
/** Answer headers not relayed from grpc-js: node:http2 sets its own, or they describe the connection. */
const NOT_RELAYED = new Set(['date', 'connection', 'keep-alive', 'proxy-connection', 'transfer-encoding', 'upgrade', 'content-length']);
/** Client headers not passed to grpc-js: connection-specific (pseudo-headers other than :path and :method are dropped too). */
const NOT_PROXIED = new Set(['connection', 'keep-alive', 'proxy-connection', 'transfer-encoding', 'upgrade', 'host', 'http2-settings']);

const ignore = (): void => undefined;

export class H2UnaryFront {
  private readonly server: http2.Http2Server | http2.Http2SecureServer;
  private readonly sessions = new Set<http2.ServerHttp2Session>();
  private fallback: http2.ClientHttp2Session | undefined;

  constructor(private readonly options: H2UnaryFrontOptions) {
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

  /** Connections open now (for tests and metrics). */
  connectionCount(): Promise<number> {
    return new Promise((resolve, reject) => this.server.getConnections((error, count) => (error ? reject(error) : resolve(count))));
  }

  /** Stops accepting connections and ends every session once its calls are answered (GOAWAY). */
  close(): Promise<void> {
    return new Promise((resolve) => {
      if (!this.server.listening) {
        this.fallback?.close();
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
    const handler = path === undefined ? undefined : this.options.handlers.get(path);
    const contentType = headers['content-type'];
    if (
      handler === undefined ||
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
      if (length < 5 || body[0] !== 0 || body.readUInt32BE(1) !== length - 5) {
        this.proxy(stream, headers, chunks, true);
        return;
      }
      handler({ stream, headers, path, body, timeoutMs, fallBack: () => this.proxy(stream, headers, [body], true) });
    };
    stream.on('data', onData);
    stream.once('end', onEnd);
  }

  /**
   * Hands a call to the grpc-js server: the client's headers and the bytes read so far, then the
   * rest of the stream both ways, answer headers and trailers as grpc-js sends them.
   */
  private proxy(stream: http2.ServerHttp2Stream, headers: http2.IncomingHttpHeaders, read: readonly Buffer[], ended: boolean): void {
    let call: http2.ClientHttp2Stream;
    try {
      call = this.fallbackSession().request(copyHeaders(headers, NOT_PROXIED, true));
    } catch (error) {
      writeError(stream, unavailable(`the gRPC service is not available: ${error instanceof Error ? error.message : String(error)}`), undefined);
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
      if (!stream.headersSent) writeError(stream, unavailable('the gRPC service dropped the call'), undefined);
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
    const session = http2.connect('http://fallback.invalid', {
      settings: H2_SETTINGS,
      maxSessionMemory: Number.MAX_SAFE_INTEGER,
      createConnection: () => this.options.connectFallback(),
    });
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

/**
 * Drops a closed stream's listeners. Node keeps a closed HTTP/2 stream's object alive until a full
 * GC (young-generation GCs see it through its native handle), and with it everything its listeners
 * hold — the request's and the answer's buffers, headers, promise callbacks — which young GCs then
 * copy and promote: measurably the largest part of a relay's GC time.
 */
export function forgetListeners(stream: http2.Http2Stream): void {
  stream.removeAllListeners();
  stream.on('error', ignore);
}

/** Runs first among a front stream's 'close' listeners (the others still run: emit copies the list). */
function onClosed(this: http2.ServerHttp2Stream): void {
  forgetListeners(this);
}

/** The length in the 5-byte prefix of the first gRPC frame held by `chunks` (at least 5 bytes). */
export function messageLength(chunks: readonly Buffer[]): number {
  const first = chunks[0];
  if (first !== undefined && first.length >= 5) return first.readUInt32BE(1);
  return Buffer.concat(chunks).readUInt32BE(1);
}

/** A `grpc-timeout` value in ms, or undefined when it is not one. */
export function parseTimeout(value: string | string[]): number | undefined {
  const match = typeof value === 'string' ? TIMEOUT.exec(value) : null;
  if (match === null) return undefined;
  return Number(match[1]) * (TIMEOUT_UNIT_MS[match[2] as string] as number);
}

/** A copy of a header block without the `skip`ped names and, unless `keepPathAndMethod`, without pseudo-headers other than `:status`. */
export function copyHeaders(headers: http2.OutgoingHttpHeaders, skip: ReadonlySet<string>, keepPathAndMethod: boolean): http2.OutgoingHttpHeaders {
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

/** Headers of an answer as relayed from elsewhere: without the ones that describe that connection. */
export function relayedHeaders(headers: http2.OutgoingHttpHeaders): http2.OutgoingHttpHeaders {
  return copyHeaders(headers, NOT_RELAYED, false);
}

/**
 * Runs `write` on a stream, resetting the stream if node refuses it (a header it will not send,
 * a stream closed in between): an exception here would otherwise escape an event handler.
 */
export function safely(stream: http2.ServerHttp2Stream, write: () => void): void {
  try {
    write();
  } catch {
    if (!stream.destroyed) stream.close(NGHTTP2_INTERNAL_ERROR);
  }
}

/** A failure as a gRPC status (with the request id in the response metadata once known). */
export function writeError(stream: http2.ServerHttp2Stream, error: unknown, requestId: string | undefined): void {
  const status = toServiceError(error);
  writeStatus(stream, status.code ?? 2, status.details ?? status.message, requestId);
}

/** Ends a call with a status: trailers-only, or (with a request id) the id as response metadata, then the status as trailers. */
export function writeStatus(stream: http2.ServerHttp2Stream, code: number, details: string, requestId: string | undefined): void {
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
    // As grpc-js does after `sendMetadata`: the id in the response metadata, then the status.
    stream.respond({ ':status': 200, 'content-type': GRPC_CONTENT_TYPE, [REQUEST_ID_HEADER]: requestId }, { waitForTrailers: true });
    stream.once('wantTrailers', () => safely(stream, () => stream.sendTrailers(trailers)));
    stream.end();
  });
}
