/**
 * SIGTERM always finishes: `cranberries serve` (a real child process) with an inference stuck in a
 * model run far longer than the drain timeout ends within `--drain-timeout-secs` (plus slack), by
 * SIGTERM's default action (the documented outcome of a drain timeout), and the stuck request's
 * connection is closed rather than left hanging. Without a stuck run, SIGTERM exits with code 0.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { request } from 'node:http';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { addSubModel, createTempModelRepository, slowModel, type TempModelRepository } from '../fixtures/onnx-models.js';
import { waitFor } from '../helpers/test-server.js';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
// ~25 ms per 1024² MatMul on one thread on this (loaded) 2-core machine: 1500 of them run for over
// half a minute (loading includes one warm-up run of the same length).
const SIZE = 1024;
const REPEATS = 1500;
const DRAIN_TIMEOUT_SECS = 3;

let repo: TempModelRepository;
let quickRepo: TempModelRepository;
let child: ChildProcess | undefined;

before(async () => {
  repo = await createTempModelRepository({
    slow: { versions: { 1: slowModel({ size: SIZE, repeats: REPEATS }) }, config: 'parameters { key: "intra_op_thread_count" value: { string_value: "1" } }' },
  });
  quickRepo = await createTempModelRepository({ simple: { versions: { 1: addSubModel('FP32', [4]) } } });
});

after(async () => {
  if (child && child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  await repo?.remove();
  await quickRepo?.remove();
});

/** Starts `serve` on free ports; resolves with its HTTP port once it logged it. */
async function startServe(repository: string, extraArgs: readonly string[]): Promise<{ process: ChildProcess; httpPort: number }> {
  const started = spawn(
    process.execPath,
    ['dist/src/cli/main.js', 'serve', '--model-repository', repository, '--host', '127.0.0.1', '--http-port', '0', '--grpc-port', '0', '--metrics-port', '0', ...extraArgs],
    { cwd: ROOT, stdio: ['ignore', 'pipe', 'inherit'] },
  );
  const lines = createInterface({ input: started.stdout });
  const httpPort = await new Promise<number>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('serve did not log its ports within 60 s')), 60_000);
    lines.on('line', (line) => {
      const entry = JSON.parse(line) as { http?: number };
      if (typeof entry.http === 'number') {
        clearTimeout(timer);
        resolve(entry.http);
      }
    });
  });
  return { process: started, httpPort };
}

test('SIGTERM behind a model run that outlasts the drain timeout ends the process within the timeout', { timeout: 240_000 }, async () => {
  const serve = await startServe(repo.root, ['--drain-timeout-secs', String(DRAIN_TIMEOUT_SECS)]);
  child = serve.process;
  const base = `http://127.0.0.1:${serve.httpPort}`;
  await waitFor(async () => (await fetch(`${base}/v2/models/slow/ready`)).status === 200, 150_000, 'the slow model to be ready');

  // The stuck request: binary input, so the body is just the raw tensor.
  const json = Buffer.from(JSON.stringify({ inputs: [{ name: 'x', datatype: 'FP32', shape: [SIZE, SIZE], parameters: { binary_data_size: SIZE * SIZE * 4 } }] }));
  const body = Buffer.concat([json, Buffer.alloc(SIZE * SIZE * 4)]);
  const answered = new Promise<string>((resolve) => {
    const call = request(`${base}/v2/models/slow/infer`, { method: 'POST', headers: { 'inference-header-content-length': json.length, 'content-length': body.length } }, (response) => {
      response.resume();
      response.once('end', () => resolve(`answered ${response.statusCode}`));
      response.once('error', () => resolve('connection closed'));
    });
    call.once('error', () => resolve('connection closed'));
    call.end(body);
  });
  // Let the run start in its worker thread.
  await new Promise((r) => setTimeout(r, 2000));

  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child!.once('exit', (code, signal) => resolve({ code, signal })));
  const signalledAt = Date.now();
  child.kill('SIGTERM');
  const limitMs = DRAIN_TIMEOUT_SECS * 1000 + 7000;
  const outcome = await Promise.race([exited, new Promise<'still running'>((r) => setTimeout(() => r('still running'), limitMs))]);
  const elapsedMs = Date.now() - signalledAt;
  assert.notEqual(outcome, 'still running', `serve was still running ${limitMs} ms after SIGTERM`);
  assert.deepEqual(outcome, { code: null, signal: 'SIGTERM' });
  assert.ok(elapsedMs >= DRAIN_TIMEOUT_SECS * 1000 - 500, `it waited for the drain timeout first (${elapsedMs} ms)`);
  assert.equal(await answered, 'connection closed', 'the stuck request ends with its connection');
});

test('SIGTERM with nothing running exits with code 0 at once', { timeout: 240_000 }, async () => {
  const serve = await startServe(quickRepo.root, ['--drain-timeout-secs', '60']);
  child = serve.process;
  await waitFor(async () => (await fetch(`http://127.0.0.1:${serve.httpPort}/v2/models/simple/ready`)).status === 200, 60_000, 'the model to be ready');
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child!.once('exit', (code, signal) => resolve({ code, signal })));
  const signalledAt = Date.now();
  child.kill('SIGTERM');
  assert.deepEqual(await exited, { code: 0, signal: null });
  assert.ok(Date.now() - signalledAt < 30_000, 'well before the drain timeout');
});
