/**
 * Error answers never show server folders, and failed loads with file overrides leave nothing.
 *
 * ONNX Runtime and the file system quote absolute paths (a missing external-data file, a file name
 * too long for the file system); clients see paths relative to the folder they know, shortened.
 * Checked over REST and gRPC, in load errors and in the repository index, for a repository model
 * and for the load API's override folders; and N failed override loads, one after another and at
 * once, leave as many override folders as before (none).
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { encodeModel, initializer, node, valueInfo } from '../fixtures/onnx-graph.js';
import { addSubModel, createTempModelRepository, type TempModelRepository } from '../fixtures/onnx-models.js';
import { startTestServer, type TestServer } from '../helpers/test-server.js';
import { oipPackageDefinition, serviceDefinition } from '../../src/protocols/grpc/proto-loader.js';

/** A Gather whose table lives in an external data file `weights.bin` that is not there. */
function externalDataModel(): Uint8Array {
  const table = initializer('table', 'FP32', [4], Float32Array.of(1, 2, 3, 4));
  table.rawData = undefined;
  table.dataLocation = 1;
  table.externalData = [{ key: 'location', value: 'weights.bin' }];
  return encodeModel({ name: 'ext', inputs: [valueInfo('idx', 'INT64', [1])], outputs: [valueInfo('out', 'FP32', [1])], nodes: [node('Gather', ['table', 'idx'], ['out'])], initializers: [table] });
}

const EXTERNAL = Buffer.from(externalDataModel()).toString('base64');
const ADD_SUB = Buffer.from(addSubModel('FP32', [4])).toString('base64');
const config = (extra: Record<string, unknown> = {}): string => JSON.stringify({ backend: 'onnxruntime', max_batch_size: 8, ...extra });
const LONG = 'x'.repeat(300);

let repo: TempModelRepository;
let scratch: string;
let server: TestServer;
const savedTmpdir = process.env['TMPDIR'];

before(async () => {
  // The repository is outside the servers' temporary directory: only its registration hides it.
  repo = await createTempModelRepository({ ext: { versions: { 1: externalDataModel() }, config: 'max_batch_size: 0\n' } });
  scratch = await mkdtemp(join(tmpdir(), 'cranberries-scratch-'));
  process.env['TMPDIR'] = scratch;
  server = await startTestServer({ modelRepository: repo.root, controlMode: 'explicit' });
});

after(async () => {
  await server?.stop();
  if (savedTmpdir === undefined) delete process.env['TMPDIR'];
  else process.env['TMPDIR'] = savedTmpdir;
  await repo?.remove();
  if (scratch) await rm(scratch, { recursive: true, force: true });
});

/** Files below the servers' override folders. */
async function overrideFiles(): Promise<string[]> {
  const entries = await readdir(scratch, { recursive: true, withFileTypes: true });
  return entries
    .filter((e) => e.isFile())
    .map((e) => relative(scratch, join(e.parentPath, e.name)))
    .filter((path) => path.startsWith('cranberries-overrides-'));
}

async function load(model: string, parameters?: Record<string, unknown>): Promise<{ status: number; error: string }> {
  const response = await fetch(`${server.url}/v2/repository/models/${model}/load`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(parameters ? { parameters } : {}),
  });
  const text = await response.text();
  return { status: response.status, error: text ? String((JSON.parse(text) as { error?: unknown }).error) : '' };
}

function assertNoServerPath(message: string, what: string): void {
  for (const folder of [repo.root, scratch, tmpdir()]) assert.ok(!message.includes(folder), `${what}: '${message}' names ${folder}`);
  assert.doesNotMatch(message, /cranberries-(overrides|repo|scratch)-/, what);
}

test('ONNX Runtime errors about files beside the model name them as <version>/<file>, in load errors and in the index', async () => {
  const fromRepository = await load('ext');
  assert.equal(fromRepository.status, 400);
  assert.match(fromRepository.error, /External data path does not exist: "1\/weights\.bin"/);
  assertNoServerPath(fromRepository.error, 'repository load');

  const fromOverride = await load('ov_ext', { config: config({ max_batch_size: 0 }), 'file:1/model.onnx': EXTERNAL });
  assert.equal(fromOverride.status, 400);
  assert.match(fromOverride.error, /"1\/weights\.bin"/);
  assertNoServerPath(fromOverride.error, 'override load');

  const index = await (await fetch(`${server.url}/v2/repository/index`, { method: 'POST' })).text();
  assert.match(index, /1\/weights\.bin/);
  assertNoServerPath(index, 'repository index');
});

test('a file name too long for the file system is named relative and shortened, not as the server path', async () => {
  for (const [what, extra] of [
    ['default_model_filename', { default_model_filename: LONG }],
    ['label_filename', { output: [{ name: 'OUTPUT0', data_type: 'TYPE_FP32', dims: [4], label_filename: LONG }] }],
  ] as const) {
    const failed = await load('ov_long', { config: config(extra), 'file:1/model.onnx': ADD_SUB });
    assert.equal(failed.status, 400, what);
    assert.match(failed.error, /"(1\/)?x{40,64}…": the name is too long for the file system \(ENAMETOOLONG\)/, `${what}: ${failed.error}`);
    assert.ok(failed.error.length < 300, `${what}: the message is bounded (${failed.error.length} chars)`);
    assertNoServerPath(failed.error, what);
  }
});

test('failed loads with file overrides leave no folder behind, one after another and at once; gRPC messages are scrubbed too', async () => {
  const before = await overrideFiles();
  const failing: [string, Record<string, unknown>][] = [
    ['f_ext', { config: config({ max_batch_size: 0 }), 'file:1/model.onnx': EXTERNAL }],
    ['f_junk', { config: config(), 'file:1/model.onnx': Buffer.from('not onnx').toString('base64') }],
    ['f_long', { config: config({ default_model_filename: LONG }), 'file:1/model.onnx': ADD_SUB }],
    ['f_json', { config: '{', 'file:1/model.onnx': ADD_SUB }],
    ['f_input', { config: config({ input: [{ name: 'NOPE', data_type: 'TYPE_FP32', dims: [4] }] }), 'file:1/model.onnx': ADD_SUB }],
  ];
  for (const [model, parameters] of failing) {
    const failed = await load(model, parameters);
    assert.equal(failed.status, 400, `${model}: ${failed.error}`);
    assertNoServerPath(failed.error, model);
  }
  assert.deepEqual(await overrideFiles(), before, 'sequential failures left files');

  const concurrent = await Promise.all(
    [...failing, ...failing.map(([model, parameters]): [string, Record<string, unknown>] => [`${model}_again`, parameters])].map(([model, parameters]) => load(model, parameters)),
  );
  for (const failed of concurrent) assert.equal(failed.status, 400, failed.error);
  assert.deepEqual(await overrideFiles(), before, 'concurrent failures left files');

  const Client = grpc.makeGenericClientConstructor(serviceDefinition(oipPackageDefinition(), 'inference.GRPCInferenceService'), 'GRPCInferenceService');
  const client = new Client(`127.0.0.1:${server.ports.grpc}`, grpc.credentials.createInsecure()) as unknown as grpc.Client & {
    RepositoryModelLoad(request: unknown, callback: (error: grpc.ServiceError | null) => void): void;
  };
  try {
    const error = await new Promise<grpc.ServiceError | null>((resolve) =>
      client.RepositoryModelLoad(
        { model_name: 'g_ext', parameters: { config: { string_param: config({ max_batch_size: 0 }) }, 'file:1/model.onnx': { bytes_param: Buffer.from(EXTERNAL, 'base64') } } },
        resolve,
      ),
    );
    assert.equal(error?.code, grpc.status.INVALID_ARGUMENT);
    assert.match(error?.details ?? '', /"1\/weights\.bin"/);
    assertNoServerPath(error?.details ?? '', 'gRPC load');
  } finally {
    client.close();
  }
  assert.deepEqual(await overrideFiles(), before, 'the gRPC failure left files');
});
