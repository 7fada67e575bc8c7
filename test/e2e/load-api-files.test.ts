/**
 * The load API's file overrides (`POST /v2/repository/models/{m}/load` with `"file:1/model.onnx":
 * <base64>`, gRPC RepositoryModelLoad with bytes_params): their folders live under one directory
 * the server owns and are removed after a failed load, a reload, an unload and on stop (also when
 * `cranberries serve` gets SIGTERM); bad keys and names are 400 / INVALID_ARGUMENT over REST and
 * gRPC alike, with messages that name no server path.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import * as grpc from '@grpc/grpc-js';
import { oipPackageDefinition, serviceDefinition } from '../../src/protocols/grpc/proto-loader.js';
import { addSubModel, createTempModelRepository, type TempModelRepository } from '../fixtures/onnx-models.js';
import { infer } from '../helpers/oip-client.js';
import { startTestServer, type TestServer } from '../helpers/test-server.js';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const MODEL = Buffer.from(addSubModel('FP32', [4])).toString('base64');
const CONFIG = JSON.stringify({ backend: 'onnxruntime', max_batch_size: 8 });

let repo: TempModelRepository;
/** The TMPDIR the servers under test see: whatever they leave behind shows here. */
let scratch: string;
const savedTmpdir = process.env['TMPDIR'];

before(async () => {
  repo = await createTempModelRepository({ simple: { versions: { 1: addSubModel('FP32', [4]) } } });
  scratch = await mkdtemp(join(tmpdir(), 'cranberries-scratch-'));
  // Where the servers under test (in this process) make temporary folders.
  process.env['TMPDIR'] = scratch;
});

after(async () => {
  if (savedTmpdir === undefined) delete process.env['TMPDIR'];
  else process.env['TMPDIR'] = savedTmpdir;
  await repo?.remove();
  if (scratch) await rm(scratch, { recursive: true, force: true });
});

/** Every file a Cranberries server left below `dir` (other libraries keep their own files in TMPDIR). */
async function filesBelow(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true });
  return entries
    .filter((e) => e.isFile())
    .map((e) => relative(dir, join(e.parentPath, e.name)))
    .filter((path) => path.startsWith('cranberries-'));
}

/** The folders a Cranberries server left directly in `dir`. */
async function foldersIn(dir: string): Promise<string[]> {
  return (await readdir(dir)).filter((name) => name.startsWith('cranberries-'));
}

function startWithScratch(): Promise<TestServer> {
  return startTestServer({ modelRepository: repo.root, controlMode: 'explicit' });
}

async function load(url: string, model: string, parameters: Record<string, unknown>): Promise<{ status: number; body: { error?: string } }> {
  const response = await fetch(`${url}/v2/repository/models/${encodeURIComponent(model)}/load`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ parameters }),
  });
  const text = await response.text();
  return { status: response.status, body: text === '' ? {} : (JSON.parse(text) as { error?: string }) };
}

const addSub = (url: string, model: string): ReturnType<typeof infer> =>
  infer(url, model, [
    { name: 'INPUT0', datatype: 'FP32', shape: [1, 4], data: [1, 2, 3, 4] },
    { name: 'INPUT1', datatype: 'FP32', shape: [1, 4], data: [1, 1, 1, 1] },
  ]);

describe('override folders', () => {
  test('are removed after a failed load, a reload, an unload, and on stop', async () => {
    const server = await startWithScratch();
    try {
      assert.equal((await load(server.url, 'ov', { config: CONFIG, 'file:1/model.onnx': MODEL })).status, 200);
      assert.equal((await addSub(server.url, 'ov')).status, 200);
      assert.equal((await filesBelow(scratch)).length, 1, (await filesBelow(scratch)).join(', '));

      assert.equal((await load(server.url, 'ov', { config: CONFIG, 'file:1/model.onnx': MODEL })).status, 200, 'a reload');
      assert.equal((await filesBelow(scratch)).length, 1, 'the replaced folder is gone');

      const broken = await load(server.url, 'broken', { config: CONFIG, 'file:1/model.onnx': Buffer.from('not onnx').toString('base64') });
      assert.equal(broken.status, 400);
      assert.doesNotMatch(broken.body.error ?? '', new RegExp(scratch), 'no server path in the message');
      assert.equal((await filesBelow(scratch)).length, 1, 'the failed load left nothing');

      assert.equal((await fetch(`${server.url}/v2/repository/models/ov/unload`, { method: 'POST' })).status, 200);
      assert.deepEqual(await filesBelow(scratch), [], 'unload removed the folder');
      assert.equal((await load(server.url, 'ov', { config: CONFIG, 'file:1/model.onnx': MODEL })).status, 200);
    } finally {
      await server.stop();
    }
    assert.deepEqual(await foldersIn(scratch), [], 'stop removed the server directory');
  });

  test('bad file keys and model names are 400 over REST with a clean message, and leave nothing behind', async () => {
    const server = await startWithScratch();
    try {
      const cases: [string, Record<string, unknown>, RegExp][] = [
        ['nul', { config: CONFIG, 'file:1/mo\u0000del.onnx': MODEL }, /must not contain NUL/],
        ['long', { config: CONFIG, [`file:1/${'m'.repeat(256)}.onnx`]: MODEL }, /at most 255 bytes/],
        ['folder', { config: CONFIG, 'file:1/': MODEL }, /names a folder/],
        ['clash', { config: CONFIG, 'file:1/model.onnx': MODEL, 'file:1/model.onnx/extra': MODEL }, /clashes with another file parameter/],
        ['a\u0001b', { config: CONFIG, 'file:1/model.onnx': MODEL }, /invalid model name "a\\u0001b": a model name must not contain control characters/],
        ['n'.repeat(256), { config: CONFIG, 'file:1/model.onnx': MODEL }, /a model name must be at most 255 bytes/],
        ['dots..', { config: CONFIG, 'file:1/model.onnx': MODEL }, /must not be '\.' or contain '\.\.'/],
      ];
      for (const [model, parameters, message] of cases) {
        const answer = await load(server.url, model, parameters);
        assert.equal(answer.status, 400, `${JSON.stringify(model)}: ${JSON.stringify(answer.body)}`);
        assert.match(answer.body.error ?? '', message);
        assert.doesNotMatch(answer.body.error ?? '', /\/tmp|cranberries-/, 'no server path in the message');
        assert.ok((answer.body.error ?? '').length < 400, 'the message is bounded');
      }
      assert.deepEqual(await filesBelow(scratch), []);
    } finally {
      await server.stop();
    }
  });

  test('bad file keys are INVALID_ARGUMENT over gRPC too', async () => {
    const server = await startWithScratch();
    const Client = grpc.makeGenericClientConstructor(serviceDefinition(oipPackageDefinition(), 'inference.GRPCInferenceService'), 'GRPCInferenceService');
    const client = new Client(`127.0.0.1:${server.ports.grpc}`, grpc.credentials.createInsecure());
    const call = client as unknown as { RepositoryModelLoad(r: unknown, cb: (error: grpc.ServiceError | null) => void): void };
    const modelBytes = Buffer.from(MODEL, 'base64');
    const grpcLoad = (model: string, files: Record<string, Buffer>): Promise<grpc.ServiceError | null> =>
      new Promise((resolve) => {
        const parameters: Record<string, unknown> = { config: { string_param: CONFIG } };
        for (const [key, bytes] of Object.entries(files)) parameters[key] = { bytes_param: bytes };
        call.RepositoryModelLoad({ model_name: model, parameters }, resolve);
      });
    try {
      const badFiles: Record<string, Buffer>[] = [
        { 'file:1/': modelBytes },
        { 'file:../model.onnx': modelBytes },
        { 'file:1/a\u0000b': modelBytes },
        { 'file:1/model.onnx': modelBytes, 'file:1/model.onnx/x': modelBytes },
      ];
      for (const files of badFiles) {
        const error = await grpcLoad('g', files);
        assert.equal(error?.code, grpc.status.INVALID_ARGUMENT, `${Object.keys(files).join(',')}: ${error?.message}`);
        assert.doesNotMatch(error?.details ?? '', /\/tmp|cranberries-/);
      }
      const nameError = await grpcLoad('x\u0007y', { 'file:1/model.onnx': modelBytes });
      assert.equal(nameError?.code, grpc.status.INVALID_ARGUMENT, nameError?.message);
      assert.equal(await grpcLoad('g', { 'file:1/model.onnx': modelBytes }), null);
      assert.equal((await filesBelow(scratch)).length, 1);
    } finally {
      client.close();
      await server.stop();
    }
    assert.deepEqual(await foldersIn(scratch), []);
  });
});

test('cranberries serve removes its override folders when stopped with SIGTERM', async () => {
  const dir = await mkdtemp(join(scratch, 'sigterm-'));
  const child = spawn(
    process.execPath,
    ['dist/src/cli/main.js', 'serve', '--model-control-mode', 'explicit', '--model-repository', repo.root, '--host', '127.0.0.1', '--http-port', '0', '--grpc-port', '0', '--metrics-port', '0'],
    {
      cwd: ROOT,
      env: { ...process.env, TMPDIR: dir },
      stdio: ['ignore', 'pipe', 'inherit'],
    },
  );
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  try {
    const lines = createInterface({ input: child.stdout });
    const url = await new Promise<string>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('serve did not log its ports within 60 s')), 60_000);
      lines.on('line', (line) => {
        const entry = JSON.parse(line) as { http?: number };
        if (typeof entry.http === 'number') {
          clearTimeout(timer);
          resolve(`http://127.0.0.1:${entry.http}`);
        }
      });
    });
    const response = await fetch(`${url}/v2/repository/models/ov/load`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ parameters: { config: CONFIG, 'file:1/model.onnx': MODEL } }),
    });
    assert.equal(response.status, 200, await response.text());
    assert.equal((await filesBelow(dir)).length, 1);
    child.kill('SIGTERM');
    assert.equal(await exited, 0);
    assert.deepEqual(await foldersIn(dir), []);
  } finally {
    child.kill('SIGKILL');
  }
});
