/**
 * Raw HTTP/2 connections from the gateway to the workers' gRPC ports, for the gRPC front
 * (grpc-front.ts): one `node:http2` session per worker, created on first use, replaced when it
 * closes, dropped when the worker leaves the table or comes back up after being marked down.
 *
 * `unary` sends one gRPC call — the client's headers and length-prefixed message bytes as they came
 * — and buffers the whole answer (headers, message frames, trailers) before resolving, so a worker
 * that dies mid-answer is retried rather than half-relayed (routing/request-router.ts). Nothing is decoded.
 * Transport failures are classified for the retry policy the way grpc-upstreams.ts classifies
 * grpc-js's: no connection → `refused`; a connection or stream that broke under the call →
 * `reset`; the worker's own UNAVAILABLE status → `unavailable` (carrying the answer).
 *
 * This replaces a grpc-js channel per call path: grpc-js's client machinery (resolving, load
 * balancing and retrying call layers, metadata objects, interceptors) cost more CPU per relayed
 * call than HTTP/2 itself.
 */
import * as http2 from 'node:http2';
import { clientConnectionOptions, type ClientTlsOptions } from '../../tls/index.js';
import { forgetListeners, H2_SESSION_WINDOW, H2_SETTINGS, messageLength } from '../../protocols/grpc/index.js';
import type { AttemptOutcome, Cancellation, Endpoint, FailureKind } from '../routing/index.js';

export interface H2UpstreamsOptions {
  /** Largest answer message accepted from a worker, in bytes (the gateway's gRPC limit). */
  readonly maxMessageBytes: number;
  /** Default 2000 ms: a worker that cannot accept a connection in that time is treated as down. */
  readonly connectTimeoutMs?: number | undefined;
  /** A session idle or busy this long is pinged; default 30 s (grpc-js's keepalive in the gateway). */
  readonly keepaliveMs?: number | undefined;
  /** A ping unanswered this long closes the session; default 10 s. */
  readonly keepaliveTimeoutMs?: number | undefined;
  /** Connect to the workers over TLS (ALPN h2) with these settings; absent: plaintext (h2c). */
  readonly tls?: ClientTlsOptions | undefined;
}

/** A worker's whole answer to one call. */
export interface H2Answer {
  /** Response headers (`:status` included). For a trailers-only answer, these carry the status. */
  readonly headers: http2.OutgoingHttpHeaders;
  /** The answer's bytes: gRPC length-prefixed frames, as the worker sent them. */
  readonly body: readonly Buffer[];
  readonly length: number;
  /** Trailers; undefined for a trailers-only answer. */
  readonly trailers: http2.OutgoingHttpHeaders | undefined;
  /** The grpc-status of the answer (from trailers, or from headers when trailers-only). */
  readonly status: number;
}

const UNAVAILABLE = 14;
const NOT_FOUND = 5;
const { NGHTTP2_CANCEL, NGHTTP2_REFUSED_STREAM } = http2.constants;

interface Session {
  readonly session: http2.ClientHttp2Session;
  connected: boolean;
  /** Why the session failed, once it did (for classifying the calls it takes down). */
  failure: Error | undefined;
}

export class H2Upstreams {
  private readonly sessions = new Map<string, Session>();
  private readonly connectTimeoutMs: number;
  private readonly keepaliveMs: number;
  private readonly keepaliveTimeoutMs: number;
  private tls: ClientTlsOptions | undefined;

  constructor(private readonly options: H2UpstreamsOptions) {
    this.connectTimeoutMs = options.connectTimeoutMs ?? 2000;
    this.keepaliveMs = options.keepaliveMs ?? 30_000;
    this.keepaliveTimeoutMs = options.keepaliveTimeoutMs ?? 10_000;
    this.tls = options.tls;
  }

  /** New TLS settings (reloaded files): sessions close once their calls finish; new ones use the settings. */
  setTls(tls: ClientTlsOptions): void {
    this.tls = tls;
    for (const address of [...this.sessions.keys()]) this.drop(address);
  }

  /** Drops the session of a worker (the next call opens a fresh one). */
  reset(endpoint: Endpoint): void {
    this.drop(endpoint.grpcAddress);
  }

  /** Closes the sessions of workers no longer in `endpoints` (calls in flight finish first). */
  retainOnly(endpoints: readonly Endpoint[]): void {
    const keep = new Set(endpoints.map((e) => e.grpcAddress));
    for (const address of [...this.sessions.keys()]) if (!keep.has(address)) this.drop(address);
  }

  close(): void {
    for (const address of [...this.sessions.keys()]) this.drop(address, true);
  }

  /**
   * One call to one worker: resolves with the whole answer or a classified transport failure;
   * rejects with the cancellation's reason when `cancel` fires first. `headers` must hold the
   * pseudo-headers and metadata to send (see grpc-front.ts).
   */
  unary(endpoint: Endpoint, headers: http2.OutgoingHttpHeaders, body: Buffer, cancel?: Cancellation): Promise<AttemptOutcome<H2Answer>> {
    return new Promise((resolve, reject) => {
      if (cancel?.reason) {
        reject(cancel.reason);
        return;
      }
      let entry: Session;
      let stream: http2.ClientHttp2Stream;
      try {
        entry = this.session(endpoint.grpcAddress);
        stream = entry.session.request(headers, { endStream: false });
      } catch (error) {
        // A session that ran out of stream ids or closed under us: one fresh session, once.
        this.drop(endpoint.grpcAddress);
        try {
          entry = this.session(endpoint.grpcAddress);
          stream = entry.session.request(headers, { endStream: false });
        } catch (again) {
          resolve({ ok: false, kind: 'reset', detail: describe(again ?? error) });
          return;
        }
      }
      const max = this.options.maxMessageBytes;
      let responseHeaders: (http2.IncomingHttpHeaders & http2.IncomingHttpStatusHeader) | undefined;
      let trailers: http2.IncomingHttpHeaders | undefined;
      const chunks: Buffer[] = [];
      let length = 0;
      let done = false;
      const unsubscribe = cancel?.onAbort(() => {
        if (done) return;
        done = true;
        stream.close(NGHTTP2_CANCEL);
        reject(cancel.reason ?? new Error('cancelled'));
      });
      const fail = (kind: FailureKind, detail: string): void => {
        if (done) return;
        done = true;
        unsubscribe?.();
        if (!stream.closed) stream.close(NGHTTP2_CANCEL);
        resolve({ ok: false, kind, detail });
      };
      stream.on('response', (received) => {
        responseHeaders = received;
      });
      stream.on('data', (chunk: Buffer) => {
        const before = length;
        length += chunk.length;
        chunks.push(chunk);
        // The answer's one message must fit the gateway's limit, as grpc-js (its former client) enforced.
        if (before < 5 && length >= 5 && !done) {
          const declared = messageLength(chunks);
          if (declared > max) {
            done = true;
            unsubscribe?.();
            stream.close(NGHTTP2_CANCEL);
            resolve({ ok: true, value: tooLargeAnswer(declared, max) });
          }
        }
      });
      stream.on('trailers', (received: http2.IncomingHttpHeaders) => {
        trailers = received;
      });
      stream.on('error', ignore); // reported through 'close' below
      stream.on('close', () => {
        forgetListeners(stream);
        if (done) return;
        const head = responseHeaders;
        const statusSource = trailers ?? head;
        const status = statusSource === undefined ? undefined : Number(statusSource['grpc-status']);
        if (head === undefined || status === undefined || !Number.isInteger(status) || stream.rstCode !== http2.constants.NGHTTP2_NO_ERROR) {
          // No complete answer: the stream or the connection broke.
          if (stream.rstCode === NGHTTP2_REFUSED_STREAM) fail('refused', 'Stream refused by server');
          else if (!entry.connected) fail('refused', entry.failure ? describe(entry.failure) : 'No connection established');
          else fail('reset', entry.failure ? `Connection dropped: ${describe(entry.failure)}` : `Connection dropped (stream closed with code ${stream.rstCode})`);
          return;
        }
        done = true;
        unsubscribe?.();
        const answer: H2Answer = { headers: head, body: chunks, length, trailers, status };
        if (status === UNAVAILABLE) resolve({ ok: false, kind: 'unavailable', detail: grpcMessage(statusSource) ?? 'UNAVAILABLE', answer });
        // NOT_FOUND from a worker the table lists as serving the version: the table is behind (see rest/http-upstreams.ts).
        else if (status === NOT_FOUND) resolve({ ok: false, kind: 'unavailable', detail: grpcMessage(statusSource) ?? 'NOT_FOUND', answer });
        else resolve({ ok: true, value: answer });
      });
      stream.end(body);
    });
  }

  private session(address: string): Session {
    const existing = this.sessions.get(address);
    if (existing && !existing.session.closed && !existing.session.destroyed) return existing;
    const tls = this.tls;
    const session = tls
      ? http2.connect(`https://${address}`, { settings: H2_SETTINGS, maxSessionMemory: Number.MAX_SAFE_INTEGER, ALPNProtocols: ['h2'], ...clientConnectionOptions(tls) })
      : http2.connect(`http://${address}`, { settings: H2_SETTINGS, maxSessionMemory: Number.MAX_SAFE_INTEGER });
    const entry: Session = { session, connected: false, failure: undefined };
    this.sessions.set(address, entry);
    const connectTimer = setTimeout(() => {
      const error = new Error(`connect timeout after ${this.connectTimeoutMs} ms`);
      entry.failure = error;
      session.destroy(error);
    }, this.connectTimeoutMs);
    let keepalive: NodeJS.Timeout | undefined;
    session.once('connect', () => {
      clearTimeout(connectTimer);
      entry.connected = true;
      session.setLocalWindowSize(H2_SESSION_WINDOW);
      keepalive = setInterval(() => {
        const sent = session.ping((error) => {
          clearTimeout(deadline);
          if (error && !session.destroyed) session.destroy(error);
        });
        const deadline = setTimeout(() => session.destroy(new Error('keepalive ping unanswered')), this.keepaliveTimeoutMs);
        deadline.unref();
        if (!sent) clearTimeout(deadline);
      }, this.keepaliveMs);
      keepalive.unref();
    });
    session.on('error', (error: Error) => {
      entry.failure ??= error;
    });
    session.once('goaway', () => {
      // The worker is going away: new calls need a new session (this one finishes its calls).
      if (this.sessions.get(address) === entry) this.sessions.delete(address);
    });
    session.once('close', () => {
      clearTimeout(connectTimer);
      clearInterval(keepalive);
      if (this.sessions.get(address) === entry) this.sessions.delete(address);
    });
    session.unref();
    return entry;
  }

  private drop(address: string, now = false): void {
    const entry = this.sessions.get(address);
    if (!entry) return;
    this.sessions.delete(address);
    if (now) entry.session.destroy();
    else entry.session.close();
  }
}

/** The decoded grpc-message of a header block, if any. */
export function grpcMessage(headers: http2.OutgoingHttpHeaders | undefined): string | undefined {
  const raw = headers?.['grpc-message'];
  if (typeof raw !== 'string') return undefined;
  try {
    return decodeURIComponent(raw);
  } catch {
    return raw;
  }
}

const ignore = (): void => undefined;

/** What grpc-js, as the gateway's client, answered for an over-sized answer. */
function tooLargeAnswer(size: number, max: number): H2Answer {
  return {
    headers: { ':status': 200, 'content-type': 'application/grpc+proto', 'grpc-status': '8', 'grpc-message': encodeURI(`Received message larger than max (${size} vs ${max})`) },
    body: [],
    length: 0,
    trailers: undefined,
    status: 8,
  };
}

function describe(error: unknown): string {
  const code = (error as { code?: unknown } | null)?.code;
  const message = error instanceof Error ? error.message : String(error);
  return typeof code === 'string' && !message.includes(code) ? `${code}: ${message}` : message;
}
