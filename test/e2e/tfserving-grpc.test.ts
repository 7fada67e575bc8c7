/**
 * TensorFlow Serving gRPC API end to end (tensorflow_serving/apis): PredictionService and ModelService on
 * the server's gRPC port (next to OIP), called the way generated stubs call them, with real ONNX
 * Runtime behind. The digits model must answer exactly as over OIP REST JSON.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { cp, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as grpc from '@grpc/grpc-js';
import { createTempModelRepository, identityModel, mlpForward, mlpModel, type TempModelRepository } from '../fixtures/onnx-models.js';
import { infer } from '../helpers/oip-client.js';
import { startTestServer, type TestServer } from '../helpers/test-server.js';
import { grpcFailure, TfsGrpcClient } from '../../src/protocols/tfserving/tfs-test-client.js';
import { signatureDefMapType } from '../../src/protocols/tfserving/tfs-proto-root.js';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const LINEAR = (seed: number): { inputSize: number; hidden: number[]; outputSize: number; seed: number } => ({ inputSize: 2, hidden: [], outputSize: 1, seed });

interface WireTensor {
  dtype: string;
  tensor_shape: { dim: { size: string }[] };
  tensor_content: Buffer;
  string_val: Buffer[];
  float_val: number[];
  int64_val: string[];
}
interface PredictReply {
  model_spec: { name: string; version: { value: string } | null; signature_name: string };
  outputs: Record<string, WireTensor>;
}

let repo: TempModelRepository;
let server: TestServer;
let client: TfsGrpcClient;
let images: number[];

const dims = (...sizes: number[]): { dim: { size: number }[] } => ({ dim: sizes.map((size) => ({ size })) });
/** The fields of a ModelSpec that matter (the decoded message also carries the oneof marker). */
const specOf = (spec: PredictReply['model_spec']): { name: string; version: string | undefined; signature_name: string } => ({
  name: spec.name,
  version: spec.version?.value,
  signature_name: spec.signature_name,
});
const shapeOf = (tensor: WireTensor): number[] => tensor.tensor_shape.dim.map((d) => Number(d.size));
/** int64_val as bigints (the loader hands 64-bit values over as decimal strings). */
const int64s = (tensor: WireTensor): bigint[] => tensor.int64_val.map(BigInt);

before(async () => {
  const example = JSON.parse(await readFile(join(ROOT, 'examples/digits/request.json'), 'utf8')) as { inputs: { data: number[] }[] };
  const first = example.inputs[0]!.data;
  images = [...first, ...first.map((v) => 16 - v)];
  repo = await createTempModelRepository({
    linear: { versions: { 1: mlpModel(LINEAR(1)), 2: mlpModel(LINEAR(2)) }, config: 'max_batch_size: 8\nversion_policy: { all { } }\n' },
    identity_int64: { versions: { 1: identityModel({ datatype: 'INT64', dims: [-1], batching: true }) } },
  });
  for (const model of ['digits', 'diabetes', 'word_ids']) await cp(join(ROOT, 'models', model), join(repo.root, model), { recursive: true });
  server = await startTestServer({ modelRepository: repo.root });
  client = new TfsGrpcClient(`127.0.0.1:${server.ports.grpc}`);
});

after(async () => {
  client?.close();
  await server?.stop();
  await repo?.remove();
});

describe('Predict', () => {
  test('digits with tensor_content and with float_val give exactly what OIP REST JSON gives', async () => {
    const oip = await infer(server.url, 'digits', [{ name: 'image', datatype: 'FP32', shape: [2, 1, 8, 8], data: images }]);
    const oipOutputs = oip.json['outputs'] as { name: string; data: number[] }[];
    const probabilities = Float32Array.from(oipOutputs.find((o) => o.name === 'probabilities')!.data);
    const labels = oipOutputs.find((o) => o.name === 'label')!.data.map(BigInt);

    const requests = {
      tensor_content: { dtype: 'DT_FLOAT', tensor_shape: dims(2, 1, 8, 8), tensor_content: Buffer.from(Float32Array.from(images).buffer) },
      float_val: { dtype: 'DT_FLOAT', tensor_shape: dims(2, 1, 8, 8), float_val: images },
    };
    for (const [form, image] of Object.entries(requests)) {
      const reply = await client.call<PredictReply>('Predict', { model_spec: { name: 'digits' }, inputs: { image } });
      assert.deepEqual(specOf(reply.model_spec), { name: 'digits', version: '1', signature_name: 'serving_default' }, form);
      const p = reply.outputs['probabilities']!;
      assert.equal(p.dtype, 'DT_FLOAT');
      assert.deepEqual(shapeOf(p), [2, 10]);
      assert.equal(p.tensor_content.length, 0, 'numeric outputs travel in their typed lists, as TF Serving sends them');
      assert.deepEqual(Float32Array.from(p.float_val), probabilities, form);
      const label = reply.outputs['label']!;
      assert.equal(label.dtype, 'DT_INT64');
      assert.deepEqual(int64s(label), labels, form);
    }
  });

  test('a one-value float_val fills the tensor; output_filter selects outputs', async () => {
    const reply = await client.call<PredictReply>('Predict', {
      model_spec: { name: 'digits', signature_name: 'serving_default' },
      inputs: { image: { dtype: 'DT_FLOAT', tensor_shape: dims(1, 1, 8, 8), float_val: [0] } },
      output_filter: ['label'],
    });
    assert.deepEqual(Object.keys(reply.outputs), ['label']);
    const blank = await infer(server.url, 'digits', [{ name: 'image', datatype: 'FP32', shape: [1, 1, 8, 8], data: new Array<number>(64).fill(0) }]);
    const expected = (blank.json['outputs'] as { name: string; data: number[] }[]).find((o) => o.name === 'label')!.data;
    assert.deepEqual(int64s(reply.outputs['label']!), expected.map(BigInt));
  });

  test('strings in string_val; int64 in int64_val', async () => {
    const words = await client.call<PredictReply>('Predict', {
      model_spec: { name: 'word_ids' },
      inputs: { words: { dtype: 'DT_STRING', tensor_shape: dims(3), string_val: ['apple', 'kiwi', 'lemon'].map((w) => Buffer.from(w)) } },
    });
    assert.deepEqual(int64s(words.outputs['ids']!), [1n, -1n, 5n]);
    const ints = await client.call<PredictReply>('Predict', {
      model_spec: { name: 'identity_int64' },
      inputs: { INPUT0: { dtype: 'DT_INT64', tensor_shape: dims(1, 2), int64_val: ['-9223372036854775808', '9223372036854775807'] } },
    });
    assert.deepEqual(int64s(ints.outputs['OUTPUT0']!), [-(2n ** 63n), 2n ** 63n - 1n]);
  });

  test('version (Int64Value) and version_label select the version', async () => {
    const x = [0.5, -1];
    const expected = (seed: number): number => mlpForward(LINEAR(seed), Float32Array.from(x), 1)[0]!;
    const predict = async (spec: object): Promise<{ version: string; value: number }> => {
      const reply = await client.call<PredictReply>('Predict', { model_spec: { name: 'linear', ...spec }, inputs: { input: { dtype: 'DT_FLOAT', tensor_shape: dims(1, 2), float_val: x } } });
      return { version: reply.model_spec.version!.value, value: reply.outputs['output']!.float_val[0]! };
    };
    const latest = await predict({});
    assert.equal(latest.version, '2');
    assert.ok(Math.abs(latest.value - expected(2)) < 1e-5);
    const one = await predict({ version: { value: 1 } });
    assert.equal(one.version, '1');
    assert.ok(Math.abs(one.value - expected(1)) < 1e-5);
    const labelled = await fetch(`${server.url}/v2/repository/models/linear/labels`, {
      method: 'POST',
      body: JSON.stringify({ labels: { stable: 1 } }),
      headers: { 'content-type': 'application/json' },
    });
    assert.equal(labelled.status, 200);
    assert.equal((await predict({ version_label: 'stable' })).version, '1');
    const unknown = await grpcFailure(predict({ version_label: 'canary' }));
    assert.deepEqual(unknown, { code: grpc.status.INVALID_ARGUMENT, details: 'Unrecognized servable version label: canary' });
  });
});

describe('metadata and status', () => {
  test('GetModelMetadata packs the SignatureDefMap in an Any', async () => {
    const reply = await client.call<{ model_spec: PredictReply['model_spec']; metadata: Record<string, { type_url: string; value: Buffer }> }>('GetModelMetadata', {
      model_spec: { name: 'digits' },
      metadata_field: ['signature_def'],
    });
    assert.deepEqual(specOf(reply.model_spec), { name: 'digits', version: '1', signature_name: '' });
    const any = reply.metadata['signature_def']!;
    assert.equal(any.type_url, 'type.googleapis.com/tensorflow.serving.SignatureDefMap');
    const type = signatureDefMapType();
    const map = type.toObject(type.decode(any.value), { longs: String, enums: String, defaults: true }) as {
      signature_def: Record<string, { inputs: Record<string, { dtype: string; name: string; tensor_shape: { dim: { size: string }[] } }>; method_name: string }>;
    };
    const serving = map.signature_def['serving_default']!;
    assert.equal(serving.method_name, 'tensorflow/serving/predict');
    assert.equal(serving.inputs['image']!.dtype, 'DT_FLOAT');
    assert.equal(serving.inputs['image']!.name, 'image');
    assert.deepEqual(
      serving.inputs['image']!.tensor_shape.dim.map((d) => d.size),
      ['-1', '1', '8', '8'],
    );
    assert.ok(map.signature_def['tensorflow/serving/classify']);

    assert.equal((await grpcFailure(client.call('GetModelMetadata', { model_spec: { name: 'digits' } }))).code, grpc.status.INVALID_ARGUMENT);
    const unsupported = await grpcFailure(client.call('GetModelMetadata', { model_spec: { name: 'digits' }, metadata_field: ['signature_def', 'x'] }));
    assert.deepEqual(unsupported, { code: grpc.status.INVALID_ARGUMENT, details: 'Metadata field x is not supported' });
  });

  test('GetModelStatus reports versions, states and StatusProto', async () => {
    const status = await client.call<{ model_version_status: unknown[] }>('GetModelStatus', { model_spec: { name: 'linear' } });
    const ok = { error_code: 'OK', error_message: '' };
    assert.deepEqual(status.model_version_status, [
      { version: '1', state: 'AVAILABLE', status: ok },
      { version: '2', state: 'AVAILABLE', status: ok },
    ]);
    const one = await client.call<{ model_version_status: unknown[] }>('GetModelStatus', { model_spec: { name: 'linear', version: { value: '2' } } });
    assert.deepEqual(one.model_version_status, [{ version: '2', state: 'AVAILABLE', status: ok }]);
    assert.deepEqual(await grpcFailure(client.call('GetModelStatus', { model_spec: { name: 'nope' } })), { code: grpc.status.NOT_FOUND, details: 'Could not find any versions of model nope' });
    assert.equal((await grpcFailure(client.call('GetModelStatus', { model_spec: { name: 'linear', version: { value: 7 } } }))).code, grpc.status.NOT_FOUND);
  });
});

describe('Classify, Regress, MultiInference', () => {
  const floatFeature = (values: number[]): object => ({ float_list: { value: values } });
  const examples = (feature: string, rows: number[][]): object => ({ example_list: { examples: rows.map((r) => ({ features: { feature: { [feature]: floatFeature(r) } } })) } });

  test('Classify returns every class with its label and score', async () => {
    const reply = await client.call<{ model_spec: PredictReply['model_spec']; result: { classifications: { classes: { label: string; score: number }[] }[] } }>('Classify', {
      model_spec: { name: 'digits', signature_name: 'tensorflow/serving/classify' },
      input: examples('image', [images.slice(0, 64)]),
    });
    assert.deepEqual(specOf(reply.model_spec), { name: 'digits', version: '1', signature_name: 'tensorflow/serving/classify' });
    const classes = reply.result.classifications[0]!.classes;
    assert.deepEqual(
      classes.map((c) => c.label),
      ['0', '1', '2', '3', '4', '5', '6', '7', '8', '9'],
    );
    assert.equal(classes.reduce((a, b) => (b.score > a.score ? b : a)).label, '1');
  });

  test('Regress returns one value per example; context features are shared', async () => {
    const reply = await client.call<{ result: { regressions: { value: number }[] } }>('Regress', {
      model_spec: { name: 'linear', version: { value: 1 } },
      input: examples('input', [
        [0.5, -1],
        [2, 3],
      ]),
    });
    const expected = mlpForward(LINEAR(1), Float32Array.from([0.5, -1, 2, 3]), 2);
    assert.deepEqual(
      reply.result.regressions.map((r) => r.value),
      [...expected].map(Math.fround),
    );
    const withContext = await client.call<{ result: { regressions: { value: number }[] } }>('Regress', {
      model_spec: { name: 'linear', version: { value: 1 } },
      input: { example_list_with_context: { examples: [{ features: { feature: {} } }], context: { features: { feature: { input: floatFeature([2, 3]) } } } } },
    });
    assert.deepEqual(
      withContext.result.regressions.map((r) => r.value),
      [Math.fround(expected[1]!)],
    );
  });

  test('MultiInference runs each task on the shared input', async () => {
    const reply = await client.call<{ results: { model_spec: PredictReply['model_spec']; regression_result: { regressions: { value: number }[] } | null }[] }>('MultiInference', {
      tasks: [
        { model_spec: { name: 'linear', version: { value: 1 } }, method_name: 'tensorflow/serving/regress' },
        { model_spec: { name: 'linear' }, method_name: 'tensorflow/serving/regress' },
      ],
      input: examples('input', [[1, 1]]),
    });
    assert.deepEqual(
      reply.results.map((r) => r.model_spec.version?.value),
      ['1', '2'],
    );
    assert.deepEqual(
      reply.results.map((r) => r.regression_result?.regressions[0]?.value),
      [1, 2].map((seed) => Math.fround(mlpForward(LINEAR(seed), Float32Array.from([1, 1]), 1)[0]!)),
    );
    const mixed = await grpcFailure(
      client.call('MultiInference', {
        tasks: [
          { model_spec: { name: 'linear' }, method_name: 'tensorflow/serving/regress' },
          { model_spec: { name: 'digits' }, method_name: 'tensorflow/serving/classify' },
        ],
        input: examples('input', [[1, 1]]),
      }),
    );
    assert.deepEqual(mixed, { code: grpc.status.INVALID_ARGUMENT, details: 'All ModelSpecs in a MultiInferenceRequest must access the same model name' });
  });

  test('models that do not fit are INVALID_ARGUMENT with the reason', async () => {
    const regressDigits = await grpcFailure(client.call('Regress', { model_spec: { name: 'digits' }, input: examples('image', [images.slice(0, 64)]) }));
    assert.equal(regressDigits.code, grpc.status.INVALID_ARGUMENT);
    assert.match(regressDigits.details, /model 'digits' does not fit Regress/);
    const classifyDiabetes = await grpcFailure(client.call('Classify', { model_spec: { name: 'diabetes' }, input: examples('features', [[1, 2, 3, 4, 5, 6, 7, 8, 9, 10]]) }));
    assert.match(classifyDiabetes.details, /model 'diabetes' does not fit Classify/);
  });
});

describe('errors', () => {
  test('each failure has its canonical code, and the server keeps serving', async () => {
    const image = { dtype: 'DT_FLOAT', tensor_shape: dims(1, 1, 8, 8), float_val: [1] };
    const cases: [object, grpc.status, RegExp][] = [
      [{ model_spec: { name: 'nope' }, inputs: { image } }, grpc.status.NOT_FOUND, /nope/],
      [{ model_spec: { name: 'digits', version: { value: 5 } }, inputs: { image } }, grpc.status.NOT_FOUND, /version 5/],
      [{ model_spec: { name: '' }, inputs: { image } }, grpc.status.INVALID_ARGUMENT, /model_spec\.name is required/],
      [{ model_spec: { name: 'digits', signature_name: 'x' }, inputs: { image } }, grpc.status.INVALID_ARGUMENT, /^Serving signature name: "x" not found in signature def$/],
      [{ model_spec: { name: 'digits' }, inputs: { image: { ...image, dtype: 'DT_COMPLEX64' } } }, grpc.status.UNIMPLEMENTED, /DT_COMPLEX64/],
      [{ model_spec: { name: 'digits' }, inputs: { image: { ...image, dtype: 'DT_DOUBLE', float_val: [], double_val: [1] } } }, grpc.status.INVALID_ARGUMENT, /image/],
      [{ model_spec: { name: 'digits' }, inputs: { image: { ...image, tensor_shape: dims(1, 8, 8) } } }, grpc.status.INVALID_ARGUMENT, /image/],
      [{ model_spec: { name: 'digits' }, inputs: { image: { ...image, float_val: [], tensor_content: Buffer.alloc(3) } } }, grpc.status.INVALID_ARGUMENT, /needs 256 bytes, got 3/],
      [{ model_spec: { name: 'digits' }, inputs: { picture: image } }, grpc.status.INVALID_ARGUMENT, /picture/],
      [{ model_spec: { name: 'digits' }, inputs: { image }, output_filter: ['nope'] }, grpc.status.INVALID_ARGUMENT, /^output tensor alias not found in signature: nope/],
    ];
    for (const [request, code, details] of cases) {
      const failure = await grpcFailure(client.call('Predict', request));
      assert.equal(failure.code, code, `${JSON.stringify(request).slice(0, 120)} → ${failure.details}`);
      assert.match(failure.details, details);
    }
    const reload = await grpcFailure(client.call('HandleReloadConfigRequest', { config: { custom_model_config: { type_url: 'x', value: Buffer.alloc(0) } } }));
    assert.equal(reload.code, grpc.status.UNIMPLEMENTED);
    const still = await client.call<PredictReply>('Predict', { model_spec: { name: 'digits' }, inputs: { image } });
    assert.deepEqual(Object.keys(still.outputs).sort(), ['label', 'probabilities']);
  });
});
