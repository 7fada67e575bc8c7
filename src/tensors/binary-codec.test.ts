import { test } from 'node:test';
import assert from 'node:assert/strict';
import { CranberriesError } from '../core/errors.js';
import { binaryByteLength, decodeBinaryTensor, encodeBinaryTensor, parseBytesElements, serializeBytesElements } from './binary-codec.js';

const utf8 = (s: string): Uint8Array => new TextEncoder().encode(s);

test('numeric tensors round-trip and decode as views when aligned', () => {
  const source = new Float32Array([1.5, -2, 3.25, 4]);
  const bytes = encodeBinaryTensor(source);
  assert.equal(bytes.buffer, source.buffer, 'encoding is a view, not a copy');
  const decoded = decodeBinaryTensor('FP32', [2, 2], bytes, 'x');
  assert.ok(decoded instanceof Float32Array);
  assert.deepEqual(Array.from(decoded), [1.5, -2, 3.25, 4]);
  assert.equal(decoded.buffer, source.buffer);
});

test('unaligned input is copied into an aligned array', () => {
  const backing = new Uint8Array(9);
  new DataView(backing.buffer).setFloat64(1, 42.5, true);
  const decoded = decodeBinaryTensor('FP64', [1], backing.subarray(1), 'x');
  assert.deepEqual(Array.from(decoded as Float64Array), [42.5]);
});

test('INT64, UINT64, BOOL and FP16 keep their element types', () => {
  const int64 = decodeBinaryTensor('INT64', [2], encodeBinaryTensor(new BigInt64Array([-5n, 2n ** 62n])), 'x');
  assert.deepEqual(Array.from(int64 as BigInt64Array), [-5n, 2n ** 62n]);
  const uint64 = decodeBinaryTensor('UINT64', [1], encodeBinaryTensor(new BigUint64Array([2n ** 64n - 1n])), 'x');
  assert.deepEqual(Array.from(uint64 as BigUint64Array), [2n ** 64n - 1n]);
  const bool = decodeBinaryTensor('BOOL', [3], new Uint8Array([1, 0, 1]), 'x');
  assert.ok(bool instanceof Uint8Array);
  const half = decodeBinaryTensor('FP16', [1], new Uint8Array([0x00, 0x3c]), 'x');
  assert.deepEqual(Array.from(half as Uint16Array), [0x3c00]);
});

test('byte size that does not match the shape names the tensor', () => {
  assert.throws(
    () => decodeBinaryTensor('INT32', [2, 2], new Uint8Array(12), 'INPUT0'),
    (e: unknown) => e instanceof CranberriesError && e.code === 'INVALID_ARGUMENT' && /INPUT0.*16 bytes, got 12/.test(e.message),
  );
});

test('BYTES elements are length-prefixed little-endian', () => {
  const wire = serializeBytesElements([utf8('ab'), utf8(''), utf8('xyz')]);
  assert.deepEqual(Array.from(wire), [2, 0, 0, 0, 97, 98, 0, 0, 0, 0, 3, 0, 0, 0, 120, 121, 122]);
  assert.equal(binaryByteLength([utf8('ab'), utf8(''), utf8('xyz')]), wire.byteLength);
  const back = decodeBinaryTensor('BYTES', [3], wire, 'words') as Uint8Array[];
  assert.deepEqual(
    back.map((b) => new TextDecoder().decode(b)),
    ['ab', '', 'xyz'],
  );
});

test('malformed BYTES data is rejected', () => {
  assert.throws(() => parseBytesElements(new Uint8Array([5, 0, 0, 0, 1]), 'w'), /declares 5 bytes, only 1 remain/);
  assert.throws(() => parseBytesElements(new Uint8Array([5, 0]), 'w'), /truncated BYTES length prefix/);
  assert.throws(() => decodeBinaryTensor('BYTES', [2], serializeBytesElements([utf8('a')]), 'w'), /needs 2 BYTES elements, the data holds (at most )?1/);
  // A count the bytes cannot hold is refused before the element list is built.
  assert.throws(() => decodeBinaryTensor('BYTES', [1e15], new Uint8Array(8), 'w'), /needs 1000000000000000 BYTES elements, the data holds at most 2/);
});
