import { test } from 'node:test';
import assert from 'node:assert/strict';
import { containsToken, formatTextMessage, renderValue, saidByMessage } from './text-line.js';

test('a token counts only as a whole word', () => {
  assert.equal(containsToken("model 'digits' is READY", 'digits'), true);
  assert.equal(containsToken('HTTP 127.0.0.1:8000, gRPC', '8000'), true);
  assert.equal(containsToken('replica 10 of 12', '1'), false);
  assert.equal(containsToken('digitsX', 'digits'), false);
  assert.equal(containsToken('anything', ''), false);
});

test('arrays are said when every element is', () => {
  assert.equal(saidByMessage('workers in the cluster: a, b', ['a', 'b']), true);
  assert.equal(saidByMessage('workers in the cluster: a', ['a', 'b']), false);
  assert.equal(saidByMessage('x', { a: 1 }), false);
});

test('values: bare when simple, quoted with spaces, bounded', () => {
  assert.equal(renderValue('digits'), 'digits');
  assert.equal(renderValue('two words'), '"two words"');
  assert.equal(renderValue([1, 2]), '[1,2]');
  assert.equal(renderValue({ a: 1 }), '{"a":1}');
  assert.ok(renderValue('y'.repeat(5000)).length < 400);
});

test('a line: component first, each fact once, booleans named by the message dropped, error stack below', () => {
  assert.equal(
    formatTextMessage({ level: 30, time: 1, pid: 1, name: 'cranberries', component: 'controller', msg: 'became the leader', leader: true, node: 'n_1' }),
    '[controller] became the leader node=n_1',
  );
  assert.equal(formatTextMessage({ msg: 'server is ready', ready: true }), 'server is ready');
  assert.equal(formatTextMessage({ msg: 'model version state changed', model: 'digits', version: 1, state: 'READY' }), 'model version state changed model=digits version=1 state=READY');
  const error = new Error('boom');
  const line = formatTextMessage({ msg: 'request failed', err: { type: 'Error', message: error.message, stack: error.stack } });
  assert.match(line, /^request failed err=boom\n {4}at /);
});
