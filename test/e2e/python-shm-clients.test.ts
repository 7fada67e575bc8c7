/**
 * System shared memory from Python: test/python/shm_clients.py follows tritonclient's
 * simple_grpc_shm_client.py, simple_http_shm_client.py and simple_grpc_shm_string_client.py step
 * by step (mmap on /dev/shm, stubs generated from the project's protos with Debian's grpc_tools,
 * urllib for REST) against a real server started with shared memory allowed.
 *
 * Needs the Debian packages python3-grpcio, python3-grpc-tools and python3-numpy (installed by
 * `npm test`, see scripts/system-packages.mjs).
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { promisify } from 'node:util';
import { PACKAGE_ROOT } from '../../src/core/version.js';
import { addSubModel, createTempModelRepository, identityModel, type TempModelRepository } from '../fixtures/onnx-models.js';
import { startTestServer, type TestServer } from '../helpers/test-server.js';

const run = promisify(execFile);
const PYTHON = '/usr/bin/python3'; // Debian's Python: the one that sees python3-grpcio and python3-numpy
const PROTO_ROOT = join(PACKAGE_ROOT, 'proto');
const PREFIX = `cranberries_pytest_${process.pid}_${randomBytes(4).toString('hex')}`;

interface ShmClientsOutput {
  grpc_status: Record<string, { key: string; offset: string | number; byte_size: string | number }>;
  grpc_raw_output_sizes: number[];
  grpc_sum: number[];
  grpc_difference: number[];
  grpc_status_after_unregister: number;
  http_outputs: unknown[];
  http_sum: number[];
  http_difference: number[];
  http_status: { name: string; key: string; offset: number; byte_size: number }[];
  http_status_after_unregister: unknown[];
  string_output: { datatype: string; shape: (string | number)[] };
  strings_equal: boolean;
  errors: Record<string, { code: string; details: string } | null>;
  left_in_dev_shm: string[];
}

let repo: TempModelRepository;
let server: TestServer;
let stubs: string;
let output: ShmClientsOutput;

async function protoFiles(dir: string): Promise<string[]> {
  const found: string[] = [];
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) found.push(...(await protoFiles(path)));
    else if (entry.name.endsWith('.proto')) found.push(relative(PROTO_ROOT, path));
  }
  return found.sort();
}

before(async () => {
  for (const proof of ['/usr/lib/python3/dist-packages/grpc/__init__.py', '/usr/lib/python3/dist-packages/grpc_tools/__init__.py', '/usr/lib/python3/dist-packages/numpy/__init__.py']) {
    assert.ok(existsSync(proof), `missing ${proof}: install python3-grpcio python3-grpc-tools python3-numpy (npm test does it)`);
  }
  stubs = await mkdtemp(join(tmpdir(), 'cranberries-pystubs-'));
  await run(PYTHON, ['-m', 'grpc_tools.protoc', `-I${PROTO_ROOT}`, `--python_out=${stubs}`, `--grpc_python_out=${stubs}`, ...(await protoFiles(PROTO_ROOT))], {
    cwd: PROTO_ROOT,
    timeout: 120_000,
  });
  repo = await createTempModelRepository({
    simple: { versions: { 1: addSubModel('INT32', [16]) }, config: 'max_batch_size: 8\n' },
    strings: {
      versions: { 1: identityModel({ datatype: 'BYTES', dims: [-1] }) },
      config: 'max_batch_size: 0\ninput [ { name: "INPUT0" data_type: TYPE_STRING dims: [ -1 ] } ]\noutput [ { name: "OUTPUT0" data_type: TYPE_STRING dims: [ -1 ] } ]\n',
    },
  });
  server = await startTestServer({ modelRepository: repo.root, allowClientShm: true });
  const args = [join(PACKAGE_ROOT, 'test/python/shm_clients.py'), '--http', `127.0.0.1:${server.ports.http}`, '--grpc', `127.0.0.1:${server.ports.grpc}`, '--stubs', stubs, '--prefix', PREFIX];
  try {
    const { stdout } = await run(PYTHON, args, { timeout: 120_000 });
    output = JSON.parse(stdout) as ShmClientsOutput;
  } catch (error) {
    const failed = error as { stderr?: string; message: string };
    throw new Error(`shm_clients.py failed: ${failed.stderr?.trim() || failed.message}`);
  }
});

after(async () => {
  await server?.stop();
  await repo?.remove();
  if (stubs) await rm(stubs, { recursive: true, force: true });
  // The script removes its objects; anything left by a crash goes here.
  for (const name of await readdir('/dev/shm').catch(() => [] as string[])) {
    if (name.startsWith(PREFIX)) await rm(join('/dev/shm', name), { force: true });
  }
});

const SUM = Array.from({ length: 16 }, (_, i) => i + 1);
const DIFFERENCE = Array.from({ length: 16 }, (_, i) => i - 1);

test('simple_grpc_shm_client: inputs and outputs in regions at offsets, status, unregister', () => {
  assert.deepEqual(output.grpc_sum, SUM);
  assert.deepEqual(output.grpc_difference, DIFFERENCE);
  // Outputs in shared memory come back as empty raw_output_contents entries, as from Triton.
  assert.deepEqual(output.grpc_raw_output_sizes, [0, 0]);
  assert.deepEqual(Object.keys(output.grpc_status).sort(), ['input_data', 'output_data']);
  assert.equal(output.grpc_status['input_data']?.key, `/${PREFIX}_grpc_input`);
  assert.equal(Number(output.grpc_status['output_data']?.byte_size), 128);
  assert.equal(output.grpc_status_after_unregister, 0);
});

test('simple_http_shm_client: the same over REST; outputs listed without data', () => {
  assert.deepEqual(output.http_sum, SUM);
  assert.deepEqual(output.http_difference, DIFFERENCE);
  assert.deepEqual(output.http_outputs, [
    { name: 'OUTPUT0', datatype: 'INT32', shape: [1, 16] },
    { name: 'OUTPUT1', datatype: 'INT32', shape: [1, 16] },
  ]);
  assert.deepEqual(
    output.http_status.sort((a, b) => a.name.localeCompare(b.name)),
    [
      { name: 'input_data', key: `/${PREFIX}_http_input`, offset: 0, byte_size: 128 },
      { name: 'output_data', key: `/${PREFIX}_http_output`, offset: 0, byte_size: 128 },
    ],
  );
  assert.deepEqual(output.http_status_after_unregister, []);
});

test('simple_grpc_shm_string_client: length-prefixed BYTES through regions', () => {
  assert.equal(output.strings_equal, true);
  assert.deepEqual({ datatype: output.string_output.datatype, shape: output.string_output.shape.map(Number) }, { datatype: 'BYTES', shape: [16] });
});

test('bad references answer the gRPC codes and messages Triton answers', () => {
  assert.deepEqual(output.errors['unknown_region'], { code: 'NOT_FOUND', details: "Unable to find shared memory region: 'no_such_region'" });
  assert.deepEqual(output.errors['offset_past_region'], { code: 'INVALID_ARGUMENT', details: "Invalid offset for shared memory region: 'input0_data'" });
  assert.equal(output.errors['output_too_small']?.code, 'INVALID_ARGUMENT');
  assert.match(output.errors['output_too_small']?.details ?? '', /^shared memory size specified with the request for output 'OUTPUT0' \(8 bytes\) should be at least \d+ bytes to hold the results$/);
  assert.deepEqual(output.left_in_dev_shm, []);
});
