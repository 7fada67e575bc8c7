/**
 * Regression tests for decoder and encoder bounds, each against a real server with real ONNX
 * Runtime: sizes are checked before anything is allocated, deep nesting and undecodable messages
 * are the client's error (400 / INVALID_ARGUMENT, never 5xx / INTERNAL), error messages stay
 * small whatever the input, and outputs too large for JSON are refused (binary still served).
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import * as grpc from '@grpc/grpc-js';
import { createTempModelRepository, identityModel, type TempModelRepository } from '../fixtures/onnx-models.js';
import { infer } from '../helpers/oip-client.js';
import { startTestServer, type TestServer } from '../helpers/test-server.js';
import { DecoderTestClient, OIP_SERVICE, TFS_PREDICTION_SERVICE } from '../helpers/grpc-raw-client.js';

const identityConfig = (type: string, dims: string): string =>
  `max_batch_size: 0\ninput [ { name: "INPUT0" data_type: ${type} dims: ${dims} } ]\noutput [ { name: "OUTPUT0" data_type: ${type} dims: ${dims} } ]\n`;

let repo: TempModelRepository;
let server: TestServer;
let client: DecoderTestClient;

before(async () => {
  repo = await createTempModelRepository({
    f32: { versions: { 1: identityModel({ datatype: 'FP32', dims: [-1, -1] }) }, config: identityConfig('TYPE_FP32', '[ -1, -1 ]') },
    f64: { versions: { 1: identityModel({ datatype: 'FP64', dims: [-1, -1] }) }, config: identityConfig('TYPE_FP64', '[ -1, -1 ]') },
    cube: { versions: { 1: identityModel({ datatype: 'FP32', dims: [-1, -1, -1] }) }, config: identityConfig('TYPE_FP32', '[ -1, -1, -1 ]') },
    str: { versions: { 1: identityModel({ datatype: 'BYTES', dims: [-1] }) }, config: identityConfig('TYPE_STRING', '[ -1 ]') },
  });
  server = await startTestServer({ modelRepository: repo.root });
  client = new DecoderTestClient(`127.0.0.1:${server.ports.grpc}`);
});

after(async () => {
  client?.close();
  await server?.stop();
  await repo?.remove();
});

const dims = (...sizes: number[]): { dim: { size: string }[] } => ({ dim: sizes.map((size) => ({ size: String(size) })) });

async function predict(model: string, tensor: object): Promise<{ code: grpc.status; details: string; ms: number }> {
  const started = Date.now();
  const outcome = await client.call(TFS_PREDICTION_SERVICE, 'Predict', { model_spec: { name: model }, inputs: { INPUT0: tensor } });
  return { code: outcome.code, details: outcome.details, ms: Date.now() - started };
}

async function post(path: string, body: string | Uint8Array, headers: Record<string, string> = {}): Promise<{ status: number; error: string; bytes: number }> {
  const response = await fetch(server.url + path, { method: 'POST', body, headers });
  const text = await response.text();
  const json = JSON.parse(text) as { error?: string };
  return { status: response.status, error: json.error ?? '', bytes: text.length };
}

const deep = (depth: number, leaf: string): string => '['.repeat(depth) + leaf + ']'.repeat(depth);

describe('TF Serving gRPC Predict: *_val lists are expanded only within the signature and a byte budget', () => {
  test('[100000000,10] with one double_val is INVALID_ARGUMENT at once (was: the process died of OOM)', async () => {
    const result = await predict('f64', { dtype: 'DT_DOUBLE', tensor_shape: dims(100_000_000, 10), double_val: [1] });
    assert.equal(result.code, grpc.status.INVALID_ARGUMENT, result.details);
    assert.match(result.details, /INPUT0.*1000000000 elements of FP64.*bytes/);
    assert.ok(result.ms < 5000, `took ${result.ms} ms`);
  });

  test('[1000000,1000000] with one float_val is INVALID_ARGUMENT (was: INTERNAL Invalid typed array length)', async () => {
    const result = await predict('f32', { dtype: 'DT_FLOAT', tensor_shape: dims(1_000_000, 1_000_000), float_val: [1] });
    assert.equal(result.code, grpc.status.INVALID_ARGUMENT, result.details);
  });

  test('[1000,1000,1000] against a rank-2 signature is refused before expansion (was: 2.9 GB and 18 s)', async () => {
    const result = await predict('f32', { dtype: 'DT_FLOAT', tensor_shape: dims(1000, 1000, 1000), float_val: [1] });
    assert.equal(result.code, grpc.status.INVALID_ARGUMENT, result.details);
    assert.match(result.details, /shape \[1000,1000,1000\] does not match the signature's \[-1,-1\]/);
    assert.ok(result.ms < 5000, `took ${result.ms} ms`);
  });

  test('[30000000] DT_STRING with one string_val is INVALID_ARGUMENT at once (was: 48 s busy)', async () => {
    const result = await predict('str', { dtype: 'DT_STRING', tensor_shape: dims(30_000_000), string_val: [Buffer.from('x')] });
    assert.equal(result.code, grpc.status.INVALID_ARGUMENT, result.details);
    assert.ok(result.ms < 5000, `took ${result.ms} ms`);
  });

  test('a small broadcast still works: [2,3] from one float_val', async () => {
    const outcome = await client.call<{ outputs: Record<string, { float_val: number[] }> }>(TFS_PREDICTION_SERVICE, 'Predict', {
      model_spec: { name: 'f32' },
      inputs: { INPUT0: { dtype: 'DT_FLOAT', tensor_shape: dims(2, 3), float_val: [1.5] } },
    });
    assert.equal(outcome.code, grpc.status.OK, outcome.details);
    assert.deepEqual(outcome.value!.outputs['OUTPUT0']!.float_val, [1.5, 1.5, 1.5, 1.5, 1.5, 1.5]);
  });
});

describe('TF Serving REST: the buffer follows the values present', () => {
  test('a 12 KB body announcing [2000,2000,2000] by its first elements is 400 (was: 500 Invalid typed array length)', async () => {
    const innermost = `[${new Array(2000).fill(0).join(',')}]`;
    const middle = `[${innermost},${new Array(1999).fill(0).join(',')}]`;
    const outer = `[${middle},${new Array(1999).fill(0).join(',')}]`;
    const body = `{"inputs":${outer}}`;
    assert.ok(body.length < 13_000);
    const result = await post('/v1/models/cube:predict', body);
    assert.equal(result.status, 400, result.error);
    assert.match(result.error, /not a rectangular list/);
  });

  for (const key of ['instances', 'inputs']) {
    test(`"${key}" nested 20,000 deep is 400 (was: 500 Maximum call stack size exceeded)`, async () => {
      const result = await post('/v1/models/f32:predict', `{"${key}":${deep(20_000, '1')}}`);
      assert.equal(result.status, 400, result.error);
      assert.match(result.error, /nested more than \d+ levels/);
    });
  }
});

describe('OIP REST: deep nesting and unbounded echoes', () => {
  test('"datatype" nested 20,000 deep is 400 (was: 500)', async () => {
    const body = `{"inputs":[{"name":"INPUT0","shape":[1,1],"datatype":${deep(20_000, '"FP32"')},"data":[1]}]}`;
    const result = await post('/v2/models/f32/infer', body);
    assert.equal(result.status, 400, result.error);
    assert.match(result.error, /"datatype" must be one of/);
  });

  test('an element that is a 20,000-deep object is 400 (was: 500)', async () => {
    const body = `{"inputs":[{"name":"INPUT0","shape":[1,1],"datatype":"FP32","data":[{"x":${deep(20_000, '1')}}]}]}`;
    const result = await post('/v2/models/f32/infer', body);
    assert.equal(result.status, 400, result.error);
    assert.match(result.error, /element 0 is an object/);
  });

  test('a 1 MB "datatype" gives a short error (was: the 1 MB echoed back)', async () => {
    const body = JSON.stringify({ inputs: [{ name: 'INPUT0', shape: [1, 1], datatype: 'X'.repeat(1 << 20), data: [1] }] });
    const result = await post('/v2/models/f32/infer', body);
    assert.equal(result.status, 400);
    assert.ok(result.bytes < 1024, `error body of ${result.bytes} bytes`);
  });

  test('a shape of 100 dimensions is 400 naming the limit', async () => {
    const body = JSON.stringify({ inputs: [{ name: 'INPUT0', shape: new Array(100).fill(1), datatype: 'FP32', data: [1] }] });
    const result = await post('/v2/models/f32/infer', body);
    assert.equal(result.status, 400, result.error);
    assert.match(result.error, /100 dimensions; at most 64/);
  });
});

describe('gRPC: undecodable messages and oversized shapes are INVALID_ARGUMENT with a short message', () => {
  // A length-delimited field 6 announces 5 bytes, 1 follows: protobufjs fails with "index out of range".
  const garbage = Buffer.from([0x32, 0x05, 0x0a]);
  test('OIP ModelInfer with bytes that are not a ModelInferRequest (was: INTERNAL)', async () => {
    const outcome = await client.callRaw(OIP_SERVICE, 'ModelInfer', garbage);
    assert.equal(outcome.code, grpc.status.INVALID_ARGUMENT, outcome.details);
    assert.match(outcome.details, /cannot be decoded/);
  });

  test('TF Serving Predict with bytes that are not a PredictRequest (was: INTERNAL)', async () => {
    const outcome = await client.callRaw(TFS_PREDICTION_SERVICE, 'Predict', garbage);
    assert.equal(outcome.code, grpc.status.INVALID_ARGUMENT, outcome.details);
  });

  test('OIP ModelInfer with a 20,000-dimension shape (was: a status message over the metadata limit)', async () => {
    const outcome = await client.call(OIP_SERVICE, 'ModelInfer', {
      model_name: 'f32',
      inputs: [{ name: 'INPUT0', datatype: 'FP32', shape: new Array(20_000).fill(1), contents: { fp32_contents: [1] } }],
    });
    assert.equal(outcome.code, grpc.status.INVALID_ARGUMENT, outcome.details);
    assert.ok(outcome.details.length < 1100, `details of ${outcome.details.length} chars`);
  });

  test('a 1 MB datatype string gets a short INVALID_ARGUMENT', async () => {
    const outcome = await client.call(OIP_SERVICE, 'ModelInfer', {
      model_name: 'f32',
      inputs: [{ name: 'INPUT0', datatype: 'Y'.repeat(1 << 20), shape: [1, 1], contents: { fp32_contents: [1] } }],
    });
    assert.equal(outcome.code, grpc.status.INVALID_ARGUMENT, outcome.details);
    assert.ok(outcome.details.length < 1100, `details of ${outcome.details.length} chars`);
  });
});

describe('outputs too large for JSON', () => {
  // 3000×1000 FP32: 12 MB binary, up to 75 MB of JSON text (over the 64 MiB JSON budget).
  const rows = 3000;
  const columns = 1000;
  const input = new Float32Array(rows * columns).map((_, i) => i % 977);
  const tensor = { name: 'INPUT0', datatype: 'FP32', shape: [rows, columns], bytes: new Uint8Array(input.buffer) };

  test('as JSON: 400 suggesting binary data (was: built in memory, up to a fatal OOM for larger ones)', async () => {
    const result = await infer(server.url, 'f32', [tensor]);
    assert.equal(result.status, 400);
    assert.match(String(result.json['error']), /too large for JSON.*binary_data/);
  });

  test('as binary: served, with the right bytes', async () => {
    const result = await infer(server.url, 'f32', [tensor], { outputs: [{ name: 'OUTPUT0', binary: true }] });
    assert.equal(result.status, 200);
    const output = result.binary.get('OUTPUT0')!;
    assert.equal(output.byteLength, rows * columns * 4);
    assert.ok(Buffer.from(output).equals(Buffer.from(input.buffer)));
  });

  test('TF Serving REST refuses it with 400 and points to gRPC', async () => {
    const body = JSON.stringify({ inputs: Array.from({ length: rows }, (_, r) => Array.from(input.subarray(r * columns, (r + 1) * columns))) });
    const result = await post('/v1/models/f32:predict', body);
    assert.equal(result.status, 400, result.error);
    assert.match(result.error, /too large for JSON.*gRPC/);
  });

  test('the server still answers small requests', async () => {
    const result = await infer(server.url, 'f32', [{ name: 'INPUT0', datatype: 'FP32', shape: [1, 2], data: [1, 2] }]);
    assert.equal(result.status, 200);
    assert.deepEqual((result.json['outputs'] as { data: number[] }[])[0]!.data, [1, 2]);
  });
});
