/**
 * `cranberries/client` end to end: every client method over REST (binary and JSON) and gRPC
 * against a real server with real ONNX Runtime workers, every datatype round trip through identity
 * models, errors that keep the server serving, and the `cranberries infer` command as a child
 * process fed with a `.npy` file written by NumPy and a nested JSON file.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, spawnSync } from 'node:child_process';
import { cp, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { PACKAGE_ROOT } from '../../src/core/version.js';
import { createClient, InferenceServerError, type InferenceClient, type InputTensor, type InferOptions } from '../../src/client/index.js';
import { DATA_TYPES, type DataType } from '../../src/tensors/data-type.js';
import { createTempModelRepository, identityModel, type TempModelRepository } from '../fixtures/onnx-models.js';
import { startTestServer, type TestServer } from '../helpers/test-server.js';

const run = promisify(execFile);
const CLI = join(PACKAGE_ROOT, 'dist/src/cli/main.js');
const SERVED_TYPES = DATA_TYPES.filter((t) => t !== 'BF16'); // ONNX Runtime cannot load BF16 models

let repo: TempModelRepository;
let server: TestServer;
let grpcUrl: string;
let pixels: Float32Array;

interface Transport {
  readonly label: string;
  readonly url: () => string;
  /** Options for infer: REST JSON mode sets `binary: false`. */
  readonly infer: InferOptions;
  readonly json: boolean;
}

const TRANSPORTS: readonly Transport[] = [
  { label: 'REST binary', url: () => server.url, infer: {}, json: false },
  { label: 'REST JSON', url: () => server.url, infer: { binary: false }, json: true },
  { label: 'gRPC', url: () => grpcUrl, infer: {}, json: false },
];

/** Three values per datatype at the edges of its range; JSON paths get the JSON-safe variant. */
function sample(datatype: DataType, json: boolean): InputTensor['data'] {
  switch (datatype) {
    case 'BOOL':
      return [true, false, true];
    case 'UINT8':
      return Uint8Array.of(0, 255, 7);
    case 'UINT16':
      return Uint16Array.of(0, 65535, 9);
    case 'UINT32':
      return Uint32Array.of(0, 4294967295, 11);
    case 'UINT64':
      return BigUint64Array.of(0n, json ? 2n ** 53n - 1n : 2n ** 64n - 1n, 13n);
    case 'INT8':
      return Int8Array.of(-128, 127, 0);
    case 'INT16':
      return Int16Array.of(-32768, 32767, -1);
    case 'INT32':
      return Int32Array.of(-2147483648, 2147483647, 42);
    case 'INT64':
      return BigInt64Array.of(json ? -(2n ** 53n - 1n) : -(2n ** 63n), json ? 2n ** 53n - 1n : 2n ** 63n - 1n, -7n);
    case 'FP16':
      return Uint16Array.of(0x3c00, 0xc000, 0x7bff); // 1, -2, 65504
    case 'FP32':
      return Float32Array.of(1.5, -2.25, 3.4028234663852886e38);
    case 'FP64':
      return Float64Array.of(1e-300, -2.5, Math.PI);
    case 'BYTES':
      return ['a', 'héllo', ''];
    default:
      throw new Error(`no sample for ${datatype}`);
  }
}

/** What a sample looks like after the trip: BOOL as 0/1 bytes, BYTES as UTF-8 byte strings. */
function expected(datatype: DataType, data: InputTensor['data']): unknown {
  if (datatype === 'BOOL') return Uint8Array.from(data as boolean[], (v) => (v ? 1 : 0));
  if (datatype === 'BYTES') return (data as string[]).map((s) => new Uint8Array(Buffer.from(s, 'utf8')));
  return data;
}

const serverError = (code: string, httpStatus: number | undefined, grpcCode: number | undefined, message?: RegExp) => (e: unknown) =>
  e instanceof InferenceServerError && e.code === code && e.httpStatus === httpStatus && e.grpcCode === grpcCode && (message === undefined || message.test(e.message));

before(async () => {
  const models: Parameters<typeof createTempModelRepository>[0] = {};
  for (const datatype of SERVED_TYPES) models[`identity_${datatype.toLowerCase()}`] = { versions: { 1: identityModel({ datatype, dims: [-1], batching: true }) } };
  repo = await createTempModelRepository(models);
  await cp(join(PACKAGE_ROOT, 'models/digits'), join(repo.root, 'digits'), { recursive: true });
  server = await startTestServer({ modelRepository: repo.root, controlMode: 'explicit', loadModels: ['*'] });
  grpcUrl = `grpc://127.0.0.1:${server.ports.grpc}`;
  const request = JSON.parse(await readFile(join(PACKAGE_ROOT, 'examples/digits/request.json'), 'utf8')) as { inputs: { data: number[] }[] };
  pixels = Float32Array.from(request.inputs[0]!.data);
});

after(async () => {
  await server?.stop();
  await repo?.remove();
});

const digitsInput = (): InputTensor => ({ name: 'image', datatype: 'FP32', shape: [1, 1, 8, 8], data: pixels });

for (const transport of TRANSPORTS) {
  describe(`client over ${transport.label}`, () => {
    let client: InferenceClient;
    const grpc = transport.label === 'gRPC';
    const notFound = serverError('NOT_FOUND', grpc ? undefined : 404, grpc ? 5 : undefined);
    const invalid = (message?: RegExp) => serverError('INVALID_ARGUMENT', grpc ? undefined : 400, grpc ? 3 : undefined, message);

    before(() => {
      client = createClient({ url: transport.url(), timeoutMs: 30_000 });
      assert.equal(client.transport, grpc ? 'grpc' : 'rest');
    });
    after(() => client.close());

    test('server health and metadata', async () => {
      assert.equal(await client.serverLive(), true);
      assert.equal(await client.serverReady(), true);
      const metadata = await client.serverMetadata();
      assert.equal(metadata.name, 'cranberries');
      assert.match(metadata.version, /^\d+\.\d+\.\d+/);
      for (const extension of ['binary_tensor_data', 'classification', 'model_repository', 'statistics']) assert.ok(metadata.extensions.includes(extension), extension);
    });

    test('model readiness, metadata and configuration', async () => {
      assert.equal(await client.modelReady('digits'), true);
      assert.equal(await client.modelReady('digits', { version: 1 }), true);
      assert.equal(await client.modelReady('digits', { version: 2 }), false);
      assert.equal(await client.modelReady('nope'), false);
      const expectedMetadata = {
        name: 'digits',
        versions: ['1'],
        platform: 'onnxruntime_onnx',
        inputs: [{ name: 'image', datatype: 'FP32', shape: [-1, 1, 8, 8] }],
        outputs: [
          { name: 'probabilities', datatype: 'FP32', shape: [-1, 10] },
          { name: 'label', datatype: 'INT64', shape: [-1, 1] },
        ],
      };
      assert.deepEqual(await client.modelMetadata('digits'), expectedMetadata);
      assert.deepEqual(await client.modelMetadata('digits', { version: '1' }), expectedMetadata);
      const config = await client.modelConfig('digits');
      assert.equal(config['name'], 'digits');
      assert.equal(config['max_batch_size'], 64);
      assert.deepEqual((config['input'] as { dims: unknown }[])[0]!.dims, [1, 8, 8], 'int64 dims are numbers');
      assert.deepEqual(config['dynamic_batching'], ((await (await fetch(`${server.url}/v2/models/digits/config`)).json()) as Record<string, unknown>)['dynamic_batching']);
      await assert.rejects(client.modelMetadata('nope'), notFound);
      await assert.rejects(client.modelConfig('nope'), notFound);
    });

    test('digits inference: the right class, outputs by name, id echo, a chosen version', async () => {
      const result = await client.infer('digits', [digitsInput()], { ...transport.infer, id: 'req-1', version: 1 });
      assert.equal(result.model, 'digits');
      assert.equal(result.version, '1');
      assert.equal(result.id, 'req-1');
      const probabilities = result.output('probabilities');
      assert.equal(probabilities.datatype, 'FP32');
      assert.deepEqual(probabilities.shape, [1, 10]);
      const values = Array.from(probabilities.data as Float32Array);
      assert.equal(values.indexOf(Math.max(...values)), 1);
      assert.deepEqual(result.output('label').data, BigInt64Array.of(1n));
    });

    test('requested outputs and the classification extension', async () => {
      const result = await client.infer('digits', [digitsInput()], { ...transport.infer, outputs: [{ name: 'probabilities', classification: 3 }] });
      assert.deepEqual(
        result.outputs.map((o) => o.name),
        ['probabilities'],
      );
      assert.equal(result.output('probabilities').datatype, 'BYTES');
      assert.deepEqual(result.output('probabilities').shape, [1, 3]);
      const top = result.strings('probabilities');
      assert.match(top[0]!, /^0\.99\d*:1:1$/, 'value:index:label of the best class');
      assert.equal(top.length, 3);
      const labelOnly = await client.infer('digits', [digitsInput()], { ...transport.infer, outputs: ['label'] });
      assert.deepEqual(
        labelOnly.outputs.map((o) => o.name),
        ['label'],
      );
    });

    test('every datatype survives the round trip through an identity model', async () => {
      for (const datatype of SERVED_TYPES) {
        if (transport.json && datatype === 'FP16') continue; // FP16 cannot travel as JSON (the OIP datatypes: FP16 has no JSON form)
        const data = sample(datatype, transport.json);
        const result = await client.infer(`identity_${datatype.toLowerCase()}`, [{ name: 'INPUT0', datatype, shape: [1, 3], data }], transport.infer);
        const output = result.output('OUTPUT0');
        assert.equal(output.datatype, datatype);
        assert.deepEqual(output.shape, [1, 3]);
        assert.deepEqual(output.data, expected(datatype, data), datatype);
      }
    });

    test('errors carry the server’s message and status, and the server keeps serving', async () => {
      await assert.rejects(client.infer('nope', [digitsInput()], transport.infer), notFound);
      await assert.rejects(client.infer('digits', [{ ...digitsInput(), shape: [1, 64], data: pixels }], transport.infer), invalid(/image/));
      await assert.rejects(client.infer('digits', [{ ...digitsInput(), name: 'pixels' }], transport.infer), invalid(/pixels/));
      await assert.rejects(client.infer('digits', [digitsInput()], { ...transport.infer, version: 9 }), (e: unknown) => e instanceof InferenceServerError && /9/.test(e.message));
      await assert.rejects(client.infer('digits', [digitsInput()], { ...transport.infer, outputs: ['nothing'] }), invalid(/nothing/));
      // Caught on the client, before anything is sent.
      await assert.rejects(client.infer('digits', [{ ...digitsInput(), data: Float64Array.from(pixels) }], transport.infer), serverError('INVALID_ARGUMENT', undefined, undefined, /Float32Array/));
      assert.equal(await client.serverLive(), true);
      assert.deepEqual((await client.infer('digits', [digitsInput()], transport.infer)).output('label').data, BigInt64Array.of(1n));
    });

    test('repository index, unload and load (also with an override config and model file)', async () => {
      const model = grpc ? 'identity_int8' : 'identity_int16';
      const index = await client.repositoryIndex();
      assert.deepEqual(
        index.find((m) => m.name === 'digits'),
        { name: 'digits', version: '1', state: 'READY' },
      );
      for (const datatype of SERVED_TYPES)
        assert.ok(
          index.some((m) => m.name === `identity_${datatype.toLowerCase()}`),
          datatype,
        );

      await client.unloadModel(model, { unloadDependents: false });
      assert.equal(await client.modelReady(model), false);
      const ready = await client.repositoryIndex({ ready: true });
      assert.ok(!ready.some((m) => m.name === model), 'ready: true leaves the unloaded model out');
      await client.loadModel(model);
      assert.equal(await client.modelReady(model), true);

      const extra = `extra_${grpc ? 'grpc' : transport.json ? 'json' : 'binary'}`;
      await client.loadModel(extra, {
        config: {
          name: extra,
          backend: 'onnxruntime',
          max_batch_size: 0,
          input: [{ name: 'INPUT0', data_type: 'TYPE_FP32', dims: [-1] }],
          output: [{ name: 'OUTPUT0', data_type: 'TYPE_FP32', dims: [-1] }],
        },
        files: { '1/model.onnx': identityModel({ datatype: 'FP32', dims: [-1] }) },
      });
      const result = await client.infer(extra, [{ name: 'INPUT0', datatype: 'FP32', shape: [2], data: Float32Array.of(4, 5) }], transport.infer);
      assert.deepEqual(result.output('OUTPUT0').data, Float32Array.of(4, 5));
      await client.unloadModel(extra);
      assert.equal(await client.modelReady(extra), false);
      await assert.rejects(client.loadModel('no_such_model'), (e: unknown) => e instanceof InferenceServerError && /no_such_model/.test(e.message));
    });

    test('statistics of one model, one version and every model', async () => {
      await client.infer('digits', [digitsInput()], transport.infer);
      const [digits] = await client.modelStatistics('digits');
      assert.ok(digits);
      assert.equal(digits.name, 'digits');
      assert.equal(digits.version, '1');
      assert.ok(digits.inference_count >= 1);
      assert.ok(digits.inference_stats.success.count >= 1);
      assert.ok(digits.inference_stats.success.ns > 0);
      assert.ok(digits.last_inference > Date.now() - 600_000);
      assert.equal((await client.modelStatistics('digits', { version: 1 })).length, 1);
      const all = await client.modelStatistics();
      assert.ok(all.some((s) => s.name === 'digits') && all.some((s) => s.name === 'identity_fp32'));
      await assert.rejects(client.modelStatistics('nope'), notFound);
    });
  });
}

describe('both transports agree', () => {
  test('same digits outputs (bit for bit), configuration, metadata and repository index', async () => {
    const rest = createClient({ url: server.url });
    const grpc = createClient({ url: grpcUrl });
    try {
      const [a, b, c] = await Promise.all([rest.infer('digits', [digitsInput()]), rest.infer('digits', [digitsInput()], { binary: false }), grpc.infer('digits', [digitsInput()])]);
      for (const other of [b, c]) {
        assert.deepEqual(other.output('probabilities').data, a.output('probabilities').data);
        assert.deepEqual(other.output('label').data, a.output('label').data);
      }
      assert.deepEqual(await grpc.modelConfig('digits'), await rest.modelConfig('digits'));
      assert.deepEqual(await grpc.modelMetadata('identity_bytes'), await rest.modelMetadata('identity_bytes'));
      assert.deepEqual(await grpc.repositoryIndex(), await rest.repositoryIndex());
    } finally {
      await Promise.all([rest.close(), grpc.close()]);
    }
  });
});

describe('cranberries infer', () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'cranberries-infer-'));
  });
  after(() => rm(dir, { recursive: true, force: true }));

  async function cli(...args: string[]): Promise<{ stdout: string; stderr: string; code: number }> {
    try {
      const { stdout, stderr } = await run(process.execPath, [CLI, 'infer', ...args], { timeout: 60_000 });
      return { stdout, stderr, code: 0 };
    } catch (error) {
      const failed = error as { stdout: string; stderr: string; code: number };
      return { stdout: failed.stdout, stderr: failed.stderr, code: failed.code };
    }
  }

  test('reads a .npy file written by NumPy (float64, no batch dim) and prints JSON, over REST and gRPC', async () => {
    const npy = join(dir, 'digit.npy');
    // float64 on purpose: the command converts to the model's FP32; shape 1×8×8 gets a batch of 1.
    const script = `import numpy, sys\nnumpy.save(sys.argv[1], numpy.array([float(x) for x in sys.argv[2].split(',')], dtype=numpy.float64).reshape(1, 8, 8))`;
    const made = spawnSync('/usr/bin/python3', ['-c', script, npy, Array.from(pixels).join(',')], { encoding: 'utf8', timeout: 60_000 });
    assert.equal(made.status, 0, made.stderr);
    const reference = await createClient({ url: server.url }).infer('digits', [digitsInput()]);
    for (const url of [server.url, grpcUrl]) {
      const { stdout, stderr, code } = await cli('--model', 'digits', '--input', `image=@${npy}`, '--url', url, '--json');
      assert.equal(code, 0, stderr);
      const printed = JSON.parse(stdout) as { model_name: string; model_version: string; outputs: { name: string; datatype: string; shape: number[]; data: number[] }[] };
      assert.equal(printed.model_name, 'digits');
      assert.equal(printed.model_version, '1');
      const probabilities = printed.outputs.find((o) => o.name === 'probabilities')!;
      assert.deepEqual(probabilities.shape, [1, 10]);
      assert.deepEqual(Float32Array.from(probabilities.data), reference.output('probabilities').data, 'same values as the client');
      assert.deepEqual(
        printed.outputs.find((o) => o.name === 'label'),
        { name: 'label', datatype: 'INT64', shape: [1, 1], data: [1] },
      );
    }
  });

  test('reads a nested 1×1×8×8 JSON file; prints top-k and a readable summary', async () => {
    const file = join(dir, 'digit.json');
    const rows = Array.from({ length: 8 }, (_, r) => Array.from(pixels.subarray(r * 8, r * 8 + 8)));
    await writeFile(file, JSON.stringify([[rows]]));
    const topk = await cli('--model', 'digits', '--input', `image=@${file}`, '--output', 'probabilities:2', '--url', grpcUrl, '--json');
    assert.equal(topk.code, 0, topk.stderr);
    const [output] = (JSON.parse(topk.stdout) as { outputs: { datatype: string; data: string[] }[] }).outputs;
    assert.equal(output!.datatype, 'BYTES');
    assert.match(output!.data[0]!, /^0\.99\d*:1:1$/);
    assert.equal(output!.data.length, 2);
    const human = await cli('--model', 'digits', '--version', '1', '--input', `image=@${file}`, '--url', server.url, '--no-binary');
    assert.equal(human.code, 0, human.stderr);
    assert.match(human.stdout, /^model digits, version 1$/m);
    assert.match(human.stdout, /^label {2}INT64 {2}\[1,1\]\n {2}\[1\]$/m);
    assert.match(human.stdout, /^probabilities {2}FP32 {2}\[1,10\]$/m);
  });

  test('a JSON literal input, and clear failures with a non-zero exit', async () => {
    const literal = await cli('--model', 'identity_bytes', '--input', 'INPUT0=[["a","b"]]', '--url', server.url, '--json');
    assert.equal(literal.code, 0, literal.stderr);
    assert.deepEqual((JSON.parse(literal.stdout) as { outputs: { data: string[] }[] }).outputs[0]!.data, ['a', 'b']);
    const unknown = await cli('--model', 'nope', '--input', 'x=1', '--url', server.url);
    assert.equal(unknown.code, 1);
    assert.match(unknown.stderr, /Request for unknown model: 'nope' is not found \(NOT_FOUND, HTTP 404\)/);
    const badName = await cli('--model', 'digits', '--input', 'imag=[1]', '--url', grpcUrl);
    assert.equal(badName.code, 1);
    assert.match(badName.stderr, /model 'digits' has no input 'imag' \(its inputs: image\)/);
    const badShape = await cli('--model', 'digits', '--input', 'image=[[1,2]]', '--url', grpcUrl);
    assert.equal(badShape.code, 1);
    assert.match(badShape.stderr, /INVALID_ARGUMENT, gRPC 3/);
    const badSpec = await cli('--model', 'digits', '--input', 'image');
    assert.equal(badSpec.code, 2);
    assert.match(badSpec.stderr, /must look like name=@file\.npy/);
  });
});
