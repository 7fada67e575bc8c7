import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { identityModel } from '../../../test/fixtures/onnx-models.js';
import { pooledByteCount, takeBuffer } from '../../tensors/buffer-pool.js';
import { markExclusive } from '../../tensors/exclusive-buffers.js';
import type { Tensor } from '../../tensors/tensor.js';
import { SessionThread } from './session-thread.js';

/** 16384 FP32 = 64 KiB per row: large enough for the buffer pool. */
const WIDTH = 16384;

function row(value: number, body?: ArrayBuffer, byteOffset = 0): Tensor {
  const data = body ? new Float32Array(body, byteOffset, WIDTH) : new Float32Array(WIDTH);
  data.fill(value);
  return { name: 'INPUT0', datatype: 'FP32', shape: [1, WIDTH], data };
}

test('a session thread joins a batch, answers rows in request order, and sends large input buffers back for reuse', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'cranberries-session-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const modelPath = join(dir, 'model.onnx');
  await writeFile(modelPath, identityModel({ datatype: 'FP32', dims: [WIDTH], batching: true }));
  const thread = await SessionThread.start({ modelPath, intraOpThreads: 1, graphOptimizationLevel: 'basic', warmup: false }, 'identity');
  t.after(() => thread.release());

  // Compute threads (the worker and ONNX Runtime's pool) run at a lower priority than the main thread.
  if (process.platform === 'linux') {
    const tasks = await readdir(`/proc/${process.pid}/task`);
    const niceness = await Promise.all(tasks.map(async (tid) => Number((await readFile(`/proc/${process.pid}/task/${tid}/stat`, 'utf8')).split(') ')[1]!.split(' ')[16])));
    assert.equal(niceness[tasks.indexOf(String(process.pid))], 0, 'the main thread keeps its priority');
    assert.ok(
      niceness.some((n) => n === 5),
      `a compute thread runs at niceness 5 (saw ${niceness.join(',')})`,
    );
  }

  // Request 1 is a view into an exclusive "body" (64 bytes of JSON header first); request 2 owns its array.
  const bodyBytes = 64 + WIDTH * 4;
  const body = new ArrayBuffer(bodyBytes);
  markExclusive(body);
  const pooledBefore = pooledByteCount();
  const first = await thread.execute([[row(1, body, 64)], [row(2)], [row(3)]], ['OUTPUT0']);
  const output = first.outputs[0]!;
  assert.deepEqual(output.shape, [3, WIDTH]);
  const values = output.data as Float32Array;
  assert.deepEqual([values[0], values[WIDTH], values[2 * WIDTH], values[3 * WIDTH - 1]], [1, 2, 3, 3]);
  assert.equal(body.byteLength, 0, 'the body moved to the worker instead of being copied');
  assert.equal(pooledByteCount() - pooledBefore, bodyBytes + 2 * WIDTH * 4, 'the three input buffers came back to the pool');

  // Reused buffers must never leak into answers: scribble over everything the pool hands out.
  for (let i = 0; i < 3; i++) new Uint8Array(takeBuffer(WIDTH * 4)).fill(0xff);
  assert.deepEqual([values[0], values[WIDTH], values[2 * WIDTH]], [1, 2, 3]);

  // A smaller batch after a larger one is joined into the same worker buffer: still its own rows.
  const second = await thread.execute([[row(7)], [row(8)]], ['OUTPUT0']);
  const again = second.outputs[0]!.data as Float32Array;
  assert.deepEqual(second.outputs[0]!.shape, [2, WIDTH]);
  assert.deepEqual([again[0], again[WIDTH], again.length], [7, 8, 2 * WIDTH]);
  assert.deepEqual([values[0], values[WIDTH], values[2 * WIDTH]], [1, 2, 3], 'an earlier answer is untouched by a later batch');

  // One request alone runs on its own buffer; an identity answer never aliases a recycled one.
  const single = await thread.execute([[row(5)]], ['OUTPUT0']);
  const alone = single.outputs[0]!.data as Float32Array;
  for (let i = 0; i < 3; i++) new Uint8Array(takeBuffer(WIDTH * 4)).fill(0xff);
  assert.deepEqual([alone[0], alone[WIDTH - 1]], [5, 5]);
});
