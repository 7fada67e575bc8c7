import { test } from 'node:test';
import assert from 'node:assert/strict';
import { InferenceServerError } from './inference-server-error.js';
import { castTensorData, nestedShape, tensorFromNested } from './nested-arrays.js';
import { bytesToStrings, inputTensorData } from './tensor-data.js';

const invalid = (pattern: RegExp) => (error: unknown) => error instanceof InferenceServerError && error.code === 'INVALID_ARGUMENT' && pattern.test(error.message);

test('nested arrays give their shape; scalars have shape []', () => {
  assert.deepEqual(nestedShape([[[1, 2, 3]], [[4, 5, 6]]], 'x'), [2, 1, 3]);
  assert.deepEqual(nestedShape(5, 'x'), []);
  assert.deepEqual(nestedShape([], 'x'), [0]);
  assert.throws(() => nestedShape([[1, 2], [3]], 'x'), invalid(/input 'x': the nested arrays are not rectangular: \[1\] should be a list of 2/));
  assert.throws(
    () =>
      nestedShape(
        [
          [1, 2],
          [3, [4]],
        ],
        'x',
      ),
    invalid(/element \[1\]\[1\] is nested deeper/),
  );
});

test('tensorFromNested makes the datatype’s TypedArray', () => {
  const fp32 = tensorFromNested('image', 'FP32', [
    [
      [0, 0.5],
      [1, 16],
    ],
  ]);
  assert.deepEqual(fp32.shape, [1, 2, 2]);
  assert.ok(fp32.data instanceof Float32Array);
  assert.deepEqual(Array.from(fp32.data), [0, 0.5, 1, 16]);
  const int64 = tensorFromNested('ids', 'INT64', [1, -2]);
  assert.deepEqual(Array.from(int64.data as BigInt64Array), [1n, -2n]);
  assert.deepEqual(tensorFromNested('w', 'BYTES', ['a', 'b']).data, ['a', 'b']);
  assert.deepEqual(tensorFromNested('b', 'BOOL', [true, 0]).data, [true, false]);
  assert.throws(() => tensorFromNested('x', 'INT8', [1, 200]), invalid(/element 1 = 200 is out of range for INT8/));
  assert.throws(() => tensorFromNested('x', 'INT32', [1.5]), invalid(/not an integer/));
  assert.throws(() => tensorFromNested('x', 'FP32', ['1']), invalid(/element 0 is "1", expected a number for FP32/));
  assert.throws(() => tensorFromNested('x', 'FP16', [1]), invalid(/float16 \.npy/));
});

test('castTensorData converts between numeric datatypes and leaves matching data alone', () => {
  const f64 = Float64Array.of(1, 2.5);
  const f32 = castTensorData(f64, 'FP64', 'FP32', 'x');
  assert.ok(f32 instanceof Float32Array);
  assert.deepEqual(Array.from(f32), [1, 2.5]);
  assert.equal(castTensorData(f64, 'FP64', 'FP64', 'x'), f64);
  assert.deepEqual(Array.from(castTensorData(BigInt64Array.of(3n), 'INT64', 'INT32', 'x') as Int32Array), [3]);
  assert.deepEqual(Array.from(castTensorData(Int32Array.of(3), 'INT32', 'UINT64', 'x') as BigUint64Array), [3n]);
  assert.throws(() => castTensorData(Int32Array.of(-1), 'INT32', 'UINT64', 'x'), invalid(/out of range for UINT64/));
  assert.throws(() => castTensorData(Uint16Array.of(1), 'FP16', 'FP32', 'x'), invalid(/half-precision/));
});

test('inputTensorData checks datatype, TypedArray kind and element count, and encodes text as UTF-8', () => {
  const data = Float32Array.of(1, 2);
  assert.equal(inputTensorData({ name: 'x', datatype: 'FP32', shape: [2], data }), data, 'numeric data is passed on without a copy');
  assert.throws(() => inputTensorData({ name: 'x', datatype: 'FP32', shape: [2], data: Float64Array.of(1, 2) }), invalid(/input 'x': FP32 data must be a Float32Array, got Float64Array/));
  assert.throws(() => inputTensorData({ name: 'x', datatype: 'FP32', shape: [3], data }), invalid(/shape \[3\] needs 3 elements, the data holds 2/));
  assert.throws(() => inputTensorData({ name: 'x', datatype: 'FLOAT' as 'FP32', shape: [2], data }), invalid(/unknown datatype 'FLOAT'/));
  assert.throws(() => inputTensorData({ name: '', datatype: 'FP32', shape: [2], data }), invalid(/no name/));
  assert.throws(() => inputTensorData({ name: 'x', datatype: 'FP32', shape: [-1], data }), invalid(/integers >= 0/));
  const bytes = inputTensorData({ name: 's', datatype: 'BYTES', shape: [2], data: ['héllo', ''] }) as Uint8Array[];
  assert.deepEqual(
    bytes.map((b) => b.byteLength),
    [6, 0],
  );
  assert.deepEqual(bytesToStrings(bytes), ['héllo', '']);
  assert.deepEqual(Array.from(inputTensorData({ name: 'b', datatype: 'BOOL', shape: [2], data: [true, false] }) as Uint8Array), [1, 0]);
  assert.throws(() => inputTensorData({ name: 's', datatype: 'BYTES', shape: [1], data: Float32Array.of(1) }), invalid(/BYTES data must be a string\[\] or Uint8Array\[\]/));
});
