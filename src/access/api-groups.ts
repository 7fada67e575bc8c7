/**
 * The API groups access rules are written against, named as Triton names them for
 * `--http-restricted-api` / `--grpc-restricted-protocol`, plus `cluster-admin` for the cluster
 * admin API (`/v2/cluster/...`). Every REST route and every gRPC method of every service a
 * Cranberries process serves belongs to exactly one group; the tables below are the one place that
 * says which.
 *
 * REST requests are classified by the route fastify matched (its URL pattern), not by the raw URL:
 * the router decodes percent-encoded paths, so a pattern cannot be dodged by spelling a path
 * differently. A request that matches no route has no group (it is answered 404 anyway).
 */

export const API_GROUPS = ['health', 'metadata', 'inference', 'shared-memory', 'model-config', 'model-repository', 'statistics', 'trace', 'logging', 'cluster-admin'] as const;

export type ApiGroup = (typeof API_GROUPS)[number];

export function isApiGroup(name: string): name is ApiGroup {
  return (API_GROUPS as readonly string[]).includes(name);
}

const MODEL_PATH = /^\/v2\/models\/:model(?:\/versions\/:version)?$/;

/**
 * The group of a REST route: `pattern` is the URL pattern of the matched route
 * (`request.routeOptions.url`), `url` the request's URL (needed only for TF Serving's `/v1/*`).
 */
export function restGroupOf(pattern: string | undefined, url: string): ApiGroup | undefined {
  if (pattern === undefined) return undefined;
  if (pattern === '/v1/*') return tfServingRestGroupOf(url);
  // Patterns are the app's routes, a fixed set: each is classified once (this runs on every request).
  if (patternGroups.has(pattern)) return patternGroups.get(pattern);
  const group = patternGroupOf(pattern);
  patternGroups.set(pattern, group);
  return group;
}

const patternGroups = new Map<string, ApiGroup | undefined>();

function patternGroupOf(pattern: string): ApiGroup | undefined {
  if (pattern === '/v2/cluster' || pattern.startsWith('/v2/cluster/')) return 'cluster-admin';
  if (pattern === '/v2/health/live' || pattern === '/v2/health/ready') return 'health';
  if (pattern === '/v2') return 'metadata';
  if (pattern.startsWith('/v2/repository/')) return 'model-repository';
  if (pattern.startsWith('/v2/systemsharedmemory') || pattern.startsWith('/v2/cudasharedmemory')) return 'shared-memory';
  if (pattern === '/v2/logging') return 'logging';
  if (pattern === '/v2/trace/setting' || pattern.endsWith('/trace/setting')) return 'trace';
  if (pattern === '/v2/models/stats') return 'statistics';
  if (pattern.startsWith('/v2/models/:model')) {
    if (MODEL_PATH.test(pattern)) return 'metadata';
    if (pattern.endsWith('/ready')) return 'health';
    if (pattern.endsWith('/infer')) return 'inference';
    if (pattern.endsWith('/config')) return 'model-config';
    if (pattern.endsWith('/stats')) return 'statistics';
  }
  return undefined;
}

/**
 * TF Serving's REST API (`/v1/models/{m}[/versions/{v} | /labels/{l}][/metadata | :predict |
 * :classify | :regress]`, matched case-insensitively as TF Serving does): the model status is
 * `health` (like GetModelStatus), `/metadata` is `metadata`, and everything else — the
 * `:predict`, `:classify`, `:regress` calls and any path the API would refuse — is `inference`,
 * the strictest group the API has.
 */
export function tfServingRestGroupOf(url: string): ApiGroup {
  const query = url.indexOf('?');
  let path = (query < 0 ? url : url.slice(0, query)).toLowerCase();
  try {
    path = decodeURIComponent(path);
  } catch {
    // An undecodable path is refused by the API itself; it is classified as the raw text.
  }
  if (/\/metadata\/*$/.test(path)) return 'metadata';
  if (/^\/v1\/models\/[^/:]+(?:\/(?:versions|labels)\/[^/:]+)?\/*$/.test(path)) return 'health';
  return 'inference';
}

const OIP_SERVICE = '/inference.GRPCInferenceService/';
const PREDICTION_SERVICE = '/tensorflow.serving.PredictionService/';
const MODEL_SERVICE = '/tensorflow.serving.ModelService/';
const HEALTH_SERVICE = '/grpc.health.v1.Health/';

/** Every gRPC method served, by path, with its group. */
export const GRPC_METHOD_GROUPS: ReadonlyMap<string, ApiGroup> = new Map<string, ApiGroup>([
  ...(['ServerLive', 'ServerReady', 'ModelReady'] as const).map((m): [string, ApiGroup] => [OIP_SERVICE + m, 'health']),
  ...(['ServerMetadata', 'ModelMetadata'] as const).map((m): [string, ApiGroup] => [OIP_SERVICE + m, 'metadata']),
  ...(['ModelInfer', 'ModelStreamInfer'] as const).map((m): [string, ApiGroup] => [OIP_SERVICE + m, 'inference']),
  [OIP_SERVICE + 'ModelConfig', 'model-config'],
  [OIP_SERVICE + 'ModelStatistics', 'statistics'],
  ...(['RepositoryIndex', 'RepositoryModelLoad', 'RepositoryModelUnload'] as const).map((m): [string, ApiGroup] => [OIP_SERVICE + m, 'model-repository']),
  ...(['SystemSharedMemoryStatus', 'SystemSharedMemoryRegister', 'SystemSharedMemoryUnregister', 'CudaSharedMemoryStatus', 'CudaSharedMemoryRegister', 'CudaSharedMemoryUnregister'] as const).map(
    (m): [string, ApiGroup] => [OIP_SERVICE + m, 'shared-memory'],
  ),
  [OIP_SERVICE + 'TraceSetting', 'trace'],
  [OIP_SERVICE + 'LogSettings', 'logging'],
  ...(['Predict', 'Classify', 'Regress', 'MultiInference'] as const).map((m): [string, ApiGroup] => [PREDICTION_SERVICE + m, 'inference']),
  [PREDICTION_SERVICE + 'GetModelMetadata', 'metadata'],
  [MODEL_SERVICE + 'GetModelStatus', 'health'],
  [MODEL_SERVICE + 'HandleReloadConfigRequest', 'model-repository'],
  [HEALTH_SERVICE + 'Check', 'health'],
  [HEALTH_SERVICE + 'Watch', 'health'],
]);

/** The group of a gRPC method path (`/package.Service/Method`); undefined for a method no service has. */
export function grpcGroupOf(path: string): ApiGroup | undefined {
  return GRPC_METHOD_GROUPS.get(path);
}

/** Groups whose state-changing calls must never be reachable by a cross-site browser request. */
const MUTABLE_GROUPS: ReadonlySet<ApiGroup> = new Set(['model-repository', 'cluster-admin', 'shared-memory', 'trace', 'logging']);

/**
 * A request that changes state: POST/PUT/DELETE/PATCH in a group with writes. The repository
 * index is a POST that only reads, but it is held to the same rule (clients send it as JSON or
 * with an empty body), which keeps the rule simple: no write-capable group takes a simple
 * cross-site request.
 */
export function isMutation(method: string, group: ApiGroup | undefined): boolean {
  if (group === undefined || !MUTABLE_GROUPS.has(group)) return false;
  return method === 'POST' || method === 'PUT' || method === 'DELETE' || method === 'PATCH';
}
