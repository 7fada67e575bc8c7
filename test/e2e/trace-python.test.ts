/**
 * The trace extension from a client in another language: Python stubs generated from the
 * project's protos with Debian's grpc_tools, messages built as tritonclient builds them
 * (test/python/trace_grpc.py), against a real server; the traced request lands in the trace file.
 *
 * Needs the Debian packages python3-grpcio, python3-grpc-tools and python3-numpy (installed by
 * `npm test`, see scripts/system-packages.mjs).
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { promisify } from 'node:util';
import { PACKAGE_ROOT } from '../../src/core/version.js';
import { tracerOptionsFromFlags } from '../../src/tracing/index.js';
import { startTestServer, type TestServer } from '../helpers/test-server.js';

const run = promisify(execFile);
const PYTHON = '/usr/bin/python3';
const PROTO_ROOT = join(PACKAGE_ROOT, 'proto');

let server: TestServer | undefined;
let dir: string;

async function protoFiles(folder: string): Promise<string[]> {
  const found: string[] = [];
  for (const entry of await readdir(folder, { withFileTypes: true })) {
    const path = join(folder, entry.name);
    if (entry.isDirectory()) found.push(...(await protoFiles(path)));
    else if (entry.name.endsWith('.proto')) found.push(relative(PROTO_ROOT, path));
  }
  return found.sort();
}

before(async () => {
  for (const proof of ['/usr/lib/python3/dist-packages/grpc/__init__.py', '/usr/lib/python3/dist-packages/grpc_tools/__init__.py', '/usr/lib/python3/dist-packages/numpy/__init__.py']) {
    assert.ok(existsSync(proof), `missing ${proof}: install python3-grpcio python3-grpc-tools python3-numpy (npm test does it)`);
  }
  dir = await mkdtemp(join(tmpdir(), 'cranberries-trace-py-'));
});

after(async () => {
  await server?.stop();
  await rm(dir, { recursive: true, force: true });
});

test('Python (tritonclient-style messages) reads, sets and clears trace settings over gRPC; its traced request is in the file', async () => {
  const stubs = join(dir, 'stubs');
  await run(PYTHON, ['-c', `import os; os.makedirs(${JSON.stringify(stubs)})`]);
  await run(PYTHON, ['-m', 'grpc_tools.protoc', `-I${PROTO_ROOT}`, `--python_out=${stubs}`, `--grpc_python_out=${stubs}`, ...(await protoFiles(PROTO_ROOT))], { cwd: PROTO_ROOT, timeout: 120_000 });
  const file = join(dir, 'trace.json');
  server = await startTestServer({ modelRepository: join(PACKAGE_ROOT, 'models'), trace: tracerOptionsFromFlags([`triton,file=${file}`]) });
  let stdout: string;
  try {
    ({ stdout } = await run(
      PYTHON,
      [join(PACKAGE_ROOT, 'test/python/trace_grpc.py'), '--request', join(PACKAGE_ROOT, 'examples/digits/request.json'), '--grpc', `127.0.0.1:${server.ports.grpc}`, '--stubs', stubs],
      { timeout: 120_000 },
    ));
  } catch (error) {
    throw new Error(`trace_grpc.py failed: ${(error as { stderr?: string }).stderr ?? String(error)}`);
  }
  const out = JSON.parse(stdout) as Record<string, Record<string, unknown>>;
  assert.deepEqual(out['global'], { trace_level: ['OFF'], trace_rate: ['1000'], trace_count: ['-1'], log_frequency: ['0'], trace_file: [file], trace_mode: ['triton'] });
  assert.deepEqual(out['model'], { trace_level: ['TIMESTAMPS'], trace_rate: ['1'], trace_count: ['-1'], log_frequency: ['0'], trace_file: [file], trace_mode: ['triton'] });
  assert.deepEqual(out['model_cleared']!['trace_rate'], ['1000']);
  assert.deepEqual(out['model_cleared']!['trace_level'], ['TIMESTAMPS'], 'the level the model set stays');
  assert.equal(out['bad_count']!['code'], 'INVALID_ARGUMENT');
  assert.match(String(out['bad_count']!['details']), /^Unable to parse 'trace_count', value is out of range \[ -1, 2147483647 \], got: -5$/);
  await server.stop();
  server = undefined;
  const records = JSON.parse(await readFile(file, 'utf8')) as { model_name?: string; request_id?: string; timestamps?: { name: string }[] }[];
  assert.deepEqual(
    records.filter((r) => r.model_name !== undefined).map((r) => [r.model_name, r.request_id]),
    [['digits', 'py-traced']],
  );
  assert.ok(records.some((r) => r.timestamps?.[0]?.name === 'GRPC_SEND_END'));
});
