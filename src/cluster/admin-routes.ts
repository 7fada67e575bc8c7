/**
 * The cluster admin API over HTTP: a fastify plugin mounting `ClusterAdmin` under `/v2/cluster`.
 *
 *   GET    /v2/cluster/nodes                     {"nodes": [NodeView...]}
 *   GET    /v2/cluster/models                    {"models": [ModelView...]}
 *   GET    /v2/cluster/models/{m}                ModelView
 *   POST   /v2/cluster/models/{m}                add; body {"replicas"?: N, "memory"?: bytes | "2GiB"}  → 201
 *   PUT    /v2/cluster/models/{m}/replicas       body {"replicas": N}
 *   DELETE /v2/cluster/models/{m}                remove from the desired state                     → {}
 *   POST   /v2/cluster/models/{m}/load           body {"replicas"?: N} (default: the default count)
 *   POST   /v2/cluster/models/{m}/unload         replicas 0
 *
 * Errors are `{"error": "<message>"}`: 400 invalid input, 404 unknown model, 409 already exists or
 * a concurrent change, 503 coordination store unreachable. Bodies are read whatever the app's
 * parsers made of them (a raw Buffer, a string or parsed JSON), so the plugin works on an app that
 * reads every body raw, as the inference apps do.
 */
import type { FastifyPluginAsync, FastifyReply } from 'fastify';
import { z } from 'zod';
import { CranberriesError, asCranberriesError, invalidArgument, type ErrorCode, clientMessage } from '../core/index.js';
import { ClusterAdmin, type ClusterAdminOptions, type SettledView } from './admin-api.js';
import { parseMemorySize } from './memory-size.js';
import type { CoordinationStore } from './store/coordination-store.js';

export interface ClusterAdminRoutesOptions extends ClusterAdminOptions {
  /** Default `/v2/cluster`. */
  readonly prefix?: string;
  /**
   * How long a change waits for the cluster to carry it out before answering (default 10 s; a
   * request's `?wait=<seconds>` overrides it, 0..60). Carried out: 200 (201 for an add) with the
   * state after the change; not yet: 202 with the latest state and a `Location` to watch.
   */
  readonly settleMs?: number;
}

const STATUS: Partial<Record<ErrorCode, number>> = {
  INVALID_ARGUMENT: 400,
  NOT_FOUND: 404,
  ALREADY_EXISTS: 409,
  FAILED_PRECONDITION: 409,
  UNAVAILABLE: 503,
  DEADLINE_EXCEEDED: 504,
};

const AddBody = z.strictObject({ replicas: z.number().optional(), memory: z.union([z.number(), z.string()]).optional() });
const ReplicasBody = z.strictObject({ replicas: z.number() });
const LoadBody = z.strictObject({ replicas: z.number().optional() });

export function clusterAdminRoutes(store: CoordinationStore, options: ClusterAdminRoutesOptions = {}): FastifyPluginAsync {
  const admin = new ClusterAdmin(store, options);
  const prefix = options.prefix ?? '/v2/cluster';
  return (app) => {
    // Errors raised before a handler runs (e.g. the app's JSON parser) get the same shape.
    app.setErrorHandler((error, _request, reply) => {
      const status = typeof (error as { statusCode?: unknown }).statusCode === 'number' ? (error as { statusCode: number }).statusCode : 500;
      const message = error instanceof Error ? error.message : String(error);
      return reply
        .code(status >= 400 && status <= 599 ? status : 500)
        .header('content-type', 'application/json')
        .send(JSON.stringify({ error: clientMessage(message) }));
    });
    type ModelParams = { Params: { model: string }; Querystring: { wait?: string } };
    const defaultSettleMs = options.settleMs ?? DEFAULT_SETTLE_MS;
    /** Applies a change, then answers with the state after it (or 202 + where to watch). */
    const change = (request: { params: { model: string }; query: { wait?: string } }, reply: FastifyReply, done: number, work: () => Promise<unknown>): Promise<FastifyReply> =>
      answerChange(
        reply,
        done,
        async () => {
          await work();
          const waitMs = request.query.wait === undefined ? defaultSettleMs : waitParameter(request.query.wait);
          return admin.settle(request.params.model, waitMs);
        },
        `${prefix}/models/${encodeURIComponent(request.params.model)}`,
      );
    app.get(`${prefix}/nodes`, (_request, reply) => answer(reply, 200, async () => ({ nodes: await admin.listNodes() })));
    app.get(`${prefix}/models`, (_request, reply) => answer(reply, 200, async () => ({ models: await admin.listModels() })));
    app.get<ModelParams>(`${prefix}/models/:model`, (request, reply) => answer(reply, 200, () => admin.getModel(request.params.model)));
    app.post<ModelParams>(`${prefix}/models/:model`, (request, reply) =>
      change(request, reply, 201, () => {
        const body = parseBody(request.body, AddBody);
        const memoryBytes = body.memory === undefined ? undefined : typeof body.memory === 'number' ? body.memory : parseMemorySize(body.memory);
        return admin.addModel(request.params.model, { replicas: body.replicas, memoryBytes });
      }),
    );
    app.put<ModelParams>(`${prefix}/models/:model/replicas`, (request, reply) =>
      change(request, reply, 200, () => admin.setReplicas(request.params.model, parseBody(request.body, ReplicasBody, false).replicas)),
    );
    app.delete<ModelParams>(`${prefix}/models/:model`, (request, reply) => answer(reply, 200, async () => (await admin.removeModel(request.params.model), {})));
    app.post<ModelParams>(`${prefix}/models/:model/load`, (request, reply) => change(request, reply, 200, () => admin.load(request.params.model, parseBody(request.body, LoadBody).replicas)));
    app.post<ModelParams>(`${prefix}/models/:model/unload`, (request, reply) => change(request, reply, 200, () => admin.unload(request.params.model)));
    return Promise.resolve();
  };
}

const DEFAULT_SETTLE_MS = 10_000;
const MAX_WAIT_SECONDS = 60;

function waitParameter(value: string): number {
  const seconds = Number(value);
  if (value.trim() === '' || !Number.isFinite(seconds) || seconds < 0 || seconds > MAX_WAIT_SECONDS) {
    throw invalidArgument(`'wait' must be a number of seconds from 0 to ${MAX_WAIT_SECONDS}`);
  }
  return seconds * 1000;
}

/** `done` with the view once the change took effect; 202, the latest view and a Location to watch otherwise. */
async function answerChange(reply: FastifyReply, done: number, work: () => Promise<SettledView>, location: string): Promise<FastifyReply> {
  try {
    const { view, settled } = await work();
    if (settled) return reply.code(done).header('content-type', 'application/json').send(JSON.stringify(view));
    const body = { ...view, watch: location, message: 'the change is accepted and under way: GET the watch URL for its progress' };
    return reply.code(202).header('content-type', 'application/json').header('location', location).send(JSON.stringify(body));
  } catch (error) {
    return answer(reply, 0, () => Promise.reject(asCranberriesError(error)));
  }
}

async function answer(reply: FastifyReply, status: number, work: () => Promise<unknown>): Promise<FastifyReply> {
  try {
    const body = await work();
    return reply.code(status).header('content-type', 'application/json').send(JSON.stringify(body));
  } catch (error) {
    const failure = asCranberriesError(error);
    const code = STATUS[failure.code] ?? 500;
    return reply
      .code(code)
      .header('content-type', 'application/json')
      .send(JSON.stringify({ error: clientMessage(failure.message) }));
  }
}

/** The JSON body, whatever form the app's parsers left it in; an empty body is `{}` unless required. */
function parseBody<T>(raw: unknown, schema: z.ZodType<T>, emptyAllowed = true): T {
  let value: unknown = raw;
  if (Buffer.isBuffer(raw) || raw instanceof Uint8Array) value = Buffer.from(raw).toString('utf8');
  if (typeof value === 'string') {
    if (value.trim() === '') value = undefined;
    else {
      try {
        value = JSON.parse(value);
      } catch {
        throw invalidArgument('the request body is not valid JSON');
      }
    }
  }
  if (value === undefined || value === null) {
    if (!emptyAllowed) throw invalidArgument('the request needs a JSON body');
    value = {};
  }
  const parsed = schema.safeParse(value);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const field = issue?.path.join('.') || 'body';
    throw new CranberriesError('INVALID_ARGUMENT', `invalid request body: '${field}': ${issue?.message ?? 'invalid'}`);
  }
  return parsed.data;
}
