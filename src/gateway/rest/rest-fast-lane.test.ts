import assert from 'node:assert/strict';
import { createServer, type IncomingHttpHeaders, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createNetServer, type AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { EndpointHealth, EndpointTable, type WorkerSnapshot, Picker, RequestRouter, RetryBudget } from '../routing/index.js';
import { HttpUpstreams } from './http-upstreams.js';
import { installRestFastLane, matchRelayRoute } from './rest-fast-lane.js';
import type { RestForwardingOptions } from './rest-forwarding.js';

describe('matchRelayRoute', () => {
  it('takes OIP inference and TF Serving paths, and leaves everything else to fastify', () => {
    const cases: [string, string, ReturnType<typeof matchRelayRoute>][] = [
      ['POST', '/v2/models/m/infer', { model: 'm', version: undefined, anyWorkerIfUnknown: false }],
      ['POST', '/v2/models/m/versions/3/infer?x=1', { model: 'm', version: 3, anyWorkerIfUnknown: false }],
      ['POST', '/v2/models/a%2Fb/infer', { model: 'a/b', version: undefined, anyWorkerIfUnknown: false }],
      ['POST', '/v1/models/m:predict', { model: 'm', version: undefined, anyWorkerIfUnknown: true }],
      ['GET', '/v1/models/m/versions/2/metadata', { model: 'm', version: 2, anyWorkerIfUnknown: true }],
      ['GET', '/v1/other', { model: undefined, version: undefined, anyWorkerIfUnknown: true }],
      ['GET', '/v2/models/m/infer', undefined],
      ['POST', '/v2/models/m', undefined],
      ['POST', '/v2/models/m/infer/', undefined],
      ['POST', '/v2/models//infer', undefined],
      ['POST', '/v2/models/m/versions/x/infer', undefined],
      ['POST', '/v2/models/m/versions/1234567890123456/infer', undefined],
      ['POST', '/v2/models/%E0%A4%A/infer', undefined],
      ['POST', `/v2/models/${'a'.repeat(1025)}/infer`, undefined],
      ['DELETE', '/v1/models/m', undefined],
      ['POST', '/v2/repository/index', undefined],
    ];
    for (const [method, url, expected] of cases) assert.deepEqual(matchRelayRoute(method, url), expected, `${method} ${url}`);
  });
});

interface Seen {
  url: string;
  headers: IncomingHttpHeaders;
  body: Buffer;
}

function listen(server: Server): Promise<string> {
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(`127.0.0.1:${(server.address() as AddressInfo).port}`)));
}

function tableFor(workers: readonly { id: string; http: string }[]): EndpointTable {
  const snapshots = new Map<string, WorkerSnapshot>(
    workers.map((w) => [
      w.id,
      {
        node: { id: w.id, httpAddress: w.http, grpcAddress: '127.0.0.1:1', memoryCapacityBytes: 1 << 30, labels: {}, startedAt: 0 },
        status: { models: { m: { versions: { '1': { state: 'READY' } } } } },
      },
    ]),
  );
  return EndpointTable.build({ workers: snapshots, deployments: new Map([['m', { name: 'm', replicas: workers.length, memoryBytes: 0, memoryMeasured: false }]]) });
}

describe('installRestFastLane', () => {
  const seen: Seen[] = [];
  const closedEarly: string[] = [];
  const fallbackUrls: string[] = [];
  let worker: Server;
  let workerAddress: string;
  /** A worker that has just unloaded `m`: it answers 404 although the table still lists it there. */
  let stale: Server;
  let staleAddress: string;
  let staleAsked = 0;
  let goneAddress: string;
  let gateway: Server;
  let url: string;
  let table: EndpointTable;
  let live = true;
  const upstreams = new HttpUpstreams();
  const health = new EndpointHealth({ probe: () => Promise.resolve(false), initialProbeDelayMs: 60_000 });

  before(async () => {
    worker = createServer((req: IncomingMessage, res: ServerResponse) => {
      const chunks: Buffer[] = [];
      req.on('data', (chunk: Buffer) => chunks.push(chunk));
      req.on('end', () => {
        seen.push({ url: req.url ?? '', headers: req.headers, body: Buffer.concat(chunks) });
        if (req.url?.includes('hang')) {
          res.on('close', () => closedEarly.push(req.url ?? ''));
          return;
        }
        const notFound = req.url?.startsWith('/v1/models/nope');
        res.writeHead(notFound ? 404 : 200, { 'content-type': 'application/json', 'x-worker': 'w1', 'inference-header-content-length': '2' });
        res.end(notFound ? '{"error":"Servable not found"}' : '{}tail');
      });
    });
    workerAddress = await listen(worker);
    stale = createServer((req: IncomingMessage, res: ServerResponse) => {
      staleAsked++;
      req.resume();
      req.on('end', () => res.writeHead(404, { 'content-type': 'application/json' }).end(`{"error":"Request for unknown model: 'm' is not found"}`));
    });
    staleAddress = await listen(stale);
    const probe = createNetServer();
    goneAddress = await new Promise<string>((resolve) => probe.listen(0, '127.0.0.1', () => resolve(`127.0.0.1:${(probe.address() as AddressInfo).port}`)));
    await new Promise<void>((resolve) => probe.close(() => resolve()));
    table = tableFor([{ id: 'w1', http: workerAddress }]);

    const router = new RequestRouter({ table: () => table, picker: new Picker(health, { random: () => 0.99 }), health, budget: new RetryBudget() });
    const unused = (): Promise<never> => Promise.reject(new Error('not used by the relay'));
    const options: RestForwardingOptions = {
      service: { live: () => live, anyUpEndpoint: () => table.endpoints.find((e) => health.isUp(e.key)), fetchModelMetadata: unused, fetchModelConfig: unused, fetchModelStatistics: unused },
      router,
      http: upstreams,
      maxBodyBytes: 1024,
    };
    // Stands in for fastify's listener.
    gateway = createServer((req, res) => {
      fallbackUrls.push(`${req.method ?? ''} ${req.url ?? ''}`);
      res.end('fallback');
    });
    installRestFastLane(gateway, options);
    url = `http://${await listen(gateway)}`;
  });

  after(async () => {
    health.stop();
    await upstreams.close();
    await new Promise((resolve) => gateway.close(resolve));
    worker.closeAllConnections();
    await new Promise((resolve) => worker.close(resolve));
    stale.closeAllConnections();
    await new Promise((resolve) => stale.close(resolve));
  });

  it("retries a worker's 404 for a model the table lists there (the table is behind) on another replica, and relays it when there is nowhere else", async () => {
    try {
      table = tableFor([
        { id: 'stale', http: staleAddress },
        { id: 'w1', http: workerAddress },
      ]);
      for (let i = 0; i < 4; i++) {
        const response = await fetch(`${url}/v2/models/m/infer`, { method: 'POST', body: '{}' });
        assert.equal(response.status, 200, 'served by the replica that still has the model');
        assert.equal(response.headers.get('x-worker'), 'w1');
        await response.arrayBuffer();
      }
      assert.ok(staleAsked > 0, 'the stale worker was tried first at least once');
      table = tableFor([{ id: 'stale', http: staleAddress }]);
      const response = await fetch(`${url}/v2/models/m/infer`, { method: 'POST', body: '{}' });
      assert.equal(response.status, 404);
      assert.deepEqual(await response.json(), { error: "Request for unknown model: 'm' is not found" });
    } finally {
      table = tableFor([{ id: 'w1', http: workerAddress }]);
    }
  });

  it("relays inference to the worker and the worker's answer back, as bytes", async () => {
    const body = Buffer.concat([Buffer.from('{"inputs":[]}'), Buffer.from([0, 1, 2, 255])]);
    const response = await fetch(`${url}/v2/models/m/versions/1/infer?q=1`, {
      method: 'POST',
      body,
      headers: { 'content-type': 'application/octet-stream', 'inference-header-content-length': '13', 'x-request-id': 'req-1', cookie: 'secret=1' },
    });
    assert.equal(response.status, 200);
    assert.equal(response.headers.get('x-worker'), 'w1');
    assert.equal(response.headers.get('inference-header-content-length'), '2');
    assert.equal(await response.text(), '{}tail');
    const request = seen.at(-1);
    assert.equal(request?.url, '/v2/models/m/versions/1/infer?q=1');
    assert.deepEqual(request?.body, body);
    assert.equal(request?.headers['x-request-id'], 'req-1');
    assert.equal(request?.headers['inference-header-content-length'], '13');
    assert.equal(request?.headers['content-type'], 'application/octet-stream');
    assert.equal(request?.headers['cookie'], undefined, 'only inference headers are forwarded');
    assert.deepEqual(fallbackUrls, []);
  });

  it('sends the OIP id of the body as the request id when no header names one', async () => {
    await fetch(`${url}/v2/models/m/infer`, { method: 'POST', body: '{"id":"oip-7","inputs":[]}' });
    assert.equal(seen.at(-1)?.headers['x-request-id'], 'oip-7');
    await fetch(`${url}/v2/models/m/infer`, { method: 'POST', body: '{"inputs":[]}' });
    assert.match(String(seen.at(-1)?.headers['x-request-id']), /^[0-9a-f]{12}-[0-9a-f]+$/);
  });

  it('relays TF Serving paths, asking any worker about a model the cluster does not know', async () => {
    const predict = await fetch(`${url}/v1/models/m:predict`, { method: 'POST', body: '{"instances":[1]}' });
    assert.equal(predict.status, 200);
    assert.equal(seen.at(-1)?.url, '/v1/models/m:predict');
    const unknown = await fetch(`${url}/v1/models/nope`);
    assert.equal(unknown.status, 404);
    assert.equal(await unknown.text(), '{"error":"Servable not found"}');
  });

  it('leaves other routes, and every route while the gateway stops, to the listener behind it', async () => {
    fallbackUrls.length = 0;
    assert.equal(await (await fetch(`${url}/v2/models/m`)).text(), 'fallback');
    live = false;
    try {
      assert.equal(await (await fetch(`${url}/v2/models/m/infer`, { method: 'POST', body: '{}' })).text(), 'fallback');
    } finally {
      live = true;
    }
    assert.deepEqual(fallbackUrls, ['GET /v2/models/m', 'POST /v2/models/m/infer']);
  });

  it('answers 413 in the REST error format for a body over the limit', async () => {
    const response = await fetch(`${url}/v2/models/m/infer`, { method: 'POST', body: Buffer.alloc(2048), headers: { 'x-request-id': 'big-1' } });
    assert.equal(response.status, 413);
    assert.equal(response.headers.get('x-request-id'), 'big-1');
    assert.deepEqual(await response.json(), { error: 'request body exceeds the limit of 1024 bytes', request_id: 'big-1' });
  });

  it('retries on another replica when a worker refuses, and cancels the worker request when the client goes away', async () => {
    table = tableFor([
      { id: 'gone', http: goneAddress },
      { id: 'w1', http: workerAddress },
    ]);
    const before = seen.length;
    const response = await fetch(`${url}/v2/models/m/infer`, { method: 'POST', body: '{}' });
    assert.equal(response.status, 200);
    assert.equal(seen.length, before + 1);
    const gone = table.endpoints.find((e) => e.nodeId === 'gone');
    assert.ok(gone && !health.isUp(gone.key), 'the refusing worker is marked down');

    const abort = new AbortController();
    const hanging = fetch(`${url}/v2/models/m/infer?hang=1`, { method: 'POST', body: '{}', signal: abort.signal }).catch(() => 'aborted');
    for (let i = 0; i < 100 && !seen.some((s) => s.url.includes('hang')); i++) await new Promise((r) => setTimeout(r, 10));
    abort.abort();
    assert.equal(await hanging, 'aborted');
    for (let i = 0; i < 100 && closedEarly.length === 0; i++) await new Promise((r) => setTimeout(r, 10));
    assert.deepEqual(closedEarly, ['/v2/models/m/infer?hang=1'], 'the worker saw its request cancelled');
  });
});
