import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type * as grpc from '@grpc/grpc-js';
import { CranberriesError } from '../../core/errors.js';
import { serviceDefinition, tfServingPackageDefinition } from '../grpc/proto-loader.js';
import { DecodeBudget } from '../../tensors/tensor-limits.js';
import { decodeTensorProto, encodeTensorProto } from './tensor-proto-codec.js';
import type { WirePredictRequest, WireTensorProto } from './tfs-messages.js';

const shape = (...dims: number[]): WireTensorProto['tensor_shape'] => ({ dim: dims.map((size) => ({ size: String(size), name: '' })), unknown_rank: false });

/** Sends `proto` through real protobuf encoding and the server's decoding options, as a client's Predict would. */
function overTheWire(proto: object): WireTensorProto {
  const predict = serviceDefinition(tfServingPackageDefinition(), 'tensorflow.serving.PredictionService')['Predict'] as grpc.MethodDefinition<object, object>;
  const bytes = predict.requestSerialize({ model_spec: { name: 'm' }, inputs: { x: proto } });
  return (predict.requestDeserialize(bytes) as WirePredictRequest).inputs!['x']!;
}

/** BYTES elements as plain byte lists (decoded elements may be Buffers viewing the message). */
function elements(data: unknown): number[][] {
  return (data as Uint8Array[]).map((element) => [...element]);
}

function invalid(pattern: RegExp): (error: unknown) => boolean {
  return (error) => error instanceof CranberriesError && error.code === 'INVALID_ARGUMENT' && pattern.test(error.message);
}

describe('decodeTensorProto', () => {
  test('tensor_content: raw little-endian bytes of any numeric dtype', () => {
    const values = new Float32Array([1.5, -2, 3.25, 4, 5, 6]);
    const tensor = decodeTensorProto(overTheWire({ dtype: 'DT_FLOAT', tensor_shape: shape(2, 3), tensor_content: Buffer.from(values.buffer) }), 'x');
    assert.equal(tensor.datatype, 'FP32');
    assert.deepEqual(tensor.shape, [2, 3]);
    assert.deepEqual(tensor.data, values);

    const ints = new BigInt64Array([-(2n ** 62n), 7n]);
    const int64 = decodeTensorProto(overTheWire({ dtype: 'DT_INT64', tensor_shape: shape(2), tensor_content: Buffer.from(ints.buffer) }), 'x');
    assert.deepEqual(int64.data, ints);
  });

  test('tensor_content with the wrong byte count is refused', () => {
    assert.throws(() => decodeTensorProto(overTheWire({ dtype: 'DT_FLOAT', tensor_shape: shape(3), tensor_content: Buffer.alloc(8) }), 'x'), invalid(/input 'x'.*needs 12 bytes, got 8/));
  });

  test('typed lists of every kind, 64-bit values exactly', () => {
    const cases: [object, string, unknown][] = [
      [{ dtype: 'DT_FLOAT', float_val: [1.5, 2.5] }, 'FP32', new Float32Array([1.5, 2.5])],
      [{ dtype: 'DT_DOUBLE', double_val: [Math.PI, -1e-300] }, 'FP64', new Float64Array([Math.PI, -1e-300])],
      [{ dtype: 'DT_INT32', int_val: [-2147483648, 2147483647] }, 'INT32', new Int32Array([-2147483648, 2147483647])],
      [{ dtype: 'DT_INT8', int_val: [-128, 127] }, 'INT8', new Int8Array([-128, 127])],
      [{ dtype: 'DT_UINT8', int_val: [0, 255] }, 'UINT8', new Uint8Array([0, 255])],
      [{ dtype: 'DT_UINT16', int_val: [0, 65535] }, 'UINT16', new Uint16Array([0, 65535])],
      [{ dtype: 'DT_INT64', int64_val: ['-9223372036854775808', '9223372036854775807'] }, 'INT64', new BigInt64Array([-(2n ** 63n), 2n ** 63n - 1n])],
      [{ dtype: 'DT_UINT64', uint64_val: ['18446744073709551615', '1'] }, 'UINT64', new BigUint64Array([2n ** 64n - 1n, 1n])],
      [{ dtype: 'DT_UINT32', uint32_val: [4294967295, 0] }, 'UINT32', new Uint32Array([4294967295, 0])],
      [{ dtype: 'DT_BOOL', bool_val: [true, false] }, 'BOOL', new Uint8Array([1, 0])],
      [{ dtype: 'DT_HALF', half_val: [0x3c00, 0xc000] }, 'FP16', new Uint16Array([0x3c00, 0xc000])],
    ];
    for (const [proto, datatype, expected] of cases) {
      const tensor = decodeTensorProto(overTheWire({ ...proto, tensor_shape: shape(2) }), 'x');
      assert.equal(tensor.datatype, datatype);
      assert.deepEqual(tensor.data, expected, datatype);
    }
  });

  test('strings from string_val and from TF packed tensor_content (varint lengths, then bytes)', () => {
    const fromVal = decodeTensorProto(overTheWire({ dtype: 'DT_STRING', tensor_shape: shape(2), string_val: [Buffer.from('héllo'), Buffer.from([0, 255])] }), 'x');
    assert.deepEqual(elements(fromVal.data), [[...Buffer.from('héllo')], [0, 255]]);
    const long = Buffer.alloc(200, 0x61);
    const packed = Buffer.concat([Buffer.from([2, 0xc8, 0x01]), Buffer.from('ab'), long]);
    const fromContent = decodeTensorProto(overTheWire({ dtype: 'DT_STRING', tensor_shape: shape(2), tensor_content: packed }), 'x');
    assert.deepEqual(elements(fromContent.data), [[0x61, 0x62], [...long]]);
    assert.throws(() => decodeTensorProto({ dtype: 'DT_STRING', tensor_shape: shape(2), tensor_content: Buffer.from([2, 5, 0x61]) }, 'x'), invalid(/shorter/));
  });

  test('a short list repeats its last value, an empty one means zeros, surplus is ignored', () => {
    assert.deepEqual(decodeTensorProto(overTheWire({ dtype: 'DT_FLOAT', tensor_shape: shape(2, 2), float_val: [7] }), 'x').data, new Float32Array([7, 7, 7, 7]));
    assert.deepEqual(decodeTensorProto(overTheWire({ dtype: 'DT_INT32', tensor_shape: shape(4), int_val: [1, 2] }), 'x').data, new Int32Array([1, 2, 2, 2]));
    assert.deepEqual(decodeTensorProto(overTheWire({ dtype: 'DT_INT64', tensor_shape: shape(3), int64_val: ['5'] }), 'x').data, new BigInt64Array([5n, 5n, 5n]));
    assert.deepEqual(decodeTensorProto(overTheWire({ dtype: 'DT_BOOL', tensor_shape: shape(3), bool_val: [true] }), 'x').data, new Uint8Array([1, 1, 1]));
    assert.deepEqual(elements(decodeTensorProto(overTheWire({ dtype: 'DT_STRING', tensor_shape: shape(2), string_val: [Buffer.from('a')] }), 'x').data), [[0x61], [0x61]]);
    assert.deepEqual(elements(decodeTensorProto(overTheWire({ dtype: 'DT_STRING', tensor_shape: shape(2) }), 'x').data), [[], []]);
    assert.deepEqual(decodeTensorProto(overTheWire({ dtype: 'DT_DOUBLE', tensor_shape: shape(2) }), 'x').data, new Float64Array([0, 0]));
    assert.deepEqual(decodeTensorProto(overTheWire({ dtype: 'DT_FLOAT', tensor_shape: shape(2), float_val: [1, 2, 3] }), 'x').data, new Float32Array([1, 2]));
  });

  test('a missing shape is a scalar', () => {
    const tensor = decodeTensorProto(overTheWire({ dtype: 'DT_FLOAT', float_val: [4] }), 'x');
    assert.deepEqual(tensor.shape, []);
    assert.deepEqual(tensor.data, new Float32Array([4]));
  });

  test('bad input is refused with the tensor named', () => {
    assert.throws(() => decodeTensorProto({ dtype: 'DT_FLOAT', tensor_shape: shape(2), int_val: [1, 2] }, 'x'), invalid(/input 'x'.*DT_FLOAT.*float_val.*not in int_val/));
    assert.throws(() => decodeTensorProto({ dtype: 'DT_INT8', tensor_shape: shape(1), int_val: [200] }, 'x'), invalid(/int_val\[0\] = 200 is out of range for DT_INT8/));
    assert.throws(() => decodeTensorProto({ dtype: 'DT_UINT64', tensor_shape: shape(1), uint64_val: ['-1'] }, 'x'), invalid(/out of range for DT_UINT64/));
    assert.throws(() => decodeTensorProto({ dtype: 'DT_FLOAT', tensor_shape: { dim: [{ size: '-1' }] } }, 'x'), invalid(/dim\[0\]\.size is -1/));
    assert.throws(() => decodeTensorProto({ dtype: 'DT_FLOAT', tensor_shape: { unknown_rank: true } }, 'x'), invalid(/unknown_rank/));
    assert.throws(() => decodeTensorProto({ tensor_shape: shape(1) }, 'x'), invalid(/DT_INVALID/));
  });
});

describe('encodeTensorProto', () => {
  const tensors = [
    { name: 'f', datatype: 'FP32' as const, shape: [2, 2], data: new Float32Array([1, 2.5, -3, 0.1]), field: 'float_val', values: [1, 2.5, -3, Math.fround(0.1)] },
    { name: 'd', datatype: 'FP64' as const, shape: [2], data: new Float64Array([0.1, -1e300]), field: 'double_val', values: [0.1, -1e300] },
    { name: 'i32', datatype: 'INT32' as const, shape: [2], data: new Int32Array([-2147483648, 7]), field: 'int_val', values: [-2147483648, 7] },
    { name: 'u8', datatype: 'UINT8' as const, shape: [2], data: new Uint8Array([0, 255]), field: 'int_val', values: [0, 255] },
    { name: 'i8', datatype: 'INT8' as const, shape: [1], data: new Int8Array([-128]), field: 'int_val', values: [-128] },
    { name: 'i64', datatype: 'INT64' as const, shape: [], data: new BigInt64Array([-(2n ** 63n)]), field: 'int64_val', values: ['-9223372036854775808'] },
    { name: 'u64', datatype: 'UINT64' as const, shape: [1], data: new BigUint64Array([2n ** 64n - 1n]), field: 'uint64_val', values: ['18446744073709551615'] },
    { name: 'u32', datatype: 'UINT32' as const, shape: [1], data: new Uint32Array([4294967295]), field: 'uint32_val', values: [4294967295] },
    { name: 'b', datatype: 'BOOL' as const, shape: [3], data: new Uint8Array([1, 0, 1]), field: 'bool_val', values: [true, false, true] },
    { name: 'h', datatype: 'FP16' as const, shape: [2], data: new Uint16Array([0x3c00, 0xc000]), field: 'half_val', values: [0x3c00, 0xc000] },
  ];

  test('by default every numeric dtype goes out in its typed list, one entry per element, as TF Serving writes it', () => {
    for (const { field, values, ...tensor } of tensors) {
      const encoded = encodeTensorProto(tensor);
      assert.equal(encoded.tensor_content, undefined, tensor.datatype);
      assert.deepEqual(encoded[field as keyof WireTensorProto], values, tensor.datatype);
      assert.deepEqual(decodeTensorProto(overTheWire(encoded), tensor.name), tensor, tensor.datatype);
    }
  });

  test('tensor_content on request: raw bytes for numbers, no typed list; decodes back identically', () => {
    for (const { field, values: _values, ...tensor } of tensors) {
      const encoded = encodeTensorProto(tensor, 'tensor_content');
      assert.equal(encoded.tensor_content?.byteLength, (tensor.data as ArrayLike<unknown> & { byteLength: number }).byteLength, tensor.datatype);
      assert.equal(encoded[field as keyof WireTensorProto], undefined, tensor.datatype);
      assert.deepEqual(decodeTensorProto(overTheWire(encoded), tensor.name), tensor, tensor.datatype);
    }
  });

  test('strings always go out as string_val', () => {
    const strings = { name: 's', datatype: 'BYTES' as const, shape: [2], data: [new Uint8Array([1, 2]), new Uint8Array(0)] };
    for (const serialization of ['proto_field', 'tensor_content'] as const) {
      const encoded = encodeTensorProto(strings, serialization);
      assert.equal(encoded.dtype, 'DT_STRING');
      assert.equal(encoded.tensor_content, undefined);
      assert.deepEqual(elements(decodeTensorProto(overTheWire(encoded), 's').data), [[1, 2], []]);
    }
  });
});

describe('bounds before allocation', () => {
  const isInvalid = (pattern: RegExp) => (error: unknown) => error instanceof CranberriesError && error.code === 'INVALID_ARGUMENT' && pattern.test(error.message);

  test('a one-value list is expanded only within the request budget, which adds up over inputs', () => {
    const budget = new DecodeBudget(1000);
    const proto = { dtype: 'DT_FLOAT', tensor_shape: shape(10, 20), float_val: [2] };
    assert.deepEqual([...(decodeTensorProto(proto, 'a', { budget }).data as Float32Array).slice(0, 3)], [2, 2, 2]);
    // 800 bytes taken, 200 left: a second tensor of the same size is refused.
    assert.throws(() => decodeTensorProto(proto, 'b', { budget }), isInvalid(/200 elements of FP32 would take 800 bytes.*200 bytes left/));
  });

  test('an explicit list is not charged (the message already bounds it)', () => {
    const budget = new DecodeBudget(4);
    assert.equal(decodeTensorProto({ dtype: 'DT_FLOAT', tensor_shape: shape(3), float_val: [1, 2, 3] }, 'a', { budget }).data.length, 3);
  });

  test('DT_STRING: the repeated element counts once per element', () => {
    const budget = new DecodeBudget(1000);
    const proto = { dtype: 'DT_STRING', tensor_shape: shape(100), string_val: [Buffer.alloc(10)] };
    assert.throws(() => decodeTensorProto(proto, 's', { budget }), isInvalid(/100 elements of BYTES would take 1400 bytes/));
  });

  test('dtype and shape must fit the signature before anything is decoded', () => {
    const signature = { name: 'x', datatype: 'FP32' as const, shape: [-1, 4] };
    assert.throws(() => decodeTensorProto({ dtype: 'DT_FLOAT', tensor_shape: shape(1000, 1000, 1000), float_val: [1] }, 'x', { signature }), isInvalid(/does not match the signature's \[-1,4\]/));
    assert.throws(() => decodeTensorProto({ dtype: 'DT_DOUBLE', tensor_shape: shape(1, 4), double_val: [1] }, 'x', { signature }), isInvalid(/DT_DOUBLE does not match the signature's DT_FLOAT/));
    assert.equal(decodeTensorProto({ dtype: 'DT_FLOAT', tensor_shape: shape(2, 4), float_val: [1] }, 'x', { signature }).data.length, 8);
  });

  test('rank, overflowing products and packed string counts are refused up front', () => {
    assert.throws(() => decodeTensorProto({ dtype: 'DT_FLOAT', tensor_shape: shape(...new Array<number>(65).fill(1)) }, 'x'), isInvalid(/65 dimensions; at most 64/));
    assert.throws(() => decodeTensorProto({ dtype: 'DT_FLOAT', tensor_shape: shape(2 ** 30, 2 ** 30, 2 ** 30), float_val: [1] }, 'x'), isInvalid(/more than 2\^53 elements/));
    assert.throws(() => decodeTensorProto({ dtype: 'DT_STRING', tensor_shape: shape(1e12), tensor_content: Buffer.from([1, 0x61]) }, 'x'), isInvalid(/cannot hold 1000000000000 elements/));
  });
});
