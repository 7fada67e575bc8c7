/**
 * Triton's sequence example clients' logic from Python (test/python/sequence_clients.py): gRPC
 * sync, REST sync and the gRPC stream, with and without the dyna models, using stubs generated
 * from the project's protos by Debian's grpc_tools, against a real server running the example
 * sequence models as ONNX graphs. The script checks every answer with the clients' own formulas;
 * this test checks that it ran every path and agrees with the fixture's expectations.
 *
 * Needs python3-grpcio, python3-grpc-tools and python3-numpy (installed by `npm test`).
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { promisify } from 'node:util';
import { PACKAGE_ROOT } from '../../src/core/version.js';
import { createTempModelRepository, type TempModelRepository } from '../fixtures/onnx-models.js';
import { EXAMPLE_VALUES, expectedOutputs, sequenceModels } from '../fixtures/sequence-models.js';
import { startTestServer, type TestServer } from '../helpers/test-server.js';

const run = promisify(execFile);
const PYTHON = '/usr/bin/python3';
const PROTO_ROOT = join(PACKAGE_ROOT, 'proto');

let repo: TempModelRepository;
let server: TestServer;
let stubs: string;

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
  await run(PYTHON, ['-m', 'grpc_tools.protoc', `-I${PROTO_ROOT}`, `--python_out=${stubs}`, `--grpc_python_out=${stubs}`, ...(await protoFiles(PROTO_ROOT))], { cwd: PROTO_ROOT, timeout: 120_000 });
  repo = await createTempModelRepository(sequenceModels());
  server = await startTestServer({ modelRepository: repo.root });
});

after(async () => {
  await server?.stop();
  await repo?.remove();
  if (stubs) await rm(stubs, { recursive: true, force: true });
});

test("Triton's sequence example clients, from Python over gRPC, REST and the gRPC stream", async () => {
  let stdout: string;
  try {
    ({ stdout } = await run(PYTHON, [join(PACKAGE_ROOT, 'test/python/sequence_clients.py'), '--http', `127.0.0.1:${server.ports.http}`, '--grpc', `127.0.0.1:${server.ports.grpc}`, '--stubs', stubs], {
      timeout: 120_000,
    }));
  } catch (error) {
    const failed = error as { stderr?: string; message: string };
    throw new Error(`sequence_clients.py failed: ${failed.stderr?.trim() || failed.message}`);
  }
  const document = JSON.parse(stdout) as Record<string, number[][] | { code: string; details: string }>;
  const seq0 = [0, ...EXAMPLE_VALUES];
  const seq1 = [100, ...EXAMPLE_VALUES.map((v) => -v)];
  const seqString = [20, ...EXAMPLE_VALUES.map((v) => -v)];
  ['grpc_sync', 'http_sync', 'grpc_stream'].forEach((transport, offset) => {
    assert.deepEqual(document[transport], [expectedOutputs('simple', seq0, 0), expectedOutputs('simple', seq1, 0), expectedOutputs('simple', seqString, 0)], transport);
    assert.deepEqual(
      document[`${transport}_dyna`],
      [expectedOutputs('dyna', seq0, 1000 + offset * 2), expectedOutputs('dyna', seq1, 1001 + offset * 2), expectedOutputs('string_dyna', seqString, 1102 + offset)],
      `${transport} dyna`,
    );
  });
  assert.deepEqual(document['no_sequence_id'], { code: 'INVALID_ARGUMENT', details: "inference request to model 'simple_sequence' must specify a non-zero or non-empty correlation ID" });
});
