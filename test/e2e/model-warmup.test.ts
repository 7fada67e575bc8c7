/**
 * `model_warmup` (Triton's Model Warmup) with real ONNX Runtime: every instance runs each sample
 * `count` times before the version is READY; data comes from zeros or from `<model>/warmup/<file>`;
 * a sample that fails (the model rejects the data, the file is short, missing, or holds a string
 * ONNX Runtime cannot carry) makes the version UNAVAILABLE with the reason.
 *
 * The model is a Gather over four constants: any index works at load (the session warm-up ORT
 * gets is zeros), but an index out of range fails at run time, so a failing load proves the file's
 * data reached ONNX Runtime.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { encodeModel, initializer, node, valueInfo } from '../fixtures/onnx-graph.js';
import { createTempModelRepository, identityModel, type TempModelRepository } from '../fixtures/onnx-models.js';
import { startTestServer, type TestServer } from '../helpers/test-server.js';
import type { VersionStateEvent } from '../../src/serving/model-manager.js';

const GATHER = encodeModel({
  name: 'gather',
  inputs: [valueInfo('idx', 'INT64', [1])],
  outputs: [valueInfo('out', 'FP32', [1])],
  nodes: [node('Gather', ['table', 'idx'], ['out'])],
  initializers: [initializer('table', 'FP32', [4], Float32Array.of(10, 20, 30, 40))],
});

const gatherConfig = (warmup: string, instances = 1): string => `max_batch_size: 0
input [ { name: "idx" data_type: TYPE_INT64 dims: [ 1 ] } ]
output [ { name: "out" data_type: TYPE_FP32 dims: [ 1 ] } ]
instance_group [ { count: ${instances} kind: KIND_CPU } ]
model_warmup [ ${warmup} ]
`;
const fileSample = (name: string, file: string): string => `{ name: "${name}" batch_size: 1 inputs { key: "idx" value: { data_type: TYPE_INT64 dims: [ 1 ] input_data_file: "${file}" } } }`;

const STRINGS_CONFIG = (file: string): string => `max_batch_size: 4
input [ { name: "INPUT0" data_type: TYPE_STRING dims: [ -1 ] } ]
output [ { name: "OUTPUT0" data_type: TYPE_STRING dims: [ -1 ] } ]
model_warmup [ { name: "words" batch_size: 3 inputs { key: "INPUT0" value: { data_type: TYPE_STRING dims: [ 2 ] input_data_file: "${file}" } } } ]
`;

const int64 = (value: bigint): Buffer => Buffer.from(BigInt64Array.of(value).buffer);
const strings = (...elements: Buffer[]): Buffer => Buffer.concat(elements.flatMap((e) => [Buffer.from(Uint32Array.of(e.length).buffer), e]));

let repo: TempModelRepository;
let server: TestServer;
const events: VersionStateEvent[] = [];

before(async () => {
  repo = await createTempModelRepository({
    warm: {
      versions: { 1: GATHER },
      config: gatherConfig(`{ name: "zeros" batch_size: 1 count: 3 inputs { key: "idx" value: { data_type: TYPE_INT64 dims: [ 1 ] zero_data: true } } }, ${fileSample('file', 'idx.bin')}`, 2),
    },
    bad_index: { versions: { 1: GATHER }, config: gatherConfig(fileSample('far', 'idx.bin')) },
    short_file: { versions: { 1: GATHER }, config: gatherConfig(fileSample('short', 'idx.bin')) },
    missing_file: { versions: { 1: GATHER }, config: gatherConfig(fileSample('missing', 'nothing.bin')) },
    words: { versions: { 1: identityModel({ datatype: 'BYTES', dims: [-1], batching: true }) }, config: STRINGS_CONFIG('words.bin') },
    words_nul: { versions: { 1: identityModel({ datatype: 'BYTES', dims: [-1], batching: true }) }, config: STRINGS_CONFIG('words.bin') },
  });
  const warmupFile = async (model: string, file: string, bytes: Buffer): Promise<void> => {
    await mkdir(join(repo.root, model, 'warmup'), { recursive: true });
    await writeFile(join(repo.root, model, 'warmup', file), bytes);
  };
  await warmupFile('warm', 'idx.bin', int64(2n));
  await warmupFile('bad_index', 'idx.bin', int64(100n));
  await warmupFile('short_file', 'idx.bin', Buffer.from([1, 0, 0, 0]));
  await warmupFile('words', 'words.bin', strings(Buffer.from('hello'), Buffer.from('wörld')));
  await warmupFile('words_nul', 'words.bin', strings(Buffer.from('fine'), Buffer.from('bro\u0000ken')));
  server = await startTestServer({ modelRepository: repo.root, controlMode: 'explicit' });
  server.server.manager.stateChanged.subscribe((event) => events.push(event));
});

after(async () => {
  await server?.stop();
  await repo?.remove();
});

async function load(model: string): Promise<{ status: number; error?: string }> {
  const response = await fetch(`${server.url}/v2/repository/models/${model}/load`, { method: 'POST' });
  const text = await response.text();
  return { status: response.status, ...(text ? (JSON.parse(text) as { error?: string }) : {}) };
}

test('every instance runs every sample count times (at least once) before the version is READY; warm-up is not counted as inference', async () => {
  assert.deepEqual(await load('warm'), { status: 200 });
  const states = events.filter((e) => e.model === 'warm').map((e) => e.state);
  assert.deepEqual(states, ['LOADING', 'READY']);
  const ready = events.find((e) => e.model === 'warm' && e.state === 'READY')!;
  // (3 iterations of "zeros" + 1 of "file") × 2 instances.
  assert.deepEqual({ ...ready.warmup, milliseconds: 0 }, { samples: 2, executions: 8, instances: 2, milliseconds: 0 });

  const stats = (await (await fetch(`${server.url}/v2/models/warm/stats`)).json()) as { model_stats: { inference_count: number; execution_count: number }[] };
  assert.equal(stats.model_stats[0]!.inference_count, 0);
  assert.equal(stats.model_stats[0]!.execution_count, 0);
  const answer = await fetch(`${server.url}/v2/models/warm/infer`, { method: 'POST', body: JSON.stringify({ inputs: [{ name: 'idx', datatype: 'INT64', shape: [1], data: [3] }] }) });
  assert.deepEqual(((await answer.json()) as { outputs: { data: number[] }[] }).outputs[0]!.data, [40]);
});

test('a sample ONNX Runtime fails on makes the version UNAVAILABLE with the reason', async () => {
  const failed = await load('bad_index');
  assert.equal(failed.status, 400);
  assert.match(failed.error ?? '', /model_warmup 'far': the warm-up failed on instance 1 of 1, iteration 1: .*onnxruntime: .*indices/i);
  const last = events.filter((e) => e.model === 'bad_index').at(-1)!;
  assert.equal(last.state, 'UNAVAILABLE');
  assert.match(last.reason ?? '', /model_warmup 'far'/);
  const index = (await (await fetch(`${server.url}/v2/repository/index`, { method: 'POST' })).json()) as { name: string; state: string; reason?: string }[];
  const entry = index.find((e) => e.name === 'bad_index')!;
  assert.equal(entry.state, 'UNAVAILABLE');
  assert.match(entry.reason ?? '', /model_warmup 'far'/);
  assert.equal((await fetch(`${server.url}/v2/models/bad_index/ready`)).status, 400);
});

test('a data file shorter than its input needs, or missing, fails the load before any run, naming the file and sizes', async () => {
  const short = await load('short_file');
  assert.equal(short.status, 400);
  assert.match(short.error ?? '', /model_warmup 'short': input 'idx': input_data_file "warmup\/idx\.bin" has 4 bytes, the input needs 8/);
  const missing = await load('missing_file');
  assert.equal(missing.status, 400);
  assert.match(missing.error ?? '', /model_warmup 'missing': input 'idx': input_data_file "warmup\/nothing\.bin" not found/);
  for (const error of [short.error, missing.error]) assert.doesNotMatch(error ?? '', new RegExp(repo.root.replaceAll('/', '\\/')), 'no server path');
});

test('BYTES samples read length-prefixed strings; a string ONNX Runtime cannot carry fails the load', async () => {
  assert.deepEqual(await load('words'), { status: 200 });
  const ready = events.find((e) => e.model === 'words' && e.state === 'READY')!;
  assert.equal(ready.warmup?.executions, 1);
  const nul = await load('words_nul');
  assert.equal(nul.status, 400);
  assert.match(nul.error ?? '', /model_warmup 'words': input 'INPUT0': input_data_file "warmup\/words\.bin": string 1 holds a NUL byte/);
});
