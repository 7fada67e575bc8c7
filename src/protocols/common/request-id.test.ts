import { test } from 'node:test';
import assert from 'node:assert/strict';
import { CranberriesError } from '../../core/errors.js';
import { resolveRequestId, usableRequestId, withRequestId } from './request-id.js';

test('the header wins, then the OIP id, then a generated id', () => {
  assert.deepEqual(resolveRequestId('h-1', 'oip-1'), { id: 'h-1', fromCaller: true });
  assert.deepEqual(resolveRequestId(undefined, 'oip-1'), { id: 'oip-1', fromCaller: true });
  assert.deepEqual(resolveRequestId(['h-2', 'h-3'], undefined), { id: 'h-2', fromCaller: true });
  const generated = resolveRequestId(undefined, '');
  assert.equal(generated.fromCaller, false);
  assert.match(generated.id, /^[0-9a-f]{12}-[0-9a-f]+$/);
  assert.notEqual(resolveRequestId(undefined).id, generated.id);
});

test('ids that are unsafe in a header or a log line are ignored', () => {
  assert.equal(usableRequestId('has space'), undefined);
  assert.equal(usableRequestId('line\nbreak'), undefined);
  assert.equal(usableRequestId('é'), undefined);
  assert.equal(usableRequestId('x'.repeat(129)), undefined);
  assert.equal(usableRequestId('x'.repeat(128)), 'x'.repeat(128));
  assert.equal(usableRequestId(Buffer.from('from-buffer')), 'from-buffer');
  assert.equal(resolveRequestId('bad id', 'good-id').id, 'good-id');
});

test('withRequestId appends the id once and keeps the code', () => {
  const error = withRequestId(new CranberriesError('NOT_FOUND', 'no model'), 'r1');
  assert.equal(error.code, 'NOT_FOUND');
  assert.equal(error.message, 'no model (request id: r1)');
  assert.equal(withRequestId(error, 'r1').message, 'no model (request id: r1)');
  assert.equal(withRequestId(new Error('boom'), 'r2').code, 'INTERNAL');
});
