/**
 * The TensorFlow Serving REST API (`/v1/models/...`) as a fastify plugin on the app that also
 * serves OIP: every `/v1/...` request reaches one handler that parses the path itself (TF Serving's
 * `:predict` suffixes and case-insensitive matching do not fit a router), with TF Serving's error
 * statuses. The same plugin adds the version-label endpoints of the repository API
 * (`/v2/repository/models/{m}/labels`, see `label-routes.ts`), which follow OIP's error handling.
 */
import type { FastifyInstance, FastifyPluginCallback, FastifyReply, FastifyRequest } from 'fastify';
import { invalidArgument } from '../../core/index.js';
import type { InferenceService, VersionStatus } from '../../serving/index.js';
import { connectionSignal, bodyOf } from '../http/index.js';
import { examplesFromJson } from './examples.js';
import { parseTfsJson } from './json-text.js';
import { formatFloat32 } from './json-tensor-encode.js';
import { versionLabelRoutes } from './label-routes.js';
import { decodePredictInputs, encodePredictResponse, readPredictRequest } from './predict-json.js';
import { signatureDefMap } from './signatures.js';
import { installTfsErrorHandler } from './tfs-errors.js';
import { parseTfsRestPath } from './tfs-rest-path.js';
import { TfServingOperations } from './tfs-operations.js';
import { tfsStateOf, tfsStatusOf } from './version-status.js';

const ALL_METHODS = ['GET', 'HEAD', 'POST', 'PUT', 'DELETE', 'PATCH', 'OPTIONS'] as const;

export function tfServingRoutes(service: InferenceService, maxBodyBytes: number): FastifyPluginCallback {
  const operations = new TfServingOperations(service);
  return (app, _options, done) => {
    void app.register((v1, _v1Options, v1Done) => {
      installTfsErrorHandler(v1, maxBodyBytes);
      registerV1(v1, operations);
      v1Done();
    });
    void app.register(versionLabelRoutes(operations));
    done();
  };
}

function registerV1(app: FastifyInstance, operations: TfServingOperations): void {
  app.route({
    method: [...ALL_METHODS],
    url: '/v1/*',
    exposeHeadRoute: false,
    handler: (request, reply) => handle(operations, request, reply),
  });
}

async function handle(operations: TfServingOperations, request: FastifyRequest, reply: FastifyReply): Promise<FastifyReply> {
  const call = parseTfsRestPath(request.method, request.url);
  switch (call.kind) {
    case 'status':
      return json(reply, `{"model_version_status":[${operations.status(call.ref).map(statusJson).join(',')}]}`);
    case 'metadata': {
      const { version, metadata } = operations.metadata(call.ref);
      return json(
        reply,
        JSON.stringify({
          model_spec: { name: call.ref.model, signature_name: '', version: String(version) },
          metadata: { signature_def: { signature_def: signatureDefMap(metadata) } },
        }),
      );
    }
    case 'predict': {
      const predict = readPredictRequest(jsonBody(request));
      const result = await operations.predict(call.ref, predict.signatureName, (metadata) => decodePredictInputs(predict, metadata.inputs), undefined, { signal: connectionSignal(request) });
      return json(reply, encodePredictResponse(predict.format, result.outputs));
    }
    // Scores and regression values are `float` in TF Serving's messages: written as float32, as over gRPC.
    case 'classify': {
      const { signatureName, examples } = examplesRequest(request);
      const result = await operations.classify(call.ref, signatureName, examples, { signal: connectionSignal(request) });
      const rows = result.results.map((row) => `[${row.map(([label, score]) => `[${JSON.stringify(label)},${formatFloat32(Math.fround(score))}]`).join(',')}]`);
      return json(reply, `{"results":[${rows.join(',')}]}`);
    }
    case 'regress': {
      const { signatureName, examples } = examplesRequest(request);
      const result = await operations.regress(call.ref, signatureName, examples, { signal: connectionSignal(request) });
      return json(reply, `{"results":[${result.results.map((value) => formatFloat32(Math.fround(value))).join(',')}]}`);
    }
  }
}

function json(reply: FastifyReply, text: string): FastifyReply {
  return reply.header('content-type', 'application/json').send(text);
}

function jsonBody(request: FastifyRequest): unknown {
  return parseTfsJson(bodyOf(request).toString('utf8'));
}

function examplesRequest(request: FastifyRequest): { signatureName: string; examples: ReturnType<typeof examplesFromJson> } {
  const body = jsonBody(request);
  if (typeof body !== 'object' || body === null || Array.isArray(body)) throw invalidArgument('the request body must be a JSON object');
  const fields = body as Record<string, unknown>;
  const signatureName = fields['signature_name'] ?? '';
  if (typeof signatureName !== 'string') throw invalidArgument(`'signature_name' must be a string`);
  return { signatureName, examples: examplesFromJson(fields) };
}

/** One `ModelVersionStatus` as TF Serving's JSON (int64 version as a string, enum names). */
function statusJson(status: VersionStatus): string {
  const { error_code, error_message } = tfsStatusOf(status);
  return JSON.stringify({ version: String(status.version), state: tfsStateOf(status.state), status: { error_code, error_message } });
}
