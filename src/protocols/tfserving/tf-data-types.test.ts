import { test } from 'node:test';
import assert from 'node:assert/strict';
import { CranberriesError } from '../../core/errors.js';
import { DATA_TYPES } from '../../tensors/data-type.js';
import { dataTypeFromTf, tfDataTypeNumberOf, tfDataTypeOf, typedValFieldOf } from './tf-data-types.js';

void test('the dtype table maps TF names and numbers both ways (tensorflow/core/framework/types.proto)', () => {
  const expected = {
    FP32: ['DT_FLOAT', 1, 'float_val'],
    FP64: ['DT_DOUBLE', 2, 'double_val'],
    INT32: ['DT_INT32', 3, 'int_val'],
    UINT8: ['DT_UINT8', 4, 'int_val'],
    INT16: ['DT_INT16', 5, 'int_val'],
    INT8: ['DT_INT8', 6, 'int_val'],
    BYTES: ['DT_STRING', 7, 'string_val'],
    INT64: ['DT_INT64', 9, 'int64_val'],
    BOOL: ['DT_BOOL', 10, 'bool_val'],
    BF16: ['DT_BFLOAT16', 14, 'half_val'],
    UINT16: ['DT_UINT16', 17, 'int_val'],
    FP16: ['DT_HALF', 19, 'half_val'],
    UINT32: ['DT_UINT32', 22, 'uint32_val'],
    UINT64: ['DT_UINT64', 23, 'uint64_val'],
  } as const;
  assert.deepEqual(Object.keys(expected).sort(), [...DATA_TYPES].sort(), 'every OIP datatype has a TF dtype');
  for (const [datatype, [tf, number, field]] of Object.entries(expected) as [keyof typeof expected, (typeof expected)[keyof typeof expected]][]) {
    assert.equal(tfDataTypeOf(datatype), tf);
    assert.equal(tfDataTypeNumberOf(datatype), number);
    assert.equal(typedValFieldOf(datatype), field);
    assert.equal(dataTypeFromTf(tf, 'x'), datatype);
    assert.equal(dataTypeFromTf(number, 'x'), datatype);
  }
});

void test('unserved dtypes are UNIMPLEMENTED and DT_INVALID is INVALID_ARGUMENT, naming the tensor', () => {
  assert.throws(
    () => dataTypeFromTf('DT_COMPLEX64', "input 'z'"),
    (e: unknown) => e instanceof CranberriesError && e.code === 'UNIMPLEMENTED' && /input 'z'.*DT_COMPLEX64/.test(e.message),
  );
  assert.throws(
    () => dataTypeFromTf(8, "input 'z'"),
    (e: unknown) => e instanceof CranberriesError && e.code === 'UNIMPLEMENTED',
  );
  assert.throws(
    () => dataTypeFromTf('DT_INVALID', "input 'z'"),
    (e: unknown) => e instanceof CranberriesError && e.code === 'INVALID_ARGUMENT' && /DT_INVALID/.test(e.message),
  );
});
