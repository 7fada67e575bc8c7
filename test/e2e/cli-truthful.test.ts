/**
 * Truthful operation of `cranberries serve`, each case a real process: readiness that means ready
 * (polled from process start), fail-fast startup (busy ports, missing inputs, typo'd names, models
 * that do not load), and model folders that cannot load shown and logged with their reason.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:net';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { createTempModelRepository, identityModel, type TempModelRepository } from '../fixtures/onnx-models.js';
import { infer } from '../helpers/oip-client.js';
import { waitFor } from '../helpers/test-server.js';
import { BUNDLED_MODELS, BUNDLED_MODELS_IN_ERRORS } from '../helpers/bundled-models.js';
import { exitWithin, startCli } from '../helpers/cli-process.js';

const IDENTITY = identityModel({ datatype: 'FP32', dims: [-1], batching: true });
const ones = [{ name: 'INPUT0', datatype: 'FP32', shape: [1, 2], data: [1, 2] }];
const EXIT_MS = 60_000;

interface IndexEntry {
  name: string;
  version?: string;
  state?: string;
  reason?: string;
}

async function index(url: string): Promise<IndexEntry[]> {
  return (await (await fetch(`${url}/v2/repository/index`, { method: 'POST' })).json()) as IndexEntry[];
}

async function status(url: string): Promise<number> {
  return (await fetch(url)).status;
}

describe('readiness means ready', () => {
  test('polled every 10 ms from process start, /v2/health/ready is never 200 before every startup model is READY', async () => {
    const started = Date.now();
    const cli = startCli(['--http-port', '0']);
    try {
      const url = await cli.url();
      let firstReadyAt: number | undefined;
      let notReadyAnswers = 0;
      while (firstReadyAt === undefined && Date.now() - started < 120_000) {
        const response = await fetch(`${url}/v2/health/ready`);
        if (response.status === 200) firstReadyAt = Date.now();
        else {
          assert.equal(response.status, 400, 'not ready is 400 (as Triton answers)');
          notReadyAnswers++;
          await new Promise((r) => setTimeout(r, 10));
        }
      }
      assert.ok(firstReadyAt !== undefined, 'ready within 120 s');
      // At the first 200, every bundled model answers: none is still loading or unknown.
      for (const model of BUNDLED_MODELS) assert.equal(await status(`${url}/v2/models/${model}/ready`), 200, `${model} is READY when the server is`);
      const readyLogs = cli.logs.filter((e) => e.msg === 'model version state changed' && e['state'] === 'READY');
      assert.deepEqual(readyLogs.map((e) => e['model']).sort(), BUNDLED_MODELS);
      for (const e of readyLogs) assert.ok(e.time <= firstReadyAt, `${String(e['model'])} was READY (${e.time}) before the first 200 (${firstReadyAt})`);
      const serverReady = cli.logs.findIndex((e) => e.msg === 'server is ready');
      assert.ok(serverReady > cli.logs.indexOf(readyLogs.at(-1)!), 'the log says "server is ready" after the last model is READY');
      assert.ok(notReadyAnswers > 0, 'the poll saw the server before it was ready');
      assert.equal(await status(`${url}/v2/health/live`), 200);
    } finally {
      await cli.stop();
    }
  });
});

describe('fail fast', () => {
  let busy: Server;
  let busyPort: number;
  before(async () => {
    busy = createServer();
    await new Promise<void>((resolve) => busy.listen(0, '127.0.0.1', resolve));
    busyPort = (busy.address() as { port: number }).port;
  });
  after(() => busy.close());

  for (const flag of ['--http-port', '--grpc-port', '--metrics-port']) {
    test(`a busy ${flag} exits 1 with one sentence naming the flag and the port`, async () => {
      const cli = startCli([flag, String(busyPort)]);
      try {
        assert.equal(await exitWithin(cli, EXIT_MS), 1);
        const lines = cli.stderr().trim().split('\n');
        assert.equal(lines.length, 1, `one line on stderr, got: ${cli.stderr()}`);
        assert.equal(lines[0], `${flag} ${busyPort}: 127.0.0.1:${busyPort} is already in use (another process listens there); choose another port, or 0 for a free one`);
      } finally {
        await cli.stop(); // a process that did not exit must not outlive the test
      }
    });
  }

  test('a misspelt --model-repository exits 1 and names the folder it probably meant', async () => {
    const parent = await mkdtemp(join(tmpdir(), 'cranberries-typo-'));
    try {
      await mkdir(join(parent, 'models'));
      const cli = startCli(['--model-repository', join(parent, 'modles')]);
      try {
        assert.equal(await exitWithin(cli, EXIT_MS), 1);
        assert.equal(cli.stderr().trim(), `--model-repository ${join(parent, 'modles')}: no such folder (${join(parent, 'modles')}); did you mean ${join(parent, 'models')}?`);
      } finally {
        await cli.stop();
      }
    } finally {
      await rm(parent, { recursive: true, force: true });
    }
  });

  test('a --model-config-file that does not exist exits 1', async () => {
    const cli = startCli(['--model-config-file', 'no-such-models.config']);
    try {
      assert.equal(await exitWithin(cli, EXIT_MS), 1);
      assert.match(cli.stderr().trim(), /^--model-config-file no-such-models\.config: no such file \(.*no-such-models\.config\)$/);
    } finally {
      await cli.stop();
    }
  });

  test('an unknown --load-model name exits 1 with the names there are', async () => {
    const cli = startCli(['--model-control-mode', 'explicit', '--load-model', 'digitz']);
    after(() => cli.stop());
    assert.equal(await exitWithin(cli, EXIT_MS), 1);
    assert.match(
      cli.stderr().trim(),
      new RegExp(`^--load-model digitz: no model folder 'digitz' in the model repository .*models \\(did you mean 'digits'\\?\\); models there: ${BUNDLED_MODELS_IN_ERRORS.replace(/[()]/g, '\\$&')}$`),
    );
  });
});

describe('model folders that cannot load', () => {
  let repo: TempModelRepository;
  let where: string;
  before(async () => {
    repo = await createTempModelRepository({ good: { versions: { 1: IDENTITY } } });
    where = basename(repo.root);
    await mkdir(join(repo.root, 'noversion'));
    await writeFile(join(repo.root, 'noversion', 'model.onnx'), IDENTITY);
    await mkdir(join(repo.root, 'padded', '01'), { recursive: true });
    await writeFile(join(repo.root, 'padded', '01', 'model.onnx'), IDENTITY);
  });
  after(() => repo.remove());

  const NOVERSION = (): string => `no version folder: put model.onnx under ${where}/noversion/1/`;
  const PADDED = (): string => `no valid version folder in ${where}/padded/: '01' is zero-padded: rename it to '1'`;

  test('with exit-on-error (the default) the server exits 1 naming each model and its reason', async () => {
    const cli = startCli(['--model-repository', repo.root]);
    after(() => cli.stop());
    assert.equal(await exitWithin(cli, EXIT_MS), 1);
    assert.equal(cli.stderr().trim(), `models 'noversion' (${NOVERSION()}), 'padded' (${PADDED()}) did not load; fix them, or pass --exit-on-error false to serve the models that loaded`);
  });

  test('with --exit-on-error false it serves what loaded; the others are in the index and the log with their reason; strict readiness stays not ready', async () => {
    const cli = startCli(['--model-repository', repo.root, '--exit-on-error', 'false']);
    try {
      const url = await cli.url();
      await waitFor(() => cli.logs.some((e) => /^serving without models/.test(e.msg)), 60_000, 'the startup to settle');
      const entries = await index(url);
      assert.deepEqual(entries, [
        { name: 'good', version: '1', state: 'READY' },
        { name: 'noversion', state: 'UNAVAILABLE', reason: NOVERSION() },
        { name: 'padded', state: 'UNAVAILABLE', reason: PADDED() },
      ]);
      const warnings = cli.logs.filter((e) => e.level === 40).map((e) => e.msg);
      assert.ok(warnings.includes(`model 'noversion' is UNAVAILABLE: ${NOVERSION()}`), warnings.join('\n'));
      assert.ok(warnings.includes(`model 'padded' is UNAVAILABLE: ${PADDED()}`), warnings.join('\n'));
      assert.equal((await infer(url, 'good', ones)).status, 200);
      const refused = await infer(url, 'noversion', ones);
      assert.equal(refused.status, 503);
      assert.match(JSON.stringify(refused.json), /no version folder/);
      assert.equal(await status(`${url}/v2/health/ready`), 400, 'strict readiness: not every model is READY');
      assert.equal(await status(`${url}/v2/health/live`), 200);
    } finally {
      await cli.stop();
    }
  });

  test('with --strict-readiness false the server is ready once the startup settled', async () => {
    const cli = startCli(['--model-repository', repo.root, '--exit-on-error=false', '--strict-readiness=false']);
    try {
      const url = await cli.url();
      await waitFor(async () => (await status(`${url}/v2/health/ready`)) === 200, 60_000, 'ready');
      assert.equal(await status(`${url}/v2/models/good/ready`), 200, 'ready only after the startup models settled');
      assert.equal((await index(url)).find((e) => e.name === 'noversion')?.state, 'UNAVAILABLE');
    } finally {
      await cli.stop();
    }
  });
});

describe('poll mode', () => {
  test('a config error found by the poller is logged at warn with its reason, and the model keeps serving', async () => {
    const repo = await createTempModelRepository({ good: { versions: { 1: IDENTITY } } });
    const cli = startCli(['--model-repository', repo.root, '--model-control-mode', 'poll', '--repository-poll-secs', '0.2']);
    try {
      const url = await cli.url();
      await waitFor(async () => (await status(`${url}/v2/health/ready`)) === 200, 60_000, 'ready');
      await writeFile(join(repo.root, 'good', 'config.pbtxt'), 'max_batch_sise: 4\n');
      const warned = /^model 'good' keeps serving version 1; its new configuration is refused: .*max_batch_sise.*did you mean "max_batch_size"/;
      await waitFor(() => cli.logs.some((e) => e.level === 40 && warned.test(e.msg)), 30_000, 'the warn line');
      assert.match((await index(url)).find((e) => e.name === 'good')?.reason ?? '', /max_batch_sise/);
      assert.equal((await infer(url, 'good', ones)).status, 200, 'the loaded copy keeps serving');
      // ...so neither the model nor the server stops being ready (a balancer must not drop a server that serves).
      assert.equal(await status(`${url}/v2/models/good/ready`), 200);
      assert.equal(await status(`${url}/v2/health/ready`), 200);
    } finally {
      await cli.stop();
      await repo.remove();
    }
  });
});

describe('admin API that refuses mistakes', () => {
  test('unknown names are 404 with the known ones; changes answer with the state after them; user mistakes are logged at info', async () => {
    const cli = startCli([]);
    try {
      const url = await cli.url();
      await waitFor(async () => (await status(`${url}/v2/health/ready`)) === 200, 120_000, 'ready');

      let response = await fetch(`${url}/v2/cluster/models/typo_model`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ replicas: 1 }) });
      assert.equal(response.status, 404);
      assert.equal(((await response.json()) as { error: string }).error, `model 'typo_model' is not found; models in the model repository: ${BUNDLED_MODELS_IN_ERRORS}`);
      assert.equal((await fetch(`${url}/v2/cluster/models/typo_model`)).status, 404, 'nothing was added');

      response = await fetch(`${url}/v2/cluster/models/diabetes/replicas`, { method: 'PUT', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ replicas: 0 }) });
      assert.equal(response.status, 200);
      let view = (await response.json()) as { replicas: number; readyReplicas: number; replicaStates: { state: string }[] };
      assert.deepEqual([view.replicas, view.readyReplicas, view.replicaStates], [0, 0, []], 'the answer shows the state after the change');
      // The answer is the store's state; the gateway learns it from its store watch a moment later (on a loaded
      // machine, a few hundred ms), so its own readiness is awaited, bounded.
      await waitFor(async () => (await status(`${url}/v2/models/diabetes/ready`)) === 400, 10_000, 'the gateway to stop routing diabetes');
      assert.deepEqual(
        (await index(url)).filter((e) => e.name === 'diabetes'),
        [{ name: 'diabetes', state: 'UNAVAILABLE', reason: 'unloaded' }],
      );

      response = await fetch(`${url}/v2/cluster/models/diabetes/replicas`, { method: 'PUT', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ replicas: 1 }) });
      assert.equal(response.status, 200);
      view = (await response.json()) as typeof view;
      assert.deepEqual([view.replicas, view.readyReplicas, view.replicaStates.map((r) => r.state)], [1, 1, ['READY']]);
      await waitFor(async () => (await status(`${url}/v2/models/diabetes/ready`)) === 200, 10_000, 'the gateway to route diabetes again');

      response = await fetch(`${url}/v2/repository/models/digits/unload`, { method: 'POST' });
      assert.equal(response.status, 503);
      const { error } = (await response.json()) as { error: string };
      assert.match(error, /not allowed when --model-control-mode is 'none': start the server with --model-control-mode explicit, or change the served models with the cluster admin API/);
      await waitFor(() => cli.logs.some((e) => e.msg === 'request refused'), 5000, 'the refusal logged');
      const refusal = cli.logs.find((e) => e.msg === 'request refused')!;
      assert.equal(refusal.level, 30, 'info, not error');
      assert.equal(refusal['err'], undefined, 'no error object (stack trace)');
      assert.ok(!cli.logs.some((e) => e.level >= 50), 'nothing logged at error');
    } finally {
      await cli.stop();
    }
  });
});
