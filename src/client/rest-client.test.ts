/**
 * The REST transport against a scripted HTTP server: how answers that are not plain successes
 * (errors with and without JSON, silence, refused connections) reach the caller, and that large
 * binary requests stream their exact bytes.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { InferenceServerError } from './inference-server-error.js';
import { RestClient } from './rest-client.js';

interface Seen {
  method: string;
  url: string;
  headers: IncomingMessage['headers'];
  body: Buffer;
}

let server: Server;
let base: string;
const seen: Seen[] = [];

before(async () => {
  server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', (): void => {
      const body = Buffer.concat(chunks);
      seen.push({ method: request.method ?? '', url: request.url ?? '', headers: request.headers, body });
      const path = (request.url ?? '').replace(/^\/prefix/, '');
      if (path === '/v2/health/live') response.writeHead(200).end();
      else if (path === '/v2/health/ready') response.writeHead(400).end();
      else if (path === '/v2/models/text-error') response.writeHead(502, { 'content-type': 'text/plain' }).end('bad gateway');
      else if (path === '/v2/models/json-error') response.writeHead(429, { 'content-type': 'application/json' }).end('{"error":"queue is full"}');
      else if (path === '/v2/models/silent')
        return; // never answers
      else if (path === '/v2/models/echo/infer') {
        // Echo the first input back as the only output, binary, the way the protocol frames it.
        const jsonLength = Number(request.headers['inference-header-content-length']);
        const json = JSON.parse(body.subarray(0, jsonLength).toString('utf8')) as { inputs: { name: string; datatype: string; shape: number[] }[] };
        const input = json.inputs[0]!;
        const head = Buffer.from(JSON.stringify({ model_name: 'echo', model_version: '1', outputs: [{ ...input, parameters: { binary_data_size: body.length - jsonLength } }] }));
        response.writeHead(200, { 'inference-header-content-length': String(head.length) }).end(Buffer.concat([head, body.subarray(jsonLength)]));
      } else response.writeHead(404, { 'content-type': 'application/json' }).end('{"error":"Not Found"}');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

after(async () => {
  server.closeAllConnections();
  await new Promise<void>((resolve) => server.close(() => resolve()));
});

const isError = (code: string, status: number | undefined, message: RegExp) => (e: unknown) =>
  e instanceof InferenceServerError && e.code === code && e.httpStatus === status && message.test(e.message);

test('health answers are the status code; a path prefix and headers are kept', async () => {
  const client = new RestClient({ url: `${base}/prefix/`, headers: { 'x-client': 'a' } });
  try {
    assert.equal(await client.serverLive({ headers: { 'x-call': 'b' } }), true);
    assert.equal(await client.serverReady(), false);
    const live = seen.find((s) => s.url === '/prefix/v2/health/live');
    assert.ok(live, 'the prefix is part of the path');
    assert.equal(live.headers['x-client'], 'a');
    assert.equal(live.headers['x-call'], 'b');
  } finally {
    await client.close();
  }
});

test('error answers keep the server message and HTTP status, JSON or not', async () => {
  const client = new RestClient({ url: base });
  try {
    await assert.rejects(client.modelMetadata('text-error'), isError('INTERNAL', 502, /^bad gateway$/));
    await assert.rejects(client.modelMetadata('json-error'), isError('RESOURCE_EXHAUSTED', 429, /^queue is full$/));
    await assert.rejects(client.modelConfig('missing'), isError('NOT_FOUND', 404, /^Not Found$/));
  } finally {
    await client.close();
  }
});

test('a silent server hits the deadline, and the client keeps working afterwards', async () => {
  const client = new RestClient({ url: base, timeoutMs: 5_000 });
  try {
    const started = Date.now();
    await assert.rejects(client.modelMetadata('silent', { timeoutMs: 100 }), isError('DEADLINE_EXCEEDED', undefined, /no answer within 100 ms/));
    assert.ok(Date.now() - started < 2_000);
    const controller = new AbortController();
    setTimeout(() => controller.abort(), 50);
    await assert.rejects(client.modelMetadata('silent', { signal: controller.signal }), isError('CANCELLED', undefined, /cancelled by the caller/));
    assert.equal(await client.serverLive(), true);
  } finally {
    await client.close();
  }
});

test('a refused connection is UNAVAILABLE', async () => {
  const closed = createServer();
  await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
  const port = (closed.address() as AddressInfo).port;
  await new Promise<void>((resolve) => closed.close(() => resolve()));
  const client = new RestClient({ url: `http://127.0.0.1:${port}` });
  try {
    await assert.rejects(client.serverLive(), isError('UNAVAILABLE', undefined, /cannot reach the server/));
  } finally {
    await client.close();
  }
});

test('large binary requests stream their exact bytes with the right lengths', async () => {
  const client = new RestClient({ url: base });
  try {
    const data = new Float32Array(600_000); // 2.4 MB: above the size that is joined into one buffer
    for (let i = 0; i < data.length; i++) data[i] = i * 0.5;
    const result = await client.infer('echo', [{ name: 'x', datatype: 'FP32', shape: [data.length], data }]);
    const request = seen.at(-1)!;
    assert.equal(Number(request.headers['content-length']), request.body.length);
    assert.equal(request.body.length - Number(request.headers['inference-header-content-length']), data.byteLength);
    assert.deepEqual(result.output('x').data, data);
  } finally {
    await client.close();
  }
});
