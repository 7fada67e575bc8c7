/**
 * REST connections from the gateway to the workers: one pool of keep-alive connections per worker
 * (`WorkerPool`), created on first use and closed when the worker leaves the table. `send` forwards
 * a buffered request and buffers the answer, classifying transport failures for the retry policy
 * (routing/request-router.ts): a request is retryable until the whole answer has arrived, which is why both
 * directions are buffered — a worker killed mid-answer is retried, not half-relayed.
 */
import { relayedHeaders } from './forwarded-headers.js';
import { WorkerPool } from './worker-pool.js';
import { clientConnectionOptions, type ClientTlsOptions } from '../../tls/index.js';
import { Cancellation, type AttemptOutcome, type Endpoint, type FailureKind } from '../routing/index.js';

export interface UpstreamRequest {
  readonly method: string;
  /** Path and query, as the client sent them. */
  readonly path: string;
  readonly headers: Record<string, string>;
  readonly body: Buffer | undefined;
}

export interface UpstreamResponse {
  readonly statusCode: number;
  readonly headers: Record<string, string | string[]>;
  readonly body: readonly Buffer[];
  readonly length: number;
}

export interface HttpUpstreamsOptions {
  /** Connections per worker. Default 128. */
  readonly connectionsPerWorker?: number;
  /** Default 2000 ms: a worker that cannot accept a connection in that time is treated as down. */
  readonly connectTimeoutMs?: number;
  /** Connect to the workers over TLS with these settings; absent: plaintext. */
  readonly tls?: ClientTlsOptions | undefined;
}

const CONNECT_FAILURES = new Set(['ECONNREFUSED', 'EHOSTUNREACH', 'ENETUNREACH', 'EADDRNOTAVAIL', 'CONNECT_TIMEOUT', 'ENOTFOUND', 'EAI_AGAIN']);
const BROKEN_CONNECTION = new Set(['ECONNRESET', 'EPIPE', 'UPSTREAM_CLOSED', 'ETIMEDOUT', 'ECONNABORTED']);

/** Transport failure → retry classification; undefined for anything else (aborts, bugs, a malformed answer). */
export function classifyHttpError(error: unknown): FailureKind | undefined {
  const code = (error as { code?: unknown } | null)?.code;
  if (typeof code !== 'string') return undefined;
  if (CONNECT_FAILURES.has(code)) return 'refused';
  if (BROKEN_CONNECTION.has(code)) return 'reset';
  return undefined;
}

export class HttpUpstreams {
  private readonly pools = new Map<string, WorkerPool>();
  private readonly connections: number;
  private readonly connectTimeoutMs: number;
  private tls: ClientTlsOptions | undefined;

  constructor(options: HttpUpstreamsOptions = {}) {
    this.connections = options.connectionsPerWorker ?? 128;
    this.connectTimeoutMs = options.connectTimeoutMs ?? 2000;
    this.tls = options.tls;
  }

  /** New TLS settings (reloaded files): pools close once their requests finish; new ones use the settings. */
  setTls(tls: ClientTlsOptions): void {
    this.tls = tls;
    this.retainOnly([]);
  }

  pool(endpoint: Endpoint): WorkerPool {
    let pool = this.pools.get(endpoint.httpAddress);
    if (!pool) {
      const tls = this.tls;
      pool = new WorkerPool({
        address: endpoint.httpAddress,
        maxConnections: this.connections,
        connectTimeoutMs: this.connectTimeoutMs,
        tls: tls ? clientConnectionOptions(tls) : undefined,
      });
      this.pools.set(endpoint.httpAddress, pool);
    }
    return pool;
  }

  /** Closes the pools of workers no longer in `endpoints` (their requests in flight finish first). */
  retainOnly(endpoints: readonly Endpoint[]): void {
    const keep = new Set(endpoints.map((e) => e.httpAddress));
    for (const [address, pool] of this.pools) {
      if (keep.has(address)) continue;
      this.pools.delete(address);
      pool.close();
    }
  }

  /** Closes every connection now (requests in flight fail). */
  close(): Promise<void> {
    for (const pool of this.pools.values()) pool.destroy();
    this.pools.clear();
    return Promise.resolve();
  }

  /**
   * One attempt: the whole answer, or a classified failure. A 503 is `unavailable` (the version is
   * unloading on that worker) and carries the answer for when no retry is possible.
   */
  async send(endpoint: Endpoint, request: UpstreamRequest, cancel?: Cancellation): Promise<AttemptOutcome<UpstreamResponse>> {
    if (cancel?.reason) throw cancel.reason;
    let settle: (() => void) | undefined;
    try {
      const answer = await this.pool(endpoint).send(request, (abort) => {
        settle = cancel?.onAbort(() => abort(cancel.reason ?? new Error('cancelled')));
      });
      const response: UpstreamResponse = { statusCode: answer.statusCode, headers: relayedHeaders(answer.headers), body: answer.body, length: answer.length };
      if (response.statusCode === 503) return { ok: false, kind: 'unavailable', detail: 'the worker answered 503', answer: response };
      // The table routed here because it lists the version READY on this worker: a 404 means the
      // worker has just unloaded it and the table is behind, so another replica may serve it.
      if (response.statusCode === 404) return { ok: false, kind: 'unavailable', detail: 'the worker does not serve the model (routing table behind)', answer: response };
      return { ok: true, value: response };
    } catch (error) {
      const kind = cancel?.aborted ? undefined : classifyHttpError(error);
      if (kind === undefined) throw cancel?.reason ?? error;
      return { ok: false, kind, detail: describe(error) };
    } finally {
      settle?.();
    }
  }

  /** GET a JSON document from a worker; error answers come back with their status. */
  async getJson(endpoint: Endpoint, path: string, signal?: AbortSignal): Promise<{ status: number; json: unknown }> {
    const { statusCode, body } = await this.get(endpoint, path, signal);
    const text = Buffer.concat(body).toString('utf8');
    try {
      return { status: statusCode, json: text === '' ? undefined : JSON.parse(text) };
    } catch {
      return { status: statusCode, json: undefined };
    }
  }

  /** The worker's liveness (`GET /v2/health/live` = 200), within `timeoutMs`. */
  async live(endpoint: Endpoint, timeoutMs = 1000): Promise<boolean> {
    try {
      return (await this.get(endpoint, '/v2/health/live', AbortSignal.timeout(timeoutMs))).statusCode === 200;
    } catch {
      return false;
    }
  }

  private async get(endpoint: Endpoint, path: string, signal: AbortSignal | undefined): Promise<{ statusCode: number; body: readonly Buffer[] }> {
    const cancel = Cancellation.fromSignal(signal);
    if (cancel?.reason) throw cancel.reason;
    let settle: (() => void) | undefined;
    try {
      return await this.pool(endpoint).send({ method: 'GET', path, headers: {}, body: undefined }, (abort) => {
        settle = cancel?.onAbort(() => abort(cancel.reason));
      });
    } finally {
      settle?.();
    }
  }
}

function describe(error: unknown): string {
  const code = (error as { code?: unknown } | null)?.code;
  const message = error instanceof Error ? error.message : String(error);
  return typeof code === 'string' && !message.includes(code) ? `${code}: ${message}` : message;
}
