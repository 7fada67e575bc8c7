/**
 * Wire compatibility with clients written in another language: Python stubs are generated from the
 * project's own `.proto` files with Debian's grpc_tools, and the scripts under test/python call a
 * running server over OIP gRPC (typed, raw, stream), TF Serving gRPC, OIP REST (JSON and binary)
 * and TF Serving REST (row and columnar) with nothing but grpcio, numpy and urllib. The digits
 * model must give bit-identical float32 probabilities and the same label on every path, and the
 * same as the TypeScript client over REST and gRPC.
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
import { createClient, type InferResult } from '../../src/client/index.js';
import { startTestServer, type TestServer } from '../helpers/test-server.js';

const run = promisify(execFile);
const PYTHON = '/usr/bin/python3'; // Debian's Python: the one that sees python3-grpcio and python3-numpy
const SCRIPTS = join(PACKAGE_ROOT, 'test/python');
const PROTO_ROOT = join(PACKAGE_ROOT, 'proto');
const REQUEST = join(PACKAGE_ROOT, 'examples/digits/request.json');

interface PathResult {
  readonly probabilities_hex: string;
  readonly probabilities: number[];
  readonly label: number;
}

interface ScriptOutput {
  readonly results: Record<string, PathResult>;
  readonly [key: string]: unknown;
}

let server: TestServer;
let stubs: string;
let expectedLabel: number;
/** What each Python script printed, run once against the server. */
let oipGrpc: ScriptOutput;
let tfsGrpc: ScriptOutput;
/** TF Serving's mnist/resnet client flow: answers read only from `float_val`, argmax'ed. */
let tfsExample: ScriptOutput;
let rest: ScriptOutput;

async function protoFiles(dir: string): Promise<string[]> {
  const found: string[] = [];
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) found.push(...(await protoFiles(path)));
    else if (entry.name.endsWith('.proto')) found.push(relative(PROTO_ROOT, path));
  }
  return found.sort();
}

async function python(script: string, ...args: string[]): Promise<ScriptOutput> {
  try {
    const { stdout } = await run(PYTHON, [join(SCRIPTS, script), '--request', REQUEST, ...args], { timeout: 120_000 });
    return JSON.parse(stdout) as ScriptOutput;
  } catch (error) {
    const failed = error as { stderr?: string; message: string };
    throw new Error(`${script} failed: ${failed.stderr?.trim() || failed.message}`);
  }
}

function fromClient(result: InferResult): PathResult {
  const probabilities = result.output('probabilities').data as Float32Array;
  const label = result.output('label').data as BigInt64Array;
  return {
    probabilities_hex: Buffer.from(probabilities.buffer, probabilities.byteOffset, probabilities.byteLength).toString('hex'),
    probabilities: Array.from(probabilities),
    label: Number(label[0]),
  };
}

before(async () => {
  for (const proof of ['/usr/lib/python3/dist-packages/grpc/__init__.py', '/usr/lib/python3/dist-packages/grpc_tools/__init__.py', '/usr/lib/python3/dist-packages/numpy/__init__.py']) {
    assert.ok(existsSync(proof), `missing ${proof}: install python3-grpcio python3-grpc-tools python3-numpy (npm test does it)`);
  }
  expectedLabel = (JSON.parse(await readFile(join(PACKAGE_ROOT, 'examples/digits/request.expected.json'), 'utf8')) as { label: number }).label;
  stubs = await mkdtemp(join(tmpdir(), 'cranberries-pystubs-'));
  // Generated from the project's protos, exactly as a user of another language would.
  await run(PYTHON, ['-m', 'grpc_tools.protoc', `-I${PROTO_ROOT}`, `--python_out=${stubs}`, `--grpc_python_out=${stubs}`, ...(await protoFiles(PROTO_ROOT))], {
    cwd: PROTO_ROOT,
    timeout: 120_000,
  });
  server = await startTestServer({ modelRepository: join(PACKAGE_ROOT, 'models') });
  const grpcAddress = `127.0.0.1:${server.ports.grpc}`;
  oipGrpc = await python('oip_grpc.py', '--grpc', grpcAddress, '--stubs', stubs);
  tfsGrpc = await python('tfs_grpc.py', '--grpc', grpcAddress, '--stubs', stubs);
  tfsExample = await python('tfs_example_client.py', '--grpc', grpcAddress, '--stubs', stubs);
  rest = await python('rest_stdlib.py', '--http', `127.0.0.1:${server.ports.http}`);
});

after(async () => {
  await server?.stop();
  if (stubs) await rm(stubs, { recursive: true, force: true });
});

test('the digits model gives identical results on every protocol path, from Python and from TypeScript', async () => {
  const pixels = pixelsOf(await readFile(REQUEST, 'utf8'));
  const restClient = createClient({ url: server.url });
  const grpcClient = createClient({ url: `grpc://127.0.0.1:${server.ports.grpc}` });
  const input = { name: 'image', datatype: 'FP32', shape: [1, 1, 8, 8], data: pixels } as const;
  const paths: Record<string, PathResult> = {
    ...oipGrpc.results,
    ...tfsGrpc.results,
    ...tfsExample.results,
    ...rest.results,
    ts_rest_binary: fromClient(await restClient.infer('digits', [input])),
    ts_rest_json: fromClient(await restClient.infer('digits', [input], { binary: false })),
    ts_grpc: fromClient(await grpcClient.infer('digits', [input])),
  };
  await Promise.all([restClient.close(), grpcClient.close()]);

  // The eight paths of issue 3 ("Done when"), each exercised from Python, and TF Serving's own
  // example-client flow (issue 13: Predict answers in float_val, 8 concurrent futures).
  assert.equal(tfsExample['answers'], 8);
  for (const required of ['oip_rest_json', 'oip_rest_binary', 'oip_grpc_typed', 'oip_grpc_raw', 'oip_grpc_stream', 'tfs_rest_row', 'tfs_rest_columnar', 'tfs_grpc', 'tfs_grpc_float_val']) {
    assert.ok(paths[required], `path ${required} was not run`);
  }
  const reference = paths['ts_grpc']!;
  assert.equal(reference.label, expectedLabel);
  assert.equal(reference.probabilities_hex.length, 80, '10 float32 values');
  for (const [name, result] of Object.entries(paths)) {
    assert.equal(result.probabilities_hex, reference.probabilities_hex, `${name}: float32 probabilities differ`);
    assert.equal(result.label, expectedLabel, `${name}: label`);
  }
});

test('metadata, model status and error answers as the Python clients see them', async () => {
  assert.equal(oipGrpc['live'], true);
  assert.deepEqual(oipGrpc['metadata'], {
    name: 'digits',
    versions: ['1'],
    platform: 'onnxruntime_onnx',
    inputs: [{ name: 'image', datatype: 'FP32', shape: [-1, 1, 8, 8] }],
    outputs: [
      { name: 'probabilities', datatype: 'FP32', shape: [-1, 10] },
      { name: 'label', datatype: 'INT64', shape: [-1, 1] },
    ],
  });
  assert.match(oipGrpc['stream_error'] as string, /no_such_model/, 'a failed stream request is reported in error_message; the stream went on');
  assert.equal((oipGrpc['unknown_model'] as { code: string }).code, 'NOT_FOUND');

  assert.deepEqual(tfsGrpc['model_status'], [{ version: 1, state: 'AVAILABLE', error_code: 0 }]);
  const tfsUnknown = tfsGrpc['unknown_model'] as { code: string; details: string };
  assert.equal(tfsUnknown.code, 'NOT_FOUND');
  assert.match(tfsUnknown.details, /no_such_model/);

  assert.deepEqual(rest['model_status'], { model_version_status: [{ version: '1', state: 'AVAILABLE', status: { error_code: 'OK', error_message: '' } }] });
  const errors = rest['errors'] as Record<string, { status: number; body: { error: string } }>;
  for (const name of ['oip_unknown_model', 'tfs_unknown_model']) {
    assert.equal(errors[name]!.status, 404, name);
    assert.match(errors[name]!.body.error, /no_such_model/, name);
  }

  // After every error above the server still serves.
  const client = createClient({ url: server.url });
  try {
    assert.equal(await client.serverReady(), true);
  } finally {
    await client.close();
  }
});

function pixelsOf(requestJson: string): Float32Array {
  return Float32Array.from((JSON.parse(requestJson) as { inputs: { data: number[] }[] }).inputs[0]!.data);
}
