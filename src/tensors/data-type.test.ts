import { test } from 'node:test';
import assert from 'node:assert/strict';
import { arrayTypeOf, INTEGER_RANGES, SAFE_INTEGER_RANGES, type DataType } from './data-type.js';

test('each integer range is exactly what its typed array stores: the ends survive, one past them wraps', () => {
  const types = Object.keys(INTEGER_RANGES) as DataType[];
  assert.deepEqual(types.sort(), ['INT16', 'INT32', 'INT8', 'UINT16', 'UINT32', 'UINT8']);
  for (const type of types) {
    const [min, max] = INTEGER_RANGES[type]!;
    // The 8- to 32-bit arrays hold numbers; indexing them as number[] stores through their conversion.
    const stored = new (arrayTypeOf(type))(4) as unknown as number[];
    [min, max, min - 1, max + 1].forEach((value, i) => (stored[i] = value));
    assert.equal(stored[0], min, `${type} min`);
    assert.equal(stored[1], max, `${type} max`);
    assert.notEqual(stored[2], min - 1, `${type} below min`);
    assert.notEqual(stored[3], max + 1, `${type} above max`);
  }
});

test('the safe ranges add the 64-bit types up to the integers a JS number holds exactly', () => {
  for (const [type, range] of Object.entries(INTEGER_RANGES)) assert.deepEqual(SAFE_INTEGER_RANGES[type as DataType], range);
  assert.deepEqual(SAFE_INTEGER_RANGES.INT64, [-(2 ** 53 - 1), 2 ** 53 - 1]);
  assert.deepEqual(SAFE_INTEGER_RANGES.UINT64, [0, 2 ** 53 - 1]);
  assert.ok(Number.isSafeInteger(SAFE_INTEGER_RANGES.UINT64[1]) && !Number.isSafeInteger(SAFE_INTEGER_RANGES.UINT64[1] + 1));
  assert.equal(SAFE_INTEGER_RANGES.FP32, undefined);
});
