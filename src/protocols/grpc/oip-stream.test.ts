import assert from 'node:assert/strict';
import { once } from 'node:events';
import { after, before, beforeEach, describe, it } from 'node:test';
import type { ClientDuplexStream, StatusObject } from '@grpc/grpc-js';
import { status } from '@grpc/grpc-js';
import type { InferenceResponse } from '../../serving/inference.js';
import { startTestServer, type TestServer } from './grpc-test-harness.js';
import { addModel, echoInfer, FakeInferenceService } from '../../../test/doubles/fake-inference-service.js';

interface StreamResponse {
  error_message: string;
  infer_response: {
    model_name: string;
    model_version: string;
    id: string;
    parameters: Record<string, Record<string, unknown>>;
    raw_output_contents: Buffer[];
  } | null;
}

type Stream = ClientDuplexStream<object, StreamResponse>;

function request(id: string, model = 'm', value = 1): object {
  return {
    model_name: model,
    id,
    inputs: [{ name: 'x', datatype: 'INT32', shape: [1] }],
    raw_input_contents: [Buffer.from(new Int32Array([value]).buffer)],
  };
}

/** Collects `count` responses, failing after a bounded wait. */
async function take(stream: Stream, count: number): Promise<StreamResponse[]> {
  const received: StreamResponse[] = [];
  const done = new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`only ${received.length} of ${count} responses arrived`)), 5000);
    const onData = (response: StreamResponse): void => {
      received.push(response);
      if (received.length === count) {
        clearTimeout(timer);
        stream.off('data', onData);
        resolve();
      }
    };
    stream.on('data', onData);
  });
  await done;
  return received;
}

describe('gRPC ModelStreamInfer', () => {
  const fake = new FakeInferenceService();
  let t: TestServer;

  before(async () => {
    addModel(fake, 'm');
    t = await startTestServer(fake);
  });
  after(() => t.close());
  beforeEach(() => {
    fake.inferCalls.length = 0;
    fake.inferHandler = echoInfer;
  });

  it('answers every request by id, reports a failure in error_message and stays open', async () => {
    // Request "slow" finishes after "fast": responses arrive out of order and are matched by id.
    fake.inferHandler = async (req) => {
      if (req.id === 'slow') await new Promise((resolve) => setTimeout(resolve, 50));
      return echoInfer(req);
    };
    const stream = t.stream<object, StreamResponse>('ModelStreamInfer');
    const statusPromise = once(stream, 'status') as Promise<[StatusObject]>;

    stream.write(request('slow', 'm', 1));
    stream.write(request('bad', 'missing'));
    stream.write(request('fast', 'm', 3));
    const first = await take(stream, 3);
    const byId = new Map(first.map((r) => [r.infer_response?.id, r]));
    assert.deepEqual([...byId.keys()].sort(), ['bad', 'fast', 'slow']);
    assert.equal(first[2]?.infer_response?.id, 'slow', 'the slow request completes last');

    const bad = byId.get('bad');
    // The caller chose the id, so the message names it (protocols/grpc/request-tracking.ts).
    assert.equal(bad?.error_message, "Request for unknown model: 'missing' is not found (request id: bad)");
    assert.equal(bad?.infer_response?.model_name, 'missing');
    assert.equal(byId.get('slow')?.error_message, '');
    assert.deepEqual(byId.get('slow')?.infer_response?.raw_output_contents, [Buffer.from([1, 0, 0, 0])]);
    assert.deepEqual(byId.get('fast')?.infer_response?.raw_output_contents, [Buffer.from([3, 0, 0, 0])]);

    // An invalid request is an error response too, and the stream keeps working afterwards.
    stream.write({ model_name: 'm', id: 'invalid', model_version: 'x', inputs: [] });
    stream.write(request('after', 'm', 7));
    const second = await take(stream, 2);
    const invalid = second.find((r) => r.infer_response?.id === 'invalid');
    assert.match(invalid?.error_message ?? '', /version 'x' of model 'm' is not a version number/);
    assert.deepEqual(second.find((r) => r.infer_response?.id === 'after')?.infer_response?.raw_output_contents, [Buffer.from([7, 0, 0, 0])]);

    stream.end();
    const [final] = await statusPromise;
    assert.equal(final.code, status.OK);
  });

  it('ends with OK only after the responses still in flight when the client half-closes', async () => {
    fake.inferHandler = async (req) => {
      await new Promise((resolve) => setTimeout(resolve, 30));
      return echoInfer(req);
    };
    const stream = t.stream<object, StreamResponse>('ModelStreamInfer');
    const received: StreamResponse[] = [];
    stream.on('data', (response: StreamResponse) => received.push(response));
    const statusPromise = once(stream, 'status') as Promise<[StatusObject]>;
    const ended = once(stream, 'end');
    for (let i = 0; i < 5; i++) stream.write(request(`r${i}`));
    stream.end();
    const [final] = await statusPromise;
    assert.equal(final.code, status.OK);
    await ended;
    assert.deepEqual(received.map((r) => r.infer_response?.id).sort(), ['r0', 'r1', 'r2', 'r3', 'r4']);
  });

  it('sets triton_final_response when asked and keeps that flag away from the model', async () => {
    const stream = t.stream<object, StreamResponse>('ModelStreamInfer');
    stream.write({ ...request('f'), parameters: { triton_enable_empty_final_response: { bool_param: true }, custom: { string_param: 'v' } } });
    const [response] = await take(stream, 1);
    assert.deepEqual(response?.infer_response?.parameters, { triton_final_response: { bool_param: true, parameter_choice: 'bool_param' } });
    assert.deepEqual(fake.inferCalls[0]?.request.parameters, { custom: 'v' });
    stream.end();
    await once(stream, 'status');
  });

  it('bounds the requests in flight and still answers all of them', async () => {
    const total = 100;
    let running = 0;
    let peak = 0;
    const waiting: (() => void)[] = [];
    fake.inferHandler = async (req): Promise<InferenceResponse> => {
      running++;
      peak = Math.max(peak, running);
      await new Promise<void>((resolve) => waiting.push(resolve));
      running--;
      return echoInfer(req);
    };
    const stream = t.stream<object, StreamResponse>('ModelStreamInfer');
    const all = take(stream, total);
    for (let i = 0; i < total; i++) stream.write(request(`b${i}`));
    // Hold all work until the number of running requests stops growing for 100 ms (the server has
    // read all it is willing to), then release it; repeat until everything is answered (bounded by
    // the take timeout).
    let last = -1;
    let stableTicks = 0;
    const releaser = setInterval(() => {
      stableTicks = running === last ? stableTicks + 1 : 0;
      last = running;
      if (stableTicks >= 5 || running === total) {
        stableTicks = 0;
        waiting.splice(0).forEach((release) => release());
      }
    }, 20);
    try {
      const responses = await all;
      assert.equal(new Set(responses.map((r) => r.infer_response?.id)).size, total);
    } finally {
      clearInterval(releaser);
    }
    assert.ok(peak <= 64, `at most 64 requests of one stream run at once, saw ${peak}`);
    assert.ok(peak > 1, 'requests on one stream run concurrently');
    stream.end();
    await once(stream, 'status');
  });
});
