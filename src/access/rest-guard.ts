/**
 * The REST side of access control: one app-wide `onRequest` hook, run before every route's own
 * hooks (so also before the direct inference lane takes a request over), that
 *
 * 1. answers CORS preflights for the allowed origins (`--cors-origin`) and adds
 *    `Access-Control-Allow-Origin` to their answers; with no allowed origin, no CORS header is ever
 *    sent, so browsers keep cross-site pages from reading any answer;
 * 2. refuses cross-site requests that change state: a mutating request (`isMutation`) from an
 *    `Origin` not allowed is 403, and one whose `Content-Type` is not `application/json` is 415. A
 *    browser can send a POST/PUT/DELETE to another site without asking first (a "simple request")
 *    only with a form or `text/plain` content type, and it always sends `Origin` on such a
 *    request; non-browser clients (Triton's, curl with `-H 'Content-Type: application/json'`)
 *    send JSON or no body type at all and no `Origin`. A request from a page this server served
 *    itself (the administration UI at /ui: its `Origin` is the scheme and `Host` of the request)
 *    is not cross-site: browsers send `Origin` on same-origin POST/PUT/DELETE too;
 * 3. applies the access policy (restricted groups, bearer tokens) to the request's API group.
 *
 * Answers are `{"error": "..."}`, as every REST error of the server.
 */
import type { IncomingHttpHeaders, ServerResponse } from 'node:http';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { isMutation, restGroupOf, tfServingRestGroupOf, type ApiGroup } from './api-groups.js';
import type { AccessPolicy, Denial } from './access-policy.js';

const PREFLIGHT_MAX_AGE_SECONDS = 600;
const ALLOWED_METHODS = 'GET, HEAD, POST, PUT, DELETE';
/** Request headers a cross-site caller may send, besides the restricted-API headers. */
const ALLOWED_HEADERS = ['content-type', 'content-encoding', 'authorization', 'inference-header-content-length', 'x-request-id', 'accept-encoding'];
const EXPOSED_HEADERS = 'inference-header-content-length, x-request-id';

export function installRestAccess(app: FastifyInstance, policy: AccessPolicy): void {
  const allowedHeaders = [...new Set([...ALLOWED_HEADERS, ...policy.restHeaderNames])].join(', ');
  app.addHook('onRequest', (request, reply, done) => {
    const origin = request.headers.origin;
    const corsAllowed = origin !== undefined && policy.corsOrigins.has(origin);
    if (corsAllowed) allowCors(reply.raw, origin);
    if (request.method === 'OPTIONS' && request.headers['access-control-request-method'] !== undefined) {
      if (!corsAllowed) {
        // Not an allowed origin: no CORS headers, so the browser does not send the request.
        void send(reply, 403, 'cross-origin request refused: origin not allowed');
        return;
      }
      reply.raw.setHeader('access-control-allow-methods', ALLOWED_METHODS);
      reply.raw.setHeader('access-control-allow-headers', allowedHeaders);
      reply.raw.setHeader('access-control-max-age', String(PREFLIGHT_MAX_AGE_SECONDS));
      void reply.code(204).send();
      return;
    }
    const group = groupOf(request);
    if (isMutation(request.method, group)) {
      if (origin !== undefined && !corsAllowed && !isSameOrigin(origin, request.headers.host, request.protocol)) {
        void send(reply, 403, 'cross-origin request refused: this call changes the server and its origin is not allowed (--cors-origin)');
        return;
      }
      if (!isJsonOrAbsent(request.headers['content-type'])) {
        void send(reply, 415, 'this call changes the server: send its body as Content-Type: application/json');
        return;
      }
    }
    const denial = policy.checkRest(group, (name) => headerValue(request.headers, name));
    if (denial !== undefined) {
      void sendDenial(reply, denial);
      return;
    }
    done();
  });
}

/**
 * For a front that answers some requests ahead of fastify (the gateway's REST fast lane): whether
 * the request may go that way. False sends it to fastify, whose hook answers it (a refusal, or a
 * cross-site request that needs CORS headers).
 */
export function restFastLaneAdmits(policy: AccessPolicy, method: string | undefined, url: string, headers: IncomingHttpHeaders): boolean {
  if (policy.corsOrigins.size > 0 && headers.origin !== undefined) return false;
  const group: ApiGroup = url.startsWith('/v1/') ? tfServingRestGroupOf(url) : 'inference';
  if (method !== 'POST' && method !== 'GET') return false;
  if (!policy.guardsRest(group)) return true;
  return policy.checkRest(group, (name) => headerValue(headers, name)) === undefined;
}

function groupOf(request: FastifyRequest): ApiGroup | undefined {
  return restGroupOf(request.routeOptions.url, request.url);
}

function headerValue(headers: IncomingHttpHeaders, name: string): string | undefined {
  const value = headers[name];
  return Array.isArray(value) ? value[0] : value;
}

/** Is `origin` this server as the browser addressed it (same scheme, same `Host`)? */
export function isSameOrigin(origin: string, host: string | undefined, protocol: string): boolean {
  if (host === undefined) return false;
  try {
    const from = new URL(origin);
    // The default port normalises away on both sides (http://h:80 is http://h).
    return from.protocol === `${protocol}:` && from.host === new URL(`${protocol}://${host}`).host;
  } catch {
    return false;
  }
}

/** `application/json` (any parameters) or no Content-Type at all (a bodiless call, or a non-browser client). */
function isJsonOrAbsent(contentType: string | undefined): boolean {
  if (contentType === undefined) return true;
  const mediaType = contentType.split(';', 1)[0]?.trim().toLowerCase();
  return mediaType === 'application/json';
}

function allowCors(raw: ServerResponse, origin: string): void {
  raw.setHeader('access-control-allow-origin', origin);
  raw.setHeader('access-control-expose-headers', EXPOSED_HEADERS);
  raw.setHeader('vary', 'Origin');
}

function sendDenial(reply: FastifyReply, denial: Denial): FastifyReply {
  if (denial.kind === 'restricted') return send(reply, 403, denial.message);
  reply.header('www-authenticate', denial.presented ? 'Bearer realm="cranberries", error="invalid_token"' : 'Bearer realm="cranberries"');
  return send(reply, 401, denial.message);
}

function send(reply: FastifyReply, status: number, message: string): FastifyReply {
  return reply
    .code(status)
    .header('content-type', 'application/json')
    .send(JSON.stringify({ error: message }));
}
