/**
 * One file system rule for the repository: model folders, version folders, model files and label
 * files must resolve inside the repository. Links that stay inside are followed; links that lead
 * out are refused, and the model or version shows UNAVAILABLE with the reason in the index (never
 * silently ignored, never read). Folder names that are no valid model names are not served.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { addSubModel, createTempModelRepository, writeModelRepository, type TempModelRepository } from '../fixtures/onnx-models.js';
import { infer } from '../helpers/oip-client.js';
import { startTestServer, type TestServer } from '../helpers/test-server.js';

const SIMPLE_CONFIG =
  'backend: "onnxruntime"\nmax_batch_size: 8\ninput [ { name: "INPUT0" data_type: TYPE_FP32 dims: [ 4 ] }, { name: "INPUT1" data_type: TYPE_FP32 dims: [ 4 ] } ]\n' +
  'output [ { name: "OUTPUT0" data_type: TYPE_FP32 dims: [ 4 ] label_filename: "labels.txt" }, { name: "OUTPUT1" data_type: TYPE_FP32 dims: [ 4 ] } ]\n';

interface IndexEntry {
  name: string;
  version?: string;
  state?: string;
  reason?: string;
}

let repo: TempModelRepository;
let outside: string;
let server: TestServer;

before(async () => {
  outside = await mkdtemp(join(tmpdir(), 'cranberries-outside-'));
  // A complete, valid model folder outside the repository, and a secret file next to it.
  await writeModelRepository(outside, { elsewhere: { versions: { 1: addSubModel('FP32', [4]) }, config: SIMPLE_CONFIG, files: { 'labels.txt': 'a\nb\nc\nd\n' } } });
  await writeFile(join(outside, 'secret.txt'), 'root:x:0:0:secret\nsecond:line\nthird\nfourth\n');

  repo = await createTempModelRepository({
    // labels.txt → a file outside the repository (like /etc/passwd).
    labels_out: { versions: { 1: addSubModel('FP32', [4]) }, config: SIMPLE_CONFIG },
    // labels.txt → a file of another model inside the repository: followed.
    labels_in: { versions: { 1: addSubModel('FP32', [4]) }, config: SIMPLE_CONFIG },
    // version 2 → a version folder outside; version 1 is a real folder.
    versions: { versions: { 1: addSubModel('FP32', [4]) }, config: `${SIMPLE_CONFIG}version_policy: { all { } }\n`, files: { 'labels.txt': 'w\nx\ny\nz\n' } },
    // 1/model.onnx → a model file outside.
    file_out: { versions: {}, config: SIMPLE_CONFIG },
    // labels for the in-repository link target.
    shared: { versions: { 1: addSubModel('FP32', [4]) }, config: SIMPLE_CONFIG, files: { 'labels.txt': 'zero\none\ntwo\nthree\n' } },
    // A folder whose name holds a control character: never served.
    'bad\u0001name': { versions: { 1: addSubModel('FP32', [4]) }, config: SIMPLE_CONFIG },
  });
  await symlink(join(outside, 'secret.txt'), join(repo.root, 'labels_out', 'labels.txt'));
  await symlink(join('..', 'shared', 'labels.txt'), join(repo.root, 'labels_in', 'labels.txt'));
  await symlink(join(outside, 'elsewhere', '1'), join(repo.root, 'versions', '2'));
  await mkdir(join(repo.root, 'file_out', '1'));
  await symlink(join(outside, 'elsewhere', '1', 'model.onnx'), join(repo.root, 'file_out', '1', 'model.onnx'));
  // Whole model folders as links: one to a folder inside the repository, one to a folder outside.
  await symlink('shared', join(repo.root, 'linked_in'));
  await symlink(join(outside, 'elsewhere'), join(repo.root, 'linked_out'));
  server = await startTestServer({ modelRepository: repo.root });
});

after(async () => {
  await server?.stop();
  await repo?.remove();
  if (outside) await rm(outside, { recursive: true, force: true });
});

async function index(): Promise<IndexEntry[]> {
  return (await (await fetch(`${server.url}/v2/repository/index`, { method: 'POST' })).json()) as IndexEntry[];
}

const classify = (model: string): ReturnType<typeof infer> =>
  infer(
    server.url,
    model,
    [
      { name: 'INPUT0', datatype: 'FP32', shape: [1, 4], data: [1.5, 9, 0.5, 3] },
      { name: 'INPUT1', datatype: 'FP32', shape: [1, 4], data: [0, 0, 0, 0] },
    ],
    { outputs: [{ name: 'OUTPUT0', classification: 2 }] },
  );

test('a label file linked outside the repository is never read: the model is UNAVAILABLE with the reason', async () => {
  const result = await classify('labels_out');
  assert.notEqual(result.status, 200);
  assert.doesNotMatch(JSON.stringify(result.json), /root:x|secret/);
  const entry = (await index()).find((e) => e.name === 'labels_out');
  assert.equal(entry?.state, 'UNAVAILABLE', JSON.stringify(entry));
  assert.match(entry?.reason ?? '', /'labels_out\/labels\.txt' is a symbolic link that leads outside the model repository/);
  assert.doesNotMatch(entry?.reason ?? '', new RegExp(outside), 'the reason names no server path');
});

test('links that stay inside the repository are followed (a label file, a whole model folder)', async () => {
  const result = await classify('labels_in');
  assert.equal(result.status, 200, JSON.stringify(result.json));
  assert.deepEqual((result.json['outputs'] as { data: string[] }[])[0]!.data, ['9:1:one', '3:3:three']);
  const linked = await classify('linked_in');
  assert.equal(linked.status, 200, JSON.stringify(linked.json));
  assert.deepEqual((linked.json['outputs'] as { data: string[] }[])[0]!.data, ['9:1:one', '3:3:three']);
});

test('a model folder, version folder or model file linked outside shows UNAVAILABLE with its reason in the index', async () => {
  const entries = await index();
  const linkedOut = entries.filter((e) => e.name === 'linked_out');
  assert.equal(linkedOut.length, 1, JSON.stringify(entries));
  assert.equal(linkedOut[0]!.state, 'UNAVAILABLE');
  assert.match(linkedOut[0]!.reason ?? '', /'linked_out' is a symbolic link that leads outside/);

  const versions = entries.filter((e) => e.name === 'versions');
  assert.deepEqual(
    versions.map((e) => [e.version, e.state]),
    [
      ['1', 'READY'],
      ['2', 'UNAVAILABLE'],
    ],
  );
  assert.match(versions[1]!.reason ?? '', /'versions\/2' is a symbolic link that leads outside/);
  assert.equal(
    (
      await infer(
        server.url,
        'versions',
        [
          { name: 'INPUT0', datatype: 'FP32', shape: [1, 4], data: [1, 2, 3, 4] },
          { name: 'INPUT1', datatype: 'FP32', shape: [1, 4], data: [1, 1, 1, 1] },
        ],
        { version: '2' },
      )
    ).status,
    503,
  );

  const fileOut = entries.find((e) => e.name === 'file_out');
  assert.equal(fileOut?.state, 'UNAVAILABLE', JSON.stringify(fileOut));
  assert.match(fileOut?.reason ?? '', /'file_out\/1\/model\.onnx' is a symbolic link that leads outside/);
  for (const entry of entries) assert.doesNotMatch(entry.reason ?? '', new RegExp(outside), 'no reason names a server path');
});

test('a folder whose name holds a control character is not served', async () => {
  const entries = await index();
  assert.ok(!entries.some((e) => e.name.includes('\u0001')), JSON.stringify(entries.map((e) => e.name)));
  assert.equal((await fetch(`${server.url}/v2/models/bad%01name/ready`)).status >= 400, true);
});
