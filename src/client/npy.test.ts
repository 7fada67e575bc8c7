import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DATA_TYPES, arrayTypeOf } from '../tensors/data-type.js';
import { encodeNpy, parseNpy } from './npy.js';

/** A .npy file exactly as NumPy writes it: magic, version, header length, padded dict, data. */
function npyBytes(header: string, data: Uint8Array, major = 1): Uint8Array {
  const prefix = major === 1 ? 10 : 12;
  const padded = header + ' '.repeat((64 - ((prefix + header.length + 1) % 64)) % 64) + '\n';
  const out = new Uint8Array(prefix + padded.length + data.byteLength);
  out.set([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, major, 0]);
  const view = new DataView(out.buffer);
  if (major === 1) view.setUint16(8, padded.length, true);
  else view.setUint32(8, padded.length, true);
  out.set(new TextEncoder().encode(padded), prefix);
  out.set(data, prefix + padded.length);
  return out;
}

test('reads a float32 C-order array as NumPy writes it (version 1)', () => {
  const values = Float32Array.of(0, 1.5, -2, 3.25, 4, 5);
  const file = npyBytes("{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }", new Uint8Array(values.buffer));
  const npy = parseNpy(file);
  assert.equal(npy.datatype, 'FP32');
  assert.deepEqual(npy.shape, [2, 3]);
  assert.ok(npy.data instanceof Float32Array);
  assert.deepEqual(Array.from(npy.data as ArrayLike<number>), Array.from(values));
});

test('reads version 2 headers, bools, one-dimensional and scalar shapes', () => {
  const bools = parseNpy(npyBytes("{'descr': '|b1', 'fortran_order': False, 'shape': (3,), }", Uint8Array.of(1, 0, 1), 2));
  assert.equal(bools.datatype, 'BOOL');
  assert.deepEqual(bools.shape, [3]);
  assert.deepEqual(Array.from(bools.data as Uint8Array), [1, 0, 1]);
  const scalar = parseNpy(npyBytes("{'descr': '<i8', 'fortran_order': False, 'shape': (), }", new Uint8Array(BigInt64Array.of(-7n).buffer)));
  assert.equal(scalar.datatype, 'INT64');
  assert.deepEqual(scalar.shape, []);
  assert.deepEqual(Array.from(scalar.data as BigInt64Array), [-7n]);
});

test('copies data that is not aligned in the buffer it came in', () => {
  const file = npyBytes("{'descr': '<f8', 'fortran_order': False, 'shape': (2,), }", new Uint8Array(Float64Array.of(1.25, -3).buffer));
  const shifted = new Uint8Array(file.byteLength + 1);
  shifted.set(file, 1);
  assert.deepEqual(Array.from(parseNpy(shifted.subarray(1)).data as Float64Array), [1.25, -3]);
});

test('encodeNpy writes what parseNpy (and NumPy) read back, for every numeric datatype', () => {
  for (const datatype of DATA_TYPES) {
    if (datatype === 'BYTES' || datatype === 'BF16') continue;
    const ArrayType = arrayTypeOf(datatype);
    const data = new ArrayType(6);
    for (let i = 0; i < 6; i++) (data as unknown as (number | bigint)[])[i] = datatype.endsWith('64') && datatype !== 'FP64' ? BigInt(i % 2) : i % 2;
    const file = encodeNpy(datatype, [2, 3], data);
    assert.equal((file[8]! + 256 * file[9]! + 10) % 64, 0, `${datatype}: data starts on a 64-byte boundary`);
    const back = parseNpy(file);
    assert.equal(back.datatype, datatype);
    assert.deepEqual(back.shape, [2, 3]);
    assert.deepEqual(Array.from(back.data as ArrayLike<unknown>), Array.from(data as ArrayLike<unknown>));
  }
});

test('refuses what it cannot read, saying why', () => {
  const f4 = new Uint8Array(Float32Array.of(1).buffer);
  assert.throws(() => parseNpy(new Uint8Array(20), 'x.npy'), /x\.npy: not a \.npy file/);
  assert.throws(() => parseNpy(npyBytes("{'descr': '>f4', 'fortran_order': False, 'shape': (1,), }", f4)), /big-endian/);
  assert.throws(() => parseNpy(npyBytes("{'descr': '<f4', 'fortran_order': True, 'shape': (1,), }", f4)), /Fortran/);
  assert.throws(() => parseNpy(npyBytes("{'descr': '<U5', 'fortran_order': False, 'shape': (1,), }", f4)), /dtype '<U5' is not supported/);
  assert.throws(() => parseNpy(npyBytes("{'descr': '<f4', 'fortran_order': False, 'shape': (2,), }", f4)), /needs 8 data bytes, the file has 4/);
  assert.throws(() => parseNpy(npyBytes("{'descr': [('a', '<f4')], 'fortran_order': False, 'shape': (1,), }", f4)), /structured/);
});
