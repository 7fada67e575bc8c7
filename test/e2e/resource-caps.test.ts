/**
 * Resource caps on model configurations, on a real server with real ONNX Runtime: a config that
 * asks for more threads, instances or batch than the caps allow is refused before any session
 * starts — the load API answers 400, a repository config leaves the model UNAVAILABLE with a reason
 * naming the field — and models within the caps load as before. The caps here are the defaults
 * (threads ≤ cores, instances ≤ max(16, 2 × cores), max_batch_size ≤ 1024).
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { availableParallelism } from 'node:os';
import { createTempModelRepository, identityModel, type TempModelRepository } from '../fixtures/onnx-models.js';
import { startTestServer, type TestServer } from '../helpers/test-server.js';

const IDENTITY = identityModel({ datatype: 'FP32', dims: [-1], batching: true });
const CORES = availableParallelism();
const OVER_INSTANCES = Math.max(16, 2 * CORES) + 1;
const OVER_THREADS = CORES + 1;

interface IndexEntry {
  name: string;
  state?: string;
  reason?: string;
}

async function index(server: TestServer): Promise<IndexEntry[]> {
  return (await (await fetch(`${server.url}/v2/repository/index`, { method: 'POST' })).json()) as IndexEntry[];
}

async function load(server: TestServer, model: string, config: object): Promise<{ status: number; error: string }> {
  const response = await fetch(`${server.url}/v2/repository/models/${model}/load`, {
    method: 'POST',
    body: JSON.stringify({ parameters: { config: JSON.stringify(config) } }),
    headers: { 'content-type': 'application/json' },
  });
  const text = await response.text();
  return { status: response.status, error: text === '' ? '' : ((JSON.parse(text) as { error?: string }).error ?? '') };
}

describe('the load API refuses configs over the caps with 400', () => {
  let repo: TempModelRepository;
  let server: TestServer;
  before(async () => {
    repo = await createTempModelRepository({ simple: { versions: { 1: IDENTITY }, config: 'max_batch_size: 8\n' } });
    server = await startTestServer({ modelRepository: repo.root, controlMode: 'explicit' });
  });
  after(async () => {
    await server?.stop();
    await repo?.remove();
  });

  test('intra_op_thread_count over the cores', async () => {
    const answer = await load(server, 'simple', { max_batch_size: 8, parameters: { intra_op_thread_count: { string_value: String(OVER_THREADS) } } });
    assert.equal(answer.status, 400);
    assert.match(answer.error, /intra_op_thread_count/);
    const entry = (await index(server)).find((e) => e.name === 'simple');
    assert.notEqual(entry?.state, 'READY');
  });

  test('instance_group count over the cap', async () => {
    const answer = await load(server, 'simple', { max_batch_size: 8, instance_group: [{ count: OVER_INSTANCES, kind: 'KIND_CPU' }] });
    assert.equal(answer.status, 400);
    assert.match(answer.error, /instance_group/);
  });

  test('max_batch_size over the cap', async () => {
    const answer = await load(server, 'simple', { max_batch_size: 5000 });
    assert.equal(answer.status, 400);
    assert.match(answer.error, /max_batch_size 5000/);
  });

  test('a config within the caps loads', async () => {
    const answer = await load(server, 'simple', { max_batch_size: 8, instance_group: [{ count: 1, kind: 'KIND_CPU' }], parameters: { intra_op_thread_count: { string_value: '1' } } });
    assert.equal(answer.status, 200, answer.error);
    assert.equal((await index(server)).find((e) => e.name === 'simple')?.state, 'READY');
  });
});

test('a repository config over a cap leaves the model UNAVAILABLE with a reason naming the field; the others load', async () => {
  const repo = await createTempModelRepository({
    fine: { versions: { 1: IDENTITY }, config: 'max_batch_size: 8\n' },
    many: { versions: { 1: IDENTITY }, config: `max_batch_size: 8\ninstance_group [ { count: ${OVER_INSTANCES} kind: KIND_CPU } ]\n` },
    threads: { versions: { 1: IDENTITY }, config: `max_batch_size: 8\nparameters { key: "intra_op_thread_count" value: { string_value: "${OVER_THREADS}" } }\n` },
    big: { versions: { 1: IDENTITY }, config: 'max_batch_size: 2000\n' },
  });
  const server = await startTestServer({ modelRepository: repo.root });
  try {
    const entries = await index(server);
    const byName = (name: string): IndexEntry | undefined => entries.find((e) => e.name === name);
    assert.equal(byName('fine')?.state, 'READY');
    for (const [name, field] of [
      ['many', /instance_group/],
      ['threads', /intra_op_thread_count/],
      ['big', /max_batch_size 2000/],
    ] as const) {
      assert.equal(byName(name)?.state, 'UNAVAILABLE', `${name}: ${JSON.stringify(byName(name))}`);
      assert.match(byName(name)?.reason ?? '', field);
    }
  } finally {
    await server.stop();
    await repo.remove();
  }
});
