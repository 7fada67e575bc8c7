import { test } from 'node:test';
import assert from 'node:assert/strict';
import { b11Ratios, type B11Result, type B11Variant, type B11VariantName } from '../../bench/suite/b11-inception.js';
import type { LevelSummary } from '../../bench/suite/level-summary.js';
import { renderMarkdown, targetRows, type SuiteResults } from '../../bench/suite/results.js';

const level = (imagesPerSecond: number): LevelSummary => ({
  requestsPerSecond: imagesPerSecond,
  inferencesPerSecond: imagesPerSecond,
  p50Ms: 1000 / imagesPerSecond,
  p99Ms: 2000 / imagesPerSecond,
  failed: 0,
  avgBatch: 1,
  queueUs: 0,
  computeUs: 0,
  serverCpuUsPerRequest: 90_000,
  serverCpuUsPerInference: 90_000,
});

/** A variant whose rounds average to the given images/s at c1 and c4. */
function variant(name: B11VariantName, c1: number, c4: number, runtime = name === 'tfjs' ? 'tensorflowjs' : 'onnxruntime'): B11Variant {
  const rounds = name === 'tfjs' ? 1 : 2;
  return {
    variant: name,
    model: `inception_v3_${name}`,
    runtime,
    loadSeconds: 3,
    levels: [
      { concurrency: 1, rounds: Array.from({ length: rounds }, () => level(c1)), imagesPerSecond: c1 },
      { concurrency: 4, rounds: Array.from({ length: rounds }, () => level(c4)), imagesPerSecond: c4 },
    ],
  };
}

function suite(b11: B11Result): SuiteResults {
  const machine = { cpuModel: 'cpu', cores: 2, memoryGiB: 8, node: 'v20', onnxruntime: '1', platform: 'linux x64', loadAverageStart: 0 };
  return { date: 'd', quick: false, machine, durations: {}, errors: {}, b11 };
}

function result(variants: B11Variant[], exportSkipped?: string): B11Result {
  return { variants, ...(exportSkipped ? { exportSkipped } : {}), ...b11Ratios(variants) };
}

test('B11 meets its target when the converted model keeps ≥ 0.8 of the export at both levels', () => {
  const b11 = result([variant('export', 10, 12), variant('tfjs', 2, 1.6), variant('converted', 9, 10)]);
  assert.equal(b11.convertedVsExport?.min, 0.8333333333333334);
  assert.deepEqual(b11.tfjsVsConverted, { '1': 2 / 9, '4': 0.16 });
  const rows = targetRows(suite(b11)).filter((r) => r.id === 'B11');
  assert.equal(rows.length, 2);
  assert.equal(rows[0]!.met, true);
  assert.match(rows[0]!.result, /^0\.83 \(c1 0\.90, c4 0\.83\)$/);
  assert.equal(rows[1]!.met, undefined);
  const markdown = renderMarkdown(suite(b11));
  assert.match(markdown, /## B11 Inception v3 three ways/);
  // One detail line per variant, level and round: 2 + 2 + 1 + 1 + 2 + 2.
  assert.equal(markdown.split('\n').filter((line) => /^(export|tfjs|converted) /.test(line)).length, 10);
});

test('B11 misses when one level falls under 0.8, or when the converted model fell back to tfjs', () => {
  const slow = result([variant('export', 10, 12), variant('tfjs', 2, 1.6), variant('converted', 9, 9)]);
  assert.equal(targetRows(suite(slow)).find((r) => r.id === 'B11')!.met, false);
  const fellBack = result([variant('export', 10, 12), variant('tfjs', 2, 1.6), variant('converted', 10, 12, 'tensorflowjs')]);
  const row = targetRows(suite(fellBack)).find((r) => r.id === 'B11')!;
  assert.equal(row.met, false);
  assert.match(row.what, /fell back to tensorflowjs/);
});

test('B11 without the ONNX export says why and decides nothing', () => {
  const why = 'cannot export Inception v3 to ONNX (No module named torch)';
  const b11 = result([variant('tfjs', 2, 1.6), variant('converted', 9, 9)], why);
  assert.equal(b11.convertedVsExport, undefined);
  const rows = targetRows(suite(b11)).filter((r) => r.id === 'B11');
  assert.equal(rows[0]!.met, undefined);
  assert.equal(rows[0]!.result, `not measured: ${why}`);
  assert.ok(rows[1]!.result.startsWith('0.22 at c1'));
  assert.match(renderMarkdown(suite(b11)), /The ONNX export was skipped: cannot export Inception v3/);
});
