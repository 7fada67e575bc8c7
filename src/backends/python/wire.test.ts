import { test } from 'node:test';
import assert from 'node:assert/strict';
import { BodyBuilder, FrameReader, decodeTensor, encodeFrame } from './wire.js';
import type { Tensor } from '../../tensors/tensor.js';

function frameOf(header: Record<string, unknown>, tensors: Tensor[]): { bytes: Buffer; descriptors: unknown[] } {
  const body = new BodyBuilder();
  const descriptors = tensors.map((t) => body.add(t));
  return { bytes: Buffer.concat([encodeFrame({ ...header, tensors: descriptors }, body.length), ...body.parts]), descriptors };
}

test('frames split at every byte boundary come out whole, tensors 8-aligned and exact', () => {
  const tensors: Tensor[] = [
    { name: 'a', datatype: 'UINT8', shape: [3], data: new Uint8Array([1, 2, 3]) },
    { name: 'b', datatype: 'FP64', shape: [2], data: new Float64Array([0.5, -1e300]) },
    { name: 's', datatype: 'BYTES', shape: [3], data: [new Uint8Array([]), new Uint8Array([0, 255]), Buffer.from('ü')] },
    { name: 'c', datatype: 'INT64', shape: [1, 1], data: new BigInt64Array([-5n]) },
  ];
  const { bytes } = frameOf({ op: 'x' }, tensors);
  for (let split = 1; split < bytes.length; split += 3) {
    const frames: { header: Record<string, unknown>; body: Buffer }[] = [];
    const reader = new FrameReader((header, body) => frames.push({ header: header as Record<string, unknown>, body }));
    // Two frames back to back, cut at `split` and in odd-sized pieces after it.
    const stream = Buffer.concat([bytes, bytes]);
    reader.push(stream.subarray(0, split));
    for (let at = split; at < stream.length; at += 7) reader.push(stream.subarray(at, Math.min(stream.length, at + 7)));
    assert.equal(frames.length, 2, `split at ${split}`);
    for (const frame of frames) {
      const decoded = (frame.header['tensors'] as unknown[]).map((d) => decodeTensor(d, frame.body, 'test'));
      assert.deepEqual(
        decoded,
        tensors.map((t) => ({ ...t, data: Array.isArray(t.data) ? t.data.map((e) => Buffer.from(e)) : t.data })),
      );
      for (const d of frame.header['tensors'] as { offset: number }[]) assert.equal(d.offset % 8, 0);
    }
  }
});

test('descriptors that lie about their data are refused, never read out of bounds', () => {
  const body = Buffer.alloc(16);
  const base = { name: 'y', datatype: 'FP32', shape: [4], offset: 0, nbytes: 16 };
  assert.equal(decodeTensor(base, body, 'm/1').shape[0], 4);
  assert.throws(() => decodeTensor({ ...base, offset: 8 }, body, 'm/1'), /m\/1: output 'y' lies outside the message/);
  assert.throws(() => decodeTensor({ ...base, shape: [5] }, body, 'm/1'), /has 16 bytes for shape \[5\] of FP32/);
  assert.throws(() => decodeTensor({ ...base, shape: [-1] }, body, 'm/1'), /invalid shape/);
  assert.throws(() => decodeTensor({ ...base, datatype: 'FP8' }, body, 'm/1'), /malformed tensor descriptor/);
  const strings = Buffer.from([200, 0, 0, 0, 1, 2]);
  assert.throws(() => decodeTensor({ name: 's', datatype: 'BYTES', shape: [1], offset: 0, nbytes: 6 }, strings, 'm/1'), /element 0 overruns its data/);
  assert.throws(() => decodeTensor({ name: 's', datatype: 'BYTES', shape: [2], offset: 0, nbytes: 0 }, strings, 'm/1'), /fewer than 2 elements/);
});

test('a header longer than the limit is refused before it is buffered', () => {
  const reader = new FrameReader(() => assert.fail('no frame'));
  const prefix = Buffer.alloc(8);
  prefix.writeUInt32LE(0xffffffff, 0);
  assert.throws(() => reader.push(prefix), /header/);
});
