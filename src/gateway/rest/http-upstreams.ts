/**
 * REST connections from the gateway to the workers: one undici `Pool` of keep-alive connections
 * per worker, created on first use and closed when the worker leaves the table. `send` forwards a
 * buffered request and buffers the answer, classifying transport failures for the retry policy
 * (routing/request-router.ts): a request is retryable until the whole answer has arrived, which is why both
 * directions are buffered — a worker killed mid-answer is retried, not half-relayed.
 */
import { Pool, type Dispatcher } from 'undici';
import { relayedHeaders } from './forwarded-headers.js';
import { clientConnectionOptions, type ClientTlsOptions } from '../../tls/index.js';
import type { AttemptOutcome, Cancellation, Endpoint, FailureKind } from '../routing/index.js';

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

const CONNECT_FAILURES = new Set(['ECONNREFUSED', 'EHOSTUNREACH', 'ENETUNREACH', 'EADDRNOTAVAIL', 'UND_ERR_CONNECT_TIMEOUT', 'ENOTFOUND', 'EAI_AGAIN']);
const BROKEN_CONNECTION = new Set(['ECONNRESET', 'EPIPE', 'UND_ERR_SOCKET', 'UND_ERR_CLOSED', 'ETIMEDOUT', 'ECONNABORTED']);

/** Transport failure → retry classification; undefined for anything else (aborts, bugs). */
export function classifyHttpError(error: unknown): FailureKind | undefined {
  const code = (error as { code?: unknown } | null)?.code;
  if (typeof code !== 'string') return undefined;
  if (CONNECT_FAILURES.has(code)) return 'refused';
  if (BROKEN_CONNECTION.has(code)) return 'reset';
  return undefined;
}

export class HttpUpstreams {
  private readonly pools = new Map<string, Pool>();
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

  pool(endpoint: Endpoint): Pool {
    let pool = this.pools.get(endpoint.httpAddress);
    if (!pool) {
      const tls = this.tls;
      pool = new Pool(`${tls ? 'https' : 'http'}://${endpoint.httpAddress}`, {
        connections: this.connections,
        pipelining: 1,
        keepAliveTimeout: 30_000,
        connect: { timeout: this.connectTimeoutMs, ...(tls ? clientConnectionOptions(tls) : {}) },
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
      pool.close().catch(() => undefined);
    }
  }

  async close(): Promise<void> {
    const pools = [...this.pools.values()];
    this.pools.clear();
    await Promise.allSettled(pools.map((pool) => pool.destroy()));
  }

  /**
   * One attempt: the whole answer, or a classified failure. A 503 is `unavailable` (the version is
   * unloading on that worker) and carries the answer for when no retry is possible.
   *
   * Uses undici's `dispatch` with a handler rather than `request`: no body stream, async iterator
   * or per-request listeners on the hot path, only callbacks collecting the answer's chunks.
   */
  send(endpoint: Endpoint, request: UpstreamRequest, cancel?: Cancellation): Promise<AttemptOutcome<UpstreamResponse>> {
    return new Promise((resolve, reject) => {
      if (cancel?.reason) {
        reject(cancel.reason);
        return;
      }
      let controller: Dispatcher.DispatchController | undefined;
      let statusCode = 0;
      let headers: Record<string, string | string[]> = {};
      const chunks: Buffer[] = [];
      let length = 0;
      const settle = cancel?.onAbort(() => controller?.abort(cancel.reason ?? new Error('cancelled')));
      this.pool(endpoint).dispatch(
        { method: request.method, path: request.path, headers: request.headers, body: request.body ?? null },
        {
          onRequestStart(requestController) {
            controller = requestController;
            if (cancel?.reason) requestController.abort(cancel.reason);
          },
          onResponseStart(_controller, status, responseHeaders) {
            statusCode = status;
            headers = relayedHeaders(responseHeaders);
          },
          onResponseData(_controller, chunk) {
            chunks.push(chunk);
            length += chunk.length;
          },
          onResponseEnd() {
            settle?.();
            const response: UpstreamResponse = { statusCode, headers, body: chunks, length };
            if (statusCode === 503) resolve({ ok: false, kind: 'unavailable', detail: 'the worker answered 503', answer: response });
            // The table routed here because it lists the version READY on this worker: a 404 means the
            // worker has just unloaded it and the table is behind, so another replica may serve it.
            else if (statusCode === 404) resolve({ ok: false, kind: 'unavailable', detail: 'the worker does not serve the model (routing table behind)', answer: response });
            else resolve({ ok: true, value: response });
          },
          onResponseError(_controller, error) {
            settle?.();
            const kind = cancel?.aborted ? undefined : classifyHttpError(error);
            if (kind === undefined) reject(cancel?.reason ?? error);
            else resolve({ ok: false, kind, detail: describe(error) });
          },
        },
      );
    });
  }

  /** GET a JSON document from a worker; error answers come back with their status. */
  getJson(endpoint: Endpoint, path: string, signal?: AbortSignal): Promise<{ status: number; json: unknown }> {
    return this.json(endpoint, { method: 'GET', path, signal });
  }

  private async json(endpoint: Endpoint, options: Dispatcher.RequestOptions): Promise<{ status: number; json: unknown }> {
    const { statusCode, body } = await this.pool(endpoint).request(options);
    const text = await body.text();
    try {
      return { status: statusCode, json: text === '' ? undefined : JSON.parse(text) };
    } catch {
      return { status: statusCode, json: undefined };
    }
  }

  /** The worker's liveness (`GET /v2/health/live` = 200), within `timeoutMs`. */
  async live(endpoint: Endpoint, timeoutMs = 1000): Promise<boolean> {
    try {
      const { statusCode, body } = await this.pool(endpoint).request({ method: 'GET', path: '/v2/health/live', signal: AbortSignal.timeout(timeoutMs) });
      await body.dump();
      return statusCode === 200;
    } catch {
      return false;
    }
  }
}

function describe(error: unknown): string {
  const code = (error as { code?: unknown } | null)?.code;
  const message = error instanceof Error ? error.message : String(error);
  return typeof code === 'string' && !message.includes(code) ? `${code}: ${message}` : message;
}
