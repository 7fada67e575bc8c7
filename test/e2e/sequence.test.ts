/**
 * Sequence batching end to end: the logic of Triton's sequence example clients
 * (simple_{http,grpc}_sequence_sync_infer_client.py, simple_grpc_sequence_stream_infer_client.py,
 * with and without `--dyna`) reproduced over REST, gRPC and the gRPC bidirectional stream, against
 * a real server running the example models as ONNX graphs (test/fixtures/sequence-models.ts);
 * the direct and oldest strategies with more live sequences than slots; implicit state; and the
 * refusals Triton gives (no correlation id, no START, batch size > 1, idle sequence released).
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import { PACKAGE_ROOT } from '../../src/core/version.js';
import { createClient, InferenceServerError, type InferenceClient, type InferOptions } from '../../src/client/index.js';
import { createTempModelRepository, type TempModelRepository } from '../fixtures/onnx-models.js';
import {
  EXAMPLE_VALUES,
  expectedOutputs,
  sequenceModels,
  simpleStringDynaSequenceModel,
  SIMPLE_STRING_DYNA_SEQUENCE_CONFIG,
  simpleSequenceModel,
  SIMPLE_SEQUENCE_CONFIG,
} from '../fixtures/sequence-models.js';
import { startTestServer, type TestServer } from '../helpers/test-server.js';

let repo: TempModelRepository;
let server: TestServer;
let rest: InferenceClient;
let grpcClient: InferenceClient;

/** The accumulator with the direct strategy: 4 slots on one instance, so 6 sequences backlog. */
const ACCUMULATOR_DIRECT = SIMPLE_STRING_DYNA_SEQUENCE_CONFIG.replace('name: "simple_string_dyna_sequence"', 'name: "accumulator_direct"')
  .replace('max_batch_size: 8', 'max_batch_size: 4')
  .replace(/oldest \{[^}]*\}/, 'direct { max_queue_delay_microseconds: 20000 minimum_slot_utilization: 1.0 }')
  .replace('count: 2', 'count: 1');
/** The direct accumulator without a delay: rows of free slots below busy ones are padding rows. */
const ACCUMULATOR_EAGER = ACCUMULATOR_DIRECT.replace('name: "accumulator_direct"', 'name: "accumulator_eager"').replace(/direct \{[^}]*\}/, 'direct { }');
/** The accumulator with the oldest strategy and 3 candidate sequences per instance. */
const ACCUMULATOR_OLDEST = SIMPLE_STRING_DYNA_SEQUENCE_CONFIG.replace('name: "simple_string_dyna_sequence"', 'name: "accumulator_oldest"')
  .replace(/oldest \{[^}]*\}/, 'oldest { max_candidate_sequences: 3 preferred_batch_size: [ 2 ] max_queue_delay_microseconds: 20000 }')
  .replace('count: 2', 'count: 1');
/** simple_sequence whose sequences are released after 300 ms without a request. */
const SHORT_IDLE = SIMPLE_SEQUENCE_CONFIG.replace('name: "simple_sequence"', 'name: "short_idle"').replace('sequence_batching {', 'sequence_batching {\n  max_sequence_idle_microseconds: 300000');

before(async () => {
  repo = await createTempModelRepository({
    ...sequenceModels(),
    accumulator_direct: { config: ACCUMULATOR_DIRECT, versions: { 1: simpleStringDynaSequenceModel() } },
    accumulator_eager: { config: ACCUMULATOR_EAGER, versions: { 1: simpleStringDynaSequenceModel() } },
    accumulator_oldest: { config: ACCUMULATOR_OLDEST, versions: { 1: simpleStringDynaSequenceModel() } },
    short_idle: { config: SHORT_IDLE, versions: { 1: simpleSequenceModel() } },
  });
  server = await startTestServer({ modelRepository: repo.root });
  rest = createClient({ url: server.url });
  grpcClient = createClient({ url: `grpc://127.0.0.1:${server.ports.grpc}` });
});

after(async () => {
  await rest?.close();
  await grpcClient?.close();
  await server?.stop();
  await repo?.remove();
});

type SequenceId = number | string;

/** One request of a sequence, as the example clients send it: INPUT [1,1] INT32, OUTPUT asked for. */
async function send(client: InferenceClient, model: string, value: number, id: SequenceId, start: boolean, end: boolean, extra: InferOptions = {}): Promise<number> {
  const result = await client.infer(model, [{ name: 'INPUT', datatype: 'INT32', shape: [1, 1], data: Int32Array.of(value) }], {
    outputs: ['OUTPUT'],
    parameters: { sequence_id: id, sequence_start: start, sequence_end: end },
    ...extra,
  });
  const output = result.output('OUTPUT');
  assert.deepEqual(output.shape, [1, 1]);
  return Number((output.data as Int32Array)[0]);
}

/** `sync_send` of the example clients: a whole sequence, one request after the other. */
async function syncSend(client: InferenceClient, model: string, values: readonly number[], id: SequenceId, extra: InferOptions = {}): Promise<number[]> {
  const results: number[] = [];
  for (let i = 0; i < values.length; i++) results.push(await send(client, model, values[i]!, id, i === 0, i === values.length - 1, extra));
  return results;
}

const seq0 = [0, ...EXAMPLE_VALUES];
const seq1 = [100, ...EXAMPLE_VALUES.map((v) => -v)];
const seqString = [20, ...EXAMPLE_VALUES.map((v) => -v)];

const CLIENTS: readonly { label: string; client: () => InferenceClient; extra: InferOptions }[] = [
  { label: 'REST (binary)', client: () => rest, extra: {} },
  { label: 'REST (JSON)', client: () => rest, extra: { binary: false } },
  { label: 'gRPC', client: () => grpcClient, extra: {} },
];

describe('Triton sequence example clients (sync)', () => {
  for (const { label, client, extra } of CLIENTS) {
    test(`simple_sequence over ${label}: int ids 1000/1001 and a UUID string id`, async () => {
      const uuid = randomUUID();
      const r0 = await syncSend(client(), 'simple_sequence', seq0, 1000, extra);
      const r1 = await syncSend(client(), 'simple_sequence', seq1, 1001, extra);
      const rs = await syncSend(client(), 'simple_sequence', seqString, uuid, extra);
      assert.deepEqual(r0, expectedOutputs('simple', seq0, 0));
      assert.deepEqual(r1, expectedOutputs('simple', seq1, 0));
      assert.deepEqual(rs, expectedOutputs('simple', seqString, 0));
      // The client's own formula: 1 / 101 / 21 first, then the value sent.
      assert.deepEqual([r0[0], r1[0], rs[0]], [1, 101, 21]);
    });

    test(`dyna models over ${label}: int ids on simple_dyna_sequence, string id "1002" on the accumulator`, async () => {
      const r0 = await syncSend(client(), 'simple_dyna_sequence', seq0, 1000, extra);
      const r1 = await syncSend(client(), 'simple_dyna_sequence', seq1, 1001, extra);
      const rs = await syncSend(client(), 'simple_string_dyna_sequence', seqString, '1002', extra);
      assert.deepEqual(r0, expectedOutputs('dyna', seq0, 1000));
      assert.deepEqual(r1, expectedOutputs('dyna', seq1, 1001));
      assert.deepEqual(rs, expectedOutputs('string_dyna', seqString, 1002));
      // The client's formula for the string sequence: the running sum, plus the id on the last request.
      assert.deepEqual(rs.slice(0, 3), [20, 9, 2]);
      assert.equal(rs.at(-1), 20 - 29 + 1002);
    });
  }

  test('two sequences interleaved request by request keep apart (REST and gRPC mixed)', async () => {
    const a: number[] = [];
    const b: number[] = [];
    for (let i = 0; i < seq0.length; i++) {
      const start = i === 0;
      const end = i === seq0.length - 1;
      a.push(await send(rest, 'simple_string_dyna_sequence', seq0[i]!, '7001', start, end));
      b.push(await send(grpcClient, 'simple_string_dyna_sequence', seq1[i]!, '7002', start, end));
    }
    assert.deepEqual(a, expectedOutputs('string_dyna', seq0, 7001));
    assert.deepEqual(b, expectedOutputs('string_dyna', seq1, 7002));
  });
});

interface StreamResponse {
  error_message: string;
  infer_response: { id: string; outputs: { name: string }[]; raw_output_contents: Buffer[] } | null;
}

function streamClient(): grpc.Client & { ModelStreamInfer(): grpc.ClientDuplexStream<object, StreamResponse> } {
  const definition = protoLoader.loadSync(join(PACKAGE_ROOT, 'proto/grpc_service.proto'), {
    keepCase: true,
    longs: String,
    enums: String,
    defaults: true,
    oneofs: true,
    includeDirs: [join(PACKAGE_ROOT, 'proto')],
  });
  const loaded = grpc.loadPackageDefinition(definition) as unknown as { inference: { GRPCInferenceService: grpc.ServiceClientConstructor } };
  return new loaded.inference.GRPCInferenceService(`127.0.0.1:${server.ports.grpc}`, grpc.credentials.createInsecure()) as never;
}

/** A stream request as tritonclient's async_stream_infer builds it (uint64 / string sequence_id). */
function streamRequest(model: string, value: number, id: SequenceId, count: number, total: number): object {
  return {
    model_name: model,
    id: `${id}_${count}`,
    inputs: [{ name: 'INPUT', datatype: 'INT32', shape: [1, 1] }],
    outputs: [{ name: 'OUTPUT' }],
    parameters: {
      sequence_id: typeof id === 'number' ? { uint64_param: String(id) } : { string_param: id },
      sequence_start: { bool_param: count === 1 },
      sequence_end: { bool_param: count === total },
    },
    raw_input_contents: [Buffer.from(Int32Array.of(value).buffer)],
  };
}

/** `async_stream_send` for three sequences on one stream; results grouped by the id prefix. */
async function streamSequences(sequences: readonly { model: string; values: readonly number[]; id: SequenceId }[]): Promise<Map<string, number[]>> {
  const client = streamClient();
  try {
    const stream = client.ModelStreamInfer();
    const total = sequences.reduce((n, s) => n + s.values.length, 0);
    const results = new Map<string, number[]>(sequences.map((s) => [String(s.id), []]));
    const done = new Promise<void>((resolve, reject) => {
      let received = 0;
      const timer = setTimeout(() => reject(new Error(`only ${received} of ${total} stream responses arrived`)), 30_000);
      stream.on('data', (response: StreamResponse) => {
        if (response.error_message !== '') {
          clearTimeout(timer);
          reject(new Error(response.error_message));
          return;
        }
        const answer = response.infer_response!;
        const owner = answer.id.slice(0, answer.id.lastIndexOf('_'));
        const raw = answer.raw_output_contents[0]!;
        results.get(owner)!.push(raw.readInt32LE(0));
        if (++received === total) {
          clearTimeout(timer);
          resolve();
        }
      });
      stream.on('error', reject);
    });
    for (const { model, values, id } of sequences) values.forEach((value, i) => stream.write(streamRequest(model, value, id, i + 1, values.length)));
    await done;
    stream.end();
    return results;
  } finally {
    client.close();
  }
}

describe('Triton sequence example clients (gRPC stream)', () => {
  test('simple_sequence: three sequences sent asynchronously on one stream', async () => {
    const uuid = randomUUID();
    const results = await streamSequences([
      { model: 'simple_sequence', values: seq0, id: 1000 },
      { model: 'simple_sequence', values: seq1, id: 1001 },
      { model: 'simple_sequence', values: seqString, id: uuid },
    ]);
    assert.deepEqual(results.get('1000'), expectedOutputs('simple', seq0, 0));
    assert.deepEqual(results.get('1001'), expectedOutputs('simple', seq1, 0));
    assert.deepEqual(results.get(uuid), expectedOutputs('simple', seqString, 0));
  });

  test('dyna: int ids on simple_dyna_sequence and string id "1002" on the accumulator, on one stream', async () => {
    const results = await streamSequences([
      { model: 'simple_dyna_sequence', values: seq0, id: 1000 },
      { model: 'simple_dyna_sequence', values: seq1, id: 1001 },
      { model: 'simple_string_dyna_sequence', values: seqString, id: '1002' },
    ]);
    assert.deepEqual(results.get('1000'), expectedOutputs('dyna', seq0, 1000));
    assert.deepEqual(results.get('1001'), expectedOutputs('dyna', seq1, 1001));
    assert.deepEqual(results.get('1002'), expectedOutputs('string_dyna', seqString, 1002));
  });
});

/** Runs `count` sequences of `length` requests at once; each request waits for the previous answer of its sequence. */
async function concurrentSequences(model: string, count: number, length: number): Promise<void> {
  await Promise.all(
    Array.from({ length: count }, async (_, s) => {
      const id = String(5000 + s);
      const values = Array.from({ length }, (_, i) => (s + 1) * 10 + i);
      const results = await syncSend(s % 2 === 0 ? rest : grpcClient, model, values, id);
      assert.deepEqual(results, expectedOutputs('string_dyna', values, 5000 + s), `sequence ${id}`);
    }),
  );
}

async function executions(model: string): Promise<{ requests: number; executions: number }> {
  const stats = (await rest.modelStatistics(model))[0]!;
  return { requests: stats.inference_count, executions: stats.execution_count };
}

describe('strategies with more sequences than slots', () => {
  test('direct: 6 sequences over 4 slots run to the right sums; batches hold several sequences', async () => {
    const before = await executions('accumulator_direct');
    await concurrentSequences('accumulator_direct', 6, 5);
    const afterRun = await executions('accumulator_direct');
    const requests = afterRun.requests - before.requests;
    const runs = afterRun.executions - before.executions;
    assert.equal(requests, 30);
    assert.ok(runs < requests, `direct batching joined requests of different sequences (${runs} executions for ${requests} requests)`);
  });

  test('direct without a delay: padding rows (READY false, CORRID "0") do not disturb 8 sequences over 4 slots', async () => {
    await concurrentSequences('accumulator_eager', 8, 6);
  });

  test('oldest: 8 sequences over 3 candidate slots run to the right sums', async () => {
    await concurrentSequences('accumulator_oldest', 8, 4);
  });
});

async function refusal(action: Promise<unknown>): Promise<InferenceServerError> {
  const error = await action.then(
    () => assert.fail('expected a refusal'),
    (e: unknown) => e,
  );
  assert.ok(error instanceof InferenceServerError, String(error));
  return error;
}

describe('refusals', () => {
  const input = [{ name: 'INPUT', datatype: 'INT32' as const, shape: [1, 1], data: Int32Array.of(1) }];

  test('a request without a correlation id: INVALID_ARGUMENT with Triton message (REST 400, gRPC 3)', async () => {
    for (const client of [rest, grpcClient]) {
      const error = await refusal(client.infer('simple_sequence', input));
      assert.equal(error.code, 'INVALID_ARGUMENT');
      assert.equal(error.message, "inference request to model 'simple_sequence' must specify a non-zero or non-empty correlation ID");
      assert.ok(error.httpStatus === 400 || error.grpcCode === 3);
      const zero = await refusal(client.infer('simple_sequence', input, { parameters: { sequence_id: 0, sequence_start: true } }));
      assert.match(zero.message, /non-zero or non-empty correlation ID/);
      const empty = await refusal(client.infer('simple_sequence', input, { parameters: { sequence_id: '', sequence_start: true } }));
      assert.match(empty.message, /non-zero or non-empty correlation ID/);
    }
  });

  test('a request for a sequence that was never started names the START flag', async () => {
    const error = await refusal(send(rest, 'simple_sequence', 1, 424242, false, false));
    assert.equal(error.message, "inference request for sequence 424242 to model 'simple_sequence' must specify the START flag on the first request of the sequence");
    const text = await refusal(send(grpcClient, 'simple_sequence', 1, 'never-started', false, false));
    assert.match(text.message, /sequence never-started to model 'simple_sequence' must specify the START flag/);
  });

  test('after END the id is free: continuing it needs a new START', async () => {
    await send(rest, 'simple_sequence', 1, 31, true, true);
    const error = await refusal(send(rest, 'simple_sequence', 1, 31, false, false));
    assert.match(error.message, /must specify the START flag/);
  });

  test('batch size 2 is refused as by Triton', async () => {
    const error = await refusal(
      rest.infer('simple_sequence', [{ name: 'INPUT', datatype: 'INT32', shape: [2, 1], data: Int32Array.of(1, 2) }], { parameters: { sequence_id: 9, sequence_start: true } }),
    );
    assert.equal(error.message, "inference request to model 'simple_sequence' must specify batch-size 1 due to requirements of sequence batcher");
  });

  test('a string id for a UINT64 CORRID control, and a malformed sequence_id, are refused', async () => {
    const text = await refusal(send(rest, 'simple_dyna_sequence', 1, 'abc', true, false));
    assert.equal(text.code, 'INVALID_ARGUMENT');
    assert.match(text.message, /unsigned integer correlation ID/);
    const negative = await refusal(send(rest, 'simple_sequence', 1, -5, true, false));
    assert.match(negative.message, /sequence_id/);
    const flag = await refusal(rest.infer('simple_sequence', input, { parameters: { sequence_id: 8, sequence_start: 'yes' } }));
    assert.match(flag.message, /'sequence_start' must be a boolean/);
  });

  test('an idle sequence is released after max_sequence_idle_microseconds; its next request needs START', async () => {
    assert.equal(await send(rest, 'short_idle', 5, 77, true, false), 6);
    assert.equal(await send(rest, 'short_idle', 5, 77, false, false), 5, 'still live right away');
    await new Promise((r) => setTimeout(r, 1200));
    const error = await refusal(send(rest, 'short_idle', 5, 77, false, false));
    assert.match(error.message, /sequence 77 to model 'short_idle' must specify the START flag/);
    assert.equal(await send(rest, 'short_idle', 5, 77, true, true), 6, 'a new START is served');
  });

  test('the server keeps serving sequences after the refusals', async () => {
    assert.deepEqual(await syncSend(grpcClient, 'simple_string_dyna_sequence', [1, 2, 3], '99'), [1, 3, 6 + 99]);
  });
});
