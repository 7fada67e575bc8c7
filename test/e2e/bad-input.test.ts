/**
 * Bad input gets a clear error in the protocol's format with the right status, and nothing else
 * breaks: a broken config or a corrupt model file leaves only that model UNAVAILABLE.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { addSubModel, createTempModelRepository, type TempModelRepository } from '../fixtures/onnx-models.js';
import { infer } from '../helpers/oip-client.js';
import { startTestServer, type TestServer } from '../helpers/test-server.js';

const SIMPLE_CONFIG =
  'max_batch_size: 8\ninput [ { name: "INPUT0" data_type: TYPE_FP32 dims: [ 4 ] }, { name: "INPUT1" data_type: TYPE_FP32 dims: [ 4 ] } ]\noutput [ { name: "OUTPUT0" data_type: TYPE_FP32 dims: [ 4 ] }, { name: "OUTPUT1" data_type: TYPE_FP32 dims: [ 4 ] } ]\n';

let repo: TempModelRepository;
let server: TestServer;

before(async () => {
  repo = await createTempModelRepository({
    simple: { versions: { 1: addSubModel('FP32', [4]) }, config: SIMPLE_CONFIG },
    corrupt: { versions: { 1: 'this is not an onnx model' } },
    broken_config: { versions: { 1: addSubModel('FP32', [4]) }, config: 'max_batch_size: 8\ninput [ { name: "INPUT0" data_type: TYPE_FP32 dims: [ 4 ] \n' },
    wrong_dtype: { versions: { 1: addSubModel('FP32', [4]) }, config: SIMPLE_CONFIG.replace('name: "INPUT0" data_type: TYPE_FP32', 'name: "INPUT0" data_type: TYPE_INT32') },
    wrong_name: { versions: { 1: addSubModel('FP32', [4]) }, config: SIMPLE_CONFIG.replace('"INPUT1"', '"INPUT9"') },
  });
  server = await startTestServer({ modelRepository: repo.root, httpMaxBodyBytes: 64 * 1024 });
});

after(async () => {
  await server?.stop();
  await repo?.remove();
});

async function post(path: string, body: string | Uint8Array, headers: Record<string, string> = {}): Promise<{ status: number; error: string }> {
  const response = await fetch(server.url + path, { method: 'POST', body, headers });
  const json = (await response.json()) as { error?: string };
  return { status: response.status, error: json.error ?? '' };
}

const goodInputs = [
  { name: 'INPUT0', datatype: 'FP32', shape: [1, 4], data: [1, 2, 3, 4] },
  { name: 'INPUT1', datatype: 'FP32', shape: [1, 4], data: [1, 2, 3, 4] },
];

describe('models that cannot load', () => {
  test('each broken model is UNAVAILABLE with its reason; the good one serves', async () => {
    const index = (await (await fetch(`${server.url}/v2/repository/index`, { method: 'POST' })).json()) as { name: string; state?: string; reason?: string }[];
    const byName = new Map(index.map((m) => [m.name, m]));
    assert.equal(byName.get('simple')?.state, 'READY');
    for (const name of ['corrupt', 'broken_config', 'wrong_dtype', 'wrong_name']) assert.equal(byName.get(name)?.state, 'UNAVAILABLE', name);
    assert.match(byName.get('corrupt')!.reason!, /ONNX Runtime cannot load/);
    assert.match(byName.get('broken_config')!.reason!, /line \d+/);
    assert.match(byName.get('wrong_dtype')!.reason!, /INPUT0.*TYPE_INT32.*FP32|INPUT0.*FP32.*INT32/);
    assert.match(byName.get('wrong_name')!.reason!, /INPUT9/);
    assert.equal((await infer(server.url, 'simple', goodInputs)).status, 200);
  });

  test('inference on an unavailable model is 503 with the reason; server readiness is false', async () => {
    const result = await infer(server.url, 'corrupt', goodInputs);
    assert.equal(result.status, 503);
    assert.match(String(result.json['error']), /corrupt/);
    assert.equal((await fetch(`${server.url}/v2/health/ready`)).status, 400);
    assert.equal((await fetch(`${server.url}/v2/health/live`)).status, 200);
  });
});

describe('bad requests', () => {
  const cases: [string, string, string | Uint8Array, Record<string, string>, number, RegExp][] = [
    ['malformed JSON', '/v2/models/simple/infer', '{"inputs": [', {}, 400, /JSON/i],
    ['no inputs', '/v2/models/simple/infer', '{}', {}, 400, /inputs/],
    ['unknown model', '/v2/models/nope/infer', JSON.stringify({ inputs: goodInputs }), {}, 404, /nope/],
    ['unknown version', '/v2/models/simple/versions/7/infer', JSON.stringify({ inputs: goodInputs }), {}, 404, /version 7/],
    ['non-numeric version', '/v2/models/simple/versions/x/infer', JSON.stringify({ inputs: goodInputs }), {}, 400, /version/],
    ['wrong datatype', '/v2/models/simple/infer', JSON.stringify({ inputs: [{ ...goodInputs[0], datatype: 'INT32' }, goodInputs[1]] }), {}, 400, /INPUT0.*INT32/],
    ['wrong shape', '/v2/models/simple/infer', JSON.stringify({ inputs: [{ ...goodInputs[0], shape: [1, 5], data: [1, 2, 3, 4, 5] }, goodInputs[1]] }), {}, 400, /INPUT0.*shape/],
    ['element count off', '/v2/models/simple/infer', JSON.stringify({ inputs: [{ ...goodInputs[0], data: [1, 2, 3] }, goodInputs[1]] }), {}, 400, /INPUT0/],
    ['batch above max_batch_size', '/v2/models/simple/infer', JSON.stringify({ inputs: goodInputs.map((t) => ({ ...t, shape: [9, 4], data: new Array(36).fill(0) })) }), {}, 400, /max_batch_size 8/],
    ['missing input', '/v2/models/simple/infer', JSON.stringify({ inputs: [goodInputs[0]] }), {}, 400, /INPUT1/],
    ['unknown input', '/v2/models/simple/infer', JSON.stringify({ inputs: [...goodInputs, { ...goodInputs[0], name: 'EXTRA' }] }), {}, 400, /EXTRA/],
    ['unknown output', '/v2/models/simple/infer', JSON.stringify({ inputs: goodInputs, outputs: [{ name: 'NOPE' }] }), {}, 400, /NOPE/],
    ['string where a number belongs', '/v2/models/simple/infer', JSON.stringify({ inputs: [{ ...goodInputs[0], data: [1, 'x', 3, 4] }, goodInputs[1]] }), {}, 400, /INPUT0/],
  ];
  for (const [what, path, body, headers, status, message] of cases) {
    test(what, async () => {
      const result = await post(path, body, headers);
      assert.equal(result.status, status, result.error);
      assert.match(result.error, message);
    });
  }

  test('binary size that does not match the shape', async () => {
    const json = Buffer.from(
      JSON.stringify({
        inputs: [
          { name: 'INPUT0', datatype: 'FP32', shape: [1, 4], parameters: { binary_data_size: 12 } },
          { name: 'INPUT1', datatype: 'FP32', shape: [1, 4], parameters: { binary_data_size: 16 } },
        ],
      }),
    );
    const result = await post('/v2/models/simple/infer', Buffer.concat([json, Buffer.alloc(28)]), { 'Inference-Header-Content-Length': String(json.length) });
    assert.equal(result.status, 400);
    assert.match(result.error, /INPUT0/);
  });

  test('a body over --http-max-body-mb is 413', async () => {
    const result = await post('/v2/models/simple/infer', Buffer.alloc(65 * 1024, 32));
    assert.equal(result.status, 413);
  });

  test('after all of that the server still serves', async () => {
    assert.equal((await infer(server.url, 'simple', goodInputs)).status, 200);
  });
});
