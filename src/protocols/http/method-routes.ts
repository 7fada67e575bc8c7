/**
 * Route registration with Triton's 405: a request for a known path with a method the path does
 * not serve is answered `405 {"error":"Method Not Allowed"}` instead of fastify's 404. Fastify has
 * no such notion, so every path registered through `routePath` also gets a 405 handler for the
 * methods it does not serve. Any plugin on the app (OIP, TF Serving REST) can use it.
 */
import type { FastifyInstance, HTTPMethods, RouteHandlerMethod } from 'fastify';
import { sendError } from './error-mapping.js';

type Method = 'GET' | 'POST' | 'PUT' | 'DELETE' | 'PATCH' | 'OPTIONS';
const METHODS: readonly Method[] = ['GET', 'POST', 'PUT', 'DELETE', 'PATCH', 'OPTIONS'];

const methodNotAllowed: RouteHandlerMethod = (_request, reply) => sendError(reply, 405, 'Method Not Allowed');

/** Registers `handlers` for `url` and a 405 for every other method (HEAD follows GET). */
export function routePath(app: FastifyInstance, url: string, handlers: Partial<Record<Method, RouteHandlerMethod>>): void {
  const others: HTTPMethods[] = [];
  for (const method of METHODS) {
    const handler = handlers[method];
    if (handler) app.route({ method, url, handler });
    else others.push(method);
  }
  // fastify answers HEAD itself for GET routes; without a GET, HEAD is not allowed either.
  if (!handlers.GET) others.push('HEAD');
  app.route({ method: others, url, handler: methodNotAllowed });
}
