import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Tensor } from '../tensors/tensor.js';
import { BatchPolicy, type BatchCandidate, type BatchDecision } from './batch-policy.js';

function candidate(rows: number, width = 2, outputs: readonly string[] = ['y']): BatchCandidate {
  const input: Tensor = { name: 'x', datatype: 'FP32', shape: [rows, width], data: new Float32Array(rows * width) };
  return { rows, inputs: [input], outputNames: outputs };
}

const same = (c: BatchCandidate): BatchCandidate => c;

interface Case {
  name: string;
  options: { maxBatchRows: number; preferredBatchRows: number[]; maxQueueDelayUs: number };
  queue: BatchCandidate[];
  waitedUs: number;
  expected: BatchDecision;
}

const cases: Case[] = [
  {
    name: 'no delay: whatever is queued runs at once',
    options: { maxBatchRows: 8, preferredBatchRows: [], maxQueueDelayUs: 0 },
    queue: [candidate(1), candidate(1), candidate(1)],
    waitedUs: 0,
    expected: { kind: 'run', count: 3 },
  },
  {
    name: 'a delay waits for a fuller batch, for the rest of the head delay',
    options: { maxBatchRows: 8, preferredBatchRows: [], maxQueueDelayUs: 1000 },
    queue: [candidate(1), candidate(1)],
    waitedUs: 300,
    expected: { kind: 'wait', waitUs: 700 },
  },
  {
    name: 'the delay passed: run what is there',
    options: { maxBatchRows: 8, preferredBatchRows: [], maxQueueDelayUs: 1000 },
    queue: [candidate(1), candidate(1)],
    waitedUs: 1000,
    expected: { kind: 'run', count: 2 },
  },
  {
    name: 'max_batch_size reached: run at once, the rest stays queued',
    options: { maxBatchRows: 4, preferredBatchRows: [], maxQueueDelayUs: 1_000_000 },
    queue: [candidate(1), candidate(1), candidate(1), candidate(1), candidate(1)],
    waitedUs: 0,
    expected: { kind: 'run', count: 4 },
  },
  {
    name: 'rows count, not requests: 3 + 1 fill a batch of 4',
    options: { maxBatchRows: 4, preferredBatchRows: [], maxQueueDelayUs: 1_000_000 },
    queue: [candidate(3), candidate(1), candidate(1)],
    waitedUs: 0,
    expected: { kind: 'run', count: 2 },
  },
  {
    name: 'a request that does not fit is never split; the batch runs without it',
    options: { maxBatchRows: 4, preferredBatchRows: [], maxQueueDelayUs: 1_000_000 },
    queue: [candidate(3), candidate(2)],
    waitedUs: 0,
    expected: { kind: 'run', count: 1 },
  },
  {
    name: 'a preferred size reached by a prefix runs that prefix before the delay',
    options: { maxBatchRows: 16, preferredBatchRows: [2, 4], maxQueueDelayUs: 1_000_000 },
    queue: [candidate(1), candidate(1), candidate(1)],
    waitedUs: 0,
    expected: { kind: 'run', count: 2 },
  },
  {
    name: 'the largest preferred size caps the batch',
    options: { maxBatchRows: 16, preferredBatchRows: [2, 4], maxQueueDelayUs: 1_000_000 },
    queue: Array.from({ length: 6 }, () => candidate(1)),
    waitedUs: 0,
    expected: { kind: 'run', count: 4 },
  },
  {
    name: 'no preferred size reached: wait',
    options: { maxBatchRows: 16, preferredBatchRows: [4], maxQueueDelayUs: 1000 },
    queue: [candidate(1), candidate(2)],
    waitedUs: 0,
    expected: { kind: 'wait', waitUs: 1000 },
  },
  {
    name: 'the delay passed without a preferred size: run everything pending',
    options: { maxBatchRows: 16, preferredBatchRows: [2, 8], maxQueueDelayUs: 1000 },
    queue: [candidate(1), candidate(1), candidate(1)],
    waitedUs: 5000,
    expected: { kind: 'run', count: 3 },
  },
  {
    name: 'a different non-batch shape stops the batch (no overtaking) and runs it at once',
    options: { maxBatchRows: 8, preferredBatchRows: [], maxQueueDelayUs: 1_000_000 },
    queue: [candidate(1), candidate(1, 3), candidate(1)],
    waitedUs: 0,
    expected: { kind: 'run', count: 1 },
  },
  {
    name: 'different requested outputs are not batched together',
    options: { maxBatchRows: 8, preferredBatchRows: [], maxQueueDelayUs: 1_000_000 },
    queue: [candidate(1, 2, ['y']), candidate(1, 2, ['z'])],
    waitedUs: 0,
    expected: { kind: 'run', count: 1 },
  },
  {
    name: 'idle instance, empty queue, no delay (dynamic_batching { }): a lone request runs at once',
    options: { maxBatchRows: 64, preferredBatchRows: [], maxQueueDelayUs: 0 },
    queue: [candidate(1)],
    waitedUs: 0,
    expected: { kind: 'run', count: 1 },
  },
  {
    name: 'idle instance, empty queue, preferred sizes but no delay: a lone request runs at once',
    options: { maxBatchRows: 64, preferredBatchRows: [4, 8], maxQueueDelayUs: 0 },
    queue: [candidate(1)],
    waitedUs: 0,
    expected: { kind: 'run', count: 1 },
  },
];

for (const c of cases) {
  test(`BatchPolicy: ${c.name}`, () => {
    assert.deepEqual(new BatchPolicy(c.options).decide(c.queue, same, c.waitedUs), c.expected);
  });
}
