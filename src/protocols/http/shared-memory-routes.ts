/**
 * The REST side of the system shared-memory extension, as Triton serves it:
 *
 * - `GET  /v2/systemsharedmemory[/region/{name}]/status` → `[{"name","key","offset","byte_size"}, ...]`
 * - `POST /v2/systemsharedmemory/region/{name}/register` with `{"key": "/k", "offset": 0, "byte_size": N}`
 * - `POST /v2/systemsharedmemory[/region/{name}]/unregister` (no body; no name: every region)
 *
 * Successful register and unregister calls answer 200 with an empty body; failures answer
 * `{"error": "..."}` through the app's error handler. The CUDA shared-memory routes answer as
 * Triton built without GPUs does: no regions, unregistering succeeds, registering fails.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { quoteInput, invalidArgument, notFound } from '../../core/index.js';
import { isJsonObject, parseJsonText } from './json-fields.js';
import { routePath } from './method-routes.js';
import { bodyOf } from './request-body.js';
import type { SharedMemoryRegions } from '../../shared-memory/index.js';

export function registerSharedMemoryRoutes(app: FastifyInstance, regions: SharedMemoryRegions): void {
  const regionOf = (request: FastifyRequest): string | undefined => (request.params as { name?: string }).name;
  const json = (reply: FastifyReply, value: unknown): FastifyReply => reply.header('content-type', 'application/json').send(JSON.stringify(value));

  const status = (request: FastifyRequest, reply: FastifyReply): FastifyReply => json(reply, regions.status(regionOf(request)));
  routePath(app, '/v2/systemsharedmemory/status', { GET: status });
  routePath(app, '/v2/systemsharedmemory/region/:name/status', { GET: status });

  routePath(app, '/v2/systemsharedmemory/region/:name/register', {
    POST: (request, reply) => {
      const { key, offset, byteSize } = registerRequestOf(request);
      regions.register(regionOf(request) ?? '', key, offset, byteSize);
      return reply.code(200).send();
    },
  });

  const unregister = (request: FastifyRequest, reply: FastifyReply): FastifyReply => {
    regions.unregister(regionOf(request));
    return reply.code(200).send();
  };
  routePath(app, '/v2/systemsharedmemory/unregister', { POST: unregister });
  routePath(app, '/v2/systemsharedmemory/region/:name/unregister', { POST: unregister });

  // CUDA shared memory as Triton without GPUs answers it (tritonclient's examples unregister it first).
  const cudaStatus = (request: FastifyRequest, reply: FastifyReply): FastifyReply => {
    const name = regionOf(request);
    if (name !== undefined) throw notFound(`Unable to find cuda shared memory region: ${quoteInput(name)}`);
    return json(reply, []);
  };
  const cudaUnregister = (_request: FastifyRequest, reply: FastifyReply): FastifyReply => {
    regions.unregisterCuda();
    return reply.code(200).send();
  };
  for (const prefix of ['/v2/cudasharedmemory', '/v2/cudasharedmemory/region/:name']) {
    routePath(app, `${prefix}/status`, { GET: cudaStatus });
    routePath(app, `${prefix}/unregister`, { POST: cudaUnregister });
  }
  routePath(app, '/v2/cudasharedmemory/region/:name/register', { POST: (request) => regions.registerCuda(regionOf(request) ?? '') });
}

/** `{"key": string, "offset"?: integer ≥ 0, "byte_size": integer ≥ 0}` (Triton's field checks and messages). */
function registerRequestOf(request: FastifyRequest): { key: string; offset: number; byteSize: number } {
  const body = parseJsonText(bodyOf(request).toString('utf8')) ?? {};
  if (!isJsonObject(body)) throw invalidArgument('the shared memory register request must be a JSON object');
  if (body.key === undefined) throw invalidArgument("Shared memory register request has no 'key' field");
  if (typeof body.key !== 'string') throw invalidArgument("Shared memory register request: 'key' must be a string");
  if (body.byte_size === undefined) throw invalidArgument("Shared memory register request has no 'byte_size' field");
  return { key: body.key, offset: byteCount(body.offset ?? 0, 'offset'), byteSize: byteCount(body.byte_size, 'byte_size') };
}

function byteCount(value: unknown, field: string): number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 0) {
    throw invalidArgument(`Shared memory register request: '${field}' must be a non-negative integer`);
  }
  return value;
}
