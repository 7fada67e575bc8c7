/**
 * Version labels through the repository API (a Cranberries extension next to OIP's model
 * repository extension, so operators and the gateway can move `stable` / `canary` without a
 * config file):
 *
 *   GET  /v2/repository/models/{m}/labels  → 200 {"model": m, "labels": {"stable": 1, ...}}
 *   POST /v2/repository/models/{m}/labels  {"labels": {"stable": 2, "canary": null}}
 *        → 200 with the same shape as GET, after the change
 *
 * POST sets the labels given a version and removes those given `null`; other labels stay. The
 * change applies as a whole or not at all; a label may only point at a READY version (else 400).
 * Unknown models are 404. Errors follow OIP's REST error handling (the app's).
 */
import type { FastifyPluginCallback, FastifyReply, FastifyRequest } from 'fastify';
import { invalidArgument } from '../../core/index.js';
import { routePath, bodyOf } from '../http/index.js';
import type { TfServingOperations } from './tfs-operations.js';

const PATH = '/v2/repository/models/:model/labels';

export function versionLabelRoutes(operations: TfServingOperations): FastifyPluginCallback {
  return (app, _options, done) => {
    routePath(app, PATH, {
      GET: (request, reply) => {
        const model = modelOf(request);
        return answer(reply, model, operations.labels(model));
      },
      POST: (request, reply) => {
        const model = modelOf(request);
        return answer(reply, model, operations.updateLabels(model, labelChanges(bodyOf(request).toString('utf8'))));
      },
    });
    done();
  };
}

function modelOf(request: FastifyRequest): string {
  return (request.params as { model?: string }).model ?? '';
}

function answer(reply: FastifyReply, model: string, labels: Readonly<Record<string, number>>): FastifyReply {
  return reply.header('content-type', 'application/json').send(JSON.stringify({ model, labels }));
}

/** `{"labels": {"<label>": <version> | null, ...}}` → the changes. */
export function labelChanges(text: string): Record<string, number | null> {
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch (error) {
    throw invalidArgument(`malformed JSON in the request body: ${(error as Error).message}`);
  }
  const labels = typeof body === 'object' && body !== null && !Array.isArray(body) ? (body as Record<string, unknown>)['labels'] : undefined;
  if (typeof labels !== 'object' || labels === null || Array.isArray(labels)) {
    throw invalidArgument(`the body must be {"labels": {"<label>": <version> or null, ...}}`);
  }
  const changes: Record<string, number | null> = {};
  for (const [label, version] of Object.entries(labels as Record<string, unknown>)) {
    if (version !== null && (typeof version !== 'number' || !Number.isSafeInteger(version) || version < 1)) {
      throw invalidArgument(`label '${label}': the version must be a positive integer, or null to remove the label`);
    }
    changes[label] = version;
  }
  return changes;
}
