import { test } from 'node:test';
import assert from 'node:assert/strict';
import { concatRows, ReusedRows } from './concat-rows.js';
import type { Tensor } from './tensor.js';

const rows = (values: number[], width = 2): Tensor => ({ name: 'x', datatype: 'FP32', shape: [values.length / width, width], data: new Float32Array(values) });

test('joins rows along dim 0 in order; one part passes through untouched', () => {
  const joined = concatRows([rows([1, 2]), rows([3, 4, 5, 6]), rows([7, 8])]);
  assert.deepEqual(joined.shape, [4, 2]);
  assert.deepEqual([...(joined.data as Float32Array)], [1, 2, 3, 4, 5, 6, 7, 8]);
  const single = rows([1, 2]);
  assert.equal(concatRows([single]), single);
  const bytes = concatRows([
    { name: 's', datatype: 'BYTES', shape: [1], data: [new Uint8Array([1])] },
    { name: 's', datatype: 'BYTES', shape: [2], data: [new Uint8Array([2]), new Uint8Array([3])] },
  ]);
  assert.deepEqual(bytes.shape, [3]);
  assert.deepEqual(bytes.data, [new Uint8Array([1]), new Uint8Array([2]), new Uint8Array([3])]);
});

test('ReusedRows fills the same buffer batch after batch and grows it only when a batch needs more', () => {
  const reused = new ReusedRows();
  const first = concatRows([rows([1, 2]), rows([3, 4, 5, 6])], reused.allocator('x'));
  const buffer = (first.data as Float32Array).buffer;
  assert.ok(reused.owns(buffer));
  const smaller = concatRows([rows([9, 9]), rows([8, 8])], reused.allocator('x'));
  assert.equal((smaller.data as Float32Array).buffer, buffer, 'a smaller batch reuses the buffer');
  assert.deepEqual([...(smaller.data as Float32Array)], [9, 9, 8, 8]);
  const larger = concatRows([rows([1, 1, 1, 1]), rows([2, 2, 2, 2])], reused.allocator('x'));
  assert.notEqual((larger.data as Float32Array).buffer, buffer, 'a larger batch gets a larger buffer');
  assert.deepEqual([...(larger.data as Float32Array)], [1, 1, 1, 1, 2, 2, 2, 2]);
  assert.equal(reused.owns(buffer), false);
  const other = concatRows([rows([5, 5]), rows([6, 6])], reused.allocator('y'));
  assert.notEqual((other.data as Float32Array).buffer, (larger.data as Float32Array).buffer, 'slots never share a buffer');
});
