/**
 * The Prometheus endpoint (`GET /metrics`) on its own port, as Triton serves it: the text
 * exposition format of one registry. What the registry holds is decided by the caller
 * (`metrics/server-metrics.ts` for a model server; cluster components add theirs).
 */
import { createServer, type RequestListener, type Server } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import type { TlsOptions } from 'node:tls';
import { Registry } from 'prom-client';
import { collectProcessMetrics } from './server-metrics.js';
import { applyHttpLimits, DEFAULT_LISTENER_LIMITS, httpServerOptions, type HttpListenerLimits } from '../protocols/common/index.js';
import { clientErrorAnswer } from '../protocols/http/index.js';

/**
 * Unknown paths and methods are answered like every other Cranberries HTTP error, `{"error": ...}`
 * JSON (Triton's HTTP servers, the metrics one included, answer its `{"error":"Method Not Allowed"}`
 * the same way), so a client parsing errors as JSON never meets a bare text body.
 */
const JSON_CONTENT = { 'content-type': 'application/json' } as const;
const NOT_FOUND_BODY = JSON.stringify({ error: 'Not Found' });
const METHOD_NOT_ALLOWED_BODY = JSON.stringify({ error: 'Method Not Allowed' });

export class MetricsServer {
  private readonly server: Server;

  /**
   * Without a registry: a new one holding the process metrics, for components to add theirs to.
   * `limits`: the listener's timeouts and connection limit (default `DEFAULT_LISTENER_LIMITS.http`).
   * With `tls`: HTTPS (the caller keeps its certificate current, see `server`).
   */
  constructor(
    readonly registry: Registry = processRegistry(),
    limits: HttpListenerLimits = DEFAULT_LISTENER_LIMITS.http,
    tls?: TlsOptions,
  ) {
    const handler: RequestListener = (req, res) => {
      const path = req.url?.split('?', 1)[0];
      if (path !== '/metrics') {
        res.writeHead(404, JSON_CONTENT).end(NOT_FOUND_BODY);
        return;
      }
      if (req.method !== 'GET' && req.method !== 'HEAD') {
        res.writeHead(405, { ...JSON_CONTENT, allow: 'GET, HEAD' }).end(METHOD_NOT_ALLOWED_BODY);
        return;
      }
      registry.metrics().then(
        (text) => res.writeHead(200, { 'content-type': registry.contentType }).end(req.method === 'HEAD' ? undefined : text),
        (error: Error) => res.writeHead(500, { 'content-type': 'text/plain' }).end(`${error.message}\n`),
      );
    };
    this.server = tls ? createHttpsServer({ ...httpServerOptions(limits), ...tls }, handler) : createServer(httpServerOptions(limits), handler);
    applyHttpLimits(this.server, limits);
    this.server.on('clientError', clientErrorAnswer);
  }

  /** The node server (an https.Server when created with TLS). */
  get nodeServer(): Server {
    return this.server;
  }

  listen(host: string, port: number): Promise<number> {
    return new Promise((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(port, host, () => resolve((this.server.address() as AddressInfo).port));
    });
  }

  close(): Promise<void> {
    return new Promise((resolve) => {
      this.server.close(() => resolve());
      this.server.closeAllConnections();
    });
  }
}

function processRegistry(): Registry {
  const registry = new Registry();
  collectProcessMetrics(registry);
  return registry;
}
