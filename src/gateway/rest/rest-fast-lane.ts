/**
 * The gateway's REST relay ahead of fastify: a `request` listener on the HTTP server that takes the
 * relayed routes — `POST /v2/models/{m}[/versions/{v}]/infer` and TF Serving's `/v1/...` (GET
 * and POST) — straight to `relayRaw` (rest-forwarding.ts), and hands every other request to
 * fastify's own listener, untouched.
 *
 * Why: for a relayed request fastify only matched the route and ran its hooks before the relay
 * hook hijacked the exchange, about a tenth of the gateway's CPU per request (measured side by
 * side on the B8 load: 164–207 µs before, 145–187 µs after, both gateways at half the load). The lane
 * matches only plain paths; anything unusual (a percent-encoding that does not decode, an
 * over-long or invalid segment, other methods, a server that is closing) goes to fastify, whose
 * routes carry the same relay as hooks, so the answer is the same either way.
 */
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import { relayRaw, type RestForwardingOptions } from './rest-forwarding.js';

/** A relayed route found in a request line. */
export interface RelayRoute {
  /** Undefined for a TF Serving path that names no model (any worker answers it). */
  readonly model: string | undefined;
  readonly version: number | undefined;
  /** TF Serving: a model the cluster does not know is asked of any worker, for its own wording. */
  readonly anyWorkerIfUnknown: boolean;
}

/** fastify's `maxParamLength` in the OIP app (`createHttpApp`): longer segments are its 404 to give. */
const MAX_SEGMENT = 1024;
const OIP_PREFIX = '/v2/models/';
const TF_PREFIX = '/v1/';
const TF_SERVING_PATH = /^\/v1\/models\/([^/:?]+)(?:\/versions\/([0-9]+))?/;
const VERSION = /^[0-9]{1,15}$/;

/** The relay route of a request, or undefined when fastify should see it. */
export function matchRelayRoute(method: string | undefined, url: string | undefined): RelayRoute | undefined {
  if (url === undefined) return undefined;
  if (method === 'POST' && url.startsWith(OIP_PREFIX)) return matchInfer(url);
  if ((method === 'POST' || method === 'GET') && url.startsWith(TF_PREFIX)) return matchTfServing(url);
  return undefined;
}

/** `/v2/models/{m}/infer` or `/v2/models/{m}/versions/{v}/infer`, optionally with a query. */
function matchInfer(url: string): RelayRoute | undefined {
  const query = url.indexOf('?', OIP_PREFIX.length);
  const path = query < 0 ? url : url.slice(0, query);
  const parts = path.slice(OIP_PREFIX.length).split('/');
  let version: number | undefined;
  if (parts.length === 4 && parts[1] === 'versions' && parts[3] === 'infer') {
    const text = parts[2] as string;
    if (!VERSION.test(text)) return undefined;
    version = Number(text);
  } else if (parts.length !== 2 || parts[1] !== 'infer') return undefined;
  const model = decodeSegment(parts[0] as string);
  return model === undefined ? undefined : { model, version, anyWorkerIfUnknown: false };
}

/** TF Serving's REST paths (the plugin's `/v1/*` route): the model, when the path names one. */
function matchTfServing(url: string): RelayRoute | undefined {
  const match = TF_SERVING_PATH.exec(url);
  if (match === null) return { model: undefined, version: undefined, anyWorkerIfUnknown: true };
  const model = decodeSegment(match[1] as string);
  if (model === undefined) return undefined;
  const version = match[2] === undefined ? undefined : Number(match[2]);
  if (version !== undefined && !Number.isSafeInteger(version)) return undefined;
  return { model, version, anyWorkerIfUnknown: true };
}

function decodeSegment(segment: string): string | undefined {
  if (segment === '' || segment.length > MAX_SEGMENT) return undefined;
  if (!segment.includes('%')) return segment;
  try {
    return decodeURIComponent(segment);
  } catch {
    return undefined;
  }
}

/**
 * Puts the lane in front of the server's current `request` listeners (fastify's), which keep
 * every request the lane does not take. Call once, after the app is created and before it listens.
 */
export function installRestFastLane(server: Server, options: RestForwardingOptions): void {
  const others = server.listeners('request') as ((req: IncomingMessage, res: ServerResponse) => void)[];
  server.removeAllListeners('request');
  server.on('request', (req: IncomingMessage, res: ServerResponse) => {
    // A stopping gateway: fastify answers 503 and closes the connection.
    const route = options.service.live() ? matchRelayRoute(req.method, req.url) : undefined;
    if (route !== undefined && (options.fastLaneAdmits === undefined || options.fastLaneAdmits(req.method, req.url ?? '', req.headers))) {
      relayRaw(options, req, res, route.model, route.version, route.anyWorkerIfUnknown);
      return;
    }
    for (const listener of others) listener.call(server, req, res);
  });
}
