import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { CranberriesError } from '../core/errors.js';
import type { ExecutionResult, ModelInstance } from '../backends/backend.js';
import type { Tensor } from '../tensors/tensor.js';
import { FakeClock } from '../../test/doubles/fake-clock.js';
import { BatchingScheduler, NO_BATCHING, type BatchingOptions } from './batching-scheduler.js';
import type { ScheduledResult } from './scheduler.js';

/** An instance whose executions end when the test says so; it answers its inputs, and records batch sizes. */
class HeldInstance implements ModelInstance {
  readonly batches: number[] = [];
  private readonly pending: (() => void)[] = [];
  hold = true;

  execute(requests: readonly (readonly Tensor[])[], outputNames: readonly string[]): Promise<ExecutionResult> {
    this.batches.push(requests.length);
    const rows = requests.map((inputs) => inputs[0]!);
    const result = (): ExecutionResult => ({
      outputs: [{ name: outputNames[0]!, datatype: 'FP32', shape: [rows.length, 1], data: Float32Array.from(rows.flatMap((t) => [...(t.data as Float32Array)])) }],
      timing: { computeInputNs: 0, computeInferNs: 0, computeOutputNs: 0 },
    });
    if (!this.hold) return Promise.resolve(result());
    return new Promise((resolve) => this.pending.push(() => resolve(result())));
  }

  finishOne(): void {
    this.pending.shift()?.();
  }
}

const options = (overrides: Partial<BatchingOptions>): BatchingOptions => ({ ...NO_BATCHING, maxBatchRows: 4, ...overrides });
const request = (value: number, timeoutUs?: number) => ({
  inputs: [{ name: 'x', datatype: 'FP32' as const, shape: [1, 1], data: Float32Array.from([value]) }],
  outputNames: ['y'],
  rows: 1,
  timeoutUs,
});
const settled = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

describe('BatchingScheduler on an injected clock (no real waiting)', () => {
  test('a queued request times out exactly when the clock passes its timeout, and never runs', async () => {
    const clock = new FakeClock();
    const instance = new HeldInstance();
    const scheduler = new BatchingScheduler([instance], options({ defaultTimeoutUs: 5000, allowTimeoutOverride: true }), undefined, clock);
    const first = scheduler.submit(request(1, 0));
    const seen: { outcome?: unknown } = {};
    const second = scheduler.submit(request(2)).then(
      (r) => (seen.outcome = r),
      (e: unknown) => (seen.outcome = e),
    );
    clock.advance(4);
    await settled();
    const outcomeNow = (): unknown => seen.outcome;
    assert.equal(outcomeNow(), undefined, 'not timed out before 5 ms');
    clock.advance(1);
    await second;
    const outcome = outcomeNow();
    assert.ok(outcome instanceof CranberriesError && outcome.code === 'DEADLINE_EXCEEDED', String(outcome));
    instance.finishOne();
    await first;
    assert.deepEqual(instance.batches, [1], 'the timed-out request never ran');
    await scheduler.drain();
  });

  test('dynamic batching waits max_queue_delay on the clock, and the queue time is measured on it', async () => {
    const clock = new FakeClock();
    const instance = new HeldInstance();
    instance.hold = false;
    const scheduler = new BatchingScheduler([instance], options({ dynamic: true, maxQueueDelayUs: 10_000 }), undefined, clock);
    let result: ScheduledResult | undefined;
    const done = scheduler.submit(request(7)).then((r) => (result = r));
    await settled();
    assert.deepEqual(instance.batches, [], 'waits for a fuller batch');
    clock.advance(9);
    await settled();
    assert.deepEqual(instance.batches, []);
    clock.advance(1);
    await done;
    assert.deepEqual(instance.batches, [1]);
    assert.equal(result?.queueNs, 10_000_000, 'queued exactly 10 ms of clock time');
    assert.equal(clock.pendingTimers, 0);
    await scheduler.drain();
  });

  test('dynamic_batching { } with an idle instance: a lone request reaches the instance within submit, uncopied, with no timer', () => {
    const clock = new FakeClock();
    const instance = new HeldInstance();
    const seen: (readonly Tensor[])[] = [];
    const execute = instance.execute.bind(instance);
    instance.execute = (requests, outputNames) => {
      seen.push(...requests);
      return execute(requests, outputNames);
    };
    const scheduler = new BatchingScheduler([instance], options({ dynamic: true, maxBatchRows: 64 }), undefined, clock);
    const sent = request(5);
    const answer = scheduler.submit(sent);
    assert.deepEqual(instance.batches, [1], 'executing before submit returned: no queue hop, no tick');
    assert.equal(seen[0], sent.inputs, "the request's own tensors, not a copy");
    assert.equal(clock.pendingTimers, 0);
    instance.finishOne();
    return answer.then((result) => assert.equal(result.queueNs, 0));
  });
});
