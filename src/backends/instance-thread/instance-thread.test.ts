import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { EchoProtocol, EchoWorkerData } from '../../../test/fixtures/instance-echo-worker.js';
import { pooledByteCount } from '../../tensors/buffer-pool.js';
import { markExclusive } from '../../tensors/exclusive-buffers.js';
import type { Tensor } from '../../tensors/tensor.js';
import { InstanceThread, type InstanceThreadErrors } from './index.js';

/** A real worker script (test/fixtures/instance-echo-worker.ts) served by the real `serveInstance`. */
const ECHO_WORKER = new URL('../../../test/fixtures/instance-echo-worker.js', import.meta.url);

/** 16384 FP32 = 64 KiB: large enough for the buffer pool. */
const WIDTH = 16384;

/** Every error says which hook made it, so a test can tell them apart. */
const errors: InstanceThreadErrors<EchoProtocol> = {
  loadCrashed: (error) => new Error(`load crashed: ${error.message}`),
  loadExited: (code) => new Error(`load exited: ${code}`),
  loadRefused: (reason) => new Error(`load refused: ${reason}`),
  crashed: (error) => new Error(`crashed: ${error.message}`),
  exited: (code) => (code === 0 ? undefined : new Error(`exited: ${code}`)),
  runFailed: (message) => new Error(`run failed: ${message}`),
};

function start(data: EchoWorkerData): Promise<InstanceThread<EchoProtocol>> {
  return InstanceThread.start(ECHO_WORKER, data, errors);
}

function row(value: number, data = new Float32Array(WIDTH)): Tensor {
  data.fill(value);
  return { name: 'INPUT0', datatype: 'FP32', shape: [1, data.length], data };
}

test('the start handshake resolves with what the worker loaded, or fails with the error for how it failed', async () => {
  const thread = await start({ load: 'ok' });
  assert.deepEqual(thread.loaded, { threadLabel: 'echo' });
  assert.equal(thread.failure, undefined);
  await thread.terminate();
  await assert.rejects(start({ load: 'refuse' }), { message: 'load refused: echo worker refused to load' });
  await assert.rejects(start({ load: 'crash' }), { message: 'load crashed: echo worker crashed while loading' });
  await assert.rejects(start({ load: 'exit' }), { message: 'load exited: 5' });
});

test('a run moves its input buffers to the worker without copies, and the answer comes back with its timing', async (t) => {
  const thread = await start({ load: 'ok' });
  t.after(() => thread.terminate());
  const own = new Float32Array(WIDTH);
  const bodyBuffer = new ArrayBuffer(64 + WIDTH * 4);
  markExclusive(bodyBuffer);
  const inBody = new Float32Array(bodyBuffer, 64, WIDTH);
  const shared = new ArrayBuffer(64 + WIDTH * 4);
  const inShared = new Float32Array(shared, 64, WIDTH);

  const pooledBefore = pooledByteCount();
  const answer = thread.execute([[row(1, own)], [row(2, inBody)], [row(3, inShared)]], ['echo']);
  assert.equal(own.buffer.byteLength, 0, 'a whole buffer moved to the worker');
  assert.equal(bodyBuffer.byteLength, 0, 'an exclusive body moved to the worker');
  assert.equal(shared.byteLength, 64 + WIDTH * 4, 'a view into a shared buffer was copied, the buffer stays');
  const result = await answer;
  assert.deepEqual([result.timing.computeInputNs, result.timing.computeInferNs], [1, 2]);
  assert.ok(result.timing.computeOutputNs >= 0);
  assert.equal(result.outputs.length, 1);
  const output = result.outputs[0]!;
  assert.equal(output.name, 'echo');
  assert.deepEqual(output.shape, [3, WIDTH]);
  const values = output.data as Float32Array;
  assert.deepEqual([values[0], values[WIDTH], values[2 * WIDTH], values.length], [1, 2, 3, 3 * WIDTH]);
  // The batch was joined into a new buffer: the worker sent the three input buffers back for reuse.
  assert.equal(pooledByteCount() - pooledBefore, 2 * WIDTH * 4 + 64 + WIDTH * 4);

  // One request alone is answered in its own buffer (it leaves as the output, so nothing comes back).
  const single = new Float32Array(WIDTH);
  const alone = await thread.execute([[row(5, single)]], ['echo']);
  assert.equal(single.buffer.byteLength, 0);
  assert.deepEqual([(alone.outputs[0]!.data as Float32Array)[WIDTH - 1]], [5]);
});

test("a run that throws fails only its own call with the backend's error; the thread serves on", async (t) => {
  const thread = await start({ load: 'ok' });
  t.after(() => thread.terminate());
  await assert.rejects(thread.execute([[row(1)]], ['refuse']), { message: 'run failed: echo worker refused the run' });
  assert.equal(thread.failure, undefined);
  const next = await thread.execute([[row(2)]], ['echo']);
  assert.equal((next.outputs[0]!.data as Float32Array)[0], 2);
});

test('a worker that crashes mid-call fails the call, and every later one, with the crash error', async (t) => {
  const thread = await start({ load: 'ok' });
  t.after(() => thread.terminate());
  await assert.rejects(thread.execute([[row(1)]], ['crash']), { message: 'crashed: echo worker crashed on purpose' });
  assert.equal(thread.failure?.message, 'crashed: echo worker crashed on purpose');
  await assert.rejects(thread.execute([[row(2)]], ['echo']), { message: 'crashed: echo worker crashed on purpose' });
});

test('a worker that exits mid-call fails the call with its exit code', async (t) => {
  const thread = await start({ load: 'ok' });
  t.after(() => thread.terminate());
  await assert.rejects(thread.execute([[row(1)]], ['exit']), { message: 'exited: 3' });
  await assert.rejects(thread.execute([[row(2)]], ['echo']), { message: 'exited: 3' });
});

test('whenIdle waits for the runs in flight; terminate with a reason fails the calls in flight with it', async (t) => {
  const thread = await start({ load: 'ok' });
  t.after(() => thread.terminate());
  await thread.whenIdle();
  // The run takes 200 ms in the worker: the thread cannot be idle 100 ms after it was sent.
  const slow = thread.execute([[row(1)]], ['slow']);
  const idle = thread.whenIdle().then(() => 'idle');
  const early = await Promise.race([idle, new Promise((resolve) => setTimeout(() => resolve('still running'), 100))]);
  assert.equal(early, 'still running');
  assert.equal(await idle, 'idle');
  assert.equal(((await slow).outputs[0]!.data as Float32Array)[0], 1);

  const reason = new Error('ended by the test');
  const stuck = assert.rejects(thread.execute([[row(2)]], ['slow']), reason);
  const idleAfterTermination = thread.whenIdle();
  await thread.terminate(reason);
  await stuck;
  await idleAfterTermination;
  assert.equal(thread.failure, reason);
  await assert.rejects(thread.execute([[row(3)]], ['echo']), reason);
});

test("release resolves with the worker's answer, or with undefined when the worker exits instead", async (t) => {
  const thread = await start({ load: 'ok' });
  t.after(() => thread.terminate());
  assert.equal(await thread.askRelease(), 'released on request');
  await thread.terminate();

  const exiting = await start({ load: 'ok', exitOnRelease: true });
  assert.equal(await exiting.askRelease(), undefined);
  assert.equal(exiting.failure, undefined, 'an exit with code 0 is no failure for this backend');
  await exiting.terminate();
});
