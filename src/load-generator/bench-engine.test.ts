import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { encodeNpy } from '../client/npy.js';
import { decodeInferRequest } from '../protocols/http/infer-request.js';
import { buildInputs, parseInputFlag, parseShapeFlag } from './bench-inputs.js';
import { LatencyHistogram } from './latency-histogram.js';
import { generateLoad } from './load-generator.js';
import { parseConcurrency } from './load-levels.js';
import { encodeRestRequest } from './rest-transport.js';
import { parseStatistics, serverWindow } from './server-statistics.js';
import type { ModelInfo } from './transport.js';

describe('LatencyHistogram', () => {
  test('percentiles are within 1 % of the exact ones, count/min/max exact', () => {
    const h = new LatencyHistogram();
    const values = Array.from({ length: 10_000 }, (_, i) => 100 + i * 3); // 100 µs .. ~30 ms
    for (const v of values) h.record(v);
    const exact = (q: number): number => values[Math.ceil(q * values.length) - 1]!;
    for (const q of [0.5, 0.9, 0.95, 0.99]) {
      const got = h.percentileUs(q);
      assert.ok(Math.abs(got - exact(q)) / exact(q) < 0.01, `p${q * 100}: ${got} vs ${exact(q)}`);
    }
    const s = h.summary();
    assert.equal(s.count, 10_000);
    assert.equal(s.minMs, 0.1);
    assert.equal(s.maxMs, (100 + 9999 * 3) / 1000);
  });

  test('merge adds samples; an empty histogram reports zeros', () => {
    const a = new LatencyHistogram();
    const b = new LatencyHistogram();
    assert.equal(a.summary().p99Ms, 0);
    a.record(1000);
    b.record(5000);
    a.merge(b);
    assert.equal(a.count, 2);
    assert.equal(a.summary().maxMs, 5);
  });
});

describe('parseConcurrency', () => {
  test('single values, lists and sweeps', () => {
    assert.deepEqual(parseConcurrency('8'), [8]);
    assert.deepEqual(parseConcurrency('1,4,16'), [1, 4, 16]);
    assert.deepEqual(parseConcurrency('1:64:x2'), [1, 2, 4, 8, 16, 32, 64]);
    assert.deepEqual(parseConcurrency('4:16:+4'), [4, 8, 12, 16]);
    assert.deepEqual(parseConcurrency('1:10:x3'), [1, 3, 9]);
  });

  test('bad values are refused with the flag named', () => {
    for (const bad of ['0', 'x', '1:64', '64:1:x2', '1:64:x1', '1:8:y2', '2.5']) assert.throws(() => parseConcurrency(bad), /--concurrency/);
  });
});

describe('server statistics', () => {
  test('a window is the difference of two snapshots, summed over versions; gRPC strings count as numbers', () => {
    const entry = (inferences: number, executions: number, queueNs: number) => ({
      inference_count: String(inferences),
      execution_count: executions,
      inference_stats: {
        success: { count: inferences, ns: inferences * 1000 },
        queue: { count: inferences, ns: queueNs },
        compute_input: { count: inferences, ns: 0 },
        compute_infer: { count: String(inferences), ns: inferences * 500 },
        compute_output: { count: inferences, ns: 0 },
      },
    });
    const before = parseStatistics({ model_stats: [entry(10, 5, 0)] });
    const after = parseStatistics({ model_stats: [entry(40, 10, 60_000), entry(10, 5, 0)] });
    const w = serverWindow(before, after);
    assert.equal(w.inferences, 40);
    assert.equal(w.executions, 10);
    assert.equal(w.avgBatch, 4);
    assert.equal(w.queueUs, 60_000 / 40 / 1000);
    assert.equal(w.computeInferUs, 0.5);
  });
});

describe('generateLoad', () => {
  test('closed loop: never more than `concurrency` requests in flight; only completions in the window count', async () => {
    let inflight = 0;
    let maxInflight = 0;
    const result = await generateLoad({
      mode: { kind: 'concurrency', concurrency: 3 },
      warmupMs: 100,
      measureMs: 300,
      send: async () => {
        inflight++;
        maxInflight = Math.max(maxInflight, inflight);
        await new Promise((r) => setTimeout(r, 10));
        inflight--;
      },
    });
    assert.equal(maxInflight, 3);
    // 3 callers × ~10 ms per request over 0.3 s: about 90 (timers are coarse; a loose bound).
    assert.ok(result.completed > 20 && result.completed <= 95, `${result.completed} completions`);
    assert.equal(result.failed, 0);
    assert.ok(Math.abs(result.throughput - result.completed / 0.3) < 1e-9);
    assert.ok(result.latency.summary().p50Ms >= 9);
  });

  test('failures are counted with their messages', async () => {
    let n = 0;
    const result = await generateLoad({
      mode: { kind: 'concurrency', concurrency: 1 },
      warmupMs: 0,
      measureMs: 100,
      send: async () => {
        await new Promise((r) => setTimeout(r, 2));
        if (n++ % 2 === 1) throw new Error('HTTP 503: busy');
      },
    });
    assert.ok(result.failed > 0 && result.completed > 0);
    assert.deepEqual([...result.errors.keys()], ['HTTP 503: busy']);
  });

  test('open loop: requests leave at the fixed rate whatever the answers do; a cap skips the excess', async () => {
    let sent = 0;
    const result = await generateLoad({
      mode: { kind: 'rate', perSecond: 200, maxOutstanding: 1000 },
      warmupMs: 0,
      measureMs: 500,
      send: async () => {
        sent++;
        await new Promise((r) => setTimeout(r, 50));
      },
    });
    assert.ok(sent >= 70 && sent <= 105, `${sent} sent at 200/s over 0.5 s`);
    assert.equal(result.skipped, 0);
    const capped = await generateLoad({
      mode: { kind: 'rate', perSecond: 200, maxOutstanding: 2 },
      warmupMs: 0,
      measureMs: 300,
      send: () => new Promise((r) => setTimeout(r, 100)),
    });
    assert.ok(capped.skipped > 30, `${capped.skipped} skipped`);
  });
});

describe('bench inputs', () => {
  const info: ModelInfo = {
    name: 'm',
    versions: ['1'],
    maxBatchSize: 8,
    inputs: [
      { name: 'x', datatype: 'FP32', shape: [-1, 3] },
      { name: 'ids', datatype: 'INT64', shape: [-1, -1] },
      { name: 's', datatype: 'BYTES', shape: [-1, 1] },
    ],
    outputs: [],
  };

  test('random inputs get the batch dim, seeded data, and --shape for variable dims', async () => {
    const shapes = new Map([['ids', [5]]]);
    const a = await buildInputs(info, { inputs: [], shapes, batchSize: 4 });
    const b = await buildInputs(info, { inputs: [], shapes, batchSize: 4 });
    assert.deepEqual(
      a.map((t) => t.shape),
      [
        [4, 3],
        [4, 5],
        [4, 1],
      ],
    );
    assert.deepEqual(a[0]!.data, b[0]!.data, 'same seed, same bytes');
    assert.ok(a[1]!.data instanceof BigInt64Array);
    await assert.rejects(buildInputs(info, { inputs: [], shapes: new Map(), batchSize: 1 }), /--shape ids=/);
    await assert.rejects(buildInputs(info, { inputs: [parseInputFlag('nope=random')], shapes, batchSize: 1 }), /no such input/);
  });

  test('files: .npy and .json, one item repeated into a batch', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'bench-inputs-'));
    try {
      await writeFile(join(dir, 'x.npy'), encodeNpy('FP32', [3], new Float32Array([1, 2, 3])));
      await writeFile(join(dir, 'ids.json'), JSON.stringify([[7, 8]]));
      await writeFile(join(dir, 's.json'), JSON.stringify({ shape: [2, 1], content: ['a', 'b'] }));
      const tensors = await buildInputs(info, {
        inputs: ['x=@' + join(dir, 'x.npy'), 'ids=@' + join(dir, 'ids.json'), 's=@' + join(dir, 's.json')].map(parseInputFlag),
        shapes: new Map(),
        batchSize: 2,
      });
      assert.deepEqual(tensors[0]!.shape, [2, 3]);
      assert.deepEqual([...(tensors[0]!.data as Float32Array)], [1, 2, 3, 1, 2, 3]);
      assert.deepEqual(tensors[1]!.shape, [1, 2]);
      assert.deepEqual([...(tensors[1]!.data as BigInt64Array)], [7n, 8n]);
      assert.deepEqual(
        (tensors[2]!.data as Uint8Array[]).map((e) => Buffer.from(e).toString()),
        ['a', 'b'],
      );
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  test('flag parsing', () => {
    assert.deepEqual(parseInputFlag('x=@a.npy'), { name: 'x', source: { kind: 'file', path: 'a.npy' } });
    assert.throws(() => parseInputFlag('x=a.npy'), /@<file> or random/);
    assert.deepEqual(parseShapeFlag('x=3,224,224'), ['x', [3, 224, 224]]);
    assert.throws(() => parseShapeFlag('x=3,a'), /--shape/);
  });
});

describe('REST request encoding', () => {
  const inputs = [
    { name: 'x', datatype: 'FP32' as const, shape: [2, 2], data: new Float32Array([1.5, 2, 3, 4]) },
    { name: 's', datatype: 'BYTES' as const, shape: [1], data: [Buffer.from('hi')] },
  ];

  test('binary requests decode on the server into the same tensors, asking for binary outputs', () => {
    const encoded = encodeRestRequest({ model: 'm', inputs, outputs: ['y'] }, true);
    assert.equal(encoded.path, '/v2/models/m/infer');
    const decoded = decodeInferRequest('m', undefined, encoded.body, Number(encoded.headers['inference-header-content-length']));
    assert.deepEqual([...(decoded.request.inputs[0]!.data as Float32Array)], [1.5, 2, 3, 4]);
    assert.deepEqual(decoded.request.inputs[0]!.shape, [2, 2]);
    assert.equal(Buffer.from((decoded.request.inputs[1]!.data as Uint8Array[])[0]!).toString(), 'hi');
    assert.equal(decoded.binaryOutputDefault, true);
    assert.deepEqual(
      decoded.request.outputs?.map((o) => o.name),
      ['y'],
    );
  });

  test('JSON requests decode on the server into the same tensors', () => {
    const encoded = encodeRestRequest({ model: 'm', version: '3', inputs }, false);
    assert.equal(encoded.path, '/v2/models/m/versions/3/infer');
    const decoded = decodeInferRequest('m', 3, encoded.body, undefined);
    assert.deepEqual([...(decoded.request.inputs[0]!.data as Float32Array)], [1.5, 2, 3, 4]);
    assert.equal(decoded.binaryOutputDefault, false);
  });
});
