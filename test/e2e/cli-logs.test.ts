/**
 * Logs and command line of the real `cranberries` process: JSON lines off a terminal, human lines
 * with `--log-format text` (no field said twice), the startup banner (endpoints with schemes,
 * models with states), `--help` with examples within 100 columns, and Triton's logging extension
 * over real REST and gRPC sockets changing the running server's level and format.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { promisify } from 'node:util';
import * as grpc from '@grpc/grpc-js';
import { createTempModelRepository, identityModel, type TempModelRepository } from '../fixtures/onnx-models.js';
import { PACKAGE_ROOT } from '../helpers/cli-process.js';
import { DecoderTestClient } from '../helpers/grpc-raw-client.js';

const MAIN = `${PACKAGE_ROOT}dist/src/cli/main.js`;
const OIP = 'inference.GRPCInferenceService';
const START_MS = 90_000;

interface Served {
  readonly child: ChildProcess;
  /** Every stdout line so far, raw. */
  readonly lines: string[];
  stderr(): string;
  /** Resolves with the index of the first line (from `from`) matching; rejects on timeout or exit. */
  waitForLine(match: (line: string) => boolean, timeoutMs?: number, from?: number): Promise<number>;
  stop(): Promise<void>;
}

function serve(args: readonly string[], env: NodeJS.ProcessEnv = {}): Served {
  const child = spawn(process.execPath, [MAIN, 'serve', '--host', '127.0.0.1', '--http-port', '0', '--grpc-port', '0', '--metrics-port', '0', ...args], {
    cwd: PACKAGE_ROOT,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, ...env },
  });
  const lines: string[] = [];
  let stderr = '';
  let exited = false;
  const listeners = new Set<() => void>();
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  createInterface({ input: child.stdout }).on('line', (line) => {
    lines.push(line);
    for (const l of [...listeners]) l();
  });
  const exit = new Promise<void>((resolve) =>
    child.on('exit', () => {
      exited = true;
      for (const l of [...listeners]) l();
      resolve();
    }),
  );
  return {
    child,
    lines,
    stderr: () => stderr,
    waitForLine: (match, timeoutMs = START_MS, from = 0) =>
      new Promise<number>((resolve, reject) => {
        const check = (): void => {
          const at = lines.findIndex((line, i) => i >= from && match(line));
          if (at >= 0) finish(() => resolve(at));
          else if (exited) finish(() => reject(new Error(`serve exited before the line: ${stderr.slice(0, 400)} ${lines.slice(-5).join(' | ')}`)));
        };
        const finish = (then: () => void): void => {
          clearTimeout(timer);
          listeners.delete(check);
          then();
        };
        const timer = setTimeout(() => finish(() => reject(new Error(`no such line within ${timeoutMs} ms; last: ${lines.slice(-5).join(' | ').slice(-800)}`))), timeoutMs);
        listeners.add(check);
        check();
      }),
    stop: async () => {
      if (!exited) child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 20_000);
      await exit;
      clearTimeout(timer);
    },
  };
}

/** Top-level keys of a JSON object text, in order, duplicates kept (JSON.parse would keep only the last). */
function topLevelKeys(text: string): string[] {
  const keys: string[] = [];
  let depth = 0;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i];
    if (ch === '"') {
      let j = i + 1;
      while (j < text.length && text[j] !== '"') j += text[j] === '\\' ? 2 : 1;
      if (depth === 1 && text[j + 1] === ':') keys.push(JSON.parse(text.slice(i, j + 1)) as string);
      i = j;
    } else if (ch === '{' || ch === '[') depth++;
    else if (ch === '}' || ch === ']') depth--;
  }
  return keys;
}

interface Banner {
  msg: string;
  endpoints: { http: string; grpc: string; metrics: string };
  models: { name: string; state: string; versions: number[]; reason?: string }[];
}

let repo: TempModelRepository;

before(async () => {
  repo = await createTempModelRepository({ identity: { versions: { 1: identityModel({ datatype: 'FP32', dims: [-1], batching: true }) } } });
  // A model folder that cannot load: its config names a field ModelConfig does not have.
  await mkdir(join(repo.root, 'broken', '1'), { recursive: true });
  await writeFile(join(repo.root, 'broken', 'config.pbtxt'), 'max_batch_sise: 4\n');
});
after(() => repo.remove());

const FAILING_MODEL_ARGS = (): string[] => ['--model-repository', repo.root, '--exit-on-error', 'false', '--strict-readiness', 'false'];

describe('log format', () => {
  test('off a terminal the default is JSON lines, no key twice in a line, and one banner line lists endpoints and models with states', async () => {
    const cli = serve(FAILING_MODEL_ARGS());
    try {
      const at = await cli.waitForLine((line) => line.includes('"banner":true'));
      for (const line of cli.lines.slice(0, at + 1)) {
        const record = JSON.parse(line) as Record<string, unknown>;
        assert.equal(typeof record['msg'], 'string');
        const keys = topLevelKeys(line);
        assert.equal(new Set(keys).size, keys.length, `a key repeated in ${line.slice(0, 300)}`);
      }
      const banner = JSON.parse(cli.lines[at] ?? '') as Banner;
      assert.match(banner.endpoints.http, /^http:\/\/127\.0\.0\.1:\d+$/);
      assert.match(banner.endpoints.grpc, /^grpc:\/\/127\.0\.0\.1:\d+$/);
      assert.match(banner.endpoints.metrics, /^http:\/\/127\.0\.0\.1:\d+\/metrics$/);
      // The endpoints it names are the live ones.
      assert.equal((await fetch(`${banner.endpoints.http}/v2/health/live`)).status, 200);
      assert.equal((await fetch(banner.endpoints.metrics)).status, 200);
      assert.deepEqual(
        banner.models.find((m) => m.name === 'identity'),
        { name: 'identity', state: 'READY', versions: [1] },
      );
      const broken = banner.models.find((m) => m.name === 'broken');
      assert.equal(broken?.state, 'UNAVAILABLE');
      assert.match(broken?.reason ?? '', /max_batch_sise/);
      assert.match(banner.msg, /1 of 2 models READY/);
    } finally {
      await cli.stop();
    }
  });

  test('--log-format text: human lines with time and level, no field repeated, and a banner block', async () => {
    const cli = serve([...FAILING_MODEL_ARGS(), '--log-format', 'text']);
    try {
      const at = await cli.waitForLine((line) => / INFO: Cranberries \S+ started: /.test(line));
      const block = cli.lines.slice(at, at + 6).join('\n');
      assert.match(block, /\n {2}HTTP {5}http:\/\/127\.0\.0\.1:\d+/);
      assert.match(block, /\n {2}gRPC {5}grpc:\/\/127\.0\.0\.1:\d+/);
      assert.match(block, /\n {2}metrics {2}http:\/\/127\.0\.0\.1:\d+\/metrics/);
      assert.match(block, /\n {2}broken {4}UNAVAILABLE: .*max_batch_sise/);
      assert.match(block, /\n {2}identity {2}READY \(version 1\)/);
      const records = cli.lines.filter((line) => !line.startsWith(' '));
      assert.ok(records.length > 5);
      for (const line of records) {
        assert.ok(!line.startsWith('{'), `not JSON: ${line.slice(0, 200)}`);
        assert.match(line, /^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{3} (TRACE|DEBUG|INFO|WARN|ERROR|FATAL): /);
        const keys = [...line.matchAll(/ ([A-Za-z_]\w*)=/g)].map((m) => m[1]);
        assert.equal(new Set(keys).size, keys.length, `a field repeated in ${line}`);
        assert.doesNotMatch(line, /pid=|hostname=/);
      }
      const unavailable = records.find((line) => line.includes("model 'broken' is UNAVAILABLE"));
      assert.ok(unavailable, 'the failure is logged');
      assert.doesNotMatch(unavailable, /model=|state=|reason=/, 'the message already says model, state and reason');
      const loaded = records.find((line) => line.includes('model version state changed') && line.includes('state=READY'));
      assert.match(loaded ?? '', /model=identity version=1 state=READY/);
      const listening = records.find((line) => line.includes('listening (plaintext)'));
      assert.doesNotMatch(listening ?? 'missing', /http=|grpc=|host=/);
    } finally {
      await cli.stop();
    }
  });
});

describe('--help', () => {
  const run = promisify(execFile);
  for (const command of ['serve', 'worker', 'controller', 'gateway', 'infer', 'bench', 'cluster', 'cluster up']) {
    test(`${command} --help has Examples and no line over 100 columns (COLUMNS=100)`, async () => {
      const { stdout } = await run(process.execPath, [MAIN, ...command.split(' '), '--help'], { env: { ...process.env, COLUMNS: '100' }, timeout: 30_000 });
      assert.match(stdout, /\nExamples:\n {2}(# .*\n {2})?cranberries /);
      for (const line of stdout.split('\n')) assert.ok(line.length <= 100, `${line.length} columns: ${line}`);
      if (command !== 'cluster') assert.match(stdout, /--log-format|--model-version|-u, --url/, 'the flags of this round are listed');
    });
  }
});

describe('logging extension', () => {
  let cli: Served;
  let http: string;
  let grpcAddress: string;
  let client: DecoderTestClient;

  before(async () => {
    // --server-name rides along here: it needs a real `serve` process and nothing else.
    cli = serve(['--model-repository', repo.root, '--exit-on-error', 'false', '--server-name', 'triton']);
    const at = await cli.waitForLine((line) => line.includes('"banner":true'));
    const banner = JSON.parse(cli.lines[at] ?? '') as Banner;
    http = banner.endpoints.http;
    grpcAddress = banner.endpoints.grpc.replace('grpc://', '');
    client = new DecoderTestClient(grpcAddress);
  });
  after(async () => {
    client.close();
    await cli.stop();
  });

  const post = async (body: string): Promise<{ status: number; json: Record<string, unknown> }> => {
    const response = await fetch(`${http}/v2/logging`, { method: 'POST', headers: { 'content-type': 'application/json' }, body });
    return { status: response.status, json: (await response.json()) as Record<string, unknown> };
  };
  /** A gRPC call that fails with NOT_FOUND: the server logs it at debug. */
  const failingCall = async (tag: string): Promise<void> => {
    const outcome = await client.call(OIP, 'ModelMetadata', { name: `missing-${tag}`, version: '' });
    assert.equal(outcome.code, grpc.status.NOT_FOUND);
  };
  const debugLineFor = (tag: string): boolean =>
    cli.lines.some((line) => line.includes(`missing-${tag}`) && (line.startsWith('{') ? (JSON.parse(line) as { level: number }).level === 20 : / DEBUG: /.test(line)));

  test('REST: GET answers the settings; POST log_verbose_level 1 makes debug lines appear; the server advertises "logging"', async () => {
    const metadata = (await (await fetch(`${http}/v2`)).json()) as { name: string; extensions: string[] };
    assert.ok(metadata.extensions.includes('logging'));
    assert.equal(metadata.name, 'triton', '--server-name names the server in its metadata');
    const grpcMetadata = await client.call(OIP, 'ServerMetadata', {});
    assert.equal((grpcMetadata.value as { name?: string } | undefined)?.name, 'triton');
    const current = (await (await fetch(`${http}/v2/logging`)).json()) as Record<string, unknown>;
    assert.deepEqual(current, { log_file: '', log_info: true, log_warning: true, log_error: true, log_verbose_level: 0, log_format: 'json' });

    await failingCall('rest-before');
    // The call has been answered; a line written for it would already be on its way.
    await new Promise((r) => setTimeout(r, 500));
    assert.equal(debugLineFor('rest-before'), false, 'no debug line at the default level');

    const changed = await post('{"log_verbose_level":1}');
    assert.equal(changed.status, 200);
    assert.deepEqual(changed.json, { ...current, log_verbose_level: 1 });
    await failingCall('rest-after');
    await cli.waitForLine(() => debugLineFor('rest-after'), 20_000);

    const back = await post('{"log_verbose_level":0}');
    assert.equal(back.json['log_verbose_level'], 0);
  });

  test('REST: POST log_format text switches the running server to human lines, and back', async () => {
    const from = cli.lines.length;
    assert.equal((await post('{"log_format":"text"}')).status, 200);
    await cli.waitForLine((line) => / INFO: log settings changed: log_format=text/.test(line), 20_000, from);
    const mark = cli.lines.length;
    assert.equal((await post('{"log_format":"json"}')).status, 200);
    const at = await cli.waitForLine((line) => line.startsWith('{') && line.includes('log settings changed'), 20_000, mark);
    assert.equal((JSON.parse(cli.lines[at] ?? '') as { msg: string }).msg, 'log settings changed: log_format=json');
  });

  test('REST refusals: unknown setting or wrong type 400, log_file 501, each {"error"}; a refused change changes nothing', async () => {
    for (const [body, status] of [
      ['{"log_verbosity":1}', 400],
      ['{"log_info":"yes"}', 400],
      ['{"log_verbose_level":-1}', 400],
      ['{"log_format":"ISO8601"}', 400],
      ['[1]', 400],
      ['{"log_file":"/tmp/cranberries.log"}', 501],
      ['{"log_verbose_level":2,"log_error":0}', 400],
    ] as const) {
      const answer = await post(body);
      assert.equal(answer.status, status, body);
      assert.equal(typeof answer.json['error'], 'string', body);
    }
    const after = (await (await fetch(`${http}/v2/logging`)).json()) as Record<string, unknown>;
    assert.equal(after['log_verbose_level'], 0);
    assert.equal((await fetch(`${http}/v2/logging`, { method: 'PUT', body: '{}', headers: { 'content-type': 'application/json' } })).status, 405);
  });

  test('gRPC LogSettings: raises verbosity (a debug line appears), answers every setting, refuses wrong types and log_file', async () => {
    await failingCall('grpc-before');
    await new Promise((r) => setTimeout(r, 500));
    assert.equal(debugLineFor('grpc-before'), false);

    const answer = await client.call<{ settings: Record<string, { parameter_choice?: string; uint32_param?: number; bool_param?: boolean; string_param?: string }> }>(OIP, 'LogSettings', {
      settings: { log_verbose_level: { uint32_param: 1 } },
    });
    assert.equal(answer.code, grpc.status.OK, answer.details);
    assert.equal(answer.value?.settings['log_verbose_level']?.uint32_param, 1);
    assert.equal(answer.value?.settings['log_info']?.bool_param, true);
    assert.equal(answer.value?.settings['log_format']?.string_param, 'json');
    assert.equal(answer.value?.settings['log_file']?.string_param, '');
    await failingCall('grpc-after');
    await cli.waitForLine(() => debugLineFor('grpc-after'), 20_000);

    const wrongType = await client.call(OIP, 'LogSettings', { settings: { log_verbose_level: { bool_param: true } } });
    assert.equal(wrongType.code, grpc.status.INVALID_ARGUMENT);
    assert.match(wrongType.details, /log_verbose_level/);
    const file = await client.call(OIP, 'LogSettings', { settings: { log_file: { string_param: '/tmp/x.log' } } });
    assert.equal(file.code, grpc.status.UNIMPLEMENTED);
    const read = await client.call<{ settings: Record<string, { uint32_param?: number }> }>(OIP, 'LogSettings', {});
    assert.equal(read.code, grpc.status.OK);
    assert.equal(read.value?.settings['log_verbose_level']?.uint32_param, 1, 'refused calls changed nothing');
  });
});

describe('logging extension and access control', () => {
  test('with an admin token, /v2/logging and LogSettings need it (the logging group is an admin group)', async () => {
    const cli = serve(['--model-repository', repo.root, '--exit-on-error', 'false'], { CRANBERRIES_ADMIN_TOKEN: 'logging-test-token' });
    const client = { current: undefined as DecoderTestClient | undefined };
    try {
      const at = await cli.waitForLine((line) => line.includes('"banner":true'));
      const banner = JSON.parse(cli.lines[at] ?? '') as Banner;
      const url = `${banner.endpoints.http}/v2/logging`;
      assert.equal((await fetch(url)).status, 401);
      const refused = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"log_verbose_level":1}' });
      assert.equal(refused.status, 401);
      const allowed = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json', authorization: 'Bearer logging-test-token' }, body: '{"log_verbose_level":1}' });
      assert.equal(allowed.status, 200);
      assert.equal(((await allowed.json()) as { log_verbose_level: number }).log_verbose_level, 1);
      client.current = new DecoderTestClient(banner.endpoints.grpc.replace('grpc://', ''));
      const call = await client.current.call(OIP, 'LogSettings', {});
      assert.equal(call.code, grpc.status.UNAUTHENTICATED);
    } finally {
      client.current?.close();
      await cli.stop();
    }
  });
});
