/**
 * The sequence scheduler's bookkeeping over a recording model instance (the e2e tests run it on
 * ONNX Runtime): what each batch row receives, slots and the backlog, state, release, cancellation.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { ExecutionResult, ModelInstance } from '../backends/backend.js';
import { CranberriesError } from '../core/errors.js';
import { parseModelConfig } from '../repository/config-parser.js';
import { sequenceBatchingOf } from '../repository/sequence-batching-config.js';
import type { Tensor } from '../tensors/tensor.js';
import { controlPlan } from './sequence-controls.js';
import { SequenceScheduler } from './sequence-scheduler.js';
import { statePlan } from './sequence-state.js';
import type { ScheduledResult } from './scheduler.js';

/** One row as the model saw it: input name → first element. */
type Row = Record<string, number | string>;

/**
 * An accumulator instance: OUT = (START ? 0 : STATE_IN) + INPUT per row, STATE_OUT = OUT. Executions
 * wait until `release()` so tests can queue requests behind a running batch.
 */
class RecordingInstance implements ModelInstance {
  readonly batches: Row[][] = [];
  private gate: Promise<void> = Promise.resolve();
  private open: () => void = () => {};

  hold(): void {
    this.gate = new Promise((resolve) => (this.open = resolve));
  }

  release(): void {
    this.open();
  }

  async execute(requests: readonly (readonly Tensor[])[]): Promise<ExecutionResult> {
    const rows = requests.map((inputs) => Object.fromEntries(inputs.map((t) => [t.name, Array.isArray(t.data) ? Buffer.from(t.data[0]!).toString() : Number(t.data[0])])));
    this.batches.push(rows);
    await this.gate;
    const out = rows.map((row) => (row['START'] === 1 ? 0 : Number(row['STATE_IN'])) + Number(row['INPUT']));
    const tensor = (name: string): Tensor => ({ name, datatype: 'INT32', shape: [rows.length, 1], data: Int32Array.from(out) });
    return { outputs: [tensor('OUTPUT'), tensor('STATE_OUT')], timing: { computeInputNs: 0, computeInferNs: 0, computeOutputNs: 0 } };
  }
}

function config(strategy: string, maxBatch = 2, idleUs = 0): string {
  return `max_batch_size: ${maxBatch}
input [ { name: "INPUT" data_type: TYPE_INT32 dims: [ 1 ] } ]
output [ { name: "OUTPUT" data_type: TYPE_INT32 dims: [ 1 ] } ]
sequence_batching {
  max_sequence_idle_microseconds: ${idleUs}
  ${strategy}
  control_input [
    { name: "START" control [ { kind: CONTROL_SEQUENCE_START int32_false_true: [ 0, 1 ] } ] },
    { name: "READY" control [ { kind: CONTROL_SEQUENCE_READY int32_false_true: [ 0, 1 ] } ] },
    { name: "CORRID" control [ { kind: CONTROL_SEQUENCE_CORRID data_type: TYPE_STRING } ] }
  ]
  state [ { input_name: "STATE_IN" output_name: "STATE_OUT" data_type: TYPE_INT32 dims: [ 1 ] } ]
}`;
}

function scheduler(text: string, instances: ModelInstance[]): SequenceScheduler {
  const parsed = parseModelConfig(text, 'acc');
  const sequence = sequenceBatchingOf(parsed)!;
  const fail = (m: string): never => {
    throw new Error(m);
  };
  return new SequenceScheduler(instances, { model: 'acc', maxBatchRows: parsed.max_batch_size, sequence, controls: controlPlan(sequence, fail), states: statePlan(sequence, fail) });
}

function submit(s: SequenceScheduler, id: string | bigint, value: number, start = false, end = false, signal?: AbortSignal): Promise<ScheduledResult> {
  return s.submit({ inputs: [{ name: 'INPUT', datatype: 'INT32', shape: [1, 1], data: Int32Array.of(value) }], outputNames: ['OUTPUT'], rows: 1, sequence: { id, start, end }, signal });
}

const value = (r: ScheduledResult): number => Number(r.outputs[0]!.data[0]);
const tick = (): Promise<void> => new Promise((r) => setImmediate(r));

describe('SequenceScheduler', () => {
  test('direct: rows follow slots, a free slot below a busy one pads with READY 0, state carries, the client sees only OUTPUT', async () => {
    const instance = new RecordingInstance();
    const s = scheduler(config('direct { }'), [instance]);
    assert.equal(value(await submit(s, 'a', 5, true)), 5); // a → slot 0
    assert.equal(value(await submit(s, 'b', 1, true)), 1); // b → slot 1
    assert.equal(value(await submit(s, 'a', 2, false, true)), 7); // a ends, slot 0 frees
    const last = await submit(s, 'b', 10);
    assert.equal(value(last), 11);
    assert.deepEqual(
      last.outputs.map((t) => t.name),
      ['OUTPUT'],
    );
    assert.deepEqual(instance.batches.at(-1), [
      { INPUT: 0, START: 0, READY: 0, CORRID: '0', STATE_IN: 0 },
      { INPUT: 10, START: 0, READY: 1, CORRID: 'b', STATE_IN: 1 },
    ]);
  });

  test('direct: requests of different sequences queued behind a running batch join one batch; a third sequence waits in the backlog', async () => {
    const instance = new RecordingInstance();
    const s = scheduler(config('direct { }'), [instance]);
    instance.hold();
    const a1 = submit(s, 'a', 1, true);
    await tick();
    const b1 = submit(s, 'b', 2, true);
    const c1 = submit(s, 'c', 3, true); // no free slot: backlog
    assert.equal(s.liveSequences, 3);
    instance.release();
    assert.deepEqual([value(await a1), value(await b1)], [1, 2]);
    await tick();
    assert.equal(instance.batches.length, 2, 'b ran in the batch after a, c did not');
    const a2 = submit(s, 'a', 1, false, true);
    assert.equal(value(await a2), 2);
    assert.equal(value(await c1), 3, 'c took the slot a freed');
    assert.equal(instance.batches.at(-1)![0]!['CORRID'], 'c');
  });

  test('oldest: one request per sequence per batch, in age order', async () => {
    const instance = new RecordingInstance();
    const s = scheduler(config('oldest { max_candidate_sequences: 4 }', 4), [instance]);
    instance.hold();
    const first = submit(s, 'x', 1, true);
    await tick();
    const queued = [submit(s, 'y', 1, true), submit(s, 'y', 2), submit(s, 'z', 5, true), submit(s, 'y', 3, false, true)];
    instance.release();
    await first;
    const results = (await Promise.all(queued)).map(value);
    assert.deepEqual(results, [1, 3, 5, 6]);
    assert.deepEqual(
      instance.batches.map((b) => b.map((r) => `${r['CORRID']}${r['INPUT']}`)),
      [['x1'], ['y1', 'z5'], ['y2'], ['y3']],
    );
  });

  test('refusals: no id, no START, batch of 2; a START on a live sequence resets its state', async () => {
    const s = scheduler(config('direct { }'), [new RecordingInstance()]);
    const message = async (p: Promise<unknown>): Promise<string> =>
      p.then(
        () => 'resolved',
        (e: unknown) => (e instanceof CranberriesError ? `${e.code}: ${e.message}` : String(e)),
      );
    assert.equal(await message(s.submit({ inputs: [], outputNames: [], rows: 1 })), "INVALID_ARGUMENT: inference request to model 'acc' must specify a non-zero or non-empty correlation ID");
    assert.equal(await message(submit(s, 5n, 1)), "INVALID_ARGUMENT: inference request for sequence 5 to model 'acc' must specify the START flag on the first request of the sequence");
    assert.match(await message(s.submit({ inputs: [], outputNames: [], rows: 2, sequence: { id: 'q', start: true, end: false } })), /must specify batch-size 1/);
    assert.equal(value(await submit(s, 'r', 4, true)), 4);
    assert.equal(value(await submit(s, 'r', 4, true)), 4, 'a second START starts over');
  });

  test('an idle sequence is released; a cancelled queued request is answered CANCELLED and never runs', async () => {
    const instance = new RecordingInstance();
    const s = scheduler(config('direct { }', 1, 50_000), [instance]);
    await submit(s, 'idle', 1, true);
    await new Promise((r) => setTimeout(r, 200));
    assert.equal(s.liveSequences, 0);
    await assert.rejects(submit(s, 'idle', 1), /must specify the START flag/);

    instance.hold();
    const running = submit(s, 'k', 1, true);
    await tick();
    const controller = new AbortController();
    const cancelled = submit(s, 'k', 2, false, false, controller.signal);
    controller.abort();
    await assert.rejects(cancelled, (e: unknown) => e instanceof CranberriesError && e.code === 'CANCELLED');
    instance.release();
    await running;
    assert.equal(value(await submit(s, 'k', 3, false, true)), 4, 'the cancelled value was never added');
    await s.drain();
    await assert.rejects(submit(s, 'z', 1, true), /unloading/);
  });
});
