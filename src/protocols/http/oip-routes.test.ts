import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { FastifyInstance, LightMyRequestResponse } from 'fastify';
import { CranberriesError } from '../../core/errors.js';
import type { DataType } from '../../tensors/data-type.js';
import { installHttpRequestTracking } from './request-tracking.js';
import { createHttpApp } from './http-server.js';
import { exampleModels, FakeInferenceService } from '../../../test/doubles/fake-inference-service.js';
import { laneTest } from './testing/lane-test.js';

/** With request tracking, as servers install it, so both inference lanes answer the same way. */
function setup(direct = false): { app: FastifyInstance; service: FakeInferenceService } {
  const service = new FakeInferenceService(exampleModels());
  const app = createHttpApp({ service, maxBodyBytes: 1 << 20, directInference: direct });
  installHttpRequestTracking(app);
  return { app, service };
}

function assertError(response: LightMyRequestResponse, status: number, message: RegExp | string): void {
  assert.equal(response.statusCode, status, response.body);
  assert.match(String(response.headers['content-type']), /^application\/json/);
  const body = response.json<{ error: string; request_id?: string }>();
  assert.deepEqual(
    Object.keys(body).filter((key) => key !== 'request_id'),
    ['error'],
  );
  if (body.request_id !== undefined) assert.equal(body.request_id, response.headers['x-request-id']);
  if (typeof message === 'string') assert.equal(body.error, message);
  else assert.match(body.error, message);
}

const post = (app: FastifyInstance, url: string, payload: unknown, headers: Record<string, string> = {}) =>
  app.inject({ method: 'POST', url, payload: typeof payload === 'string' || Buffer.isBuffer(payload) ? payload : JSON.stringify(payload), headers });

test('health: 200 or 400 with an empty body', async () => {
  const { app, service } = setup();
  for (const path of ['/v2/health/live', '/v2/health/ready']) {
    const ok = await app.inject({ method: 'GET', url: path });
    assert.equal(ok.statusCode, 200);
    assert.equal(ok.body, '');
  }
  service.isLive = false;
  service.isReady = false;
  for (const path of ['/v2/health/live', '/v2/health/ready']) {
    const no = await app.inject({ method: 'GET', url: path });
    assert.equal(no.statusCode, 400);
    assert.equal(no.body, '');
  }
});

test('server metadata, model metadata and config, with and without version', async () => {
  const { app } = setup();
  const server = await app.inject({ method: 'GET', url: '/v2' });
  assert.equal(server.statusCode, 200);
  assert.deepEqual(server.json(), { name: 'cranberries', version: '0.0.0-test', extensions: ['binary_tensor_data', 'model_repository'] });

  const metadata = await app.inject({ method: 'GET', url: '/v2/models/digits' });
  assert.equal(metadata.statusCode, 200);
  assert.match(String(metadata.headers['content-type']), /^application\/json/);
  assert.deepEqual(metadata.json(), {
    name: 'digits',
    versions: ['1'],
    platform: 'onnxruntime_onnx',
    inputs: [{ name: 'image', datatype: 'FP32', shape: [-1, 1, 8, 8] }],
    outputs: [{ name: 'image', datatype: 'FP32', shape: [-1, 1, 8, 8] }],
  });
  const versioned = await app.inject({ method: 'GET', url: '/v2/models/simple/versions/2' });
  assert.deepEqual(versioned.json<{ versions: string[] }>().versions, ['2']);

  const config = await app.inject({ method: 'GET', url: '/v2/models/digits/config' });
  assert.equal(config.json<{ max_batch_size: number }>().max_batch_size, 8);
  const configVersioned = await app.inject({ method: 'GET', url: '/v2/models/simple/versions/1/config' });
  assert.equal(configVersioned.json<{ name: string }>().name, 'simple');

  assertError(await app.inject({ method: 'GET', url: '/v2/models/nope' }), 404, "Request for unknown model: 'nope' is not found");
  assertError(await app.inject({ method: 'GET', url: '/v2/models/simple/versions/9/config' }), 404, /version 9 is not found/);
  assertError(await app.inject({ method: 'GET', url: '/v2/models/simple/versions/abc' }), 400, /model version must be a non-negative decimal integer, got 'abc'/);
  assertError(await app.inject({ method: 'GET', url: '/v2/models/simple/versions/-1/config' }), 400, /got '-1'/);
});

test('model names are URL-decoded path segments', async () => {
  const { app, service } = setup();
  service.models.set('a/b c', { ...exampleModels()[0]!, name: 'a/b c' });
  const response = await app.inject({ method: 'GET', url: '/v2/models/a%2Fb%20c' });
  assert.equal(response.statusCode, 200);
  assert.equal(response.json<{ name: string }>().name, 'a/b c');
});

test('model ready: 200 empty, or 400 "Model version not ready"', async () => {
  const { app } = setup();
  const ready = await app.inject({ method: 'GET', url: '/v2/models/simple/ready' });
  assert.equal(ready.statusCode, 200);
  assert.equal(ready.body, '');
  assert.equal((await app.inject({ method: 'GET', url: '/v2/models/simple/versions/2/ready' })).statusCode, 200);
  assertError(await app.inject({ method: 'GET', url: '/v2/models/simple/versions/3/ready' }), 400, 'Model version not ready');
  assertError(await app.inject({ method: 'GET', url: '/v2/models/sleepy/ready' }), 400, 'Model version not ready');
  assertError(await app.inject({ method: 'GET', url: '/v2/models/unknown/ready' }), 400, 'Model version not ready');
});

test('statistics for all models, one model and one version', async () => {
  const { app } = setup();
  const all = (await app.inject({ method: 'GET', url: '/v2/models/stats' })).json<{ model_stats: { name: string; version: string }[] }>();
  assert.deepEqual(
    all.model_stats.map((s) => `${s.name}/${s.version}`),
    ['simple/1', 'simple/2', 'digits/1', 'sleepy/1'],
  );
  const one = (await app.inject({ method: 'GET', url: '/v2/models/simple/stats' })).json<{ model_stats: { version: string }[] }>();
  assert.deepEqual(
    one.model_stats.map((s) => s.version),
    ['1', '2'],
  );
  const version = await app.inject({ method: 'GET', url: '/v2/models/simple/versions/2/stats' });
  const stats = version.json<{ model_stats: { inference_stats: object }[] }>().model_stats;
  assert.equal(stats.length, 1);
  assert.deepEqual(Object.keys(stats[0]?.inference_stats ?? {}), ['success', 'fail', 'queue', 'compute_input', 'compute_infer', 'compute_output', 'cache_hit', 'cache_miss']);
  assertError(await app.inject({ method: 'GET', url: '/v2/models/nope/stats' }), 404, /unknown model/);
});

laneTest('JSON inference for every JSON datatype, nested and flat', async (direct) => {
  const { app, service } = setup(direct);
  const cases: [DataType, unknown[], unknown[]][] = [
    [
      'BOOL',
      [
        [true, false],
        [false, true],
      ],
      [true, false, false, true],
    ],
    [
      'UINT8',
      [
        [0, 255],
        [1, 2],
      ],
      [0, 255, 1, 2],
    ],
    [
      'UINT16',
      [
        [0, 65535],
        [1, 2],
      ],
      [0, 65535, 1, 2],
    ],
    [
      'UINT32',
      [
        [0, 4294967295],
        [1, 2],
      ],
      [0, 4294967295, 1, 2],
    ],
    [
      'UINT64',
      [
        [0, 9007199254740991],
        [1, 2],
      ],
      [0, 9007199254740991, 1, 2],
    ],
    [
      'INT8',
      [
        [-128, 127],
        [1, 2],
      ],
      [-128, 127, 1, 2],
    ],
    [
      'INT16',
      [
        [-32768, 32767],
        [1, 2],
      ],
      [-32768, 32767, 1, 2],
    ],
    [
      'INT32',
      [
        [-2147483648, 2147483647],
        [1, 2],
      ],
      [-2147483648, 2147483647, 1, 2],
    ],
    [
      'INT64',
      [
        [-9007199254740991, 5],
        [1, 2],
      ],
      [-9007199254740991, 5, 1, 2],
    ],
    [
      'FP32',
      [
        [0.5, -1.25],
        [1e10, 0],
      ],
      [0.5, -1.25, 1e10, 0],
    ],
    [
      'FP64',
      [
        [0.1, -1e300],
        [3, 4],
      ],
      [0.1, -1e300, 3, 4],
    ],
    [
      'BYTES',
      [
        ['a', 'żółw'],
        ['', '"q"'],
      ],
      ['a', 'żółw', '', '"q"'],
    ],
  ];
  for (const [datatype, nested, flat] of cases) {
    for (const data of [nested, flat]) {
      const response = await post(app, '/v2/models/simple/infer', { inputs: [{ name: 'x', shape: [2, 2], datatype, data }] });
      assert.equal(response.statusCode, 200, `${datatype}: ${response.body}`);
      assert.match(String(response.headers['content-type']), /^application\/json/);
      assert.equal(response.headers['inference-header-content-length'], undefined);
      assert.deepEqual(response.json(), {
        model_name: 'simple',
        model_version: '2',
        outputs: [{ name: 'x', datatype, shape: [2, 2], data: flat }],
      });
    }
  }
  assert.equal(service.inferCalls.length, cases.length * 2);
});

laneTest('inference passes id, version, parameters, classification and an abort signal to the service', async (direct) => {
  const { app, service } = setup(direct);
  const response = await post(app, '/v2/models/simple/versions/1/infer', {
    id: 'my-id',
    parameters: { priority: 1, custom: 'v' },
    inputs: [{ name: 'x', shape: [1], datatype: 'FP32', data: [1] }],
    outputs: [{ name: 'x', parameters: { classification: 2 } }],
  });
  assert.equal(response.statusCode, 200, response.body);
  const body = response.json<{ id: string; model_version: string }>();
  assert.equal(body.id, 'my-id');
  assert.equal(body.model_version, '1');
  const call = service.inferCalls[0];
  assert.equal(call?.request.model, 'simple');
  assert.equal(call?.request.version, 1);
  assert.equal(call?.request.id, 'my-id');
  assert.deepEqual(call?.request.parameters, { priority: 1, custom: 'v' });
  assert.deepEqual(call?.request.outputs, [{ name: 'x', classification: 2 }]);
  assert.ok(call?.context?.signal instanceof AbortSignal);
  assert.equal(call.context.signal.aborted, false);
});

laneTest('binary request and response: the §1.9 example byte for byte', async (direct) => {
  const { app, service } = setup(direct);
  const a = new Uint32Array([10, 20, 30, 40]);
  const json = Buffer.from(
    JSON.stringify({
      inputs: [
        { name: 'a', shape: [2, 2], datatype: 'UINT32', parameters: { binary_data_size: 16 } },
        { name: 'b', shape: [3], datatype: 'BOOL', parameters: { binary_data_size: 3 } },
      ],
      outputs: [{ name: 'a', parameters: { binary_data: true } }, { name: 'b' }],
    }),
  );
  const payload = Buffer.concat([json, Buffer.from(a.buffer), Buffer.from([1, 0, 1])]);
  assert.equal(payload.byteLength, json.byteLength + 19);
  const response = await post(app, '/v2/models/simple/infer', payload, {
    'inference-header-content-length': String(json.byteLength),
    'content-type': 'application/octet-stream',
  });
  assert.equal(response.statusCode, 200, response.body);
  assert.equal(response.headers['content-type'], 'application/octet-stream');
  const jsonLength = Number(response.headers['inference-header-content-length']);
  const raw = response.rawPayload;
  const head = JSON.parse(raw.subarray(0, jsonLength).toString()) as unknown;
  assert.deepEqual(head, {
    model_name: 'simple',
    model_version: '2',
    outputs: [
      { name: 'a', datatype: 'UINT32', shape: [2, 2], parameters: { binary_data_size: 16 } },
      { name: 'b', datatype: 'BOOL', shape: [3], data: [true, false, true] },
    ],
  });
  assert.deepEqual(raw.subarray(jsonLength), Buffer.from(a.buffer));
  assert.deepEqual(service.inferCalls[0]?.request.inputs[1]?.data, new Uint8Array([1, 0, 1]));
});

laneTest('binary_data_output makes every output binary; mixed JSON and binary inputs', async (direct) => {
  const { app } = setup(direct);
  const bytes = Buffer.from([2, 0, 0, 0, 0x68, 0x69]);
  const json = Buffer.from(
    JSON.stringify({
      parameters: { binary_data_output: true },
      inputs: [
        { name: 'j', shape: [2], datatype: 'INT16', data: [-1, 2] },
        { name: 's', shape: [1], datatype: 'BYTES', parameters: { binary_data_size: bytes.byteLength } },
      ],
    }),
  );
  const response = await post(app, '/v2/models/simple/infer', Buffer.concat([json, bytes]), { 'inference-header-content-length': String(json.byteLength) });
  assert.equal(response.statusCode, 200, response.body);
  const jsonLength = Number(response.headers['inference-header-content-length']);
  const head = JSON.parse(response.rawPayload.subarray(0, jsonLength).toString()) as { outputs: { parameters: unknown }[] };
  assert.deepEqual(
    head.outputs.map((o) => o.parameters),
    [{ binary_data_size: 4 }, { binary_data_size: 6 }],
  );
  assert.deepEqual([...response.rawPayload.subarray(jsonLength)], [0xff, 0xff, 2, 0, 2, 0, 0, 0, 0x68, 0x69]);
});

laneTest('raw binary request (Inference-Header-Content-Length: 0): batch of 1, all outputs binary', async (direct) => {
  const { app, service } = setup(direct);
  const image = new Float32Array(64).map((_, i) => i / 2);
  const response = await post(app, '/v2/models/digits/infer', Buffer.from(image.buffer), { 'inference-header-content-length': '0' });
  assert.equal(response.statusCode, 200, response.body);
  assert.deepEqual(service.inferCalls[0]?.request.inputs[0]?.shape, [1, 1, 8, 8]);
  const jsonLength = Number(response.headers['inference-header-content-length']);
  const head = JSON.parse(response.rawPayload.subarray(0, jsonLength).toString()) as { outputs: { parameters: unknown }[] };
  assert.deepEqual(head.outputs[0]?.parameters, { binary_data_size: 256 });
  assert.deepEqual(response.rawPayload.subarray(jsonLength), Buffer.from(image.buffer));

  assertError(await post(app, '/v2/models/digits/infer', Buffer.alloc(255), { 'inference-header-content-length': '0' }), 400, /needs 256 bytes, got 255/);
  assertError(await post(app, '/v2/models/nope/infer', Buffer.alloc(4), { 'inference-header-content-length': '0' }), 404, /unknown model/);
});

laneTest('inference failures map to statuses with {"error": ...}', async (direct) => {
  const { app, service } = setup(direct);
  const good = { inputs: [{ name: 'x', shape: [1], datatype: 'FP32', data: [1] }] };
  assertError(await post(app, '/v2/models/nope/infer', good), 404, "Request for unknown model: 'nope' is not found");
  assertError(await post(app, '/v2/models/simple/infer', '{"inputs": [}'), 400, /^malformed JSON/);
  assertError(await post(app, '/v2/models/simple/infer', { inputs: [{ name: 'x', shape: [2], datatype: 'FP32', data: [1] }] }), 400, /expected 2 elements/);
  assertError(await post(app, '/v2/models/simple/infer', {}), 400, 'missing "inputs"');
  assertError(await post(app, '/v2/models/simple/infer', { ...good, parameters: { triton_x: 1 } }), 400, /reserved/);
  const json = Buffer.from(JSON.stringify({ inputs: [{ name: 'x', shape: [2], datatype: 'FP32', parameters: { binary_data_size: 8 } }] }));
  assertError(await post(app, '/v2/models/simple/infer', Buffer.concat([json, Buffer.alloc(7)]), { 'inference-header-content-length': String(json.byteLength) }), 400, /runs past the end of the body/);
  assertError(await post(app, '/v2/models/simple/infer', good, { 'inference-header-content-length': '99999' }), 400, /Inference-Header-Content-Length is 99999/);
  assertError(await post(app, '/v2/models/simple/infer', { inputs: [{ name: 'x', shape: [1], datatype: 'FP16', parameters: {}, data: [1] }] }), 400, /FP16 data cannot be sent as JSON/);

  service.inferHandler = () => {
    throw new CranberriesError('RESOURCE_EXHAUSTED', 'queue of model simple is full');
  };
  assertError(await post(app, '/v2/models/simple/infer', good), 429, 'queue of model simple is full');
  service.inferHandler = () => {
    throw new CranberriesError('UNAVAILABLE', 'simple version 2 is not at ready state');
  };
  assertError(await post(app, '/v2/models/simple/infer', good), 503, /not at ready state/);
  service.inferHandler = () => {
    throw new TypeError('something broke');
  };
  assertError(await post(app, '/v2/models/simple/infer', good), 500, 'something broke');
  service.inferHandler = (request) => ({ model: 'simple', version: 1, outputs: [{ name: 'h', datatype: 'FP16', shape: [1], data: new Uint16Array(1) }], id: request.id });
  assertError(await post(app, '/v2/models/simple/infer', good), 400, /output 'h': FP16 data cannot be returned as JSON/);
});

test('repository index, with and without a body, and the {repo} alias', async () => {
  const { app, service } = setup();
  const empty = await post(app, '/v2/repository/index', '');
  assert.equal(empty.statusCode, 200, empty.body);
  assert.equal(empty.json<unknown[]>().length, 4);
  const ready = await post(app, '/v2/repository/index', { ready: true });
  assert.deepEqual(ready.json(), [
    { name: 'simple', version: '1', state: 'READY' },
    { name: 'simple', version: '2', state: 'READY' },
    { name: 'digits', version: '1', state: 'READY' },
  ]);
  assert.equal((await post(app, '/v2/repository/main/index', '{}')).statusCode, 200);
  assert.deepEqual(service.indexCalls, [false, true, false]);
  assertError(await post(app, '/v2/repository/index', { ready: 'yes' }), 400, /'ready' must be a boolean/);
  assertError(await post(app, '/v2/repository/index', '[1]'), 400, /must be a JSON object/);
});

test('repository load: config and base64 files reach the service decoded', async () => {
  const { app, service } = setup();
  const file = Buffer.from([0, 1, 2, 250, 251, 252, 253, 254, 255]);
  const config = JSON.stringify({ name: 'fresh', backend: 'onnxruntime' });
  const response = await post(app, '/v2/repository/models/fresh/load', {
    parameters: { config, 'file:1/model.onnx': file.toString('base64'), 'file:2/model.onnx': '' },
  });
  assert.equal(response.statusCode, 200, response.body);
  assert.equal(response.body, '');
  const call = service.loadCalls[0];
  assert.equal(call?.model, 'fresh');
  assert.equal(call?.options?.config, config);
  assert.deepEqual([...(call?.options?.files?.keys() ?? [])], ['1/model.onnx', '2/model.onnx']);
  assert.deepEqual(Buffer.from(call?.options?.files?.get('1/model.onnx') ?? []), file);
  assert.equal(call?.options?.files?.get('2/model.onnx')?.byteLength, 0);

  assert.equal((await post(app, '/v2/repository/models/simple/load', '')).statusCode, 200);
  assert.equal(service.loadCalls[1]?.options, undefined);
  assertError(await post(app, '/v2/repository/models/x/load', { parameters: { 'file:1/model.onnx': 'AA==' } }), 400, /need the 'config' parameter/);
  assertError(await post(app, '/v2/repository/models/x/load', { parameters: { config: {} } }), 400, /'config' must be a string/);
  for (const key of ['file:../model.onnx', 'file:/etc/passwd', 'file:1/../../x', 'file:', 'file:1\\..\\x', 'file:1/', 'file:1/a\u0000b', `file:1/${'m'.repeat(256)}`]) {
    assertError(await post(app, '/v2/repository/models/x/load', { parameters: { config: '{}', [key]: 'AA==' } }), 400, /^invalid parameter "file:.*": (it |a path segment)/);
  }
  assertError(await post(app, '/v2/repository/models/broken/load', {}), 503, /model file is corrupt/);
  assertError(await post(app, '/v2/repository/other/models/simple/load', ''), 501, /repository 'other'/);
  assert.equal((await post(app, '/v2/repository//models/simple/load', '')).statusCode, 200, 'an empty repo name is the default repository');
});

test('repository unload accepts unload_dependents', async () => {
  const { app, service } = setup();
  const response = await post(app, '/v2/repository/models/simple/unload', { parameters: { unload_dependents: true } });
  assert.equal(response.statusCode, 200, response.body);
  assert.equal(response.body, '');
  assert.equal((await post(app, '/v2/repository/models/digits/unload', '')).statusCode, 200);
  assert.deepEqual(service.unloadCalls, ['simple', 'digits']);
  assertError(await post(app, '/v2/repository/models/nope/unload', ''), 404, /failed to unload 'nope'/);
  assertError(await post(app, '/v2/repository/models/simple/unload', { parameters: { unload_dependents: 'x' } }), 400, /must be a boolean/);
  assertError(await post(app, '/v2/repository/r/models/simple/unload', ''), 501, /repository 'r'/);
});

test('unknown paths are 404, wrong methods on known paths are 405', async () => {
  const { app } = setup();
  assertError(await app.inject({ method: 'GET', url: '/v2/nothing/here' }), 404, 'Not Found');
  assertError(await app.inject({ method: 'GET', url: '/' }), 404, 'Not Found');
  assertError(await app.inject({ method: 'GET', url: '/v2/models/simple/infer' }), 405, 'Method Not Allowed');
  assertError(await app.inject({ method: 'POST', url: '/v2/health/live' }), 405, 'Method Not Allowed');
  assertError(await app.inject({ method: 'DELETE', url: '/v2' }), 405, 'Method Not Allowed');
  assertError(await app.inject({ method: 'PUT', url: '/v2/repository/index' }), 405, 'Method Not Allowed');
  assertError(await app.inject({ method: 'GET', url: '/v2/repository/models/m/load' }), 405, 'Method Not Allowed');
  assertError(await app.inject({ method: 'GET', url: '/v2/models/%E0%A4%A' }), 400, /not a valid url component/);
  const head = await app.inject({ method: 'HEAD', url: '/v2/health/live' });
  assert.equal(head.statusCode, 200);
});
