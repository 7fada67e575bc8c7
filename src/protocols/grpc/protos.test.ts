import assert from 'node:assert/strict';
import { execFile, spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { promisify } from 'node:util';
import { after, before, describe, it } from 'node:test';
import type * as protoLoader from '@grpc/proto-loader';
import { startTestServer, type TestServer } from './grpc-test-harness.js';
import { addModel, FakeInferenceService } from '../../../test/doubles/fake-inference-service.js';
import { oipPackageDefinition, PROTO_ROOT, serviceDefinition, tfServingPackageDefinition } from './proto-loader.js';

const run = promisify(execFile);
const PYTHON = '/usr/bin/python3';

interface Descriptor {
  name: string;
  field: { name: string; number: number }[];
  nestedType: Descriptor[];
}

/** Field name → number of a top-level message or of a message nested in it (`Outer.Inner`). */
function fieldNumbers(definition: protoLoader.PackageDefinition, message: string, ...nested: string[]): Record<string, number> {
  const entry = definition[message] as protoLoader.MessageTypeDefinition<object, object> | undefined;
  assert.ok(entry, `${message} is defined`);
  let descriptor = entry.type as Descriptor;
  for (const name of nested) {
    const inner = descriptor.nestedType.find((type) => type.name === name);
    assert.ok(inner, `${message}.${name} is defined`);
    descriptor = inner;
  }
  return Object.fromEntries(descriptor.field.map((field) => [field.name, field.number]));
}

function allProtoFiles(dir = PROTO_ROOT): string[] {
  return readdirSync(dir).flatMap((entry) => {
    const path = join(dir, entry);
    if (statSync(path).isDirectory()) return allProtoFiles(path);
    return entry.endsWith('.proto') ? [relative(PROTO_ROOT, path)] : [];
  });
}

describe('proto files', () => {
  it('declare every RPC of the inference service with the right streaming kind', () => {
    const methods = serviceDefinition(oipPackageDefinition(), 'inference.GRPCInferenceService');
    const expected = [
      'ServerLive',
      'ServerReady',
      'ModelReady',
      'ServerMetadata',
      'ModelMetadata',
      'ModelInfer',
      'ModelStreamInfer',
      'ModelConfig',
      'ModelStatistics',
      'RepositoryIndex',
      'RepositoryModelLoad',
      'RepositoryModelUnload',
      'SystemSharedMemoryStatus',
      'SystemSharedMemoryRegister',
      'SystemSharedMemoryUnregister',
      'CudaSharedMemoryStatus',
      'CudaSharedMemoryRegister',
      'CudaSharedMemoryUnregister',
      'TraceSetting',
      'LogSettings',
    ];
    assert.deepEqual(Object.keys(methods).sort(), [...expected].sort());
    for (const [name, method] of Object.entries(methods)) {
      assert.equal(method.path, `/inference.GRPCInferenceService/${name}`);
      const streaming = name === 'ModelStreamInfer';
      assert.deepEqual([method.requestStream, method.responseStream], [streaming, streaming], name);
    }
    assert.deepEqual(Object.keys(serviceDefinition(oipPackageDefinition(), 'grpc.health.v1.Health')), ['Check']);
  });

  it('declare the TensorFlow Serving services', () => {
    const tf = tfServingPackageDefinition();
    assert.deepEqual(Object.keys(serviceDefinition(tf, 'tensorflow.serving.PredictionService')).sort(), ['Classify', 'GetModelMetadata', 'MultiInference', 'Predict', 'Regress']);
    assert.deepEqual(Object.keys(serviceDefinition(tf, 'tensorflow.serving.ModelService')).sort(), ['GetModelStatus', 'HandleReloadConfigRequest']);
  });

  it('use the field numbers of the upstream protos (grpc_service.proto, tensorflow_serving/apis)', () => {
    const oip = oipPackageDefinition();
    assert.deepEqual(fieldNumbers(oip, 'inference.ModelInferRequest'), {
      model_name: 1,
      model_version: 2,
      id: 3,
      parameters: 4,
      inputs: 5,
      outputs: 6,
      raw_input_contents: 7,
    });
    assert.deepEqual(fieldNumbers(oip, 'inference.ModelInferRequest', 'InferInputTensor'), { name: 1, datatype: 2, shape: 3, parameters: 4, contents: 5 });
    assert.deepEqual(fieldNumbers(oip, 'inference.ModelInferResponse'), {
      model_name: 1,
      model_version: 2,
      id: 3,
      parameters: 4,
      outputs: 5,
      raw_output_contents: 6,
    });
    assert.deepEqual(fieldNumbers(oip, 'inference.InferParameter'), { bool_param: 1, int64_param: 2, string_param: 3, double_param: 4, uint64_param: 5 });
    assert.deepEqual(fieldNumbers(oip, 'inference.InferTensorContents'), {
      bool_contents: 1,
      int_contents: 2,
      int64_contents: 3,
      uint_contents: 4,
      uint64_contents: 5,
      fp32_contents: 6,
      fp64_contents: 7,
      bytes_contents: 8,
    });
    assert.deepEqual(fieldNumbers(oip, 'inference.ModelStreamInferResponse'), { error_message: 1, infer_response: 2 });
    assert.deepEqual(fieldNumbers(oip, 'inference.ModelStatistics'), {
      name: 1,
      version: 2,
      last_inference: 3,
      inference_count: 4,
      execution_count: 5,
      inference_stats: 6,
      batch_stats: 7,
      memory_usage: 8,
      response_stats: 9,
    });
    assert.deepEqual(fieldNumbers(oip, 'inference.InferStatistics'), {
      success: 1,
      fail: 2,
      queue: 3,
      compute_input: 4,
      compute_infer: 5,
      compute_output: 6,
      cache_hit: 7,
      cache_miss: 8,
    });
    assert.deepEqual(fieldNumbers(oip, 'inference.ModelRepositoryParameter'), { bool_param: 1, int64_param: 2, string_param: 3, bytes_param: 4 });
    assert.deepEqual(fieldNumbers(oip, 'inference.RepositoryModelLoadRequest'), { repository_name: 1, model_name: 2, parameters: 3 });
    assert.deepEqual(fieldNumbers(oip, 'inference.CudaSharedMemoryRegisterRequest'), { name: 1, raw_handle: 2, device_id: 3, byte_size: 4 });

    const tf = tfServingPackageDefinition();
    assert.deepEqual(fieldNumbers(tf, 'tensorflow.serving.ModelSpec'), { name: 1, version: 2, version_label: 4, signature_name: 3 });
    assert.deepEqual(fieldNumbers(tf, 'tensorflow.TensorProto'), {
      dtype: 1,
      tensor_shape: 2,
      version_number: 3,
      tensor_content: 4,
      float_val: 5,
      double_val: 6,
      int_val: 7,
      string_val: 8,
      scomplex_val: 9,
      int64_val: 10,
      bool_val: 11,
      dcomplex_val: 12,
      half_val: 13,
      resource_handle_val: 14,
      variant_val: 15,
      uint32_val: 16,
      uint64_val: 17,
    });
    assert.deepEqual(fieldNumbers(tf, 'tensorflow.serving.PredictRequest'), {
      model_spec: 1,
      inputs: 2,
      output_filter: 3,
      predict_streamed_options: 5,
      client_id: 6,
      request_options: 7,
    });
    assert.deepEqual(fieldNumbers(tf, 'tensorflow.TensorInfo'), { name: 1, coo_sparse: 4, composite_tensor: 5, dtype: 2, tensor_shape: 3 });
    assert.deepEqual(fieldNumbers(tf, 'tensorflow.serving.ModelVersionStatus'), { version: 1, state: 2, status: 3 });
    assert.deepEqual(fieldNumbers(tf, 'tensorflow.serving.ModelConfig'), {
      name: 1,
      base_path: 2,
      model_type: 3,
      model_platform: 4,
      logging_config: 6,
      model_version_policy: 7,
      version_labels: 8,
    });
    assert.deepEqual(fieldNumbers(tf, 'tensorflow.serving.FileSystemStoragePathSourceConfig', 'ServableVersionPolicy'), { latest: 100, all: 101, specific: 102 });
  });
});

const pythonCheck = spawnSync(PYTHON, ['-c', 'import grpc_tools, grpc'], { encoding: 'utf8' });
const skipPython = pythonCheck.status === 0 ? false : `Debian's grpc_tools/grpcio are not importable by ${PYTHON} (install python3-grpc-tools python3-grpcio)`;

/** A real Python gRPC client (stubs generated by protoc from our files) against the server. */
const PYTHON_CLIENT = `
import json, struct, sys
sys.path.insert(0, sys.argv[1])
import grpc
import grpc_service_pb2 as pb, grpc_service_pb2_grpc as pbg, health_pb2, health_pb2_grpc, model_config_pb2
from tensorflow_serving.apis import predict_pb2, prediction_service_pb2_grpc, model_service_pb2_grpc
from tensorflow.core.framework import types_pb2

channel = grpc.insecure_channel(sys.argv[2])
stub = pbg.GRPCInferenceServiceStub(channel)
out = {"live": stub.ServerLive(pb.ServerLiveRequest()).live}
out["shape"] = list(stub.ModelMetadata(pb.ModelMetadataRequest(name="m")).inputs[0].shape)

req = pb.ModelInferRequest(model_name="m", model_version="2", id="py")
x = req.inputs.add(name="x", datatype="FP32", shape=[2])
s = req.inputs.add(name="s", datatype="BYTES", shape=[1])
req.raw_input_contents.extend([struct.pack("<2f", 1.5, -2.0), struct.pack("<I", 2) + b"hi"])
req.parameters["priority"].uint64_param = 1
res = stub.ModelInfer(req)
out["infer"] = {"id": res.id, "version": res.model_version,
                "outputs": [[o.name, o.datatype, list(o.shape)] for o in res.outputs],
                "raw": [r.hex() for r in res.raw_output_contents]}

def requests():
    yield req
    yield pb.ModelInferRequest(model_name="missing", id="bad")
out["stream"] = sorted([[r.infer_response.id, r.error_message] for r in stub.ModelStreamInfer(requests())])
try:
    stub.ModelMetadata(pb.ModelMetadataRequest(name="nope"))
except grpc.RpcError as e:
    out["not_found"] = e.code().name
check = health_pb2_grpc.HealthStub(channel).Check(health_pb2.HealthCheckRequest())
out["health"] = health_pb2.HealthCheckResponse.ServingStatus.Name(check.status)
config = stub.ModelConfig(pb.ModelConfigRequest(name="m")).config
out["config"] = [config.max_batch_size, list(config.input[0].dims), model_config_pb2.DataType.Name(config.input[0].data_type)]

p = predict_pb2.PredictRequest()
p.model_spec.name = "tf"
p.model_spec.version.value = 7
t = p.inputs["x"]
t.dtype = types_pb2.DT_FLOAT
t.tensor_shape.dim.add(size=2)
t.tensor_content = struct.pack("<2f", 1.0, 2.0)
out["predict_request"] = p.SerializeToString().hex()
r = predict_pb2.PredictResponse.FromString(bytes.fromhex(sys.argv[3]))
out["predict_response"] = [r.model_spec.name, r.model_spec.version.value, types_pb2.DataType.Name(r.outputs["y"].dtype), list(r.outputs["y"].float_val)]
print(json.dumps(out))
`;

describe('protos with Python grpc_tools', { skip: skipPython }, () => {
  let outDir: string;
  let server: TestServer;

  before(async () => {
    outDir = mkdtempSync(join(tmpdir(), 'cranberries-protoc-'));
    const fake = new FakeInferenceService();
    addModel(fake, 'm');
    server = await startTestServer(fake);
  });
  after(async () => {
    await server.close();
    rmSync(outDir, { recursive: true, force: true });
  });

  it('compile with protoc into Python modules', async () => {
    const files = allProtoFiles();
    assert.ok(files.length >= 20, `found ${files.length} proto files`);
    await run(PYTHON, ['-m', 'grpc_tools.protoc', `-I${PROTO_ROOT}`, `--python_out=${outDir}`, `--grpc_python_out=${outDir}`, ...files]);
    const generated = readdirSync(join(outDir, 'tensorflow_serving', 'apis'));
    assert.ok(generated.includes('prediction_service_pb2_grpc.py'));
    assert.ok(readdirSync(outDir).includes('grpc_service_pb2_grpc.py'));
  });

  it('interoperate with a Python gRPC client built from them', async () => {
    const predict = serviceDefinition(tfServingPackageDefinition(), 'tensorflow.serving.PredictionService')['Predict'];
    assert.ok(predict);
    const response = predict.responseSerialize({
      model_spec: { name: 'tf', version: { value: 3 } },
      outputs: { y: { dtype: 'DT_FLOAT', tensor_shape: { dim: [{ size: 1 }] }, float_val: [0.5] } },
    });
    const script = join(outDir, 'client.py');
    writeFileSync(script, PYTHON_CLIENT);
    const { stdout } = await run(PYTHON, [script, outDir, server.address, response.toString('hex')], { timeout: 60_000 });
    const out = JSON.parse(stdout) as Record<string, unknown>;

    assert.equal(out['live'], true);
    assert.deepEqual(out['shape'], [-1, 3]);
    assert.deepEqual(out['infer'], {
      id: 'py',
      version: '2',
      outputs: [
        ['x', 'FP32', [2]],
        ['s', 'BYTES', [1]],
      ],
      raw: ['0000c03f000000c0', '020000006869'],
    });
    assert.deepEqual(out['stream'], [
      ['bad', "Request for unknown model: 'missing' is not found (request id: bad)"],
      ['py', ''],
    ]);
    assert.equal(out['not_found'], 'NOT_FOUND');
    assert.equal(out['health'], 'SERVING');
    assert.deepEqual(out['config'], [8, [3], 'TYPE_FP32']);
    assert.deepEqual(out['predict_response'], ['tf', 3, 'DT_FLOAT', [0.5]]);

    const request = predict.requestDeserialize(Buffer.from(out['predict_request'] as string, 'hex')) as {
      model_spec: { name: string; version: { value: string }; version_choice: string };
      inputs: Record<string, { dtype: string; tensor_shape: { dim: { size: string }[] }; tensor_content: Buffer }>;
    };
    assert.equal(request.model_spec.name, 'tf');
    assert.equal(request.model_spec.version_choice, 'version');
    assert.equal(request.model_spec.version.value, '7');
    assert.equal(request.inputs['x']?.dtype, 'DT_FLOAT');
    assert.equal(request.inputs['x']?.tensor_shape.dim[0]?.size, '2');
    assert.deepEqual(request.inputs['x']?.tensor_content, Buffer.from(new Float32Array([1, 2]).buffer));
  });
});
