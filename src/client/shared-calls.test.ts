import { test } from 'node:test';
import assert from 'node:assert/strict';
import { InferenceServerError, statusNameOfGrpc, statusNameOfHttp } from './inference-server-error.js';
import { modelVersion, parseIndexEntries, parseModelMetadata, parseStatistics, withDeadline } from './shared-calls.js';

const code = (name: string) => (e: unknown) => e instanceof InferenceServerError && e.code === name;

test('versions must be decimal numbers; empty means the server picks', () => {
  assert.equal(modelVersion(undefined), '');
  assert.equal(modelVersion(''), '');
  assert.equal(modelVersion(3), '3');
  assert.equal(modelVersion('12'), '12');
  assert.throws(() => modelVersion('../x'), code('INVALID_ARGUMENT'));
  assert.throws(() => modelVersion(-1), code('INVALID_ARGUMENT'));
});

test('HTTP statuses and gRPC codes map to the same status names', () => {
  assert.equal(statusNameOfHttp(400), 'INVALID_ARGUMENT');
  assert.equal(statusNameOfHttp(404), 'NOT_FOUND');
  assert.equal(statusNameOfHttp(429), 'RESOURCE_EXHAUSTED');
  assert.equal(statusNameOfHttp(503), 'UNAVAILABLE');
  assert.equal(statusNameOfHttp(504), 'DEADLINE_EXCEEDED');
  assert.equal(statusNameOfHttp(502), 'INTERNAL');
  assert.equal(statusNameOfHttp(418), 'UNKNOWN');
  assert.equal(statusNameOfGrpc(5), 'NOT_FOUND');
  assert.equal(statusNameOfGrpc(14), 'UNAVAILABLE');
  assert.equal(statusNameOfGrpc(99), 'UNKNOWN');
});

test('withDeadline: timeouts, caller aborts and connection failures become coded errors', async () => {
  const never = (signal: AbortSignal | undefined): Promise<never> => new Promise((_resolve, reject) => signal?.addEventListener('abort', () => reject(new Error('aborted')), { once: true }));
  await assert.rejects(withDeadline(20, undefined, 'GET /x', never), (e: unknown) => code('DEADLINE_EXCEEDED')(e) && /GET \/x: no answer within 20 ms/.test((e as Error).message));
  const controller = new AbortController();
  setTimeout(() => controller.abort(), 10);
  await assert.rejects(withDeadline(undefined, controller.signal, 'GET /x', never), code('CANCELLED'));
  await assert.rejects(
    withDeadline(undefined, AbortSignal.abort(), 'GET /x', () => Promise.resolve(1)),
    code('CANCELLED'),
  );
  const refused = Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:1'), { code: 'ECONNREFUSED' });
  await assert.rejects(
    withDeadline(undefined, undefined, 'GET /x', () => Promise.reject(refused)),
    (e: unknown) => code('UNAVAILABLE')(e) && /ECONNREFUSED/.test((e as Error).message),
  );
  assert.equal(await withDeadline(1000, undefined, 'GET /x', () => Promise.resolve(7)), 7);
});

test('protocol documents parse alike from REST JSON and from gRPC objects (int64 as strings, empty strings)', () => {
  const rest = parseModelMetadata({ name: 'm', versions: ['1'], platform: 'p', inputs: [{ name: 'x', datatype: 'FP32', shape: [-1, 4] }], outputs: [] });
  const grpc = parseModelMetadata({ name: 'm', versions: ['1'], platform: 'p', inputs: [{ name: 'x', datatype: 'FP32', shape: ['-1', '4'] }], outputs: [], properties: {} });
  assert.deepEqual(grpc, rest);
  const stats = parseStatistics({
    model_stats: [
      {
        name: 'm',
        version: '1',
        last_inference: '5',
        inference_count: '2',
        execution_count: 1,
        inference_stats: { success: { count: '2', ns: '100' } },
        batch_stats: [{ batch_size: '1', compute_infer: { count: 1, ns: 9 } }],
      },
    ],
  });
  assert.equal(stats[0]!.last_inference, 5);
  assert.equal(stats[0]!.inference_count, 2);
  assert.deepEqual(stats[0]!.inference_stats.success, { count: 2, ns: 100 });
  assert.deepEqual(stats[0]!.inference_stats.queue, { count: 0, ns: 0 });
  assert.deepEqual(stats[0]!.batch_stats[0]!.compute_infer, { count: 1, ns: 9 });
  assert.deepEqual(parseIndexEntries([{ name: 'a', version: '', state: 'READY', reason: '' }, { name: 'b' }]), [{ name: 'a', state: 'READY' }, { name: 'b' }]);
  assert.throws(() => parseStatistics({ model_stats: [{ inference_count: 'x' }] }), code('INTERNAL'));
});
