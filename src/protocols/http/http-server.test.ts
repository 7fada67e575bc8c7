import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Agent, request as httpRequest } from 'node:http';
import type { AddressInfo } from 'node:net';
import { deflateSync, gunzipSync, gzipSync, inflateSync } from 'node:zlib';
import type { FastifyInstance } from 'fastify';
import { pino } from 'pino';
import { Writable } from 'node:stream';
import { CranberriesError } from '../../core/errors.js';
import { describeError, httpStatusOf } from './error-mapping.js';
import { createHttpApp } from './http-server.js';
import { pickResponseEncoding } from './response-compression.js';
import { exampleModels, FakeInferenceService } from '../../../test/doubles/fake-inference-service.js';
import { laneTest } from './testing/lane-test.js';

const LIMIT = 64 * 1024;

function setup(direct = false): { app: FastifyInstance; service: FakeInferenceService } {
  const service = new FakeInferenceService(exampleModels());
  return { app: createHttpApp({ service, maxBodyBytes: LIMIT, directInference: direct }), service };
}

/** A JSON infer body for model `simple` with `n` FP32 elements. */
function inferBody(n: number): string {
  return JSON.stringify({ inputs: [{ name: 'x', shape: [n], datatype: 'FP32', data: Array.from({ length: n }, (_, i) => i) }] });
}

test('error codes map to HTTP statuses', () => {
  const expected = {
    INVALID_ARGUMENT: 400,
    FAILED_PRECONDITION: 400,
    ALREADY_EXISTS: 400,
    CANCELLED: 400,
    NOT_FOUND: 404,
    RESOURCE_EXHAUSTED: 429,
    UNIMPLEMENTED: 501,
    UNAVAILABLE: 503,
    DEADLINE_EXCEEDED: 504,
    INTERNAL: 500,
  } as const;
  for (const [code, status] of Object.entries(expected)) {
    assert.equal(httpStatusOf(code as keyof typeof expected), status, code);
    assert.deepEqual(describeError(new CranberriesError(code as keyof typeof expected, 'm'), 10), { status, message: 'm' });
  }
  assert.deepEqual(describeError(new Error('boom'), 10), { status: 500, message: 'boom' });
  assert.deepEqual(describeError('text', 10), { status: 500, message: 'text' });
  assert.deepEqual(describeError(Object.assign(new Error('x'), { code: 'FST_ERR_CTP_BODY_TOO_LARGE', statusCode: 413 }), 10), {
    status: 413,
    message: 'request body exceeds the limit of 10 bytes',
  });
});

laneTest('bodies over the limit are 413, also when they only grow past it once decompressed', async (direct) => {
  const { app } = setup(direct);
  const big = await app.inject({ method: 'POST', url: '/v2/models/simple/infer', payload: Buffer.alloc(LIMIT + 1) });
  assert.equal(big.statusCode, 413);
  assert.deepEqual(big.json(), { error: `request body exceeds the limit of ${LIMIT} bytes` });
  const bomb = gzipSync(Buffer.alloc(LIMIT * 4));
  assert.ok(bomb.byteLength < LIMIT);
  const expanded = await app.inject({ method: 'POST', url: '/v2/models/simple/infer', payload: bomb, headers: { 'content-encoding': 'gzip' } });
  assert.equal(expanded.statusCode, 413);
  assert.deepEqual(expanded.json(), { error: `request body exceeds the limit of ${LIMIT} bytes` });
});

laneTest('gzip and deflate request bodies are decompressed; others are 501', async (direct) => {
  const { app, service } = setup(direct);
  for (const [encoding, compress] of [
    ['gzip', gzipSync],
    ['deflate', deflateSync],
    ['GZip', gzipSync],
  ] as const) {
    const response = await app.inject({
      method: 'POST',
      url: '/v2/models/simple/infer',
      payload: compress(Buffer.from(inferBody(3))),
      headers: { 'content-encoding': encoding },
    });
    assert.equal(response.statusCode, 200, `${encoding}: ${response.body}`);
    assert.deepEqual(response.json<{ outputs: { data: number[] }[] }>().outputs[0]?.data, [0, 1, 2]);
  }
  assert.equal(service.inferCalls.length, 3);
  const identity = await app.inject({ method: 'POST', url: '/v2/models/simple/infer', payload: inferBody(1), headers: { 'content-encoding': 'identity' } });
  assert.equal(identity.statusCode, 200);

  const br = await app.inject({ method: 'POST', url: '/v2/models/simple/infer', payload: 'xx', headers: { 'content-encoding': 'br' } });
  assert.equal(br.statusCode, 501);
  assert.equal(br.headers['accept-encoding'], 'gzip, deflate');
  assert.deepEqual(br.json(), { error: 'Unsupported compression type' });

  const corrupt = await app.inject({ method: 'POST', url: '/v2/models/simple/infer', payload: 'not gzip at all', headers: { 'content-encoding': 'gzip' } });
  assert.equal(corrupt.statusCode, 400);
  assert.match(corrupt.json<{ error: string }>().error, /^cannot decompress the request body/);
});

laneTest('binary bodies keep Inference-Header-Content-Length as the uncompressed JSON length', async (direct) => {
  const { app } = setup(direct);
  const json = Buffer.from(
    JSON.stringify({ inputs: [{ name: 'x', shape: [2], datatype: 'INT32', parameters: { binary_data_size: 8 } }], outputs: [{ name: 'x', parameters: { binary_data: true } }] }),
  );
  const payload = gzipSync(Buffer.concat([json, Buffer.from(new Int32Array([7, -7]).buffer)]));
  const response = await app.inject({
    method: 'POST',
    url: '/v2/models/simple/infer',
    payload,
    headers: { 'content-encoding': 'gzip', 'inference-header-content-length': String(json.byteLength) },
  });
  assert.equal(response.statusCode, 200, response.body);
  const jsonLength = Number(response.headers['inference-header-content-length']);
  assert.deepEqual([...new Int32Array(new Uint8Array(response.rawPayload.subarray(jsonLength)).buffer)], [7, -7]);
});

laneTest('responses over 1 KiB are compressed when the client accepts gzip or deflate', async (direct) => {
  const { app } = setup(direct);
  const large = inferBody(500);
  const gz = await app.inject({ method: 'POST', url: '/v2/models/simple/infer', payload: large, headers: { 'accept-encoding': 'gzip, deflate' } });
  assert.equal(gz.statusCode, 200);
  assert.equal(gz.headers['content-encoding'], 'gzip');
  assert.equal(Number(gz.headers['content-length']), gz.rawPayload.byteLength);
  const unzipped = JSON.parse(gunzipSync(gz.rawPayload).toString()) as { outputs: { data: number[] }[] };
  assert.equal(unzipped.outputs[0]?.data.length, 500);

  const df = await app.inject({ method: 'POST', url: '/v2/models/simple/infer', payload: large, headers: { 'accept-encoding': 'deflate' } });
  assert.equal(df.headers['content-encoding'], 'deflate');
  assert.equal((JSON.parse(inflateSync(df.rawPayload).toString()) as { model_name: string }).model_name, 'simple');

  const plain = await app.inject({ method: 'POST', url: '/v2/models/simple/infer', payload: large });
  assert.equal(plain.headers['content-encoding'], undefined);
  const small = await app.inject({ method: 'POST', url: '/v2/models/simple/infer', payload: inferBody(2), headers: { 'accept-encoding': 'gzip' } });
  assert.equal(small.headers['content-encoding'], undefined, 'small bodies are not compressed');
  assert.equal(small.json<{ model_name: string }>().model_name, 'simple');

  // Binary answers: the header still gives the uncompressed JSON length.
  const binary = await app.inject({
    method: 'POST',
    url: '/v2/models/simple/infer',
    payload: JSON.stringify({ parameters: { binary_data_output: true }, inputs: [{ name: 'x', shape: [600], datatype: 'FP32', data: new Array(600).fill(1.5) }] }),
    headers: { 'accept-encoding': 'gzip' },
  });
  assert.equal(binary.headers['content-encoding'], 'gzip');
  const whole = gunzipSync(binary.rawPayload);
  const jsonLength = Number(binary.headers['inference-header-content-length']);
  assert.equal(whole.byteLength, jsonLength + 2400);
  const head = JSON.parse(whole.subarray(0, jsonLength).toString()) as { outputs: { parameters: unknown }[] };
  assert.deepEqual(head.outputs[0]?.parameters, { binary_data_size: 2400 });
});

test('Accept-Encoding negotiation', () => {
  assert.equal(pickResponseEncoding(undefined), undefined);
  assert.equal(pickResponseEncoding('identity'), undefined);
  assert.equal(pickResponseEncoding('br'), undefined);
  assert.equal(pickResponseEncoding('gzip'), 'gzip');
  assert.equal(pickResponseEncoding('deflate'), 'deflate');
  assert.equal(pickResponseEncoding('deflate, gzip'), 'gzip');
  assert.equal(pickResponseEncoding('gzip;q=0.5, deflate;q=0.8'), 'deflate');
  assert.equal(pickResponseEncoding('gzip;q=0, deflate;q=0'), undefined);
  assert.equal(pickResponseEncoding('*'), 'gzip');
  assert.equal(pickResponseEncoding('gzip;q=0, *'), 'deflate');
});

/** Sends one request over a real socket; resolves with status, headers and the whole body. */
function send(
  port: number,
  path: string,
  body: Buffer,
  headers: Record<string, string>,
  agent?: Agent,
): Promise<{ status: number; headers: Record<string, string | string[] | undefined>; body: Buffer }> {
  return new Promise((resolve, reject) => {
    const req = httpRequest({ host: '127.0.0.1', port, path, method: 'POST', agent, headers: { ...headers, 'content-length': String(body.byteLength) } }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(body);
  });
}

laneTest('over a real socket: binary round trip, and a client disconnect aborts the inference', async (direct) => {
  const { app, service } = setup(direct);
  await app.listen({ host: '127.0.0.1', port: 0 });
  try {
    const port = (app.server.address() as AddressInfo).port;
    const data = new Float32Array([1.5, -2.5, 3.5, 4.5]);
    const json = Buffer.from(JSON.stringify({ inputs: [{ name: 'x', shape: [4], datatype: 'FP32', parameters: { binary_data_size: 16 } }], parameters: { binary_data_output: true } }));
    const answer = await send(port, '/v2/models/simple/infer', Buffer.concat([json, Buffer.from(data.buffer)]), {
      'inference-header-content-length': String(json.byteLength),
    });
    assert.equal(answer.status, 200, answer.body.toString());
    const jsonLength = Number(answer.headers['inference-header-content-length']);
    assert.equal(answer.body.byteLength, jsonLength + 16);
    assert.deepEqual(new Float32Array(new Uint8Array(answer.body.subarray(jsonLength)).buffer), data);

    // Requests on one keep-alive connection share its signal, which stays quiet while it is open.
    const agent = new Agent({ keepAlive: true, maxSockets: 1 });
    for (let i = 0; i < 2; i++) assert.equal((await send(port, '/v2/models/simple/infer', Buffer.from(inferBody(1)), {}, agent)).status, 200);
    const [first, second] = service.inferCalls.slice(-2).map((call) => call.context?.signal);
    assert.ok(first !== undefined && first === second);
    assert.equal(first.aborted, false);
    agent.destroy();

    // The fake waits for the abort signal; the client goes away mid-request.
    let aborted: () => void = () => undefined;
    const abortSeen = new Promise<void>((resolve) => (aborted = resolve));
    let started: () => void = () => undefined;
    const inferStarted = new Promise<void>((resolve) => (started = resolve));
    service.inferHandler = (_request, context) =>
      new Promise((_resolve, reject) => {
        started();
        context?.signal?.addEventListener('abort', () => {
          aborted();
          reject(new CranberriesError('CANCELLED', 'cancelled'));
        });
      });
    const body = Buffer.from(inferBody(2));
    const req = httpRequest({ host: '127.0.0.1', port, path: '/v2/models/simple/infer', method: 'POST', headers: { 'content-length': String(body.byteLength) } });
    req.on('error', () => undefined);
    req.end(body);
    await inferStarted;
    req.destroy();
    await Promise.race([abortSeen, new Promise((_resolve, reject) => setTimeout(() => reject(new Error('the inference was not aborted within 5 s')), 5000).unref())]);
    assert.equal(service.inferCalls.at(-1)?.context?.signal?.aborted, true);
  } finally {
    await app.close();
  }
});

laneTest('logging: no line per request, one error line per 5xx', async (direct) => {
  const lines: { level: number; msg: string }[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _encoding, callback) {
      for (const line of chunk.toString().split('\n')) if (line) lines.push(JSON.parse(line) as { level: number; msg: string });
      callback();
    },
  });
  const service = new FakeInferenceService(exampleModels());
  const app = createHttpApp({ service, maxBodyBytes: LIMIT, logger: pino({ level: 'info' }, sink), directInference: direct });
  assert.equal((await app.inject({ method: 'GET', url: '/v2/health/live' })).statusCode, 200);
  assert.equal((await app.inject({ method: 'GET', url: '/v2/models/nope' })).statusCode, 404);
  service.inferHandler = () => {
    throw new Error('backend exploded');
  };
  assert.equal((await app.inject({ method: 'POST', url: '/v2/models/simple/infer', payload: inferBody(1) })).statusCode, 500);
  await new Promise((resolve) => setImmediate(resolve));
  const requestLines = lines.filter((l) => /request/.test(l.msg));
  assert.deepEqual(
    requestLines.map((l) => [l.level, l.msg]),
    [[50, 'request failed']],
  );
});

laneTest('5xx log lines carry the request id: the x-request-id header, else a generated one', async (direct) => {
  const lines: { msg: string; reqId?: string }[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _encoding, callback) {
      for (const line of chunk.toString().split('\n')) if (line) lines.push(JSON.parse(line) as { msg: string; reqId?: string });
      callback();
    },
  });
  const service = new FakeInferenceService(exampleModels());
  service.inferHandler = () => {
    throw new Error('backend exploded');
  };
  const app = createHttpApp({ service, maxBodyBytes: LIMIT, logger: pino({ level: 'info' }, sink), directInference: direct });
  await app.inject({ method: 'POST', url: '/v2/models/simple/infer', headers: { 'x-request-id': 'trace-42' }, payload: inferBody(1) });
  await app.inject({ method: 'POST', url: '/v2/models/simple/infer', payload: inferBody(1) });
  await new Promise((resolve) => setImmediate(resolve));
  const failures = lines.filter((l) => l.msg === 'request failed');
  assert.equal(failures.length, 2);
  assert.equal(failures[0]!.reqId, 'trace-42');
  assert.match(failures[1]!.reqId ?? '', /^[0-9a-f]{12}-[0-9a-f]+$/);
  await app.close();
});

test('the direct lane answers plain inference requests without fastify reply hooks; compressed ones go the fastify lane', async () => {
  const { app } = setup(true);
  const hooked: string[] = [];
  app.addHook('onSend', (request, _reply, payload, done) => {
    hooked.push(request.url);
    done(null, payload);
  });
  const plain = await app.inject({ method: 'POST', url: '/v2/models/simple/infer', payload: inferBody(2) });
  assert.equal(plain.statusCode, 200, plain.body);
  assert.equal(Number(plain.headers['content-length']), plain.rawPayload.byteLength);
  assert.match(String(plain.headers['x-request-id']), /^[0-9a-f]{12}-[0-9a-f]+$/);
  const failed = await app.inject({ method: 'POST', url: '/v2/models/nope/infer', payload: inferBody(1), headers: { 'x-request-id': 'r-1' } });
  assert.equal(failed.statusCode, 404);
  assert.deepEqual(failed.json(), { error: "Request for unknown model: 'nope' is not found", request_id: 'r-1' });
  assert.deepEqual(hooked, [], 'the direct lane ran no onSend hook');

  const zipped = await app.inject({ method: 'POST', url: '/v2/models/simple/infer', payload: gzipSync(Buffer.from(inferBody(2))), headers: { 'content-encoding': 'gzip' } });
  assert.equal(zipped.statusCode, 200, zipped.body);
  assert.deepEqual(zipped.json(), plain.json());
  assert.deepEqual(hooked, ['/v2/models/simple/infer'], 'a compressed body went through fastify');
});
