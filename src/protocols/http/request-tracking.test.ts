import { test } from 'node:test';
import assert from 'node:assert/strict';
import Fastify, { type FastifyInstance } from 'fastify';
import { CranberriesError, invalidArgument } from '../../core/errors.js';
import type { InferenceService } from '../../serving/inference-service.js';
import { adoptOipRequestId, httpRequestId, installHttpRequestTracking } from './request-tracking.js';
import { versionOrUndefined } from '../common/request-id.js';

function app(recorded: unknown[][], bodyLimit?: number): FastifyInstance {
  const instance = Fastify({ genReqId: httpRequestId, ...(bodyLimit === undefined ? {} : { bodyLimit }) });
  const recorder: Pick<InferenceService, 'recordRejected'> = { recordRejected: (...args) => void recorded.push(args) };
  installHttpRequestTracking(instance, { recorder });
  instance.setErrorHandler((error, _request, reply) =>
    reply
      .code((error as { statusCode?: number }).statusCode ?? 400)
      .header('content-type', 'application/json')
      .send(JSON.stringify({ error: (error as Error).message })),
  );
  instance.post('/v2/models/:model/versions/:version/infer', (request) => {
    adoptOipRequestId(request, (request.body as { id?: string }).id);
    throw invalidArgument(`bad input (id ${request.id})`);
  });
  instance.post('/v2/models/:model/infer', () => ({ ok: true }));
  instance.get('/v2/models/:model', () => {
    throw invalidArgument('metadata failure');
  });
  return instance;
}

test('the x-request-id header is echoed on every answer and added to error bodies after "error"', async () => {
  const recorded: unknown[][] = [];
  const instance = app(recorded);
  const ok = await instance.inject({ method: 'POST', url: '/v2/models/m/infer', headers: { 'x-request-id': 'abc' }, payload: {} });
  assert.equal(ok.headers['x-request-id'], 'abc');
  assert.equal(ok.body, '{"ok":true}');
  const failed = await instance.inject({ method: 'POST', url: '/v2/models/m/versions/2/infer', headers: { 'x-request-id': 'def' }, payload: { id: 'oip' } });
  assert.equal(failed.headers['x-request-id'], 'def');
  assert.equal(failed.body, '{"error":"bad input (id def)","request_id":"def"}');
  const missing = await instance.inject({ method: 'GET', url: '/nowhere' });
  assert.match(missing.headers['x-request-id'] as string, /^[0-9a-f]{12}-[0-9a-f]+$/);
  await instance.close();
});

test('without a header the OIP id is adopted once decoded', async () => {
  const instance = app([]);
  const failed = await instance.inject({ method: 'POST', url: '/v2/models/m/versions/2/infer', payload: { id: 'oip-9' } });
  assert.equal(failed.headers['x-request-id'], 'oip-9');
  assert.equal(failed.json<{ request_id: string }>().request_id, 'oip-9');
  await instance.close();
});

test('an over-sized body on an inference route counts as the caller mistake it is, not a server failure', async () => {
  const recorded: unknown[][] = [];
  const instance = app(recorded, 16);
  const response = await instance.inject({ method: 'POST', url: '/v2/models/m/infer', payload: { data: 'x'.repeat(100) } });
  assert.equal(response.statusCode, 413);
  assert.equal(recorded.length, 1);
  assert.ok(recorded[0]![2] instanceof CranberriesError);
  assert.equal(recorded[0]![2].reason, 'invalid_argument');
  await instance.close();
});

test('failures of inference routes are reported with model, version and request id; other routes are not', async () => {
  const recorded: unknown[][] = [];
  const instance = app(recorded);
  await instance.inject({ method: 'POST', url: '/v2/models/my%20model/versions/2/infer', headers: { 'x-request-id': 'r1' }, payload: {} });
  await instance.inject({ method: 'GET', url: '/v2/models/m' });
  assert.equal(recorded.length, 1);
  const [model, version, error, requestId] = recorded[0]!;
  assert.equal(model, 'my model');
  assert.equal(version, 2);
  assert.match((error as Error).message, /bad input/);
  assert.equal(requestId, 'r1');
  await instance.close();
});

test('unusable x-request-id headers are replaced by generated ids', async () => {
  const instance = app([]);
  for (const header of ['has space', 'x'.repeat(129)]) {
    const response = await instance.inject({ method: 'POST', url: '/v2/models/m/infer', headers: { 'x-request-id': header }, payload: {} });
    assert.match(response.headers['x-request-id'] as string, /^[0-9a-f]{12}-[0-9a-f]+$/);
  }
  await instance.close();
});

test('versionOrUndefined reads decimal versions and nothing else', () => {
  assert.equal(versionOrUndefined('12'), 12);
  assert.equal(versionOrUndefined(undefined), undefined);
  assert.equal(versionOrUndefined(''), undefined);
  assert.equal(versionOrUndefined('-1'), undefined);
  assert.equal(versionOrUndefined('1.5'), undefined);
  assert.equal(versionOrUndefined('1'.repeat(16)), undefined);
});
