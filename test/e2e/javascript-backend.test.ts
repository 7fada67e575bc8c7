/**
 * The JavaScript backend end to end: model.mjs modules in worker threads behind real REST and gRPC
 * listeners. initialize / execute / finalize, batching, errors thrown by a module, a module that
 * cannot load, a module that hangs or crashes its thread — each affecting only its own model.
 */
import { strict as assert } from 'node:assert';
import { existsSync, readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { createClient } from '../../src/client/index.js';
import { identityModel } from '../fixtures/onnx-models.js';
import { createMixedRepository, type MixedRepository } from '../fixtures/javascript-models.js';
import { startTestServer, waitFor, type TestServer } from '../helpers/test-server.js';

const SUM_CONFIG = (markers: string) => `
backend: "javascript"
max_batch_size: 8
input [ { name: "A" data_type: TYPE_FP32 dims: [ 4 ] }, { name: "B" data_type: TYPE_FP32 dims: [ 4 ] } ]
output [ { name: "SUM" data_type: TYPE_FP32 dims: [ 4 ] }, { name: "ROWS" data_type: TYPE_INT32 dims: [ 1 ] }, { name: "NOTE" data_type: TYPE_STRING dims: [ 1 ] } ]
dynamic_batching { max_queue_delay_microseconds: 200000 preferred_batch_size: [ 4 ] }
parameters [ { key: "markers" value { string_value: "${markers}" } } ]
`;

/** A + B, the batch's row count in ROWS, and the version it runs in NOTE; writes marker files. */
const SUM_MODULE = `
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
let markers;
let version;
export function initialize(args) {
  markers = args.parameters.markers;
  version = args.version;
  writeFileSync(join(markers, 'initialized'), JSON.stringify({ version: args.version, name: args.config.name, folder: args.folder }));
}
export function execute(inputs, context) {
  const a = inputs.A.data, b = inputs.B.data;
  const sum = new Float32Array(a.length);
  for (let i = 0; i < a.length; i++) sum[i] = a[i] + b[i];
  const rows = context.batchSize;
  return {
    SUM: { shape: [rows, 4], data: sum },
    ROWS: { shape: [rows, 1], data: new Int32Array(rows).fill(rows) },
    NOTE: { shape: [rows, 1], data: Array.from({ length: rows }, () => 'v' + version) },
  };
}
export function finalize() {
  writeFileSync(join(markers, 'finalized'), 'yes');
}
`;

const ONE_IN_ONE_OUT = (extra = '') => `
backend: "javascript"
max_batch_size: 0
input [ { name: "X" data_type: TYPE_FP32 dims: [ 1 ] } ]
output [ { name: "Y" data_type: TYPE_FP32 dims: [ 1 ] } ]
${extra}
`;

const THROWING_MODULE = `
export function execute(inputs) {
  const x = inputs.X.data[0];
  if (x < 0) throw Object.assign(new Error('X must not be negative, got ' + x), { code: 'INVALID_ARGUMENT' });
  if (x > 100) throw new Error('internal trouble ' + 'z'.repeat(5000));
  return { Y: { shape: [1], data: [x * 2] } };
}
`;

const HANGING_MODULE = `
export function execute(inputs) {
  const x = inputs.X.data[0];
  if (x < 0) for (;;) {}
  if (x > 100) process.exit(3);
  return { Y: { shape: [1], data: new Float32Array([x + 1]) } };
}
`;

let repo: MixedRepository;
let markers: string;
let server: TestServer;

async function post(path: string, body: unknown): Promise<{ status: number; json: Record<string, unknown> }> {
  const response = await fetch(`${server.url}${path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  const text = await response.text();
  return { status: response.status, json: (text === '' ? {} : JSON.parse(text)) as Record<string, unknown> };
}

const x = (value: number) => ({ inputs: [{ name: 'X', datatype: 'FP32', shape: [1], data: [value] }] });

before(async () => {
  markers = await mkdtemp(join(tmpdir(), 'cranberries-js-markers-'));
  repo = await createMixedRepository({
    onnx: { identity: { versions: { 1: identityModel({ datatype: 'FP32', dims: [2], batching: true }) }, config: 'max_batch_size: 8' } },
    javascript: {
      js_sum: { config: SUM_CONFIG(markers), versions: { 3: SUM_MODULE } },
      js_throw: { config: ONE_IN_ONE_OUT(), versions: { 1: THROWING_MODULE } },
      js_hang: { config: ONE_IN_ONE_OUT('parameters [ { key: "execution_timeout_ms" value { string_value: "500" } } ]'), versions: { 1: HANGING_MODULE } },
      js_syntax: { config: ONE_IN_ONE_OUT(), versions: { 1: 'export function execute( {' } },
      js_init_fail: { config: ONE_IN_ONE_OUT(), versions: { 1: "export function initialize() { throw new Error('no weights here'); }\nexport function execute() {}" } },
      js_no_execute: { config: ONE_IN_ONE_OUT(), versions: { 1: 'export const x = 1;' } },
    },
  });
  server = await startTestServer({ modelRepository: repo.root, controlMode: 'explicit', strictReadiness: false });
  for (const model of ['identity', 'js_sum', 'js_throw', 'js_hang']) {
    const loaded = await post(`/v2/repository/models/${model}/load`, {});
    assert.equal(loaded.status, 200, `${model}: ${JSON.stringify(loaded.json)}`);
  }
});

after(async () => {
  await server?.stop();
  await repo?.remove();
  await rm(markers, { recursive: true, force: true });
});

describe('JavaScript backend', () => {
  it('runs initialize with config, version and folder, and serves over REST', async () => {
    const init = JSON.parse(readFileSync(join(markers, 'initialized'), 'utf8')) as { version: string; name: string; folder: string };
    assert.deepEqual([init.version, init.name], ['3', 'js_sum']);
    assert.ok(init.folder.endsWith('/js_sum/3'));
    const { status, json } = await post('/v2/models/js_sum/infer', {
      inputs: [
        { name: 'A', datatype: 'FP32', shape: [1, 4], data: [1, 2, 3, 4] },
        { name: 'B', datatype: 'FP32', shape: [1, 4], data: [10, 20, 30, 40] },
      ],
    });
    assert.equal(status, 200, JSON.stringify(json));
    const outputs = json['outputs'] as { name: string; data: unknown[]; shape: number[]; datatype: string }[];
    assert.deepEqual(outputs.find((o) => o.name === 'SUM')?.data, [11, 22, 33, 44]);
    assert.deepEqual(
      outputs.find((o) => o.name === 'NOTE'),
      { name: 'NOTE', datatype: 'BYTES', shape: [1, 1], data: ['v3'] },
    );
  });

  it('serves over gRPC with typed arrays', async () => {
    const client = createClient({ url: `grpc://127.0.0.1:${server.ports.grpc}` });
    try {
      const result = await client.infer('js_sum', [
        { name: 'A', datatype: 'FP32', shape: [2, 4], data: Float32Array.of(1, 1, 1, 1, 2, 2, 2, 2) },
        { name: 'B', datatype: 'FP32', shape: [2, 4], data: Float32Array.of(0.5, 0.5, 0.5, 0.5, 1, 2, 3, 4) },
      ]);
      assert.deepEqual([...(result.output('SUM').data as Float32Array)], [1.5, 1.5, 1.5, 1.5, 3, 4, 5, 6]);
    } finally {
      await client.close();
    }
  });

  it('joins concurrent requests into one batch (max_batch_size > 0, dynamic batching)', async () => {
    const one = (i: number) =>
      post('/v2/models/js_sum/infer', {
        inputs: [
          { name: 'A', datatype: 'FP32', shape: [1, 4], data: [i, i, i, i] },
          { name: 'B', datatype: 'FP32', shape: [1, 4], data: [1, 1, 1, 1] },
        ],
      });
    const answers = await Promise.all([1, 2, 3, 4].map(one));
    answers.forEach((a, i) => {
      const outputs = a.json['outputs'] as { name: string; data: number[] }[];
      assert.deepEqual(outputs.find((o) => o.name === 'SUM')?.data, [i + 2, i + 2, i + 2, i + 2], 'rows come back to their own request');
    });
    const rows = answers.map((a) => (a.json['outputs'] as { name: string; data: number[] }[]).find((o) => o.name === 'ROWS')!.data[0]!);
    assert.ok(Math.max(...rows) > 1, `some execution joined requests (rows seen: ${rows.join(',')})`);
    const stats = (await (await fetch(`${server.url}/v2/models/js_sum/stats`)).json()) as { model_stats: { batch_stats: { batch_size: number }[] }[] };
    assert.ok(stats.model_stats[0]!.batch_stats.some((b) => b.batch_size > 1));
  });

  it('turns an error thrown in execute into that request’s error, bounded, INVALID_ARGUMENT when it says so', async () => {
    const invalid = await post('/v2/models/js_throw/infer', x(-2));
    assert.equal(invalid.status, 400);
    assert.match(String(invalid.json['error']), /js_throw\/1: model\.mjs execute failed: X must not be negative, got -2/);
    const internal = await post('/v2/models/js_throw/infer', x(200));
    assert.equal(internal.status, 500);
    assert.match(String(internal.json['error']), /internal trouble z+…/);
    assert.ok(String(internal.json['error']).length < 1300, 'the message is bounded');
    const fine = await post('/v2/models/js_throw/infer', x(4));
    assert.deepEqual((fine.json['outputs'] as { data: number[] }[])[0]!.data, [8]);
  });

  it('ends an execution that overstays execution_timeout_ms (DEADLINE_EXCEEDED) and serves the next one', async () => {
    const started = Date.now();
    const hung = await post('/v2/models/js_hang/infer', x(-1));
    assert.equal(hung.status, 504, JSON.stringify(hung.json));
    assert.match(String(hung.json['error']), /did not return within the execution timeout of 500 ms/);
    assert.ok(Date.now() - started < 10_000);
    // Another model was never held up.
    const other = await post('/v2/models/identity/infer', { inputs: [{ name: 'INPUT0', datatype: 'FP32', shape: [1, 2], data: [5, 6] }] });
    assert.equal(other.status, 200);
    const next = await post('/v2/models/js_hang/infer', x(1));
    assert.equal(next.status, 200, JSON.stringify(next.json));
    assert.deepEqual((next.json['outputs'] as { data: number[] }[])[0]!.data, [2]);
  });

  it('fails the executions of a thread that exits, and restarts it for the next', async () => {
    const crashed = await post('/v2/models/js_hang/infer', x(1000));
    assert.equal(crashed.status, 500);
    assert.match(String(crashed.json['error']), /js_hang\/1: the JavaScript model's thread exited with code 3/);
    const next = await post('/v2/models/js_hang/infer', x(2));
    assert.deepEqual((next.json['outputs'] as { data: number[] }[])[0]!.data, [3]);
  });

  it('leaves a module that fails to import or initialize UNAVAILABLE with the reason', async () => {
    const expectations: [string, RegExp][] = [
      ['js_syntax', /js_syntax\/1: model\.mjs failed to load: .*(Unexpected|SyntaxError)/],
      ['js_init_fail', /js_init_fail\/1: model\.mjs failed to load: no weights here/],
      ['js_no_execute', /model\.mjs exports no execute function/],
    ];
    for (const [model, reason] of expectations) {
      const load = await post(`/v2/repository/models/${model}/load`, {});
      assert.notEqual(load.status, 200);
      assert.match(String(load.json['error']), reason);
      const index = (await post('/v2/repository/index', {})).json as unknown as { name: string; state: string; reason?: string }[];
      const entry = index.find((e) => e.name === model);
      assert.equal(entry?.state, 'UNAVAILABLE');
      assert.match(entry?.reason ?? '', reason);
    }
    const ready = await fetch(`${server.url}/v2/models/js_sum/ready`);
    assert.equal(ready.status, 200, 'other models stay ready');
  });

  it('calls finalize when the model unloads', async () => {
    assert.equal(existsSync(join(markers, 'finalized')), false);
    const unload = await post('/v2/repository/models/js_sum/unload', {});
    assert.equal(unload.status, 200);
    await waitFor(() => existsSync(join(markers, 'finalized')), 10_000, 'finalize to write its marker');
  });
});
