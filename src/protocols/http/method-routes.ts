/**
 * Route registration with Triton's 405: a request for a known path with a method the path does
 * not serve is answered `405 {"error":"Method Not Allowed"}` instead of fastify's 404. Fastify has
 * no such notion, so every path registered through `routePath` also gets a 405 handler for the
 * methods it does not serve. Any plugin on the app (OIP, TF Serving REST) can use it.
 */
import type { FastifyInstance, HTTPMethods, onRequestHookHandler, RouteHandlerMethod } from 'fastify';
import { sendError } from './error-mapping.js';

type Method = 'GET' | 'POST' | 'PUT' | 'DELETE' | 'PATCH' | 'OPTIONS';
const METHODS: readonly Method[] = ['GET', 'POST', 'PUT', 'DELETE', 'PATCH', 'OPTIONS'];

const methodNotAllowed: RouteHandlerMethod = (_request, reply) => sendError(reply, 405, 'Method Not Allowed');

/** A method's handler, with a route-level onRequest hook where it needs one. */
export type MethodRoute = RouteHandlerMethod | { readonly handler: RouteHandlerMethod; readonly onRequest?: onRequestHookHandler | undefined };

/** Registers `handlers` for `url` and a 405 for every other method (HEAD follows GET). */
export function routePath(app: FastifyInstance, url: string, handlers: Partial<Record<Method, MethodRoute>>): void {
  const others: HTTPMethods[] = [];
  for (const method of METHODS) {
    const route = handlers[method];
    if (route === undefined) others.push(method);
    else if (typeof route === 'function') app.route({ method, url, handler: route });
    else app.route({ method, url, handler: route.handler, ...(route.onRequest ? { onRequest: route.onRequest } : {}) });
  }
  // fastify answers HEAD itself for GET routes; without a GET, HEAD is not allowed either.
  if (!handlers.GET) others.push('HEAD');
  app.route({ method: others, url, handler: methodNotAllowed });
}
