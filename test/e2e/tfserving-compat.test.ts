/**
 * TF Serving's own documented examples against Cranberries (issue 13): the REST API guide's
 * `half_plus_three` walk-through (status, row and columnar predict, regress, the 404), served the
 * TF Serving way — from a `--model-config-file` whose base path holds the version folder
 * `00000123`, as in TF Serving's test data — with an ONNX `half_plus_three` (y = 0.5·x + 3 on a
 * rank-1 batch, no config.pbtxt). The answers must be TF Serving's, shape for shape: a rank-1
 * batched tensor is `[-1]` on the TF Serving APIs, not the Triton config's `[-1, 1]`.
 *
 * Also gRPC Predict's number encoding: typed `float_val` by default (TF Serving's default, what its
 * mnist/resnet clients read), `tensor_content` with `enableSerializationAsTensorContent`.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { halfPlusThreeModel } from '../fixtures/onnx-models.js';
import { startTestServer, type TestServer } from '../helpers/test-server.js';
import * as grpc from '@grpc/grpc-js';
import { grpcFailure, TfsGrpcClient } from '../../src/protocols/tfserving/tfs-test-client.js';

interface WireTensor {
  dtype: string;
  tensor_shape: { dim: { size: string }[] };
  tensor_content: Buffer;
  float_val: number[];
}
interface PredictReply {
  model_spec: { name: string; version: { value: string } | null };
  outputs: Record<string, WireTensor>;
}

let dir: string;
let server: TestServer;
let client: TfsGrpcClient;

const shapeOf = (tensor: WireTensor): number[] => tensor.tensor_shape.dim.map((d) => Number(d.size));
const xTensor = { dtype: 'DT_FLOAT', tensor_shape: { dim: [{ size: 3 }] }, float_val: [1, 2, 5] };

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'cranberries-tfs-compat-'));
  // TF Serving's test data layout: <base>/00000123/<model>; no config.pbtxt (completed from the model).
  await mkdir(join(dir, 'half_plus_three', '00000123'), { recursive: true });
  await writeFile(join(dir, 'half_plus_three', '00000123', 'model.onnx'), halfPlusThreeModel());
  // Two folders naming version 7: refused, naming both.
  for (const version of ['7', '007']) {
    await mkdir(join(dir, 'twice', version), { recursive: true });
    await writeFile(join(dir, 'twice', version, 'model.onnx'), halfPlusThreeModel());
  }
  await writeFile(
    join(dir, 'models.config'),
    `model_config_list {\n  config { name: "half_plus_three" base_path: "${join(dir, 'half_plus_three')}" model_platform: "tensorflow" }\n` +
      `  config { name: "twice" base_path: "${join(dir, 'twice')}" model_platform: "tensorflow" }\n}\n`,
  );
  server = await startTestServer({ modelRepository: join(dir, 'unused'), modelConfigFile: join(dir, 'models.config') });
  client = new TfsGrpcClient(`127.0.0.1:${server.ports.grpc}`);
});

after(async () => {
  client?.close();
  await server?.stop();
  if (dir) await rm(dir, { recursive: true, force: true });
});

async function rest(path: string, body?: string): Promise<{ status: number; text: string; json: unknown }> {
  const response = await fetch(server.url + path, body === undefined ? {} : { method: 'POST', body, headers: { 'content-type': 'application/json' } });
  const text = await response.text();
  return { status: response.status, text, json: JSON.parse(text) as unknown };
}

describe('the TF Serving REST guide, example by example (half_plus_three)', () => {
  test('model status: version 123 (folder 00000123) AVAILABLE', async () => {
    const status = await rest('/v1/models/half_plus_three');
    assert.equal(status.status, 200);
    assert.deepEqual(status.json, { model_version_status: [{ version: '123', state: 'AVAILABLE', status: { error_code: 'OK', error_message: '' } }] });
  });

  test('predict {"instances": [1.0,2.0,5.0]} → {"predictions": [3.5, 4.0, 5.5]}', async () => {
    const row = await rest('/v1/models/half_plus_three:predict', '{"instances": [1.0,2.0,5.0]}');
    assert.equal(row.status, 200, row.text);
    assert.equal(row.text, '{"predictions":[3.5,4.0,5.5]}');
    // The same by version, and in the columnar format.
    assert.equal((await rest('/v1/models/half_plus_three/versions/123:predict', '{"instances": [1.0,2.0,5.0]}')).text, '{"predictions":[3.5,4.0,5.5]}');
    const columnar = await rest('/v1/models/half_plus_three:predict', '{"inputs": [1.0,2.0,5.0]}');
    assert.equal(columnar.text, '{"outputs":[3.5,4.0,5.5]}');
    const named = await rest('/v1/models/half_plus_three:predict', '{"instances": [{"x": 1.0}, {"x": 2.0}]}');
    assert.equal(named.text, '{"predictions":[3.5,4.0]}');
  });

  test('regress on "tensorflow/serving/regress" with examples [{"x": 1.0}, {"x": 2.0}] → {"results": [3.5, 4.0]}', async () => {
    const regress = await rest('/v1/models/half_plus_three:regress', '{"signature_name": "tensorflow/serving/regress", "examples": [{"x": 1.0}, {"x": 2.0}]}');
    assert.equal(regress.status, 200, regress.text);
    assert.deepEqual(regress.json, { results: [3.5, 4.0] });
  });

  test('an unknown model is 404 with an error body', async () => {
    const missing = await rest('/v1/models/half:predict', '{"instances": [1.0,5.0]}');
    assert.equal(missing.status, 404);
    assert.match((missing.json as { error: string }).error, /half/);
  });

  test('a row of the wrong rank is refused as TF Serving would ([3,1] for a [-1] input)', async () => {
    const nested = await rest('/v1/models/half_plus_three:predict', '{"instances": [[1.0],[2.0],[5.0]]}');
    assert.equal(nested.status, 400, nested.text);
    assert.match((nested.json as { error: string }).error, /\[3,1\].*\[-1\]/);
  });

  test("the signature shows the model's rank: x and y are [-1] (OIP keeps the config's [-1, 1])", async () => {
    const metadata = (await rest('/v1/models/half_plus_three/metadata')).json as {
      metadata: {
        signature_def: {
          signature_def: Record<string, { inputs: Record<string, { tensor_shape: { dim: { size: string }[] } }>; outputs: Record<string, { tensor_shape: { dim: { size: string }[] } }> }>;
        };
      };
    };
    const serving = metadata.metadata.signature_def.signature_def['serving_default']!;
    assert.deepEqual(serving.inputs['x']!.tensor_shape.dim, [{ size: '-1', name: '' }]);
    assert.deepEqual(serving.outputs['y']!.tensor_shape.dim, [{ size: '-1', name: '' }]);
    const oip = (await rest('/v2/models/half_plus_three')).json as { inputs: { shape: number[] }[] };
    assert.deepEqual(oip.inputs[0]!.shape, [-1, 1]);
  });

  test('two version folders naming one number: the model is unavailable, the reason names both', async () => {
    const reason = "version folders '007' and '7' both name version 7: remove or rename one";
    const index = await rest('/v2/repository/index', '{}');
    assert.deepEqual(
      (index.json as { name: string }[]).find((entry) => entry.name === 'twice'),
      { name: 'twice', state: 'UNAVAILABLE', reason },
    );
    const predict = await rest('/v1/models/twice:predict', '{"instances": [1.0]}');
    assert.equal(predict.status, 503, 'UNAVAILABLE');
    assert.ok((predict.json as { error: string }).error.includes(reason), predict.text);
  });
});

describe('gRPC Predict number encoding', () => {
  test('typed float_val by default, shape [3] for a [3] request, as TF Serving answers', async () => {
    const reply = await client.call<PredictReply>('Predict', { model_spec: { name: 'half_plus_three' }, inputs: { x: xTensor } });
    assert.equal(reply.model_spec.version?.value, '123');
    const y = reply.outputs['y']!;
    assert.equal(y.dtype, 'DT_FLOAT');
    assert.deepEqual(shapeOf(y), [3]);
    assert.deepEqual(y.float_val, [3.5, 4, 5.5]);
    assert.equal(y.tensor_content.length, 0);
  });

  test('GetModelMetadata shows [-1] too', async () => {
    const reply = await client.call<{ metadata: Record<string, { value: Buffer }> }>('GetModelMetadata', { model_spec: { name: 'half_plus_three' }, metadata_field: ['signature_def'] });
    const { signatureDefMapType } = await import('../../src/protocols/tfserving/tfs-proto-root.js');
    const map = signatureDefMapType().toObject(signatureDefMapType().decode(reply.metadata['signature_def']!.value), { longs: String }) as {
      signature_def: Record<string, { inputs: Record<string, { tensor_shape: { dim: { size: string }[] } }> }>;
    };
    assert.deepEqual(
      map.signature_def['serving_default']!.inputs['x']!.tensor_shape.dim.map((d) => d.size),
      ['-1'],
    );
  });

  test('a call may ask for a form in metadata cranberries-tensor-serialization; other values are INVALID_ARGUMENT', async () => {
    const predict = (form: string): Promise<PredictReply> =>
      client.call<PredictReply>('Predict', { model_spec: { name: 'half_plus_three' }, inputs: { x: xTensor } }, {}, { 'cranberries-tensor-serialization': form });
    const content = (await predict('tensor_content')).outputs['y']!;
    assert.deepEqual(content.float_val, []);
    assert.deepEqual([...new Float32Array(new Uint8Array(content.tensor_content).buffer)], [3.5, 4, 5.5]);
    assert.deepEqual((await predict('proto_field')).outputs['y']!.float_val, [3.5, 4, 5.5]);
    const refused = await grpcFailure(predict('x'.repeat(5000)));
    assert.equal(refused.code, grpc.status.INVALID_ARGUMENT);
    assert.equal(refused.details, 'metadata cranberries-tensor-serialization must be proto_field or tensor_content');
  });

  test('enableSerializationAsTensorContent: numbers in tensor_content, no typed list', async () => {
    const contentServer = await startTestServer({ modelRepository: join(dir, 'unused'), modelConfigFile: join(dir, 'models.config'), enableSerializationAsTensorContent: true });
    const contentClient = new TfsGrpcClient(`127.0.0.1:${contentServer.ports.grpc}`);
    try {
      const reply = await contentClient.call<PredictReply>('Predict', { model_spec: { name: 'half_plus_three' }, inputs: { x: xTensor } });
      const y = reply.outputs['y']!;
      assert.deepEqual(shapeOf(y), [3]);
      assert.deepEqual(y.float_val, []);
      assert.deepEqual([...new Float32Array(new Uint8Array(y.tensor_content).buffer)], [3.5, 4, 5.5]);
      const typed = await contentClient.call<PredictReply>('Predict', { model_spec: { name: 'half_plus_three' }, inputs: { x: xTensor } }, {}, { 'cranberries-tensor-serialization': 'proto_field' });
      assert.deepEqual(typed.outputs['y']!.float_val, [3.5, 4, 5.5], 'a call may still ask for typed lists');
    } finally {
      contentClient.close();
      await contentServer.stop();
    }
  });
});
