import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Tensor } from '../tensors/tensor.js';
import { BatchPolicy } from './batch-policy.js';
import { decideDirect, decideOldest, type DirectOptions, type SequenceBatchDecision, type SlotOffer } from './sequence-policy.js';

function offer(slot: number, waitedUs: number, width = 1): SlotOffer {
  const input: Tensor = { name: 'INPUT', datatype: 'INT32', shape: [1, width], data: new Int32Array(width) };
  return { slot, waitedUs, inputs: [input] };
}

const DIRECT: DirectOptions = { slotCount: 4, maxQueueDelayUs: 0, minimumSlotUtilization: 0 };

const directCases: { name: string; offers: SlotOffer[]; options?: Partial<DirectOptions>; expected: SequenceBatchDecision }[] = [
  { name: 'nothing offered: idle', offers: [], expected: { kind: 'idle' } },
  { name: 'one request in slot 0: one row', offers: [offer(0, 5)], expected: { kind: 'run', rows: [0] } },
  { name: 'rows follow slots; a gap is a padding row', offers: [offer(2, 5), offer(0, 1)], expected: { kind: 'run', rows: [0, undefined, 2] } },
  { name: 'a request alone in slot 3 runs with three padding rows', offers: [offer(3, 5)], expected: { kind: 'run', rows: [undefined, undefined, undefined, 3] } },
  { name: 'a request whose shape differs from the lowest slot waits', offers: [offer(0, 1), offer(1, 1, 3), offer(2, 1)], expected: { kind: 'run', rows: [0, undefined, 2] } },
  {
    name: 'below the minimum utilization, wait for the rest of the delay after the oldest request',
    offers: [offer(0, 300), offer(1, 100)],
    options: { maxQueueDelayUs: 1000, minimumSlotUtilization: 0.75 },
    expected: { kind: 'wait', waitUs: 700 },
  },
  {
    name: 'the minimum utilization reached: run without waiting',
    offers: [offer(0, 10), offer(1, 10), offer(3, 10)],
    options: { maxQueueDelayUs: 1000, minimumSlotUtilization: 0.75 },
    expected: { kind: 'run', rows: [0, 1, undefined, 3] },
  },
  {
    name: 'the delay passed: run what is offered',
    offers: [offer(1, 1000)],
    options: { maxQueueDelayUs: 1000, minimumSlotUtilization: 1 },
    expected: { kind: 'run', rows: [undefined, 1] },
  },
];

for (const c of directCases) {
  test(`decideDirect: ${c.name}`, () => {
    assert.deepEqual(decideDirect(c.offers, { ...DIRECT, ...c.options }), c.expected);
  });
}

const oldestCases: { name: string; offers: SlotOffer[]; policy: { maxBatchRows: number; preferredBatchRows: number[]; maxQueueDelayUs: number }; expected: SequenceBatchDecision }[] = [
  { name: 'nothing offered: idle', offers: [], policy: { maxBatchRows: 4, preferredBatchRows: [], maxQueueDelayUs: 0 }, expected: { kind: 'idle' } },
  {
    name: 'oldest first, one per sequence, capped at max_batch_size',
    offers: [offer(0, 10), offer(1, 40), offer(2, 30), offer(3, 20), offer(4, 50)],
    policy: { maxBatchRows: 3, preferredBatchRows: [], maxQueueDelayUs: 0 },
    expected: { kind: 'run', rows: [4, 1, 2] },
  },
  {
    name: 'a delay waits for more sequences, counted from the oldest request',
    offers: [offer(0, 300), offer(5, 100)],
    policy: { maxBatchRows: 4, preferredBatchRows: [], maxQueueDelayUs: 1000 },
    expected: { kind: 'wait', waitUs: 700 },
  },
  {
    name: 'a preferred size runs at once',
    offers: [offer(0, 300), offer(5, 100), offer(6, 50)],
    policy: { maxBatchRows: 4, preferredBatchRows: [2], maxQueueDelayUs: 1000 },
    expected: { kind: 'run', rows: [0, 5] },
  },
  {
    name: 'a non-batching model (max_batch_size 0 → 1 row) runs the oldest alone',
    offers: [offer(0, 10), offer(1, 20)],
    policy: { maxBatchRows: 1, preferredBatchRows: [], maxQueueDelayUs: 1000 },
    expected: { kind: 'run', rows: [1] },
  },
  {
    name: 'a request of another shape stops the batch (it runs next, never out of age order)',
    offers: [offer(0, 30), offer(1, 20, 2), offer(2, 10)],
    policy: { maxBatchRows: 4, preferredBatchRows: [], maxQueueDelayUs: 0 },
    expected: { kind: 'run', rows: [0] },
  },
];

for (const c of oldestCases) {
  test(`decideOldest: ${c.name}`, () => {
    assert.deepEqual(decideOldest(c.offers, new BatchPolicy(c.policy)), c.expected);
  });
}
