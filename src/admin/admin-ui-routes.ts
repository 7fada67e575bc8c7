/**
 * The administration UI on an HTTP app: the browser bundle at `/ui/` (`GET /` redirects there) and
 * the read-only APIs the pages use besides the cluster admin API (`/v2/cluster/...` of
 * `cluster/admin-routes.ts`, which carries out the actions):
 *
 *   GET /v2/cluster/overview          Overview: component health, workers, models, addable models
 *   GET /v2/cluster/events            server-sent events: `overview` (the whole view, on every change)
 *                                     and `cluster-event` (one change in plain words, JSON); filters
 *                                     `?model=` `?node=`; `Last-Event-ID` resumes
 *   GET /v2/cluster/events/recent     {"events": [...]} the recent events as JSON (same filters)
 *   GET /v2/cluster/metrics           the Prometheus text the model page charts (when the host has one)
 *
 * They sit under `/v2/cluster`, so they belong to the `cluster-admin` API group: with an admin
 * token configured they need it like the actions do. The bundle itself is open (it holds no data).
 *
 * Caching: hashed files under `/ui/assets/` are immutable for a year; `index.html` is `no-cache`
 * (revalidated every time, so a new build is picked up at once).
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { ServerResponse } from 'node:http';
import fastifyStatic from '@fastify/static';
import type { FastifyPluginAsync, FastifyReply } from 'fastify';
import { PACKAGE_ROOT } from '../core/index.js';
import { matches, type ClusterFeed, type EventFilter, type FeedUpdate } from './cluster-feed.js';

export interface AdminUiOptions {
  readonly feed: ClusterFeed;
  /** The Prometheus exposition text of the component that serves inference; absent: `/v2/cluster/metrics` is 404. */
  readonly metricsText?: () => Promise<string>;
  /** The built bundle; default `<package>/dist/ui`. */
  readonly uiRoot?: string;
  /** SSE comment sent this often so proxies and idle timeouts keep the stream open. Default 15 s. */
  readonly heartbeatMs?: number;
}

export const DEFAULT_UI_ROOT = join(PACKAGE_ROOT, 'dist', 'ui');
const HEARTBEAT_MS = 15_000;
const MAX_FILTER_LENGTH = 256;
const MAX_BUFFERED_BYTES = 4 * 1024 * 1024;

export function adminUiRoutes(options: AdminUiOptions): FastifyPluginAsync {
  const uiRoot = options.uiRoot ?? DEFAULT_UI_ROOT;
  const { feed } = options;
  return async (app) => {
    const streams = new Set<ServerResponse>();
    app.addHook('onReady', (done) => {
      feed.start();
      done();
    });
    // Before the server closes: open event streams would otherwise keep it waiting.
    app.addHook('preClose', (done) => {
      for (const stream of streams) stream.end();
      streams.clear();
      done();
    });
    app.addHook('onClose', (_instance, done) => {
      feed.stop();
      done();
    });

    app.get('/', (_request, reply) => reply.redirect('/ui/', 302));
    app.get('/ui', (_request, reply) => reply.redirect('/ui/', 302));
    if (existsSync(join(uiRoot, 'index.html'))) {
      await app.register(fastifyStatic, {
        root: uiRoot,
        prefix: '/ui/',
        cacheControl: false,
        etag: true,
        lastModified: true,
        setHeaders: (response, path) => {
          const immutable = path.includes(`${join(uiRoot, 'assets')}`);
          response.setHeader('cache-control', immutable ? 'public, max-age=31536000, immutable' : 'no-cache');
        },
      });
    } else {
      app.get('/ui/*', (_request, reply) =>
        reply
          .code(503)
          .header('content-type', 'text/plain; charset=utf-8')
          .send(`The administration UI is not built (no ${join(uiRoot, 'index.html')}): run \`npm run build\`.\n`),
      );
    }

    app.get('/v2/cluster/overview', async (_request, reply) => json(reply, 200, await feed.overview()));
    type EventQuery = { Querystring: { model?: string; node?: string } };
    app.get<EventQuery>('/v2/cluster/events/recent', (request, reply) => {
      const filter = eventFilter(request.query, undefined);
      if (typeof filter === 'string') return json(reply, 400, { error: filter });
      return json(reply, 200, { events: feed.events(filter) });
    });
    app.get<EventQuery>('/v2/cluster/events', async (request, reply) => {
      const filter = eventFilter(request.query, request.headers['last-event-id']);
      if (typeof filter === 'string') return json(reply, 400, { error: filter });
      const overview = await feed.overview();
      reply.hijack();
      const raw = reply.raw;
      raw.writeHead(200, { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-cache', connection: 'keep-alive', 'x-accel-buffering': 'no' });
      raw.write('retry: 2000\n\n');
      raw.write(sseMessage('overview', overview));
      for (const event of feed.events(filter)) raw.write(sseMessage('cluster-event', event, event.id));
      const unsubscribe = feed.subscribe((update: FeedUpdate) => {
        // A reader that does not keep up is let go rather than buffered without bound; it
        // reconnects and resumes with Last-Event-ID.
        if (raw.writableLength > MAX_BUFFERED_BYTES) {
          raw.end();
          return;
        }
        raw.write(sseMessage('overview', update.overview));
        for (const event of update.events) if (matches(event, filter)) raw.write(sseMessage('cluster-event', event, event.id));
      });
      const heartbeat = setInterval(() => raw.write(': keep-alive\n\n'), options.heartbeatMs ?? HEARTBEAT_MS);
      streams.add(raw);
      raw.on('close', () => {
        clearInterval(heartbeat);
        unsubscribe();
        streams.delete(raw);
      });
    });
    app.get('/v2/cluster/metrics', async (_request, reply) => {
      if (!options.metricsText) return json(reply, 404, { error: 'no metrics are available here' });
      try {
        return await reply
          .code(200)
          .header('content-type', 'text/plain; version=0.0.4; charset=utf-8')
          .send(await options.metricsText());
      } catch (error) {
        return json(reply, 502, { error: `metrics are unavailable: ${error instanceof Error ? error.message.slice(0, 200) : 'unknown error'}` });
      }
    });
  };
}

function json(reply: FastifyReply, status: number, body: unknown): FastifyReply {
  return reply.code(status).header('content-type', 'application/json').header('cache-control', 'no-store').send(JSON.stringify(body));
}

function sseMessage(event: string, data: unknown, id?: number): string {
  return `${id === undefined ? '' : `id: ${id}\n`}event: ${event}\ndata: ${JSON.stringify(data)}\n\n`;
}

/** The filter of an events request, or the error message for a bad one. */
function eventFilter(query: { model?: unknown; node?: unknown }, lastEventId: string | string[] | undefined): EventFilter | string {
  for (const [name, value] of Object.entries({ model: query.model, node: query.node })) {
    if (value !== undefined && (typeof value !== 'string' || value.length > MAX_FILTER_LENGTH)) return `'${name}' must be one name of at most ${MAX_FILTER_LENGTH} characters`;
  }
  let afterId: number | undefined;
  if (typeof lastEventId === 'string' && lastEventId !== '') {
    afterId = Number(lastEventId);
    if (!Number.isSafeInteger(afterId) || afterId < 0) return 'Last-Event-ID must be an event id';
  }
  return { model: query.model as string | undefined, node: query.node as string | undefined, afterId };
}
