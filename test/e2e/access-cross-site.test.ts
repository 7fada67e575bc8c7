/**
 * Cross-site protection of the calls that change the server, on a real standalone server (the
 * one-node cluster `cranberries serve` runs) over real sockets, with no access flags at all: a web
 * page the operator opens must not be able to unload models or change replicas by sending a
 * "simple" request (text/plain body, any Origin) that a browser sends without asking first.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createLogger } from '../../src/core/logger.js';
import { startStandalone, type Standalone } from '../../src/composition/standalone.js';
import { createTempModelRepository, identityModel, type TempModelRepository } from '../fixtures/onnx-models.js';
import { waitFor } from '../helpers/test-server.js';

const EVIL = 'http://evil.example';
let repo: TempModelRepository;
let server: Standalone;
let url: string;

before(async () => {
  repo = await createTempModelRepository({ digits: { versions: { 1: identityModel({ datatype: 'FP32', dims: [-1], batching: true }) }, config: 'max_batch_size: 8\n' } });
  server = await startStandalone({
    modelRepository: repo.root,
    host: '127.0.0.1',
    httpPort: 0,
    grpcPort: 0,
    metricsPort: 0,
    controlMode: 'none',
    pollSeconds: 1,
    loadModels: [],
    httpMaxBodyBytes: 1 << 20,
    grpcMaxMessageBytes: 1 << 20,
    logger: createLogger('silent'),
  });
  url = `http://127.0.0.1:${server.ports.http}`;
  await waitFor(async () => (await fetch(`${url}/v2/models/digits/ready`)).status === 200, 30_000, 'digits to be ready');
});

after(async () => {
  await server?.stop();
  await repo?.remove();
});

async function replicas(): Promise<number> {
  const response = await fetch(`${url}/v2/cluster/models/digits`);
  assert.equal(response.status, 200);
  return ((await response.json()) as { replicas: number }).replicas;
}

describe('calls that change the server refuse cross-site simple requests', () => {
  test('PUT replicas with text/plain from another origin is 403 and changes nothing', async () => {
    const response = await fetch(`${url}/v2/cluster/models/digits/replicas`, {
      method: 'PUT',
      body: '{"replicas":0}',
      headers: { 'content-type': 'text/plain', origin: EVIL },
    });
    assert.equal(response.status, 403);
    assert.match(((await response.json()) as { error: string }).error, /cross-origin request refused/);
    assert.equal(response.headers.get('access-control-allow-origin'), null);
    assert.equal(await replicas(), 1);
  });

  test('cluster unload and repository unload with text/plain are refused, with or without Origin', async () => {
    for (const path of ['/v2/cluster/models/digits/unload', '/v2/repository/models/digits/unload']) {
      const crossSite = await fetch(url + path, { method: 'POST', body: '{}', headers: { 'content-type': 'text/plain', origin: EVIL } });
      assert.equal(crossSite.status, 403, path);
      const form = await fetch(url + path, { method: 'POST', body: 'a=b', headers: { 'content-type': 'application/x-www-form-urlencoded' } });
      assert.equal(form.status, 415, path);
      assert.match(((await form.json()) as { error: string }).error, /Content-Type: application\/json/);
    }
    assert.equal(await replicas(), 1);
    assert.equal((await fetch(`${url}/v2/models/digits/ready`)).status, 200);
  });

  test('a CORS preflight from another origin gets no CORS headers', async () => {
    const response = await fetch(`${url}/v2/cluster/models/digits/replicas`, {
      method: 'OPTIONS',
      headers: { origin: EVIL, 'access-control-request-method': 'PUT', 'access-control-request-headers': 'content-type' },
    });
    assert.equal(response.headers.get('access-control-allow-origin'), null);
    assert.notEqual(response.status, 204);
  });

  test('JSON requests and bodiless requests from non-browser clients still work', async () => {
    const set = await fetch(`${url}/v2/cluster/models/digits/replicas`, { method: 'PUT', body: '{"replicas":1}', headers: { 'content-type': 'application/json; charset=utf-8' } });
    assert.equal(set.status, 200);
    const index = await fetch(`${url}/v2/repository/index`, { method: 'POST' });
    assert.equal(index.status, 200);
    // Inference is not a mutation: the binary extension sends other content types by design.
    const infer = await fetch(`${url}/v2/models/digits/infer`, {
      method: 'POST',
      body: JSON.stringify({ inputs: [{ name: 'INPUT0', datatype: 'FP32', shape: [1, 2], data: [1, 2] }] }),
      headers: { 'content-type': 'text/plain' },
    });
    assert.equal(infer.status, 200);
  });
});
