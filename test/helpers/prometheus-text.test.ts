import { test } from 'node:test';
import assert from 'node:assert/strict';
import { familyNames, parsePrometheusText, sampleValue } from './prometheus-text.js';

test('parses samples, labels with escapes, special values and TYPE lines', () => {
  const m = parsePrometheusText(
    ['# HELP a_total help text', '# TYPE a_total counter', 'a_total{model="m",path="x\\"y\\\\z"} 3', 'b 1.5e-3 1700000000', 'c_bucket{le="+Inf"} 7', 'd NaN', 'e +Inf', ''].join('\n'),
  );
  assert.equal(sampleValue(m, 'a_total', { model: 'm' }), 3);
  assert.equal(m.samples[0]!.labels['path'], 'x"y\\z');
  assert.equal(sampleValue(m, 'b'), 0.0015);
  assert.equal(sampleValue(m, 'c_bucket', { le: '+Inf' }), 7);
  assert.ok(Number.isNaN(sampleValue(m, 'd')!));
  assert.equal(sampleValue(m, 'e'), Infinity);
  assert.equal(m.types.get('a_total'), 'counter');
  assert.deepEqual([...familyNames(m)].sort(), ['a_total', 'b', 'c_bucket', 'd', 'e']);
  assert.equal(sampleValue(m, 'a_total', { model: 'other' }), undefined);
});

test('a malformed line is an error', () => {
  assert.throws(() => parsePrometheusText('{oops} 1'), /not a Prometheus sample line/);
  assert.throws(() => parsePrometheusText('x one'), /not a sample value/);
  assert.throws(() => parsePrometheusText('x{a="1",b} 1'), /malformed labels/);
});
