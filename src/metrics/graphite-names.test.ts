import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import { graphitePoints, graphitePrefix, graphiteSegment } from './graphite-names.js';

async function pointsOf(registry: Registry): Promise<Map<string, number>> {
  const points = new Map<string, number>();
  for (const metric of await registry.getMetricsAsJSON()) for (const p of graphitePoints('pre.node', metric)) points.set(p.path, p.value);
  return points;
}

test('segments escape dots, spaces and anything else outside [A-Za-z0-9_-]', () => {
  assert.equal(graphiteSegment('resnet.v2 large/x'), 'resnet_v2_large_x');
  assert.equal(graphiteSegment('ok-name_1'), 'ok-name_1');
  assert.equal(graphiteSegment(''), '_');
  assert.equal(graphitePrefix('prod.cranberries eu.'), 'prod.cranberries_eu');
});

test('per model series go under <model>.<version>, other labels follow as values in label-name order', async () => {
  const registry = new Registry();
  new Counter({ name: 'cranberries_failures_total', help: 'h', labelNames: ['model', 'version', 'reason'], registers: [registry] }).inc({ model: 'a.b', version: '3', reason: 'timeout' }, 2);
  new Gauge({ name: 'cranberries_workers', help: 'h', labelNames: ['zone', 'node'], registers: [registry] }).set({ zone: 'z1', node: 'n 1' }, 4);
  new Gauge({ name: 'process_open_fds', help: 'h', registers: [registry] }).set(9);
  new Gauge({ name: 'cranberries_nan', help: 'h', registers: [registry] }).set(Number.NaN);
  const points = await pointsOf(registry);
  assert.deepEqual(
    [...points.entries()],
    [
      ['pre.node.a_b.3.failures_total.timeout', 2],
      ['pre.node.workers.n_1.z1', 4],
      ['pre.node.process_open_fds', 9],
    ],
  );
});

test('histograms give .sum and .count, no buckets', async () => {
  const registry = new Registry();
  const h = new Histogram({ name: 'cranberries_request_duration_seconds', help: 'h', labelNames: ['model', 'version'], buckets: [0.1, 1], registers: [registry] });
  h.observe({ model: 'm', version: '1' }, 0.5);
  h.observe({ model: 'm', version: '1' }, 0.25);
  const points = await pointsOf(registry);
  assert.deepEqual(
    [...points.entries()],
    [
      ['pre.node.m.1.request_duration_seconds.sum', 0.75],
      ['pre.node.m.1.request_duration_seconds.count', 2],
    ],
  );
});
