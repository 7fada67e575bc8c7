/**
 * Every 404 and 405 an HTTP listener gives is `{"error": ...}` JSON, as Triton answers them
 * (`{"error":"Not Found"}` for an unknown path, `{"error":"Method Not Allowed"}` for a known path
 * with another method), on the REST port (OIP and TF Serving routes) and on the metrics port.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { request } from 'node:http';
import { createTempModelRepository, identityModel, type TempModelRepository } from '../fixtures/onnx-models.js';
import { startTestServer, type TestServer } from '../helpers/test-server.js';

let repo: TempModelRepository;
let server: TestServer;

before(async () => {
  repo = await createTempModelRepository({ m: { versions: { 1: identityModel({ datatype: 'FP32', dims: [2], batching: true }) } } });
  server = await startTestServer({ modelRepository: repo.root });
});

after(async () => {
  await server?.stop();
  await repo?.remove();
});

/** A raw request (fetch refuses some methods), answering status, content type and body. */
function call(port: number, method: string, path: string): Promise<{ status: number; type: string | undefined; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, method, path }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (body += chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, type: res.headers['content-type'], body }));
    });
    req.on('error', reject);
    req.end();
  });
}

async function expectJsonError(port: number, method: string, path: string, status: number, error: string): Promise<void> {
  const answer = await call(port, method, path);
  const where = `${method} ${path} on port ${port}: ${answer.status} ${answer.type} ${answer.body}`;
  assert.equal(answer.status, status, where);
  assert.match(answer.type ?? '', /^application\/json/, where);
  assert.equal((JSON.parse(answer.body) as { error?: unknown }).error, error, where);
}

test('unknown paths are 404 {"error":"Not Found"} and wrong methods 405 {"error":"Method Not Allowed"} on every HTTP listener', async () => {
  const { http, metrics } = server.ports;
  for (const path of ['/', '/v2/nothing', '/v2/models/m/versions/1/nothing', '/v1', '/metrics']) await expectJsonError(http, 'GET', path, 404, 'Not Found');
  await expectJsonError(http, 'OPTIONS', '/v2/models', 404, 'Not Found');
  for (const [method, path] of [
    ['POST', '/v2/health/live'],
    ['GET', '/v2/models/m/infer'],
    ['PUT', '/v2/repository/index'],
    ['DELETE', '/v2/models/m'],
  ]) {
    await expectJsonError(http, method!, path!, 405, 'Method Not Allowed');
  }
  for (const path of ['/', '/v2/health/live', '/metrics/extra']) await expectJsonError(metrics, 'GET', path, 404, 'Not Found');
  for (const method of ['POST', 'PUT', 'DELETE']) await expectJsonError(metrics, method, '/metrics', 405, 'Method Not Allowed');
  // The endpoint itself still answers Prometheus text.
  const scrape = await call(metrics, 'GET', '/metrics');
  assert.equal(scrape.status, 200);
  assert.match(scrape.type ?? '', /^text\/plain/);
});
