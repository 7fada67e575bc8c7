/**
 * Graphite push against a REAL carbon-cache (Debian graphite-carbon, whisper files in a temp dir):
 * the figures a server sends are read back from whisper and compared with what it did; a carbon
 * outage loses nothing while the buffer holds (and exactly the counted overflow when it does not),
 * and inference never waits for carbon.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { Counter, Gauge, Registry } from 'prom-client';
import { addSubModel, createTempModelRepository, type TempModelRepository } from '../fixtures/onnx-models.js';
import { infer } from '../helpers/oip-client.js';
import { startTestServer, waitFor, type TestServer } from '../helpers/test-server.js';
import { startCarbon, type CarbonServer } from '../helpers/carbon.js';
import { GraphiteReporter } from '../../src/metrics/graphite-reporter.js';
import { parsePrometheusText, sampleValue } from '../helpers/prometheus-text.js';

const CONFIG =
  'max_batch_size: 8\ninput [ { name: "INPUT0" data_type: TYPE_FP32 dims: [ 4 ] }, { name: "INPUT1" data_type: TYPE_FP32 dims: [ 4 ] } ]\noutput [ { name: "OUTPUT0" data_type: TYPE_FP32 dims: [ 4 ] }, { name: "OUTPUT1" data_type: TYPE_FP32 dims: [ 4 ] } ]\n';
const MODEL = 'my model.v2';
const BASE = 'test.cranberries.node-a_example';
const MODEL_PATH = `${BASE}.my_model_v2.1`;

let carbon: CarbonServer;
let repo: TempModelRepository;
let server: TestServer;

const nowSeconds = (): number => Math.floor(Date.now() / 1000);
const inputs = [
  { name: 'INPUT0', datatype: 'FP32', shape: [1, 4], data: [1, 2, 3, 4] },
  { name: 'INPUT1', datatype: 'FP32', shape: [1, 4], data: [5, 6, 7, 8] },
];

before(async () => {
  carbon = await startCarbon();
  repo = await createTempModelRepository({ [MODEL]: { versions: { 1: addSubModel('FP32', [4]) }, config: CONFIG } });
  server = await startTestServer({
    modelRepository: repo.root,
    graphite: { host: '127.0.0.1', port: carbon.port, prefix: 'test.cranberries', intervalSeconds: 1, node: 'node-a.example', maxBackoffMs: 200 },
  });
});

after(async () => {
  await server?.stop();
  await repo?.remove();
  await carbon?.remove();
});

/** The last non-null value of a series over the last minute. */
async function latest(path: string): Promise<number | undefined> {
  const series = await carbon.fetch(path, nowSeconds() - 60, nowSeconds() + 1);
  const values = series?.values.filter((v): v is number => v !== null) ?? [];
  return values.at(-1);
}

async function waitForLatest(path: string, expected: number): Promise<void> {
  await waitFor(async () => (await latest(path)) === expected, 15_000, `${path} = ${expected} in whisper (last: ${await latest(path)})`);
}

describe('Graphite push to a real carbon-cache', () => {
  test('per model figures and process metrics arrive under PREFIX.<node>.<model>.<version>.<metric>, escaped', async () => {
    for (let i = 0; i < 7; i++) assert.equal((await infer(server.url, MODEL, inputs)).status, 200);
    assert.equal((await infer(server.url, MODEL, [inputs[0]!])).status, 400);

    await waitForLatest(`${MODEL_PATH}.inference_request_success_total`, 7);
    await waitForLatest(`${MODEL_PATH}.inference_count_total`, 7);
    await waitForLatest(`${MODEL_PATH}.inference_executions_total`, 7);
    await waitForLatest(`${MODEL_PATH}.inference_request_failure_total.invalid_argument`, 1);
    await waitForLatest(`${MODEL_PATH}.inference_request_failure_total.rejected`, 0);
    await waitForLatest(`${MODEL_PATH}.request_duration_seconds.count`, 7);
    await waitForLatest(`${MODEL_PATH}.model_state.READY`, 1);
    assert.ok((await latest(`${MODEL_PATH}.request_duration_seconds.sum`))! > 0);
    assert.ok((await latest(`${BASE}.process_resident_memory_bytes`))! > 10_000_000);
    assert.ok((await latest(`${BASE}.nodejs_eventloop_lag_p99_seconds`)) !== undefined);
  });

  test('a carbon outage loses no point while the buffer holds, and inference never waits for carbon', async () => {
    const path = `${MODEL_PATH}.inference_request_success_total`;
    const latencies: number[] = [];
    let failures = 0;
    let running = true;
    // Steady traffic for the whole test (bounded in count as well as by the flag).
    const traffic = (async () => {
      for (let i = 0; i < 3000 && running; i++) {
        const started = performance.now();
        const status = (await infer(server.url, MODEL, inputs)).status;
        latencies.push(performance.now() - started);
        if (status !== 200) failures++;
        await new Promise((r) => setTimeout(r, 20));
      }
    })();
    try {
      await new Promise((r) => setTimeout(r, 2000));
      const outageStart = nowSeconds();
      const duringOutage = latencies.length;
      await carbon.stop();
      await new Promise((r) => setTimeout(r, 4000));
      const outageLatencies = latencies.slice(duringOutage);
      await carbon.restart();
      const outageEnd = nowSeconds();
      await new Promise((r) => setTimeout(r, 1500));
      running = false;
      await traffic;

      // Inference went on at full speed, without a single error.
      assert.equal(failures, 0);
      assert.ok(outageLatencies.length > 50, `only ${outageLatencies.length} requests during the outage`);
      assert.ok(Math.max(...outageLatencies) < 1000, `slowest request during the outage: ${Math.max(...outageLatencies).toFixed(1)} ms`);

      const metrics = parsePrometheusText(await (await fetch(`http://127.0.0.1:${server.ports.metrics}/metrics`)).text());
      assert.equal(sampleValue(metrics, 'cranberries_graphite_dropped_points_total'), 0);
      const total = sampleValue(metrics, 'cranberries_inference_request_success_total', { model: MODEL, version: '1' })!;
      await waitForLatest(path, total);

      // Every one-second slot across the outage holds a point: buffered, then delivered.
      const series = (await carbon.fetch(path, outageStart - 3, outageEnd + 2))!;
      const missing = series.values.map((value, i) => (value === null ? series.start + i * series.step : undefined)).filter((t) => t !== undefined);
      assert.deepEqual(missing, [], `slots without a point (outage ${outageStart}..${outageEnd})`);
      const values = series.values as number[];
      for (let i = 1; i < values.length; i++) assert.ok(values[i]! >= values[i - 1]!, 'a counter never goes down');
    } finally {
      running = false;
      await traffic;
    }
  });

  test('when the buffer overflows, the oldest points are dropped and every lost point is counted', async () => {
    // A registry with a known number of points per tick: a tick counter and 9 gauges, plus the
    // reporter's own 4 metrics = 14 lines per tick; the buffer holds 3 ticks.
    const registry = new Registry();
    let tick = 0;
    const tickGauge: Gauge = new Gauge({ name: 'overflow_tick', help: 'tick number', registers: [registry], collect: () => tickGauge.set(++tick) });
    for (let i = 0; i < 8; i++) new Gauge({ name: `overflow_gauge_${i}`, help: 'filler', registers: [registry] }).set(i);
    new Counter({ name: 'overflow_total', help: 'filler', registers: [registry] }).inc(5);
    const perTick = 14;
    const reporter = new GraphiteReporter(registry, { host: '127.0.0.1', port: carbon.port, prefix: 'overflow', intervalSeconds: 1, node: 'n1', maxBufferedPoints: 3 * perTick, maxBackoffMs: 200 });
    reporter.start();
    try {
      await waitFor(async () => (await latest('overflow.n1.overflow_tick')) !== undefined, 15_000, 'the first points');
      await carbon.stop();
      await new Promise((r) => setTimeout(r, 6000));
      await carbon.restart();
      const ticksAtReconnect = tick;
      await waitFor(async () => ((await latest('overflow.n1.overflow_tick')) ?? 0) > ticksAtReconnect, 15_000, 'points after the restart');

      const metrics = await registry.getMetricsAsJSON();
      const dropped = metrics.find((m) => m.name === 'cranberries_graphite_dropped_points_total')!.values[0]!.value;
      const series = (await carbon.fetch('overflow.n1.overflow_tick', nowSeconds() - 40, nowSeconds() + 1))!;
      const seen = new Set(series.values.filter((v): v is number => v !== null));
      const first = Math.min(...seen);
      const last = Math.max(...seen);
      const lost = [];
      for (let t = first; t <= last; t++) if (!seen.has(t)) lost.push(t);
      assert.ok(lost.length >= 1, 'a 6 s outage overflows a 3-tick buffer');
      // Lost ticks are one run of the oldest ones: the 3 ticks right after them were kept.
      assert.equal(lost.at(-1)! - lost[0]! + 1, lost.length, `lost ticks are contiguous: ${lost.join(',')}`);
      for (let t = lost.at(-1)! + 1; t <= lost.at(-1)! + 3; t++) assert.ok(seen.has(t), `tick ${t} after the dropped ones was kept`);
      // Nothing was lost that was not counted. The count may also hold the ticks written in the
      // last two intervals before carbon stopped (sent again in case carbon never read them, then
      // dropped as the oldest), but no more.
      const detail = `dropped ${dropped}; lost ${lost.join(',')}; seen ${[...seen].sort((a, b) => a - b).join(',')}; reconnect at tick ${ticksAtReconnect}`;
      assert.ok(dropped >= lost.length * perTick, detail);
      assert.ok(dropped <= (lost.length + 2) * perTick, detail);
    } finally {
      await reporter.close();
    }
  });
});
