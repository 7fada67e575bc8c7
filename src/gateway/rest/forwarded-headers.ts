/**
 * Which headers cross the gateway on the REST relay: the request headers a worker needs (plus the
 * request id) go to the worker; the worker's answer headers come back except those that describe
 * the gateway's own connection to it.
 */
import type { IncomingHttpHeaders } from 'node:http';

/** Request headers a worker needs; everything else (hop-by-hop, host, cookies) stays at the gateway. */
const FORWARDED_REQUEST_HEADERS = [
  'content-type',
  'content-encoding',
  'accept-encoding',
  'inference-header-content-length',
  'accept',
  // The client's credentials: workers behind a gateway check the same tokens (access/).
  'authorization',
  // W3C trace context: a worker tracing in OpenTelemetry mode puts its spans under the client's.
  'traceparent',
  'tracestate',
] as const;

/** Response headers that describe the gateway's connection, not the answer. */
const HOP_BY_HOP = new Set(['connection', 'keep-alive', 'transfer-encoding', 'content-length', 'date']);

/**
 * The headers of a client request that go to the worker, plus the request id; `extra` names more
 * headers to forward (the restricted-API headers the workers check).
 */
export function forwardedHeaders(headers: IncomingHttpHeaders, requestId: string, extra: readonly string[] = []): Record<string, string> {
  const out: Record<string, string> = { 'x-request-id': requestId };
  for (const name of FORWARDED_REQUEST_HEADERS) {
    const value = headers[name];
    if (typeof value === 'string') out[name] = value;
  }
  for (const name of extra) {
    const value = headers[name];
    if (typeof value === 'string') out[name] = value;
  }
  return out;
}

/** The response headers to relay to the client (the gateway sets its own length and connection). */
export function relayedHeaders(headers: Record<string, string | string[] | undefined>): Record<string, string | string[]> {
  const out: Record<string, string | string[]> = {};
  for (const [name, value] of Object.entries(headers)) {
    if (value !== undefined && !HOP_BY_HOP.has(name)) out[name] = value;
  }
  return out;
}
