/**
 * Per-model execution timeout (`execution_timeout_ms`, server default `executionTimeoutMs`): a run
 * that overstays fails with DEADLINE_EXCEEDED (504 / gRPC 4), the instance is replaced so the model
 * keeps serving, and the abandoned run's thread ends once its run returns. Real ONNX Runtime over
 * real sockets; the model is a Loop whose trip count each request chooses (~0.6 ms a step here).
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { readdir, readFile } from 'node:fs/promises';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import * as grpc from '@grpc/grpc-js';
import { encodeModel, initializer, node, valueInfo } from '../fixtures/onnx-graph.js';
import { createTempModelRepository, loopModel, type TempModelRepository } from '../fixtures/onnx-models.js';
import { infer, type ClientTensor } from '../helpers/oip-client.js';
import { startTestServer, waitFor, type TestServer } from '../helpers/test-server.js';
import { oipPackageDefinition, serviceDefinition } from '../../src/protocols/grpc/proto-loader.js';

const SIZE = 256;
const config = (timeout: string | undefined): string =>
  [
    'instance_group [{ count: 1 kind: KIND_CPU }]',
    'parameters { key: "intra_op_thread_count" value: { string_value: "1" } }',
    ...(timeout === undefined ? [] : [`parameters { key: "execution_timeout_ms" value: { string_value: "${timeout}" } }`]),
  ].join('\n');

/** Width of the batched slow model's rows (see batchedSlowModel). */
const SLOW_WIDTH = 2048;

let repo: TempModelRepository;
let server: TestServer;

before(async () => {
  repo = await createTempModelRepository({
    loop: { versions: { 1: loopModel(SIZE) }, config: config('500') },
    loop_default: { versions: { 1: loopModel(SIZE) }, config: config(undefined) },
    loop_off: { versions: { 1: loopModel(SIZE) }, config: config('0') },
    // Batches of up to 4 rows; a lone request waits up to 2 s for a second one (preferred size 2).
    batched: {
      versions: { 1: batchedSlowModel() },
      config: `max_batch_size: 4\ndynamic_batching { preferred_batch_size: [2] max_queue_delay_microseconds: 2000000 }\n${config('100')}`,
    },
  });
  // The server-wide default (for loop_default) is 400 ms; loop_off turns it off with "0".
  server = await startTestServer({ modelRepository: repo.root, executionTimeoutMs: 400 });
});

after(async () => {
  await server?.stop();
  await repo?.remove();
});

/**
 * `x` FP32 [batch, SLOW_WIDTH] times a SLOW_WIDTH² matrix 6000 times: about a second for two rows on
 * an idle modern core (512 wide ran in 70 ms), far more than the 100 ms timeout on any machine.
 */
function batchedSlowModel(size = SLOW_WIDTH, repeats = 6000): Uint8Array {
  const shift = new Float32Array(size * size);
  for (let k = 0; k < size; k++) shift[k * size + ((k + 1) % size)] = 1;
  const nodes = Array.from({ length: repeats }, (_, r) => node('MatMul', [r === 0 ? 'x' : `h${r}`, 'shift'], [r === repeats - 1 ? 'y' : `h${r + 1}`]));
  return encodeModel({
    name: 'batched_slow',
    inputs: [valueInfo('x', 'FP32', ['batch', size])],
    outputs: [valueInfo('y', 'FP32', ['batch', size])],
    nodes,
    initializers: [initializer('shift', 'FP32', [size, size], shift)],
  });
}

function inputs(trips: number): ClientTensor[] {
  const x = new Float32Array(SIZE * SIZE);
  x[0] = 7;
  return [
    { name: 'x', datatype: 'FP32', shape: [SIZE, SIZE], bytes: new Uint8Array(x.buffer) },
    { name: 'n', datatype: 'INT64', shape: [1], data: [trips] },
  ];
}

/** y[0][trips % SIZE] holds the 7 the input put at x[0][0]. */
async function expectCorrect(model: string, trips: number): Promise<void> {
  const result = await infer(server.url, model, inputs(trips), { binaryOutput: true });
  assert.equal(result.status, 200, JSON.stringify(result.json));
  const y = new Float32Array(new Uint8Array(result.binary.get('y')!).buffer);
  assert.equal(y[trips % SIZE], 7);
}

async function threadCount(): Promise<number> {
  return (await readdir(`/proc/${process.pid}/task`)).length;
}

async function cpuSeconds(): Promise<number> {
  const fields = (await readFile(`/proc/${process.pid}/stat`, 'utf8')).split(') ')[1]!.split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

test('a run past execution_timeout_ms fails with 504, the model keeps serving on a fresh instance, and the abandoned run is discarded when it returns', async (t) => {
  await expectCorrect('loop', 3);
  const baselineThreads = await threadCount();

  // ~10 s of work at 0.6 ms a step: far past the 500 ms timeout, yet it ends within the test.
  const started = Date.now();
  const slow = await infer(server.url, 'loop', inputs(16000));
  const answeredMs = Date.now() - started;
  assert.equal(slow.status, 504, JSON.stringify(slow.json));
  assert.match(String(slow.json['error']), /did not finish within its execution timeout of 500 ms/);
  assert.ok(answeredMs < 5000, `answered after ${answeredMs} ms, expected soon after the 500 ms timeout`);

  // The same (single-instance) model answers at once on its replacement while the old run computes.
  const fastStarted = Date.now();
  await expectCorrect('loop', 5);
  const fastMs = Date.now() - fastStarted;
  assert.ok(fastMs < 4000, `the replacement instance answered after ${fastMs} ms`);

  // Measured, not asserted exactly: the abandoned run keeps about one core busy until it returns.
  const cpu0 = await cpuSeconds();
  await new Promise((r) => setTimeout(r, 1000));
  const busy = (await cpuSeconds()) - cpu0;
  t.diagnostic(
    `slow request answered after ${answeredMs} ms; replacement answered in ${fastMs} ms; CPU while abandoned: ${busy.toFixed(2)} core-seconds per second; threads ${await threadCount()} (baseline ${baselineThreads})`,
  );

  // Its thread ends once the run returns: the thread count falls back to the baseline.
  const abandonedStarted = Date.now();
  await waitFor(async () => (await threadCount()) <= baselineThreads, 60_000, 'the abandoned session thread to end');
  t.diagnostic(`abandoned thread ended ${Date.now() - abandonedStarted} ms after the measurement`);
  await expectCorrect('loop', 7);
  const stats = (await (await fetch(`${server.url}/v2/models/loop/stats`)).json()) as { model_stats: { inference_stats: { fail: { count: number } } }[] };
  assert.equal(stats.model_stats[0]!.inference_stats.fail.count, 1, 'the timed-out request counts as one failure');
});

test('the server default applies to models without execution_timeout_ms, and "0" turns it off for one model', async () => {
  const slow = await infer(server.url, 'loop_default', inputs(16000));
  assert.equal(slow.status, 504, JSON.stringify(slow.json));
  assert.match(String(slow.json['error']), /execution timeout of 400 ms/);
  // ~1.5 s of work: past the 400 ms default, but loop_off has no timeout.
  await expectCorrect('loop_off', 2500);
  await expectCorrect('loop_default', 9);
});

test('every request of a timed-out batch fails with 504', async () => {
  const row = { name: 'x', datatype: 'FP32', shape: [1, SLOW_WIDTH], data: new Array<number>(SLOW_WIDTH).fill(1) };
  const started = Date.now();
  const answers = await Promise.all([infer(server.url, 'batched', [row]), infer(server.url, 'batched', [row])]);
  const elapsedMs = Date.now() - started;
  for (const answer of answers) {
    assert.equal(answer.status, 504, JSON.stringify(answer.json));
    assert.match(String(answer.json['error']), /execution timeout of 100 ms/);
  }
  // Run apart, the first would have waited 2 s for a partner: both were one batch.
  assert.ok(elapsedMs < 1900, `both answered after ${elapsedMs} ms`);
});

test('over gRPC a timed-out execution is DEADLINE_EXCEEDED', async () => {
  const Client = grpc.makeGenericClientConstructor(serviceDefinition(oipPackageDefinition(), 'inference.GRPCInferenceService'), 'GRPCInferenceService');
  const client = new Client(`127.0.0.1:${server.ports.grpc}`, grpc.credentials.createInsecure());
  const call = client as unknown as { ModelInfer(r: unknown, cb: (error: grpc.ServiceError | null) => void): void };
  try {
    const x = new Float32Array(SIZE * SIZE);
    const error = await new Promise<grpc.ServiceError | undefined>((resolve) =>
      call.ModelInfer(
        {
          model_name: 'loop',
          inputs: [
            { name: 'x', datatype: 'FP32', shape: [SIZE, SIZE] },
            { name: 'n', datatype: 'INT64', shape: [1] },
          ],
          raw_input_contents: [Buffer.from(x.buffer), Buffer.from(BigInt64Array.of(16000n).buffer)],
        },
        (err: grpc.ServiceError | null) => resolve(err ?? undefined),
      ),
    );
    assert.equal(error?.code, grpc.status.DEADLINE_EXCEEDED, error?.message);
    assert.match(error?.details ?? '', /execution timeout of 500 ms/);
  } finally {
    client.close();
  }
});

test('cranberries serve stopped with SIGTERM while a timed-out run still computes waits for it and exits 0 (exiting at once would abort with 134)', async () => {
  const root = fileURLToPath(new URL('../../../', import.meta.url));
  const child = spawn(
    process.execPath,
    [
      'dist/src/cli/main.js',
      'serve',
      '--model-control-mode',
      'explicit',
      '--load-model',
      'loop_default',
      '--execution-timeout-secs',
      '0.3',
      '--model-repository',
      repo.root,
      '--host',
      '127.0.0.1',
      '--http-port',
      '0',
      '--grpc-port',
      '0',
      '--metrics-port',
      '0',
    ],
    { cwd: root, stdio: ['ignore', 'pipe', 'inherit'] },
  );
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const logged: string[] = [];
  try {
    const lines = createInterface({ input: child.stdout });
    const url = await new Promise<string>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('serve did not log its ports within 60 s')), 60_000);
      lines.on('line', (line) => {
        logged.push(line);
        const entry = JSON.parse(line) as { http?: number };
        if (typeof entry.http === 'number') {
          clearTimeout(timer);
          resolve(`http://127.0.0.1:${entry.http}`);
        }
      });
    });
    await waitFor(async () => (await fetch(`${url}/v2/models/loop_default/ready`)).status === 200, 60_000, 'loop_default to be ready');
    // ~3 s of work: it times out after 300 ms and computes on, abandoned, while the server stops.
    const slow = await infer(url, 'loop_default', inputs(5000));
    assert.equal(slow.status, 504, JSON.stringify(slow.json));
    child.kill('SIGTERM');
    assert.equal(await exited, 0);
    assert.ok(
      logged.some((line) => line.includes('waiting for runs abandoned after an execution timeout')),
      'the wait is logged',
    );
  } finally {
    child.kill('SIGKILL');
  }
});
