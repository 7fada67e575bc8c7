/**
 * Triton's logging extension over REST: `GET /v2/logging` answers the log settings, `POST
 * /v2/logging` changes the ones its JSON body names and answers them all. Refusals are
 * `{"error": ...}`: 400 for an unknown setting or a wrong type or value, 501 for `log_file` (as
 * Triton: the log file is not changed over the network).
 */
import type { FastifyPluginCallback, FastifyReply } from 'fastify';
import { invalidArgument } from '../../core/index.js';
import type { LogSettings } from '../../core/index.js';
import { isJsonObject, parseJsonText } from './json-fields.js';
import { routePath } from './method-routes.js';
import { bodyOf } from './request-body.js';

export function loggingRoutes(settings: LogSettings): FastifyPluginCallback {
  return (app, _options, done) => {
    const json = (reply: FastifyReply, value: unknown): FastifyReply => reply.header('content-type', 'application/json').send(JSON.stringify(value));
    routePath(app, '/v2/logging', {
      GET: (_request, reply) => json(reply, settings.snapshot()),
      POST: (request, reply) => {
        // An empty body changes nothing (Triton accepts it too).
        const body = parseJsonText(bodyOf(request).toString('utf8')) ?? {};
        if (!isJsonObject(body)) throw invalidArgument('the request body must be a JSON object of log settings');
        return json(reply, settings.update(body));
      },
    });
    done();
  };
}
