/**
 * The Open Inference Protocol REST API (KServe v2 / Triton) as a fastify plugin
 * over an `InferenceService`: health, server and model metadata, model config, statistics,
 * inference, the model repository, system shared-memory and trace extensions. No logging API here
 * (`logging-routes.ts`).
 *
 * Generic HTTP concerns (body reading, compression, error shape, 404) belong to the app
 * (`http-server.ts`); this plugin only maps paths to service calls.
 */
import type { FastifyInstance, FastifyPluginCallback, FastifyReply, FastifyRequest } from 'fastify';
import { CranberriesError, invalidArgument } from '../../core/index.js';
import { checkFileOverrideKey } from '../../repository/index.js';
import type { InferenceService, LoadModelOptions } from '../../serving/index.js';
import { sendError } from './error-mapping.js';
import { inferRoute, type InferRouteOptions } from './infer-route.js';
import { isJsonObject, optionalBoolean, parseJsonText, type JsonObject } from './json-fields.js';
import { routePath, type MethodRoute } from './method-routes.js';
import { bodyOf } from './request-body.js';
import { parseVersion } from './version-param.js';
import { refusingSharedMemory } from '../../shared-memory/index.js';
import { registerSharedMemoryRoutes } from './shared-memory-routes.js';

const SHM_NOT_OFFERED = 'system shared memory is not offered by this server';
import { restSettingValues, traceSettingCall } from '../../tracing/index.js';

interface ModelParams {
  model?: string;
  version?: string;
  repo?: string;
}

type Handler = (request: FastifyRequest, reply: FastifyReply) => FastifyReply | Promise<FastifyReply>;

export type OipRoutesOptions = Omit<InferRouteOptions, 'service'>;

export function oipRoutes(service: InferenceService, options: OipRoutesOptions): FastifyPluginCallback {
  return (app, _options, done) => {
    registerOipRoutes(app, service, options);
    done();
  };
}

function registerOipRoutes(app: FastifyInstance, service: InferenceService, options: OipRoutesOptions): void {
  const json = (reply: FastifyReply, value: unknown): FastifyReply => reply.header('content-type', 'application/json').send(JSON.stringify(value));
  // Triton's health answers: the status is the answer, the body is empty.
  const yesNo = (reply: FastifyReply, yes: boolean): FastifyReply => reply.code(yes ? 200 : 400).send();

  routePath(app, '/v2/health/live', { GET: (_request, reply) => yesNo(reply, service.live()) });
  routePath(app, '/v2/health/ready', { GET: (_request, reply) => yesNo(reply, service.ready()) });
  routePath(app, '/v2', { GET: (_request, reply) => json(reply, service.serverMetadata()) });

  const perModel = (suffix: string, method: 'GET' | 'POST', handler: MethodRoute): void => {
    routePath(app, `/v2/models/:model${suffix}`, { [method]: handler });
    routePath(app, `/v2/models/:model/versions/:version${suffix}`, { [method]: handler });
  };

  perModel('', 'GET', (request, reply) => {
    const { model, version } = modelOf(request);
    return json(reply, service.modelMetadata(model, version));
  });
  perModel('/ready', 'GET', (request, reply) => {
    const { model, version } = modelOf(request);
    return service.modelReady(model, version) ? reply.code(200).send() : sendError(reply, 400, 'Model version not ready');
  });
  perModel('/config', 'GET', (request, reply) => {
    const { model, version } = modelOf(request);
    return json(reply, service.modelConfig(model, version));
  });
  perModel('/stats', 'GET', (request, reply) => {
    const { model, version } = modelOf(request);
    return json(reply, { model_stats: service.modelStatistics(model, version) });
  });
  routePath(app, '/v2/models/stats', { GET: (_request, reply) => json(reply, { model_stats: service.modelStatistics() }) });
  perModel('/infer', 'POST', inferRoute({ service, ...options }));
  registerSharedMemoryRoutes(app, options.sharedMemory?.regions ?? refusingSharedMemory(SHM_NOT_OFFERED));

  // Model repository extension, with Triton's `/v2/repository/{repo}/...` aliases.
  const index: Handler = async (request, reply) => {
    const body = jsonBody(request);
    const readyOnly = optionalBoolean(body, 'ready', '') ?? false;
    return json(reply, await service.repositoryIndex(readyOnly));
  };
  routePath(app, '/v2/repository/index', { POST: index });
  routePath(app, '/v2/repository/:repo/index', { POST: index });

  const load: Handler = async (request, reply) => {
    const model = repositoryModelOf(request);
    await service.loadModel(model, loadOptionsOf(jsonBody(request)));
    return reply.code(200).send();
  };
  const unload: Handler = async (request, reply) => {
    const model = repositoryModelOf(request);
    // `unload_dependents` is accepted: a model here has no dependents to unload with it.
    const parameters = jsonBody(request)?.parameters;
    if (parameters !== undefined && !isJsonObject(parameters)) throw invalidArgument('"parameters" must be a JSON object');
    optionalBoolean(parameters, 'unload_dependents', '');
    await service.unloadModel(model);
    return reply.code(200).send();
  };
  for (const prefix of ['/v2/repository', '/v2/repository/:repo']) {
    routePath(app, `${prefix}/models/:model/load`, { POST: load });
    routePath(app, `${prefix}/models/:model/unload`, { POST: unload });
  }

  // Trace extension (`tracing/`): global and per-model settings.
  const traceModelOf = (request: FastifyRequest): string | undefined => (request.params as ModelParams).model;
  const traceSettings = {
    GET: (request: FastifyRequest, reply: FastifyReply) => json(reply, traceSettingCall(service, traceModelOf(request), undefined)),
    POST: (request: FastifyRequest, reply: FastifyReply) => json(reply, traceSettingCall(service, traceModelOf(request), restSettingValues(jsonBody(request) ?? {}))),
  };
  routePath(app, '/v2/trace/setting', traceSettings);
  routePath(app, '/v2/models/:model/trace/setting', traceSettings);
}

/** Model name (URL-decoded by the router) and optional version from the path. */
function modelOf(request: FastifyRequest): { model: string; version: number | undefined } {
  const params = request.params as ModelParams;
  return { model: params.model ?? '', version: parseVersion(params.version) };
}

function repositoryModelOf(request: FastifyRequest): string {
  const params = request.params as ModelParams;
  if (params.repo !== undefined && params.repo !== '') {
    throw new CranberriesError('UNIMPLEMENTED', `repository '${params.repo}': loading or unloading from a named repository is not supported`);
  }
  return params.model ?? '';
}

/** The body as a JSON object, or undefined for an empty body. */
function jsonBody(request: FastifyRequest): JsonObject | undefined {
  const parsed = parseJsonText(bodyOf(request).toString('utf8'));
  if (parsed === undefined) return undefined;
  if (!isJsonObject(parsed)) throw invalidArgument('the request body must be a JSON object');
  return parsed;
}

/** `{"parameters": {"config": "<json>", "file:<version>/<name>": "<base64>"}}` → load options. */
function loadOptionsOf(body: JsonObject | undefined): LoadModelOptions | undefined {
  const parameters = body?.parameters;
  if (parameters === undefined) return undefined;
  if (!isJsonObject(parameters)) throw invalidArgument('"parameters" must be a JSON object');
  const config = parameters.config;
  if (config !== undefined && typeof config !== 'string') throw invalidArgument(`parameter 'config' must be a string holding the JSON model configuration`);
  let files: Map<string, Uint8Array> | undefined;
  for (const key of Object.keys(parameters)) {
    if (!key.startsWith('file:')) continue;
    const value = parameters[key];
    if (typeof value !== 'string') throw invalidArgument(`parameter '${key}' must be a base64 string`);
    const path = key.slice('file:'.length);
    checkFileOverrideKey(key, path);
    (files ??= new Map()).set(path, Buffer.from(value, 'base64'));
  }
  if (files !== undefined && config === undefined) throw invalidArgument(`model files ('file:...' parameters) need the 'config' parameter too`);
  return config === undefined ? undefined : { config, files };
}
