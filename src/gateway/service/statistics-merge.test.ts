import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { ModelStatistics } from '../../serving/inference-service.js';
import { mergeStatistics } from './statistics-merge.js';

const d = (count: number, ns: number): { count: number; ns: number } => ({ count, ns });

function stats(name: string, version: string, n: number, lastInference: number, batches: [number, number][] = []): ModelStatistics {
  return {
    name,
    version,
    last_inference: lastInference,
    inference_count: n,
    execution_count: n,
    inference_stats: {
      success: d(n, n * 100),
      fail: d(1, 7),
      queue: d(n, n * 10),
      compute_input: d(n, n),
      compute_infer: d(n, n * 50),
      compute_output: d(n, n),
      cache_hit: d(0, 0),
      cache_miss: d(0, 0),
    },
    batch_stats: batches.map(([size, count]) => ({ batch_size: size, compute_input: d(count, count), compute_infer: d(count, count * 2), compute_output: d(count, count) })),
  };
}

describe('mergeStatistics', () => {
  it('sums counts and durations per model version across workers, keeping the latest inference time', () => {
    const merged = mergeStatistics([
      [
        stats('m', '1', 10, 1000, [
          [1, 5],
          [4, 2],
        ]),
      ],
      [
        stats('m', '1', 5, 3000, [
          [4, 1],
          [8, 1],
        ]),
        stats('m', '2', 1, 10),
      ],
    ]);
    assert.equal(merged.length, 2);
    const [v1, v2] = merged;
    assert.equal(v1?.version, '1');
    assert.equal(v1?.inference_count, 15);
    assert.equal(v1?.execution_count, 15);
    assert.equal(v1?.last_inference, 3000);
    assert.deepEqual(v1?.inference_stats.success, d(15, 1500));
    assert.deepEqual(v1?.inference_stats.fail, d(2, 14));
    assert.deepEqual(
      v1?.batch_stats.map((b) => [b.batch_size, b.compute_infer.count, b.compute_infer.ns]),
      [
        [1, 5, 10],
        [4, 3, 6],
        [8, 1, 2],
      ],
    );
    assert.deepEqual(v2, stats('m', '2', 1, 10));
  });

  it('sorts by model name, then numerically by version', () => {
    const merged = mergeStatistics([[stats('b', '10', 1, 0), stats('b', '9', 1, 0)], [stats('a', '2', 1, 0)]]);
    assert.deepEqual(
      merged.map((s) => `${s.name}/${s.version}`),
      ['a/2', 'b/9', 'b/10'],
    );
  });

  it('accepts 64-bit counts that arrive as strings', () => {
    const wire = JSON.parse(JSON.stringify(stats('m', '1', 3, 5)).replace(/"count":3/g, '"count":"3"')) as ModelStatistics;
    const merged = mergeStatistics([[wire], [stats('m', '1', 3, 5)]]);
    assert.deepEqual(merged[0]?.inference_stats.success, d(6, 600));
  });

  it('is empty for no workers', () => {
    assert.deepEqual(mergeStatistics([]), []);
    assert.deepEqual(mergeStatistics([[], []]), []);
  });
});
