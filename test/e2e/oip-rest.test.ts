/**
 * Open Inference Protocol REST conformance, end to end: real sockets, real ONNX Runtime workers.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { addSubModel, createTempModelRepository, identityModel, type TempModelRepository } from '../fixtures/onnx-models.js';
import { bytesTensor, infer, parseBytesTensor } from '../helpers/oip-client.js';
import { startTestServer, type TestServer } from '../helpers/test-server.js';
import { DATA_TYPES, arrayTypeOf, type DataType } from '../../src/tensors/data-type.js';

/** Three sample values per datatype, chosen at the edges of each type's range. */
const SAMPLES: Partial<Record<DataType, unknown[]>> = {
  BOOL: [true, false, true],
  UINT8: [0, 255, 7],
  UINT16: [0, 65535, 9],
  UINT32: [0, 4294967295, 11],
  UINT64: [0, Number.MAX_SAFE_INTEGER, 13],
  INT8: [-128, 127, 0],
  INT16: [-32768, 32767, -1],
  INT32: [-2147483648, 2147483647, 42],
  INT64: [-Number.MAX_SAFE_INTEGER, Number.MAX_SAFE_INTEGER, -7],
  FP32: [1.5, -2.25, 3.0625],
  FP64: [1e-300, -2.5, Math.PI],
  BYTES: ['a', 'héllo', ''],
};

function rawBytes(datatype: DataType, values: unknown[]): Uint8Array {
  if (datatype === 'BYTES') return bytesTensor(values as string[]);
  if (datatype === 'BOOL') return Uint8Array.from(values as boolean[], (v) => (v ? 1 : 0));
  const ArrayType = arrayTypeOf(datatype);
  const bigint = datatype === 'INT64' || datatype === 'UINT64';
  const typed = new ArrayType((values as number[]).length);
  (values as number[]).forEach((v, i) => ((typed as unknown as (number | bigint)[])[i] = bigint ? BigInt(v) : v));
  return new Uint8Array(typed.buffer);
}

const SERVED_TYPES = DATA_TYPES.filter((t) => t !== 'BF16');

let repo: TempModelRepository;
let server: TestServer;

before(async () => {
  const models: Parameters<typeof createTempModelRepository>[0] = {
    simple: {
      versions: { 1: addSubModel('FP32', [4]) },
      config:
        'name: "simple"\nbackend: "onnxruntime"\nmax_batch_size: 8\ninput [ { name: "INPUT0" data_type: TYPE_FP32 dims: [ 4 ] }, { name: "INPUT1" data_type: TYPE_FP32 dims: [ 4 ] } ]\noutput [ { name: "OUTPUT0" data_type: TYPE_FP32 dims: [ 4 ] label_filename: "labels.txt" }, { name: "OUTPUT1" data_type: TYPE_FP32 dims: [ 4 ] } ]\n',
      files: { 'labels.txt': 'zero\none\ntwo\nthree\n' },
    },
  };
  // Identity models for every datatype, without config.pbtxt: the server completes them from the model.
  for (const datatype of SERVED_TYPES) models[`identity_${datatype.toLowerCase()}`] = { versions: { 1: identityModel({ datatype, dims: [-1], batching: true }) } };
  repo = await createTempModelRepository(models);
  server = await startTestServer({ modelRepository: repo.root });
});

after(async () => {
  await server?.stop();
  await repo?.remove();
});

describe('health and metadata', () => {
  test('server live and ready answer 200', async () => {
    assert.equal((await fetch(`${server.url}/v2/health/live`)).status, 200);
    assert.equal((await fetch(`${server.url}/v2/health/ready`)).status, 200);
  });

  test('server metadata names the server and its extensions', async () => {
    const body = (await (await fetch(`${server.url}/v2`)).json()) as { name: string; version: string; extensions: string[] };
    assert.equal(body.name, 'cranberries');
    assert.match(body.version, /^\d+\.\d+\.\d+/);
    for (const ext of ['binary_tensor_data', 'model_repository', 'statistics', 'classification']) assert.ok(body.extensions.includes(ext), ext);
  });

  test('model metadata with and without version', async () => {
    const expected = {
      name: 'simple',
      versions: ['1'],
      platform: 'onnxruntime_onnx',
      inputs: [
        { name: 'INPUT0', datatype: 'FP32', shape: [-1, 4] },
        { name: 'INPUT1', datatype: 'FP32', shape: [-1, 4] },
      ],
      outputs: [
        { name: 'OUTPUT0', datatype: 'FP32', shape: [-1, 4] },
        { name: 'OUTPUT1', datatype: 'FP32', shape: [-1, 4] },
      ],
    };
    assert.deepEqual(await (await fetch(`${server.url}/v2/models/simple`)).json(), expected);
    assert.deepEqual(await (await fetch(`${server.url}/v2/models/simple/versions/1`)).json(), expected);
  });

  test('a config completed from the model reports the model’s own signature', async () => {
    const body = (await (await fetch(`${server.url}/v2/models/identity_int64`)).json()) as { inputs: unknown[] };
    assert.deepEqual(body.inputs, [{ name: 'INPUT0', datatype: 'INT64', shape: [-1, -1] }]);
  });

  test('model ready with and without version; unknown is 400 (not ready)', async () => {
    assert.equal((await fetch(`${server.url}/v2/models/simple/ready`)).status, 200);
    assert.equal((await fetch(`${server.url}/v2/models/simple/versions/1/ready`)).status, 200);
    assert.equal((await fetch(`${server.url}/v2/models/simple/versions/2/ready`)).status, 400);
    assert.equal((await fetch(`${server.url}/v2/models/nope/ready`)).status, 400);
  });

  test('model config is the complete Triton JSON form', async () => {
    const config = (await (await fetch(`${server.url}/v2/models/simple/config`)).json()) as Record<string, unknown>;
    assert.equal(config['name'], 'simple');
    assert.equal(config['max_batch_size'], 8);
    assert.deepEqual(config['version_policy'], { latest: { num_versions: 1 } });
    const input = (config['input'] as Record<string, unknown>[])[0]!;
    assert.equal(input['data_type'], 'TYPE_FP32');
    assert.deepEqual(input['dims'], [4]);
    const completed = (await (await fetch(`${server.url}/v2/models/identity_fp32/config`)).json()) as Record<string, unknown>;
    assert.ok((completed['max_batch_size'] as number) > 0, 'a model with a symbolic first dim batches');
    assert.deepEqual((completed['input'] as Record<string, unknown>[])[0]!['dims'], [-1]);
  });

  test('repository index lists every model with its state', async () => {
    const response = await fetch(`${server.url}/v2/repository/index`, { method: 'POST', body: '', headers: { 'content-type': 'application/json' } });
    assert.equal(response.status, 200);
    const index = (await response.json()) as { name: string; version?: string; state?: string }[];
    assert.deepEqual(
      index.find((m) => m.name === 'simple'),
      { name: 'simple', version: '1', state: 'READY' },
    );
    assert.equal(index.length, SERVED_TYPES.length + 1);
  });
});

describe('inference', () => {
  test('JSON request and response, with id echo and both outputs', async () => {
    const result = await infer(
      server.url,
      'simple',
      [
        { name: 'INPUT0', datatype: 'FP32', shape: [1, 4], data: [[1, 2, 3, 4]] },
        { name: 'INPUT1', datatype: 'FP32', shape: [1, 4], data: [1, 1, 1, 1] },
      ],
      { id: 'req-42' },
    );
    assert.equal(result.status, 200);
    assert.match(result.headers.get('content-type') ?? '', /^application\/json/);
    assert.deepEqual(result.json, {
      model_name: 'simple',
      model_version: '1',
      id: 'req-42',
      outputs: [
        { name: 'OUTPUT0', datatype: 'FP32', shape: [1, 4], data: [2, 3, 4, 5] },
        { name: 'OUTPUT1', datatype: 'FP32', shape: [1, 4], data: [0, 1, 2, 3] },
      ],
    });
  });

  test('requested outputs only, in the order asked, one binary and one JSON', async () => {
    const result = await infer(
      server.url,
      'simple',
      [
        { name: 'INPUT0', datatype: 'FP32', shape: [2, 4], bytes: new Uint8Array(new Float32Array([1, 2, 3, 4, 5, 6, 7, 8]).buffer) },
        { name: 'INPUT1', datatype: 'FP32', shape: [2, 4], data: [1, 1, 1, 1, 2, 2, 2, 2] },
      ],
      {
        outputs: [
          { name: 'OUTPUT1', binary: true },
          { name: 'OUTPUT0', binary: false },
        ],
      },
    );
    assert.equal(result.status, 200);
    assert.equal(result.headers.get('content-type'), 'application/octet-stream');
    const outputs = result.json['outputs'] as { name: string; parameters?: unknown; data?: unknown }[];
    assert.deepEqual(
      outputs.map((o) => o.name),
      ['OUTPUT1', 'OUTPUT0'],
    );
    assert.deepEqual(outputs[0]!.parameters, { binary_data_size: 32 });
    assert.deepEqual(Array.from(new Float32Array(Uint8Array.from(result.binary.get('OUTPUT1')!).buffer)), [0, 1, 2, 3, 3, 4, 5, 6]);
    assert.deepEqual(outputs[1]!.data, [2, 3, 4, 5, 7, 8, 9, 10]);
  });

  test('classification extension returns top-k with labels', async () => {
    const result = await infer(
      server.url,
      'simple',
      [
        { name: 'INPUT0', datatype: 'FP32', shape: [1, 4], data: [1.5, 9, 0.5, 3] },
        { name: 'INPUT1', datatype: 'FP32', shape: [1, 4], data: [0, 0, 0, 0] },
      ],
      { outputs: [{ name: 'OUTPUT0', classification: 2 }] },
    );
    assert.equal(result.status, 200);
    const output = (result.json['outputs'] as Record<string, unknown>[])[0]!;
    assert.equal(output['datatype'], 'BYTES');
    assert.deepEqual(output['shape'], [1, 2]);
    assert.deepEqual(output['data'], ['9:1:one', '3:3:three']);
  });

  for (const datatype of SERVED_TYPES) {
    const model = `identity_${datatype.toLowerCase()}`;
    const values = SAMPLES[datatype];
    test(`${datatype}: binary in, binary out, byte for byte`, async () => {
      const bytes = datatype === 'FP16' ? new Uint8Array(new Uint16Array([0x3c00, 0xc000, 0x7bff]).buffer) : rawBytes(datatype, values!);
      const result = await infer(server.url, model, [{ name: 'INPUT0', datatype, shape: [1, 3], bytes }], { binaryOutput: true });
      assert.equal(result.status, 200, JSON.stringify(result.json));
      const output = (result.json['outputs'] as Record<string, unknown>[])[0]!;
      assert.equal(output['datatype'], datatype);
      assert.deepEqual(output['shape'], [1, 3]);
      assert.deepEqual(Buffer.from(result.binary.get('OUTPUT0')!), Buffer.from(bytes));
    });
    if (!values) continue; // FP16 travels only in binary
    test(`${datatype}: JSON in, JSON out`, async () => {
      const result = await infer(server.url, model, [{ name: 'INPUT0', datatype, shape: [1, 3], data: values }]);
      assert.equal(result.status, 200, JSON.stringify(result.json));
      const output = (result.json['outputs'] as Record<string, unknown>[])[0]!;
      assert.deepEqual(output['data'], values);
    });
  }

  test('BYTES binary output uses 4-byte little-endian length prefixes', async () => {
    const result = await infer(server.url, 'identity_bytes', [{ name: 'INPUT0', datatype: 'BYTES', shape: [1, 2], data: ['ab', 'xyz'] }], {
      outputs: [{ name: 'OUTPUT0', binary: true }],
    });
    assert.deepEqual(Array.from(result.binary.get('OUTPUT0')!), [2, 0, 0, 0, 97, 98, 3, 0, 0, 0, 120, 121, 122]);
    assert.deepEqual(parseBytesTensor(result.binary.get('OUTPUT0')!), ['ab', 'xyz']);
  });

  test('FP16 output asked for as JSON is refused with a clear error', async () => {
    const result = await infer(server.url, 'identity_fp16', [{ name: 'INPUT0', datatype: 'FP16', shape: [1, 1], bytes: new Uint8Array([0, 0x3c]) }]);
    assert.equal(result.status, 400);
    assert.match(String(result.json['error']), /FP16/);
  });
});

describe('the bundled digits example', () => {
  test('classifies the README’s real digit correctly', async () => {
    const examples = new URL('../../../examples/digits/', import.meta.url);
    const request = await readFile(new URL('request.json', examples), 'utf8');
    const expected = JSON.parse(await readFile(new URL('request.expected.json', examples), 'utf8')) as { label: number };
    const { startTestServer: start } = await import('../helpers/test-server.js');
    const bundled = await start({ modelRepository: new URL('../../../models/', import.meta.url).pathname });
    try {
      const response = await fetch(`${bundled.url}/v2/models/digits/infer`, { method: 'POST', body: request });
      assert.equal(response.status, 200);
      const body = (await response.json()) as { outputs: { name: string; data: number[] }[] };
      const label = body.outputs.find((o) => o.name === 'label')!;
      assert.deepEqual(label.data, [expected.label]);
      const probabilities = body.outputs.find((o) => o.name === 'probabilities')!.data;
      assert.equal(probabilities.indexOf(Math.max(...probabilities)), expected.label);
    } finally {
      await bundled.stop();
    }
  });
});
