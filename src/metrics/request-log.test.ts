import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { EventChannel } from '../core/events.js';
import type { RequestEvent } from '../serving/serving-core.js';
import { logSampledRequests } from './request-log.js';

function memoryLogger(): { logger: pino.Logger; lines: Record<string, unknown>[] } {
  const lines: Record<string, unknown>[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _encoding, done) {
      lines.push(JSON.parse(chunk.toString()) as Record<string, unknown>);
      done();
    },
  });
  return { logger: pino({ level: 'info' }, stream), lines };
}

const success: RequestEvent = {
  model: 'm',
  version: 1,
  requestId: 'r-1',
  outcome: 'success',
  totalNs: 3_000_000,
  queueNs: 1_000_000,
  timing: { computeInputNs: 100_000, computeInferNs: 1_500_000, computeOutputNs: 400_000 },
};
const failure: RequestEvent = { model: 'm', version: undefined, requestId: 'r-2', outcome: 'failure', reason: 'invalid_argument', totalNs: 0 };

test('off at rate 0: nothing is logged', async () => {
  const { logger, lines } = memoryLogger();
  const requests = new EventChannel<RequestEvent>();
  const stop = logSampledRequests(requests, logger, 0);
  requests.publish(success);
  await new Promise((r) => setImmediate(r));
  stop();
  assert.equal(lines.length, 0);
});

test('a sampled request gets one line with its id, model, outcome and timings; the rest none', async () => {
  const { logger, lines } = memoryLogger();
  const requests = new EventChannel<RequestEvent>();
  const draws = [0.1, 0.9, 0.2];
  const stop = logSampledRequests(requests, logger, 0.5, () => draws.shift() ?? 1);
  requests.publish(success);
  requests.publish(success);
  requests.publish(failure);
  await new Promise((r) => setImmediate(r));
  stop();
  requests.publish(success);
  assert.equal(lines.length, 2);
  assert.equal(lines[0]!['requestId'], 'r-1');
  assert.equal(lines[0]!['durationMs'], 3);
  assert.equal(lines[0]!['queueMs'], 1);
  assert.equal(lines[0]!['computeMs'], 2);
  assert.equal(lines[1]!['requestId'], 'r-2');
  assert.equal(lines[1]!['reason'], 'invalid_argument');
  assert.equal(lines[1]!['outcome'], 'failure');
});

test('a rate outside 0..1 is refused', () => {
  const { logger } = memoryLogger();
  assert.throws(() => logSampledRequests(new EventChannel<RequestEvent>(), logger, 1.5), /between 0 and 1/);
});
