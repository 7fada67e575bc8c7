import { test } from 'node:test';
import assert from 'node:assert/strict';
import { boundMessage, clip, describeJsonValue, formatShape, MAX_ERROR_MESSAGE_CHARS, quoteInput } from './bounded-text.js';

test('quoted input is clipped with its length', () => {
  assert.equal(quoteInput('FP32'), "'FP32'");
  const quoted = quoteInput('x'.repeat(8_000_000));
  assert.ok(quoted.length < 150);
  assert.match(quoted, /…\(8000000 chars\)'$/);
  assert.equal(clip('abcdef', 3), 'abc…(6 chars)');
});

test('JSON values are described without recursing into them', () => {
  let deep: unknown = 1;
  for (let i = 0; i < 100_000; i++) deep = [deep];
  assert.equal(describeJsonValue(deep), 'an array of 1 element(s)');
  assert.equal(describeJsonValue({ a: deep }), 'an object');
  assert.equal(describeJsonValue('y'.repeat(1000)).length < 150, true);
  assert.equal(describeJsonValue(undefined), 'nothing');
  assert.equal(describeJsonValue(null), 'null');
  assert.equal(describeJsonValue(-1.5), '-1.5');
});

test('long shapes show their first dims and their rank; messages are capped', () => {
  assert.equal(formatShape([1, 2, 3]), '[1,2,3]');
  assert.match(formatShape(new Array(20_000).fill(1)), /^\[1(,1){15},…\] \(20000 dimensions\)$/);
  assert.equal(boundMessage('short'), 'short');
  assert.ok(boundMessage('z'.repeat(100_000)).length <= MAX_ERROR_MESSAGE_CHARS + 30);
});
