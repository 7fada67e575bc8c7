import { test } from 'node:test';
import { MessageChannel } from 'node:worker_threads';
import assert from 'node:assert/strict';
import { markExclusive } from '../../tensors/exclusive-buffers.js';
import type { Tensor } from '../../tensors/tensor.js';
import { transferableTensors } from './messages.js';

const tensor = (data: Float32Array): Tensor => ({ name: 'x', datatype: 'FP32', shape: [data.length], data });

test('a tensor viewing its whole buffer moves with it', () => {
  const data = new Float32Array([1, 2]);
  const { tensors, transfer } = transferableTensors([tensor(data)]);
  assert.equal(tensors[0]!.data, data);
  assert.deepEqual(transfer, [data.buffer]);
});

test('part of a shared buffer is copied; part of an exclusive body moves with the whole body', () => {
  const shared = new ArrayBuffer(64);
  const view = new Float32Array(shared, 16, 2);
  view.set([3, 4]);
  const copied = transferableTensors([tensor(view)]);
  assert.notEqual((copied.tensors[0]!.data as Float32Array).buffer, shared);
  assert.deepEqual([...(copied.tensors[0]!.data as Float32Array)], [3, 4]);
  assert.equal(copied.transfer.includes(shared), false);

  const body = new ArrayBuffer(64);
  markExclusive(body);
  const a = new Float32Array(body, 8, 2);
  const b = new Float32Array(body, 24, 4);
  const moved = transferableTensors([tensor(a), tensor(b)]);
  assert.equal(moved.tensors[0]!.data, a);
  assert.equal(moved.tensors[1]!.data, b);
  assert.deepEqual(moved.transfer, [body], 'the body is transferred once for both views');

  const kept = transferableTensors([tensor(a)], (buffer) => buffer === body);
  assert.notEqual((kept.tensors[0]!.data as Float32Array).buffer, body, 'a buffer to keep is never transferred');
});

test('a transferred exclusive body arrives with its views intact on the other side', async () => {
  const body = new ArrayBuffer(32);
  markExclusive(body);
  const view = new Float32Array(body, 12, 3);
  view.set([7, 8, 9]);
  const { tensors, transfer } = transferableTensors([tensor(view)]);
  const { port1, port2 } = new MessageChannel();
  const received = new Promise<Tensor[]>((resolve) => port2.once('message', resolve));
  port1.postMessage(tensors, transfer);
  const [arrived] = await received;
  assert.equal(body.byteLength, 0, 'the sender no longer holds the body');
  assert.deepEqual([...(arrived!.data as Float32Array)], [7, 8, 9]);
  port1.close();
  port2.close();
});
