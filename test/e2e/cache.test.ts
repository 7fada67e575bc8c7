/**
 * The response cache end to end: a real server with `cacheSizeBytes` and ONNX Runtime workers,
 * driven over OIP REST and checked through the statistics API (cache_hit / cache_miss, and the
 * execution count that proves a hit never reached the model).
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { createTempModelRepository, mlpForward, mlpModel, type MlpOptions } from '../fixtures/onnx-models.js';
import { infer, type InferResult } from '../helpers/oip-client.js';
import { startTestServer, waitFor, type TestServer } from '../helpers/test-server.js';

const MLP: MlpOptions = { inputSize: 8, hidden: [16], outputSize: 4, seed: 3 };
const MLP_RETRAINED: MlpOptions = { ...MLP, seed: 4 };
const CACHED = 'max_batch_size: 8\nresponse_cache { enable: true }\n';

interface Stats {
  inference_count: number;
  execution_count: number;
  inference_stats: { cache_hit: { count: number; ns: number }; cache_miss: { count: number; ns: number }; success: { count: number } };
}

async function stats(server: TestServer, model: string): Promise<Stats> {
  const body = (await (await fetch(`${server.url}/v2/models/${model}/stats`)).json()) as { model_stats: Stats[] };
  return body.model_stats[0]!;
}

function request(server: TestServer, model: string, values: Float32Array): Promise<InferResult> {
  return infer(server.url, model, [{ name: 'input', datatype: 'FP32', shape: [1, MLP.inputSize], bytes: new Uint8Array(values.buffer.slice(0)) }], { binaryOutput: true });
}

function output(result: InferResult): Uint8Array {
  assert.equal(result.status, 200, JSON.stringify(result.json));
  return result.binary.get('output')!;
}

function asFloats(bytes: Uint8Array): Float32Array {
  return new Float32Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength));
}

function assertClose(actual: Float32Array, expected: Float32Array): void {
  assert.equal(actual.length, expected.length);
  for (let i = 0; i < actual.length; i++) assert.ok(Math.abs(actual[i]! - expected[i]!) < 1e-4, `element ${i}: ${actual[i]} vs ${expected[i]}`);
}

const A = new Float32Array([1, 2, 3, 4, 5, 6, 7, 8].map((v) => v / 10));
const B = new Float32Array([8, 7, 6, 5, 4, 3, 2, 1].map((v) => v / 10));

describe('response cache', () => {
  test('a repeated request is answered from the cache with identical bytes and never reaches the model', async () => {
    const repo = await createTempModelRepository({
      cached: { versions: { 1: mlpModel(MLP) }, config: CACHED },
      plain: { versions: { 1: mlpModel(MLP) }, config: 'max_batch_size: 8\n' },
    });
    const server = await startTestServer({ modelRepository: repo.root, cacheSizeBytes: 1 << 20 });
    try {
      const first = await request(server, 'cached', A);
      assertClose(asFloats(output(first)), mlpForward(MLP, A, 1));
      const second = await request(server, 'cached', A);
      assert.deepEqual(output(second), output(first), 'identical bytes');
      assert.deepEqual(second.json['outputs'], first.json['outputs']);
      let s = await stats(server, 'cached');
      assert.equal(s.execution_count, 1, 'the hit did not execute the model');
      assert.equal(s.inference_count, 1, 'hits are not inferences of the model');
      assert.equal(s.inference_stats.cache_hit.count, 1);
      assert.equal(s.inference_stats.cache_miss.count, 1);
      assert.equal(s.inference_stats.success.count, 2);
      assert.ok(s.inference_stats.cache_hit.ns > 0 && s.inference_stats.cache_miss.ns > 0);

      assertClose(asFloats(output(await request(server, 'cached', B))), mlpForward(MLP, B, 1));
      s = await stats(server, 'cached');
      assert.equal(s.inference_stats.cache_miss.count, 2, 'other bytes are a miss');
      assert.equal(s.execution_count, 2);

      // A model without response_cache never uses it.
      await request(server, 'plain', A);
      await request(server, 'plain', A);
      const p = await stats(server, 'plain');
      assert.equal(p.execution_count, 2);
      assert.equal(p.inference_stats.cache_hit.count + p.inference_stats.cache_miss.count, 0);
    } finally {
      await server.stop();
      await repo.remove();
    }
  });

  test('without --cache-size-mb, response_cache { enable: true } does nothing', async () => {
    const repo = await createTempModelRepository({ cached: { versions: { 1: mlpModel(MLP) }, config: CACHED } });
    const server = await startTestServer({ modelRepository: repo.root });
    try {
      await request(server, 'cached', A);
      await request(server, 'cached', A);
      const s = await stats(server, 'cached');
      assert.equal(s.execution_count, 2);
      assert.equal(s.inference_stats.cache_hit.count, 0);
    } finally {
      await server.stop();
      await repo.remove();
    }
  });

  test('unloading a version drops its entries: after unload and load of the same files the request runs again', async () => {
    const repo = await createTempModelRepository({ cached: { versions: { 1: mlpModel(MLP) }, config: CACHED } });
    const server = await startTestServer({ modelRepository: repo.root, cacheSizeBytes: 1 << 20, controlMode: 'explicit', loadModels: ['cached'] });
    try {
      await request(server, 'cached', A);
      await request(server, 'cached', A);
      assert.equal((await stats(server, 'cached')).inference_stats.cache_hit.count, 1);
      assert.equal((await fetch(`${server.url}/v2/repository/models/cached/unload`, { method: 'POST' })).status, 200);
      assert.equal((await fetch(`${server.url}/v2/repository/models/cached/load`, { method: 'POST' })).status, 200);
      assertClose(asFloats(output(await request(server, 'cached', A))), mlpForward(MLP, A, 1));
      const s = await stats(server, 'cached');
      assert.equal(s.inference_stats.cache_hit.count, 0, 'the entry went with the unloaded version');
      assert.equal(s.execution_count, 1);
    } finally {
      await server.stop();
      await repo.remove();
    }
  });

  test('poll mode: a version whose model file changes is reloaded and never answers from the old copy', async () => {
    const repo = await createTempModelRepository({ cached: { versions: { 1: mlpModel(MLP) }, config: CACHED } });
    const server = await startTestServer({ modelRepository: repo.root, cacheSizeBytes: 1 << 20, controlMode: 'poll', pollSeconds: 0.2 });
    try {
      const before = output(await request(server, 'cached', A));
      assert.deepEqual(output(await request(server, 'cached', A)), before);
      assert.equal((await stats(server, 'cached')).inference_stats.cache_hit.count, 1);
      // Replace version 1's file atomically with different weights.
      const staged = join(repo.root, 'cached', 'staged.onnx');
      await writeFile(staged, mlpModel(MLP_RETRAINED));
      await rename(staged, join(repo.root, 'cached', '1', 'model.onnx'));
      const expected = mlpForward(MLP_RETRAINED, A, 1);
      await waitFor(
        async () => {
          const s = await stats(server, 'cached').catch(() => undefined);
          return s !== undefined && s.inference_stats.success.count === 0;
        },
        20_000,
        'the reloaded copy of version 1 (fresh statistics)',
      );
      assertClose(asFloats(output(await request(server, 'cached', A))), expected);
      assertClose(asFloats(output(await request(server, 'cached', A))), expected);
      const s = await stats(server, 'cached');
      assert.equal(s.execution_count, 1);
      assert.equal(s.inference_stats.cache_hit.count, 1, 'the new copy caches its own answers');
    } finally {
      await server.stop();
      await repo.remove();
    }
  });
});
