/**
 * Keep-alive HTTP/1.1 connections from the gateway to one worker's REST port: one request at a
 * time per connection, at most `maxConnections` of them, requests beyond that queued in order.
 * A request is written in one syscall and its answer buffered whole (`Http1ResponseParser`).
 *
 * Why our own rather than undici's Pool: see http1-response.ts (a tenth of the relay's CPU). The
 * pool keeps what the relay relied on undici for: connect timeout, TLS, the server's keep-alive hint
 * (an idle connection is closed a second before the worker would close it, so a request is rarely
 * written into a connection the worker is closing), and failures that say what happened — the
 * connection could not be made (`code` ECONNREFUSED, CONNECT_TIMEOUT, ...), or broke before the whole
 * answer arrived (ECONNRESET, or UPSTREAM_CLOSED when it simply ended).
 */
import { isIP, connect as netConnect, type Socket } from 'node:net';
import { connect as tlsConnect, type ConnectionOptions } from 'node:tls';
import { Http1ResponseParser, type Http1Response } from './http1-response.js';

export interface WorkerRequest {
  readonly method: string;
  /** Path and query. */
  readonly path: string;
  readonly headers: Readonly<Record<string, string>>;
  readonly body: Buffer | undefined;
}

export interface WorkerPoolOptions {
  /** `host:port` of the worker's REST port. */
  readonly address: string;
  readonly maxConnections: number;
  readonly connectTimeoutMs: number;
  /** Connect over TLS with these options; absent: plaintext. */
  readonly tls?: ConnectionOptions | undefined;
  /** Idle time before closing a connection when the worker gives no keep-alive hint. Default 4 s. */
  readonly idleTimeoutMs?: number | undefined;
  /** A busy connection silent this long fails its request (`UPSTREAM_TIMEOUT`). Default 300 s. */
  readonly responseTimeoutMs?: number | undefined;
}

/** A failure of the connection, with a `code` the caller classifies. */
export class ConnectionFailure extends Error {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

/** Bodies up to this size are copied behind the head for a single write; larger ones go corked. */
const COPY_BODY_BELOW = 16 * 1024;
/** Closed this long before the worker's announced keep-alive timeout (half of it, when shorter). */
const KEEP_ALIVE_MARGIN_MS = 1000;
const FORBIDDEN_IN_HEAD = /[\r\n]/;
const FORBIDDEN_IN_PATH = /[\r\n ]/;
const METHOD = /^[A-Z]{1,20}$/;

/** One request and its answer's promise; settles once. */
class Exchange {
  connection: Connection | undefined;
  done = false;

  constructor(
    readonly request: WorkerRequest,
    readonly head: Buffer,
    private readonly onResolve: (response: Http1Response) => void,
    private readonly onReject: (error: unknown) => void,
  ) {}

  resolve(response: Http1Response): void {
    if (this.done) return;
    this.done = true;
    this.onResolve(response);
  }

  reject(error: unknown): void {
    if (this.done) return;
    this.done = true;
    this.onReject(error);
  }
}

export class WorkerPool {
  private readonly idle: Connection[] = [];
  private readonly queue: Exchange[] = [];
  private readonly all = new Set<Connection>();
  private closing = false;
  private readonly host: string;
  private readonly port: number;

  constructor(private readonly options: WorkerPoolOptions) {
    const colon = options.address.lastIndexOf(':');
    this.host = options.address.slice(0, colon).replace(/^\[|\]$/g, '');
    this.port = Number(options.address.slice(colon + 1));
  }

  /** Connections open or opening. */
  get connections(): number {
    return this.all.size;
  }

  /**
   * Sends `request` and resolves with the whole answer, or rejects with a `ConnectionFailure`,
   * a socket error (its `code`) or a `MalformedResponse`. `onStart` receives a function that aborts
   * the exchange (the caller's cancellation): its connection is destroyed and the promise rejects
   * with `reason`.
   */
  send(request: WorkerRequest, onStart?: (abort: (reason: unknown) => void) => void): Promise<Http1Response> {
    return new Promise((resolve, reject) => {
      if (this.closing) {
        reject(new ConnectionFailure('UPSTREAM_CLOSED', 'the connection pool is closed'));
        return;
      }
      const head = this.head(request);
      if (head instanceof ConnectionFailure) {
        reject(head);
        return;
      }
      const exchange = new Exchange(request, head, resolve, reject);
      onStart?.((reason) => {
        if (exchange.done) return;
        const queued = this.queue.indexOf(exchange);
        if (queued >= 0) this.queue.splice(queued, 1);
        exchange.reject(reason);
        exchange.connection?.abandon();
      });
      if (!exchange.done) this.dispatch(exchange);
    });
  }

  /** Closes idle connections now and the others once their answer is in; later sends fail. */
  close(): void {
    this.closing = true;
    for (const connection of this.idle.splice(0)) connection.destroy();
    for (const exchange of this.queue.splice(0)) exchange.reject(new ConnectionFailure('UPSTREAM_CLOSED', 'the connection pool closed'));
  }

  /** Closes every connection now; requests in flight fail. */
  destroy(): void {
    this.close();
    for (const connection of [...this.all]) connection.destroy();
  }

  private dispatch(exchange: Exchange): void {
    const connection = this.idle.pop() ?? (this.all.size < this.options.maxConnections ? this.open() : undefined);
    if (connection) connection.start(exchange);
    else this.queue.push(exchange);
  }

  private open(): Connection {
    const connection = new Connection(this.connect(), this.options, (c, reusable) => this.released(c, reusable));
    this.all.add(connection);
    return connection;
  }

  private connect(): Socket {
    const { tls } = this.options;
    if (tls === undefined) return netConnect({ host: this.host, port: this.port, noDelay: true });
    // SNI takes a host name only; an IP address is checked against the certificate's IP entries.
    return tlsConnect({ host: this.host, port: this.port, ...tls, ...(isIP(this.host) === 0 ? { servername: this.host } : {}) });
  }

  /** A connection finished an exchange and may take another (reusable), or is gone (not). */
  private released(connection: Connection, reusable: boolean): void {
    if (!reusable) {
      this.all.delete(connection);
      const idle = this.idle.indexOf(connection);
      if (idle >= 0) this.idle.splice(idle, 1);
      // A queued request takes a fresh connection in the gone one's place.
      const next = this.queue.shift();
      if (next) this.open().start(next);
      return;
    }
    const next = this.queue.shift();
    if (next) connection.start(next);
    else if (this.closing) connection.destroy();
    else this.idle.push(connection);
  }

  /** The request line and headers, with the body behind them when small; a failure for a request that would split. */
  private head(request: WorkerRequest): Buffer | ConnectionFailure {
    if (request.path[0] !== '/' || FORBIDDEN_IN_PATH.test(request.path) || !METHOD.test(request.method)) {
      return new ConnectionFailure('INVALID_REQUEST', 'a request line the gateway will not write');
    }
    let text = `${request.method} ${request.path} HTTP/1.1\r\nhost: ${this.options.address}\r\n`;
    for (const name in request.headers) {
      const value = request.headers[name] as string;
      if (FORBIDDEN_IN_HEAD.test(value) || FORBIDDEN_IN_HEAD.test(name)) return new ConnectionFailure('INVALID_REQUEST', `a header the gateway will not write: ${name}`);
      text += `${name}: ${value}\r\n`;
    }
    const body = request.body;
    if (body !== undefined) text += `content-length: ${body.length}\r\n`;
    text += '\r\n';
    // Header bytes as node read them (latin1), so whatever the client sent goes through unchanged.
    const headLength = Buffer.byteLength(text, 'latin1');
    const small = body !== undefined && body.length < COPY_BODY_BELOW;
    const out = Buffer.allocUnsafe(headLength + (small ? body.length : 0));
    out.write(text, 0, 'latin1');
    if (small) body.copy(out, headLength);
    return out;
  }
}

class Connection {
  private exchange: Exchange | undefined;
  private parser: Http1ResponseParser | undefined;
  private gone = false;
  /** One timer for the connection's life, refreshed at each release (cheaper than a timer per idle spell). */
  private idleTimer: NodeJS.Timeout | undefined;
  private idleTimeoutMs: number;
  private readonly responseTimeoutMs: number;

  constructor(
    private readonly socket: Socket,
    private readonly options: WorkerPoolOptions,
    private readonly released: (connection: Connection, reusable: boolean) => void,
  ) {
    this.idleTimeoutMs = options.idleTimeoutMs ?? 4000;
    this.responseTimeoutMs = options.responseTimeoutMs ?? 300_000;
    const connectTimer = setTimeout(() => this.fail(new ConnectionFailure('CONNECT_TIMEOUT', `no connection to ${options.address} within ${options.connectTimeoutMs} ms`)), options.connectTimeoutMs);
    socket.once(options.tls === undefined ? 'connect' : 'secureConnect', () => {
      clearTimeout(connectTimer);
      socket.setTimeout(this.responseTimeoutMs);
    });
    socket.on('data', (chunk: Buffer) => this.onData(chunk));
    socket.on('timeout', () => {
      if (this.exchange) this.fail(new ConnectionFailure('UPSTREAM_TIMEOUT', `the worker at ${options.address} sent nothing for ${this.responseTimeoutMs / 1000} s`));
    });
    socket.on('end', () => this.onEnd());
    socket.on('error', (error: Error) => this.fail(error));
    socket.on('close', () => {
      clearTimeout(connectTimer);
      this.fail(new ConnectionFailure('UPSTREAM_CLOSED', `the worker at ${options.address} closed the connection`));
    });
  }

  start(exchange: Exchange): void {
    this.exchange = exchange;
    exchange.connection = this;
    this.parser = new Http1ResponseParser(exchange.request.method === 'HEAD');
    const body = exchange.request.body;
    if (body === undefined || body.length < COPY_BODY_BELOW) {
      this.socket.write(exchange.head);
      return;
    }
    // Head and body leave in one writev, without copying the body.
    this.socket.cork();
    this.socket.write(exchange.head);
    this.socket.write(body);
    this.socket.uncork();
  }

  /** The caller gave up on its exchange: where the answer stands is unknown, so the connection goes. */
  abandon(): void {
    this.exchange = undefined;
    this.destroy();
  }

  destroy(): void {
    this.fail(new ConnectionFailure('UPSTREAM_CLOSED', 'the connection was closed'));
  }

  private onData(chunk: Buffer): void {
    const parser = this.parser;
    if (parser === undefined) {
      // Bytes with no request in flight: the connection is out of step.
      this.destroy();
      return;
    }
    let response: Http1Response | undefined;
    try {
      response = parser.push(chunk);
    } catch (error) {
      this.fail(error);
      return;
    }
    if (response) this.finish(response);
  }

  private onEnd(): void {
    const response = this.parser?.end();
    if (response) this.finish(response);
    else this.fail(new ConnectionFailure('UPSTREAM_CLOSED', `the worker at ${this.options.address} closed the connection before answering`));
  }

  private finish(response: Http1Response): void {
    const exchange = this.exchange;
    this.exchange = undefined;
    this.parser = undefined;
    const hint = response.keepAliveTimeoutMs;
    if (hint !== undefined) this.idleTimeoutMs = hint - Math.min(KEEP_ALIVE_MARGIN_MS, hint / 2);
    const reusable = response.keepAlive && this.idleTimeoutMs > 0 && !this.gone;
    exchange?.resolve(response);
    if (!reusable) {
      this.destroy();
      return;
    }
    if (this.idleTimer === undefined) this.idleTimer = setTimeout(() => this.idleCheck(), this.idleTimeoutMs).unref();
    else this.idleTimer.refresh();
    this.released(this, true);
  }

  /** Every release restarts the timer, so an idle connection it finds has been idle the whole time. */
  private idleCheck(): void {
    // Busy now: the next release restarts the timer.
    if (!this.gone && this.exchange === undefined) this.destroy();
  }

  /** The connection is over; its exchange in flight (if any) fails with `error`. */
  private fail(error: unknown): void {
    const exchange = this.exchange;
    this.exchange = undefined;
    this.parser = undefined;
    if (!this.socket.destroyed) this.socket.destroy();
    exchange?.reject(error);
    if (this.gone) return;
    this.gone = true;
    if (this.idleTimer) clearTimeout(this.idleTimer);
    this.released(this, false);
  }
}
