import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { CranberriesError } from '../core/errors.js';
import type { ExecutionResult, ModelInstance } from '../backends/backend.js';
import { concatRows } from '../tensors/concat-rows.js';
import type { Tensor } from '../tensors/tensor.js';
import { BatchingScheduler, NO_BATCHING, type BatchingOptions } from './batching-scheduler.js';
import type { ExecutionRecord, ScheduledResult } from './scheduler.js';

const TIMING = { computeInputNs: 1, computeInferNs: 2, computeOutputNs: 3 };

/**
 * A model instance whose executions finish only when the test says so. Its output `y` is the
 * input `x` times 10, so every caller can check it got exactly its own rows back.
 */
class FakeInstance implements ModelInstance {
  readonly calls: number[][] = [];
  private readonly pending: (() => void)[] = [];
  running = 0;
  maxRunning = 0;

  constructor(private readonly fail = false) {}

  execute(requests: readonly (readonly Tensor[])[], outputNames: readonly string[]): Promise<ExecutionResult> {
    const x = concatRows(requests.map((inputs) => inputs[0]!));
    this.calls.push([...(x.data as Float32Array)]);
    this.running++;
    this.maxRunning = Math.max(this.maxRunning, this.running);
    return new Promise((resolve, reject) => {
      this.pending.push(() => {
        this.running--;
        if (this.fail) {
          reject(new Error('boom'));
          return;
        }
        const data = (x.data as Float32Array).map((v) => v * 10);
        resolve({ outputs: [{ name: outputNames[0]!, datatype: 'FP32', shape: [...x.shape], data }], timing: TIMING });
      });
    });
  }

  get waiting(): number {
    return this.pending.length;
  }

  /** Finishes the oldest execution in flight. */
  finishOne(): void {
    const next = this.pending.shift();
    assert.ok(next, 'no execution is in flight');
    next();
  }
}

function options(overrides: Partial<BatchingOptions>): BatchingOptions {
  return { ...NO_BATCHING, maxBatchRows: 8, dynamic: true, ...overrides };
}

/** A request of `values.length` rows, each row `[v, v]`. */
function request(values: number[], extra: { timeoutUs?: number; signal?: AbortSignal; width?: number } = {}) {
  const width = extra.width ?? 2;
  const data = new Float32Array(values.flatMap((v) => Array<number>(width).fill(v)));
  return {
    inputs: [{ name: 'x', datatype: 'FP32' as const, shape: [values.length, width], data }],
    outputNames: ['y'],
    rows: values.length,
    timeoutUs: extra.timeoutUs,
    signal: extra.signal,
  };
}

const outputOf = (result: ScheduledResult): number[] => [...(result.outputs[0]!.data as Float32Array)];
const tick = (ms = 0): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Resolves to `'pending'` if the promise has not settled after a few turns of the event loop. */
async function state(promise: Promise<unknown>): Promise<'pending' | 'fulfilled' | 'rejected'> {
  let settled: 'pending' | 'fulfilled' | 'rejected' = 'pending';
  promise.then(
    () => (settled = 'fulfilled'),
    () => (settled = 'rejected'),
  );
  await tick();
  return settled;
}

async function rejection(promise: Promise<unknown>): Promise<CranberriesError> {
  try {
    await promise;
  } catch (error) {
    assert.ok(error instanceof CranberriesError, `expected a CranberriesError, got ${String(error)}`);
    return error;
  }
  assert.fail('the promise resolved');
}

describe('BatchingScheduler', () => {
  test('without dynamic batching each request runs alone, in order, one at a time per instance', async () => {
    const instance = new FakeInstance();
    const scheduler = new BatchingScheduler([instance], { ...NO_BATCHING, maxBatchRows: 8 });
    const results = [scheduler.submit(request([1])), scheduler.submit(request([2])), scheduler.submit(request([3]))];
    for (let i = 0; i < 3; i++) {
      await tick();
      assert.equal(instance.running, 1);
      instance.finishOne();
    }
    assert.deepEqual((await Promise.all(results)).map(outputOf), [
      [10, 10],
      [20, 20],
      [30, 30],
    ]);
    assert.deepEqual(instance.calls, [
      [1, 1],
      [2, 2],
      [3, 3],
    ]);
    assert.equal(instance.maxRunning, 1);
  });

  test('requests queued behind a busy instance share one execution and each gets its own rows back', async () => {
    const instance = new FakeInstance();
    const records: ExecutionRecord[] = [];
    const scheduler = new BatchingScheduler([instance], options({}), (r) => records.push(r));
    const first = scheduler.submit(request([1]));
    const rest = [scheduler.submit(request([2, 3])), scheduler.submit(request([4])), scheduler.submit(request([5, 6, 7]))];
    await tick();
    instance.finishOne();
    await tick();
    assert.deepEqual(instance.calls[1], [2, 2, 3, 3, 4, 4, 5, 5, 6, 6, 7, 7], 'rows joined in arrival order');
    instance.finishOne();
    assert.deepEqual(outputOf(await first), [10, 10]);
    const [a, b, c] = await Promise.all(rest);
    assert.deepEqual(outputOf(a!), [20, 20, 30, 30]);
    assert.deepEqual(outputOf(b!), [40, 40]);
    assert.deepEqual(outputOf(c!), [50, 50, 60, 60, 70, 70]);
    assert.deepEqual(a!.outputs[0]!.shape, [2, 2]);
    assert.equal(a!.batchRows, 6);
    assert.deepEqual(
      records.map((r) => [r.batchRows, r.requests]),
      [
        [1, 1],
        [6, 3],
      ],
    );
  });

  test('a batch never exceeds max_batch_size rows and never splits a request', async () => {
    const instance = new FakeInstance();
    const scheduler = new BatchingScheduler([instance], options({ maxBatchRows: 4 }));
    const all = [scheduler.submit(request([0])), scheduler.submit(request([1, 2, 3])), scheduler.submit(request([4, 5])), scheduler.submit(request([6, 7]))];
    for (let i = 0; i < 3; i++) {
      await tick();
      instance.finishOne();
    }
    await Promise.all(all);
    assert.deepEqual(
      instance.calls.map((c) => c.length / 2),
      [1, 3, 4],
    );
  });

  test('max_queue_delay holds a lone request for a fuller batch, then runs it', async () => {
    const instance = new FakeInstance();
    const scheduler = new BatchingScheduler([instance], options({ maxQueueDelayUs: 40_000 }));
    const first = scheduler.submit(request([1]));
    await tick(5);
    assert.equal(instance.calls.length, 0, 'still waiting for followers');
    const second = scheduler.submit(request([2]));
    for (let i = 0; i < 100 && instance.calls.length === 0; i++) await tick(5);
    assert.deepEqual(instance.calls, [[1, 1, 2, 2]]);
    instance.finishOne();
    assert.deepEqual(
      [outputOf(await first), outputOf(await second)],
      [
        [10, 10],
        [20, 20],
      ],
    );
  });

  test('a preferred batch size runs without waiting for the delay', async () => {
    const instance = new FakeInstance();
    const scheduler = new BatchingScheduler([instance], options({ preferredBatchRows: [2], maxQueueDelayUs: 10_000_000 }));
    const both = [scheduler.submit(request([1])), scheduler.submit(request([2]))];
    await tick();
    assert.deepEqual(instance.calls, [[1, 1, 2, 2]]);
    instance.finishOne();
    await Promise.all(both);
  });

  test('a full queue rejects at once with UNAVAILABLE while the instance is busy', async () => {
    const instance = new FakeInstance();
    const scheduler = new BatchingScheduler([instance], options({ maxQueueSize: 2 }));
    const running = scheduler.submit(request([1]));
    await tick();
    const queued = [scheduler.submit(request([2])), scheduler.submit(request([3]))];
    const error = await rejection(scheduler.submit(request([4])));
    assert.equal(error.code, 'UNAVAILABLE');
    assert.match(error.message, /max_queue_size/);
    assert.equal(scheduler.queueDepth, 2);
    instance.finishOne();
    await tick();
    instance.finishOne();
    await Promise.all([running, ...queued]);
    assert.equal(instance.calls.flat().includes(4), false, 'the rejected request never ran');
  });

  test('a request past its queue timeout is answered DEADLINE_EXCEEDED and never executed', async () => {
    const instance = new FakeInstance();
    const scheduler = new BatchingScheduler([instance], options({ defaultTimeoutUs: 20_000 }));
    const running = scheduler.submit(request([1]));
    await tick();
    const late = scheduler.submit(request([2]));
    const error = await rejection(late);
    assert.equal(error.code, 'DEADLINE_EXCEEDED');
    assert.equal(scheduler.queueDepth, 0);
    instance.finishOne();
    await running;
    await tick();
    assert.deepEqual(instance.calls, [[1, 1]], 'only the first request ever ran');
  });

  test('timeout override: only shorter than the default, and only when allowed', async () => {
    const instance = new FakeInstance();
    const allowed = new BatchingScheduler([instance], options({ defaultTimeoutUs: 10_000_000, allowTimeoutOverride: true }));
    const busy = allowed.submit(request([1]));
    await tick();
    assert.equal((await rejection(allowed.submit(request([2], { timeoutUs: 10_000 })))).code, 'DEADLINE_EXCEEDED');
    instance.finishOne();
    await busy;

    const other = new FakeInstance();
    const denied = new BatchingScheduler([other], options({ defaultTimeoutUs: 0, allowTimeoutOverride: false }));
    const busy2 = denied.submit(request([1]));
    await tick();
    const ignored = denied.submit(request([2], { timeoutUs: 1000 }));
    await tick(30);
    assert.equal(await state(ignored), 'pending', 'the override is ignored without allow_timeout_override');
    other.finishOne();
    await tick();
    other.finishOne();
    await Promise.all([busy2, ignored]);
  });

  test('timeout_action DELAY runs a timed-out request after those that have not timed out, instead of rejecting it', async () => {
    const instance = new FakeInstance();
    const scheduler = new BatchingScheduler([instance], { ...NO_BATCHING, maxBatchRows: 8, allowTimeoutOverride: true, timeoutAction: 'DELAY' });
    const running = scheduler.submit(request([1]));
    await tick();
    const timedOut = scheduler.submit(request([2], { timeoutUs: 1000 }));
    await tick(20);
    const patient = scheduler.submit(request([3]));
    for (let i = 0; i < 3; i++) {
      instance.finishOne();
      await tick();
    }
    assert.deepEqual(outputOf(await timedOut), [20, 20], 'the delayed request still runs');
    await Promise.all([running, patient]);
    assert.deepEqual(instance.calls, [
      [1, 1],
      [3, 3],
      [2, 2],
    ]);
  });

  test('preserve_ordering answers in arrival order although a later execution finishes first', async () => {
    const a = new FakeInstance();
    const b = new FakeInstance();
    const scheduler = new BatchingScheduler([a, b], { ...NO_BATCHING, maxBatchRows: 8, preserveOrdering: true });
    const order: number[] = [];
    const first = scheduler.submit(request([1])).then(() => order.push(1));
    const second = scheduler.submit(request([2])).then(() => order.push(2));
    await tick();
    assert.equal(a.waiting + b.waiting, 2, 'both instances execute');
    // The stack of idle instances hands out the last one first: b runs request 1, a runs request 2.
    a.finishOne();
    await tick();
    assert.deepEqual(order, [], 'request 2 is held until request 1 is answered');
    b.finishOne();
    await Promise.all([first, second]);
    assert.deepEqual(order, [1, 2]);
  });

  test('without preserve_ordering an answer leaves as soon as its execution finishes', async () => {
    const a = new FakeInstance();
    const b = new FakeInstance();
    const scheduler = new BatchingScheduler([a, b], { ...NO_BATCHING, maxBatchRows: 8 });
    const order: number[] = [];
    const first = scheduler.submit(request([1])).then(() => order.push(1));
    const second = scheduler.submit(request([2])).then(() => order.push(2));
    await tick();
    a.finishOne();
    await second;
    b.finishOne();
    await first;
    assert.deepEqual(order, [2, 1]);
  });

  test('two instances execute concurrently, never two executions on one instance', async () => {
    const a = new FakeInstance();
    const b = new FakeInstance();
    const scheduler = new BatchingScheduler([a, b], { ...NO_BATCHING, maxBatchRows: 8 });
    const all = [1, 2, 3, 4].map((v) => scheduler.submit(request([v])));
    await tick();
    assert.equal(a.running + b.running, 2);
    assert.equal(scheduler.queueDepth, 2);
    for (let i = 0; i < 2; i++) {
      a.finishOne();
      b.finishOne();
      await tick();
    }
    await Promise.all(all);
    assert.equal(a.maxRunning, 1);
    assert.equal(b.maxRunning, 1);
  });

  test('different non-batch shapes never share an execution', async () => {
    const instance = new FakeInstance();
    const scheduler = new BatchingScheduler([instance], options({}));
    const busy = scheduler.submit(request([0]));
    await tick();
    const narrow = scheduler.submit(request([1]));
    const wide = scheduler.submit(request([2], { width: 3 }));
    const narrow2 = scheduler.submit(request([3]));
    for (let i = 0; i < 4; i++) {
      instance.finishOne();
      await tick();
    }
    await Promise.all([busy, narrow, wide, narrow2]);
    assert.deepEqual(instance.calls, [
      [0, 0],
      [1, 1],
      [2, 2, 2],
      [3, 3],
    ]);
  });

  test('a cancelled request leaves the queue and never runs', async () => {
    const instance = new FakeInstance();
    const scheduler = new BatchingScheduler([instance], options({}));
    const busy = scheduler.submit(request([1]));
    await tick();
    const controller = new AbortController();
    const cancelled = scheduler.submit(request([2], { signal: controller.signal }));
    controller.abort();
    assert.equal((await rejection(cancelled)).code, 'CANCELLED');
    instance.finishOne();
    await busy;
    await tick();
    assert.deepEqual(instance.calls, [[1, 1]]);
  });

  test('a failed execution fails every request of its batch', async () => {
    const instance = new FakeInstance(true);
    const scheduler = new BatchingScheduler([instance], options({}));
    const first = scheduler.submit(request([1]));
    const batch = [scheduler.submit(request([2])), scheduler.submit(request([3]))];
    await tick();
    instance.finishOne();
    assert.equal((await rejection(first)).code, 'INTERNAL');
    await tick();
    instance.finishOne();
    for (const p of batch) assert.equal((await rejection(p)).code, 'INTERNAL');
  });

  test('drain lets queued and running requests finish and refuses new ones', async () => {
    const instance = new FakeInstance();
    const scheduler = new BatchingScheduler([instance], { ...NO_BATCHING, maxBatchRows: 8 });
    const all = [scheduler.submit(request([1])), scheduler.submit(request([2]))];
    await tick();
    let drained = false;
    const draining = scheduler.drain().then(() => (drained = true));
    assert.equal((await rejection(scheduler.submit(request([3])))).code, 'UNAVAILABLE');
    instance.finishOne();
    await tick();
    assert.equal(drained, false);
    instance.finishOne();
    await draining;
    await Promise.all(all);
    assert.deepEqual(instance.calls, [
      [1, 1],
      [2, 2],
    ]);
  });
});
