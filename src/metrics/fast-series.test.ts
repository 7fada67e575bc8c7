import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Registry } from 'prom-client';
import { CounterFamily, HistogramFamily } from './fast-series.js';
import { parsePrometheusText, sampleValue } from '../../test/helpers/prometheus-text.js';

test('counters and histograms expose the Prometheus text format through a registry', async () => {
  const registry = new Registry();
  const counter = new CounterFamily(registry, 'x_total', 'a counter', ['model', 'version']);
  const histogram = new HistogramFamily(registry, 'x_seconds', 'a histogram', ['model'], [0.1, 1]);
  const series = counter.labels({ model: 'm', version: '1' });
  assert.equal(counter.labels({ version: '1', model: 'm' }), series, 'the same label values give the same series');
  series.inc();
  series.inc(2);
  counter.labels({ model: 'other', version: '2' });
  const h = histogram.labels({ model: 'm' });
  for (const value of [0.05, 0.1, 0.5, 3]) h.observe(value);

  const text = await registry.metrics();
  assert.match(text, /# TYPE x_total counter/);
  assert.match(text, /# TYPE x_seconds histogram/);
  const m = parsePrometheusText(text);
  assert.equal(sampleValue(m, 'x_total', { model: 'm', version: '1' }), 3);
  assert.equal(sampleValue(m, 'x_total', { model: 'other', version: '2' }), 0);
  // Buckets are cumulative and inclusive of their upper bound.
  assert.equal(sampleValue(m, 'x_seconds_bucket', { model: 'm', le: '0.1' }), 2);
  assert.equal(sampleValue(m, 'x_seconds_bucket', { model: 'm', le: '1' }), 3);
  assert.equal(sampleValue(m, 'x_seconds_bucket', { model: 'm', le: '+Inf' }), 4);
  assert.equal(sampleValue(m, 'x_seconds_count', { model: 'm' }), 4);
  assert.equal(sampleValue(m, 'x_seconds_sum', { model: 'm' }), 3.65);

  const json = await registry.getMetricsAsJSON();
  assert.deepEqual(
    json.map((metric) => [metric.name, String(metric.type)]),
    [
      ['x_total', 'counter'],
      ['x_seconds', 'histogram'],
    ],
  );
});

test('a second family with a taken name is refused by the registry', () => {
  const registry = new Registry();
  new CounterFamily(registry, 'dup_total', 'first', []);
  assert.throws(() => new CounterFamily(registry, 'dup_total', 'second', []), /already been registered/);
});
