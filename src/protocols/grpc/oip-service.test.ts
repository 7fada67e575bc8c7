import assert from 'node:assert/strict';
import { after, before, beforeEach, describe, it } from 'node:test';
import * as grpc from '@grpc/grpc-js';
import { CranberriesError, invalidArgument, type ErrorCode } from '../../core/errors.js';
import type { ModelStatistics } from '../../serving/inference-service.js';
import { startTestServer, statusOf, type TestServer } from './grpc-test-harness.js';
import { addModel, echoInfer, FakeInferenceService } from '../../../test/doubles/fake-inference-service.js';
import { OIP_SERVICE_NAME } from './oip-service.js';
import { grpcStatusOf, toServiceError } from './status-mapping.js';

const D = (count: number, ns: number): { count: number; ns: number } => ({ count, ns });

function stats(name: string, version: string): ModelStatistics {
  return {
    name,
    version,
    last_inference: 1700000000123,
    inference_count: 12,
    execution_count: 3,
    inference_stats: {
      success: D(3, 3000),
      fail: D(1, 100),
      queue: D(3, 30),
      compute_input: D(3, 31),
      compute_infer: D(3, 32),
      compute_output: D(3, 33),
      cache_hit: D(0, 0),
      cache_miss: D(0, 0),
    },
    batch_stats: [{ batch_size: 4, compute_input: D(3, 1), compute_infer: D(3, 2), compute_output: D(3, 3) }],
  };
}

describe('status mapping', () => {
  it('maps every error code to the same-named gRPC status', () => {
    const codes: ErrorCode[] = [
      'INVALID_ARGUMENT',
      'NOT_FOUND',
      'UNAVAILABLE',
      'RESOURCE_EXHAUSTED',
      'DEADLINE_EXCEEDED',
      'CANCELLED',
      'UNIMPLEMENTED',
      'ALREADY_EXISTS',
      'FAILED_PRECONDITION',
      'INTERNAL',
    ];
    for (const code of codes) assert.equal(grpcStatusOf(code), grpc.status[code], code);
    assert.equal(grpcStatusOf('SOMETHING_NEW' as ErrorCode), grpc.status.UNKNOWN);
  });

  it('keeps the message and reports foreign errors as INTERNAL', () => {
    assert.deepEqual({ ...toServiceError(invalidArgument("input 'x' is bad")) }, { code: grpc.status.INVALID_ARGUMENT, details: "input 'x' is bad" });
    assert.deepEqual({ ...toServiceError(new RangeError('oops')) }, { code: grpc.status.INTERNAL, details: 'oops' });
    assert.deepEqual({ ...toServiceError('text') }, { code: grpc.status.INTERNAL, details: 'text' });
  });
});

describe('gRPC inference service RPCs', () => {
  const fake = new FakeInferenceService();
  let t: TestServer;

  before(async () => {
    addModel(fake, 'm');
    addModel(fake, 'cold', false);
    t = await startTestServer(fake);
  });
  after(() => t.close());
  beforeEach(() => {
    fake.isLive = true;
    fake.isReady = true;
    fake.failure = undefined;
    fake.loadCalls.length = 0;
    fake.unloadCalls.length = 0;
    fake.readyCalls.length = 0;
    fake.inferHandler = echoInfer;
  });

  it('ServerLive and ServerReady follow the façade', async () => {
    assert.deepEqual(await t.unary('ServerLive', {}), { live: true });
    assert.deepEqual(await t.unary('ServerReady', {}), { ready: true });
    fake.isReady = false;
    assert.deepEqual(await t.unary('ServerReady', {}), { ready: false });
  });

  it('health Check reports SERVING only while live and ready, NOT_FOUND for other services', async () => {
    assert.deepEqual(await t.unary('Check', { service: '' }), { status: 'SERVING' });
    assert.deepEqual(await t.unary('Check', { service: OIP_SERVICE_NAME }), { status: 'SERVING' });
    fake.isReady = false;
    assert.deepEqual(await t.unary('Check', { service: '' }), { status: 'NOT_SERVING' });
    assert.equal((await statusOf(t.unary('Check', { service: 'no.Such' }))).code, grpc.status.NOT_FOUND);
  });

  it('ModelReady answers OK with ready=false instead of failing', async () => {
    assert.deepEqual(await t.unary('ModelReady', { name: 'm', version: '2' }), { ready: true });
    assert.deepEqual(fake.readyCalls.at(-1), { model: 'm', version: 2 });
    assert.deepEqual(await t.unary('ModelReady', { name: 'm' }), { ready: true });
    assert.deepEqual(fake.readyCalls.at(-1), { model: 'm', version: undefined });
    assert.deepEqual(await t.unary('ModelReady', { name: 'cold' }), { ready: false });
    assert.deepEqual(await t.unary('ModelReady', { name: 'unknown' }), { ready: false });
    assert.deepEqual(await t.unary('ModelReady', { name: 'm', version: 'x' }), { ready: false });
    assert.deepEqual(await t.unary('ModelReady', { name: '' }), { ready: false });
  });

  it('ServerMetadata and ModelMetadata (shapes as int64 lists)', async () => {
    fake.metadata = { name: 'cranberries', version: '0.1.0', extensions: ['classification', 'model_repository', 'statistics'] };
    assert.deepEqual(await t.unary('ServerMetadata', {}), {
      name: 'cranberries',
      version: '0.1.0',
      extensions: ['classification', 'model_repository', 'statistics'],
    });
    assert.deepEqual(await t.unary('ModelMetadata', { name: 'm' }), {
      name: 'm',
      versions: ['1', '2'],
      platform: 'onnxruntime_onnx',
      inputs: [{ name: 'x', datatype: 'FP32', shape: ['-1', '3'] }],
      outputs: [{ name: 'y', datatype: 'FP32', shape: ['-1', '3'] }],
      properties: {},
    });
    const one = await t.unary<{ versions: string[] }>('ModelMetadata', { name: 'm', version: '2' });
    assert.deepEqual(one.versions, ['2']);
  });

  it('maps NOT_FOUND, UNAVAILABLE and INVALID_ARGUMENT for metadata requests', async () => {
    assert.deepEqual(await statusOf(t.unary('ModelMetadata', { name: 'nope' })), {
      code: grpc.status.NOT_FOUND,
      details: "Request for unknown model: 'nope' is not found",
    });
    assert.equal((await statusOf(t.unary('ModelMetadata', { name: 'cold' }))).code, grpc.status.UNAVAILABLE);
    assert.equal((await statusOf(t.unary('ModelMetadata', { name: 'm', version: '1.5' }))).code, grpc.status.INVALID_ARGUMENT);
    assert.equal((await statusOf(t.unary('ModelMetadata', { name: '' }))).code, grpc.status.INVALID_ARGUMENT);
    assert.equal((await statusOf(t.unary('ModelConfig', { name: 'nope' }))).code, grpc.status.NOT_FOUND);
  });

  it('ModelConfig returns the façade config as inference.ModelConfig', async () => {
    const { config } = await t.unary<{ config: Record<string, unknown> }>('ModelConfig', { name: 'm' });
    assert.equal(config['name'], 'm');
    assert.equal(config['backend'], 'onnxruntime');
    assert.equal(config['max_batch_size'], 8);
    assert.deepEqual(config['version_policy'], { latest: { num_versions: 2 }, policy_choice: 'latest' });
    const [input] = config['input'] as Record<string, unknown>[];
    assert.equal(input?.['data_type'], 'TYPE_FP32');
    assert.deepEqual(input?.['dims'], ['3']);
    const [output] = config['output'] as Record<string, unknown>[];
    assert.equal(output?.['label_filename'], 'labels.txt');
    const [group] = config['instance_group'] as Record<string, unknown>[];
    assert.deepEqual([group?.['kind'], group?.['count']], ['KIND_CPU', 2]);
    const batching = config['dynamic_batching'] as Record<string, unknown>;
    assert.deepEqual(batching['preferred_batch_size'], [4, 8]);
    assert.equal(batching['max_queue_delay_microseconds'], '200');
    assert.deepEqual(config['parameters'], { intra_op_thread_count: { string_value: '1' } });
  });

  it('ModelStatistics for every model and for one version', async () => {
    fake.statistics = [stats('m', '1'), stats('m', '2')];
    const all = await t.unary<{ model_stats: Record<string, unknown>[] }>('ModelStatistics', {});
    assert.equal(all.model_stats.length, 2);
    assert.deepEqual(fake.statisticsCalls.at(-1), { model: undefined, version: undefined });
    const one = await t.unary<{ model_stats: Record<string, unknown>[] }>('ModelStatistics', { name: 'm', version: '2' });
    assert.deepEqual(fake.statisticsCalls.at(-1), { model: 'm', version: 2 });
    const [entry] = one.model_stats;
    assert.equal(entry?.['version'], '2');
    assert.equal(entry?.['last_inference'], '1700000000123');
    assert.equal(entry?.['inference_count'], '12');
    assert.equal(entry?.['execution_count'], '3');
    const inference = entry?.['inference_stats'] as Record<string, unknown>;
    assert.deepEqual(inference['success'], { count: '3', ns: '3000' });
    assert.deepEqual(inference['compute_output'], { count: '3', ns: '33' });
    assert.deepEqual(entry?.['batch_stats'], [{ batch_size: '4', compute_input: { count: '3', ns: '1' }, compute_infer: { count: '3', ns: '2' }, compute_output: { count: '3', ns: '3' } }]);
    assert.equal((await statusOf(t.unary('ModelStatistics', { name: 'nope' }))).code, grpc.status.NOT_FOUND);
    assert.equal((await statusOf(t.unary('ModelStatistics', { version: '1' }))).code, grpc.status.INVALID_ARGUMENT);
  });

  it('RepositoryIndex passes the ready flag and fills absent fields with empty strings', async () => {
    fake.index = [{ name: 'm', version: '1', state: 'READY' }, { name: 'never' }, { name: 'bad', version: '1', state: 'UNAVAILABLE', reason: 'load failed' }];
    const { models } = await t.unary<{ models: unknown[] }>('RepositoryIndex', { ready: true });
    assert.equal(fake.indexCalls.at(-1), true);
    assert.deepEqual(models, [
      { name: 'm', version: '1', state: 'READY', reason: '' },
      { name: 'never', version: '', state: '', reason: '' },
      { name: 'bad', version: '1', state: 'UNAVAILABLE', reason: 'load failed' },
    ]);
    await t.unary('RepositoryIndex', {});
    assert.equal(fake.indexCalls.at(-1), false);
  });

  it('RepositoryModelLoad hands the config and file bytes to the façade', async () => {
    const onnx = Buffer.from([0x08, 0x07, 0x12, 0x00, 0xff]);
    await t.unary('RepositoryModelLoad', {
      model_name: 'new',
      parameters: {
        config: { string_param: '{"backend":"onnxruntime"}' },
        'file:1/model.onnx': { bytes_param: onnx },
        unrelated: { bool_param: true },
      },
    });
    const [load] = fake.loadCalls;
    assert.equal(load?.model, 'new');
    assert.equal(load?.options?.config, '{"backend":"onnxruntime"}');
    assert.deepEqual(
      [...(load?.options?.files ?? new Map<string, Uint8Array>()).entries()].map(([k, v]) => [k, Buffer.from(v)]),
      [['1/model.onnx', onnx]],
    );

    await t.unary('RepositoryModelLoad', { model_name: 'plain' });
    assert.deepEqual(fake.loadCalls[1], { model: 'plain', options: {} });
  });

  it('RepositoryModelLoad refuses malformed parameters and reports load failures', async () => {
    const noConfig = await statusOf(t.unary('RepositoryModelLoad', { model_name: 'x', parameters: { 'file:1/model.onnx': { bytes_param: Buffer.from([1]) } } }));
    assert.equal(noConfig.code, grpc.status.INVALID_ARGUMENT);
    assert.match(noConfig.details, /need a 'config' parameter/);
    const bytesConfig = await statusOf(t.unary('RepositoryModelLoad', { model_name: 'x', parameters: { config: { bytes_param: Buffer.from('{}') } } }));
    assert.match(bytesConfig.details, /'config' must be a string_param/);
    const stringFile = await statusOf(t.unary('RepositoryModelLoad', { model_name: 'x', parameters: { config: { string_param: '{}' }, 'file:1/model.onnx': { string_param: 'abc' } } }));
    assert.match(stringFile.details, /'file:1\/model.onnx' must be a bytes_param/);
    assert.equal((await statusOf(t.unary('RepositoryModelLoad', { model_name: '' }))).code, grpc.status.INVALID_ARGUMENT);
    assert.equal(fake.loadCalls.length, 0);

    fake.failure = new CranberriesError('INVALID_ARGUMENT', "model 'x': config.pbtxt: unknown field 'foo'");
    assert.deepEqual(await statusOf(t.unary('RepositoryModelLoad', { model_name: 'x' })), {
      code: grpc.status.INVALID_ARGUMENT,
      details: "model 'x': config.pbtxt: unknown field 'foo'",
    });
  });

  it('RepositoryModelUnload reaches the façade', async () => {
    await t.unary('RepositoryModelUnload', { model_name: 'm', parameters: { unload_dependents: { bool_param: true } } });
    assert.deepEqual(fake.unloadCalls, ['m']);
    fake.failure = new CranberriesError('NOT_FOUND', "model 'zzz' is not loaded");
    assert.equal((await statusOf(t.unary('RepositoryModelUnload', { model_name: 'zzz' }))).code, grpc.status.NOT_FOUND);
  });

  it('answers TraceSetting UNAVAILABLE when the service has no tracer (as Triton built without tracing)', async () => {
    const failure = await statusOf(t.unary('TraceSetting', {}));
    assert.equal(failure.code, grpc.status.UNAVAILABLE);
    assert.equal(failure.details, 'the server does not support tracing');
  });

  it('answers UNIMPLEMENTED for log RPCs', async () => {
    const rpcs = ['LogSettings'];
    for (const rpc of rpcs) {
      const failure = await statusOf(t.unary(rpc, {}));
      assert.equal(failure.code, grpc.status.UNIMPLEMENTED, rpc);
      assert.match(failure.details, new RegExp(`^${rpc}: the .* extension is not supported`));
    }
  });

  it('without shared memory: status lists nothing, (un)registration is UNIMPLEMENTED', async () => {
    assert.deepEqual(await t.unary('SystemSharedMemoryStatus', {}), { regions: {} });
    assert.deepEqual(await t.unary('CudaSharedMemoryStatus', {}), { regions: {} });
    for (const rpc of ['SystemSharedMemoryRegister', 'SystemSharedMemoryUnregister', 'CudaSharedMemoryRegister', 'CudaSharedMemoryUnregister']) {
      const failure = await statusOf(t.unary(rpc, { name: 'r', key: '/k', offset: 0, byte_size: 8 }));
      assert.equal(failure.code, grpc.status.UNIMPLEMENTED, rpc);
      assert.equal(failure.details, 'system shared memory is not offered by this server', rpc);
    }
  });

  it('aborts the façade work with CANCELLED when the client cancels', async () => {
    let reason: unknown;
    const started = new Promise<void>((resolve) => {
      fake.inferHandler = (_request, context) => {
        resolve();
        return new Promise((_resolve, reject) => {
          context?.signal?.addEventListener('abort', () => {
            reason = context.signal?.reason;
            reject(reason instanceof Error ? reason : new Error(String(reason)));
          });
        });
      };
    });
    const call = t.client.makeUnaryRequest(
      `/${OIP_SERVICE_NAME}/ModelInfer`,
      () => Buffer.from([0x0a, 0x01, 0x6d]), // ModelInferRequest { model_name: "m" }
      (bytes: Buffer) => bytes,
      {},
      () => undefined,
    );
    await started;
    call.cancel();
    for (let i = 0; i < 100 && reason === undefined; i++) await new Promise((resolve) => setTimeout(resolve, 10));
    assert.ok(reason instanceof CranberriesError);
    assert.equal(reason.code, 'CANCELLED');
  });
});
