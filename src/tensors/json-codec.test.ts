import { test } from 'node:test';
import assert from 'node:assert/strict';
import { CranberriesError } from '../core/errors.js';
import type { DataType } from './data-type.js';
import { decodeJsonTensorData, jsonDataText } from './json-codec.js';

const utf8 = (s: string): Uint8Array => new TextEncoder().encode(s);

function rejects(fn: () => unknown, message: RegExp): void {
  assert.throws(fn, (error: unknown) => {
    assert.ok(error instanceof CranberriesError, `expected a CranberriesError, got ${String(error)}`);
    assert.equal(error.code, 'INVALID_ARGUMENT');
    assert.match(error.message, message);
    return true;
  });
}

test('flat and nested data decode to the same row-major TypedArray', () => {
  const flat = decodeJsonTensorData('FP32', [2, 3], [1, 2, 3, 4, 5, 6.5], 'x');
  const nested = decodeJsonTensorData(
    'FP32',
    [2, 3],
    [
      [1, 2, 3],
      [4, 5, 6.5],
    ],
    'x',
  );
  assert.ok(flat instanceof Float32Array);
  assert.deepEqual(Array.from(flat), [1, 2, 3, 4, 5, 6.5]);
  assert.deepEqual(nested, flat);
  const deep = decodeJsonTensorData(
    'INT32',
    [2, 2, 1],
    [
      [[1], [2]],
      [[3], [4]],
    ],
    'x',
  );
  assert.ok(deep instanceof Int32Array);
  assert.deepEqual(Array.from(deep), [1, 2, 3, 4]);
});

test('each numeric datatype lands in its TypedArray with its values', () => {
  const cases: [DataType, unknown[], new (n: number) => ArrayLike<unknown>, unknown[]][] = [
    ['BOOL', [true, false, true], Uint8Array, [1, 0, 1]],
    ['UINT8', [0, 255], Uint8Array, [0, 255]],
    ['UINT16', [0, 65535], Uint16Array, [0, 65535]],
    ['UINT32', [0, 4294967295], Uint32Array, [0, 4294967295]],
    ['UINT64', [0, 9007199254740991], BigUint64Array, [0n, 9007199254740991n]],
    ['INT8', [-128, 127], Int8Array, [-128, 127]],
    ['INT16', [-32768, 32767], Int16Array, [-32768, 32767]],
    ['INT32', [-2147483648, 2147483647], Int32Array, [-2147483648, 2147483647]],
    ['INT64', [-9007199254740991, 42], BigInt64Array, [-9007199254740991n, 42n]],
    ['FP32', [0.5, -1e3], Float32Array, [0.5, -1000]],
    ['FP64', [0.1, 1e300], Float64Array, [0.1, 1e300]],
  ];
  for (const [datatype, data, type, expected] of cases) {
    const decoded = decodeJsonTensorData(datatype, [data.length], data, 'x');
    assert.ok(decoded instanceof type, `${datatype} → ${type.name}`);
    assert.deepEqual(Array.from(decoded as ArrayLike<unknown>), expected, datatype);
  }
});

test('BYTES strings are UTF-8 encoded, one element each, sharing one buffer', () => {
  const decoded = decodeJsonTensorData('BYTES', [3], ['ab', '', 'żółw'], 's');
  assert.ok(Array.isArray(decoded));
  assert.deepEqual(
    decoded.map((e) => Array.from(e)),
    [Array.from(utf8('ab')), [], Array.from(utf8('żółw'))],
  );
  assert.equal(decoded[0]?.buffer, decoded[2]?.buffer);
  assert.ok(!(decoded[0] instanceof Buffer), 'plain Uint8Array views, not pooled Buffers');
});

test('the element count must match the shape', () => {
  const data = Array.from({ length: 63 }, () => 0);
  rejects(() => decodeJsonTensorData('FP32', [1, 1, 8, 8], data, 'image'), /^input 'image': expected 64 elements for shape \[1,1,8,8\], got 63$/);
  rejects(() => decodeJsonTensorData('FP32', [2, 2], [[1, 2], [3]], 'x'), /expected 4 elements for shape \[2,2\], got 3/);
  rejects(() => decodeJsonTensorData('FP32', [2], [1, 2, 3], 'x'), /expected 2 elements/);
  assert.equal(decodeJsonTensorData('FP32', [0, 3], [], 'x').length, 0);
  assert.deepEqual(Array.from(decodeJsonTensorData('INT32', [], [7], 'x') as Int32Array), [7], 'a scalar is one element');
});

test('element types are checked per datatype, naming the element', () => {
  rejects(() => decodeJsonTensorData('FP32', [4], [1, 2, 3, 'a'], 'x'), /^input 'x': element 3 is "a", expected a number for FP32$/);
  rejects(() => decodeJsonTensorData('FP64', [1], [null], 'x'), /element 0 is null, expected a number for FP64/);
  rejects(() => decodeJsonTensorData('INT32', [2], [1, 1.5], 'x'), /element 1 is 1.5, expected an integer for INT32/);
  rejects(() => decodeJsonTensorData('BOOL', [2], [true, 1], 'x'), /element 1 is 1, expected true or false for BOOL/);
  rejects(() => decodeJsonTensorData('BYTES', [1], [5], 'x'), /element 0 is 5, expected a string for BYTES/);
  rejects(() => decodeJsonTensorData('INT64', [1], ['5'], 'x'), /element 0 is "5", expected an integer for INT64/);
  rejects(() => decodeJsonTensorData('FP32', [2], [1, [2]], 'x'), /element 1 is an array/);
  rejects(() => decodeJsonTensorData('FP32', [2], { a: 1 }, 'x'), /"data" must be an array/);
});

test('integer ranges are enforced', () => {
  rejects(() => decodeJsonTensorData('UINT8', [2], [1, 300], 'x'), /^input 'x': element 1: 300 is out of range for UINT8/);
  rejects(() => decodeJsonTensorData('INT8', [1], [-129], 'x'), /-129 is out of range for INT8/);
  rejects(() => decodeJsonTensorData('UINT16', [1], [-1], 'x'), /-1 is out of range for UINT16/);
  rejects(() => decodeJsonTensorData('INT32', [1], [2147483648], 'x'), /out of range for INT32/);
  rejects(() => decodeJsonTensorData('UINT32', [1], [4294967296], 'x'), /out of range for UINT32/);
  rejects(() => decodeJsonTensorData('UINT64', [1], [-1], 'x'), /-1 is out of range for UINT64/);
  rejects(() => decodeJsonTensorData('INT64', [1], [2 ** 53], 'x'), /cannot carry exactly/);
  rejects(() => decodeJsonTensorData('UINT64', [1], [2 ** 60], 'x'), /cannot carry exactly/);
});

test('FP16 and BF16 cannot travel as JSON', () => {
  rejects(() => decodeJsonTensorData('FP16', [1], [1], 'h'), /^input 'h': FP16 data cannot be sent as JSON/);
  rejects(() => decodeJsonTensorData('BF16', [1], [1], 'h'), /BF16 data cannot be sent as JSON/);
  rejects(() => jsonDataText(new Uint16Array([0x3c00]), 'FP16', 'y'), /^output 'y': FP16 data cannot be returned as JSON/);
  rejects(() => jsonDataText(new Uint16Array([0x3f80]), 'BF16', 'y'), /BF16/);
});

test('absurdly deep nesting is an error, not a stack overflow', () => {
  let data: unknown = [1];
  for (let i = 0; i < 100_000; i++) data = [data];
  rejects(() => decodeJsonTensorData('FP32', [1, 1], data, 'x'), /nested deeper than the shape's 2 dimension/);
});

test('jsonDataText writes each datatype as JSON that parses back to the same values', () => {
  assert.equal(jsonDataText(new Float32Array([0.5, -2, 3]), 'FP32'), '[0.5,-2,3]');
  assert.equal(jsonDataText(new Float64Array([0.1, 1e300]), 'FP64'), '[0.1,1e+300]');
  assert.equal(jsonDataText(new Int8Array([-128, 127]), 'INT8'), '[-128,127]');
  assert.equal(jsonDataText(new Uint32Array([4294967295]), 'UINT32'), '[4294967295]');
  assert.equal(jsonDataText(new Uint8Array([1, 0, 2]), 'BOOL'), '[true,false,true]');
  assert.equal(jsonDataText(new Int32Array([]), 'INT32'), '[]');
  assert.equal(jsonDataText(new BigInt64Array([-(2n ** 63n), 2n ** 63n - 1n]), 'INT64'), '[-9223372036854775808,9223372036854775807]');
  assert.equal(jsonDataText(new BigUint64Array([2n ** 64n - 1n]), 'UINT64'), '[18446744073709551615]');
  assert.equal(jsonDataText([utf8('a"b'), utf8('żółw'), new Uint8Array(0)], 'BYTES'), '["a\\"b","żółw",""]');
  const f32 = new Float32Array([0.1, 1 / 3]);
  assert.deepEqual(JSON.parse(jsonDataText(f32, 'FP32')), Array.from(f32), 'float32 values survive exactly');
});

test('non-finite floats become null and invalid UTF-8 becomes U+FFFD', () => {
  assert.equal(jsonDataText(new Float32Array([NaN, Infinity, -Infinity, 1]), 'FP32'), '[null,null,null,1]');
  assert.equal(jsonDataText([new Uint8Array([0x61, 0xff])], 'BYTES'), '["a\uFFFD"]');
});

test('large tensors round-trip through JSON text', () => {
  const n = 50_000;
  const source = new Float32Array(n);
  for (let i = 0; i < n; i++) source[i] = Math.fround(Math.sin(i) * 1000);
  const text = jsonDataText(source, 'FP32');
  const back = decodeJsonTensorData('FP32', [n], JSON.parse(text), 'x');
  assert.deepEqual(back, source);
  const ints = new Int32Array(n).map((_, i) => i * 7919 - 100_000);
  assert.deepEqual(decodeJsonTensorData('INT32', [n], JSON.parse(jsonDataText(ints, 'INT32')), 'x'), ints);
});
