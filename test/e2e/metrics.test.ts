/**
 * The Prometheus endpoint of a real server after known traffic: exact counts for successes,
 * failures by reason (including requests that fail before the core runs them), inferences vs
 * executions under dynamic batching, histograms, state, queue depth, cache and process metrics;
 * and the request id in answers, error bodies and gRPC metadata.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import * as grpc from '@grpc/grpc-js';
import { addSubModel, createTempModelRepository, type TempModelRepository } from '../fixtures/onnx-models.js';
import { infer } from '../helpers/oip-client.js';
import { startTestServer, type TestServer } from '../helpers/test-server.js';
import { parsePrometheusText, sampleValue, type Exposition } from '../helpers/prometheus-text.js';
import { oipPackageDefinition, serviceDefinition } from '../../src/protocols/grpc/proto-loader.js';
import { OIP_SERVICE_NAME } from '../../src/protocols/grpc/oip-service.js';

const IO =
  'input [ { name: "INPUT0" data_type: TYPE_FP32 dims: [ 4 ] }, { name: "INPUT1" data_type: TYPE_FP32 dims: [ 4 ] } ]\noutput [ { name: "OUTPUT0" data_type: TYPE_FP32 dims: [ 4 ] }, { name: "OUTPUT1" data_type: TYPE_FP32 dims: [ 4 ] } ]\n';
const BATCHED_CONFIG = `max_batch_size: 16\n${IO}dynamic_batching { max_queue_delay_microseconds: 200000 }\n`;
const PLAIN_CONFIG = `max_batch_size: 8\n${IO}`;
const CACHED_CONFIG = `max_batch_size: 8\n${IO}response_cache { enable: true }\n`;

let repo: TempModelRepository;
let server: TestServer;
let metricsUrl: string;

before(async () => {
  repo = await createTempModelRepository({
    batched: { versions: { 1: addSubModel('FP32', [4]) }, config: BATCHED_CONFIG },
    plain: { versions: { 1: addSubModel('FP32', [4]), 2: addSubModel('FP32', [4]) }, config: `${PLAIN_CONFIG}version_policy: { all: {} }\n` },
    cached: { versions: { 1: addSubModel('FP32', [4]) }, config: CACHED_CONFIG },
  });
  server = await startTestServer({ modelRepository: repo.root, cacheSizeBytes: 1024 * 1024 });
  metricsUrl = `http://127.0.0.1:${server.ports.metrics}/metrics`;
});

after(async () => {
  await server?.stop();
  await repo?.remove();
});

async function scrape(): Promise<Exposition> {
  const response = await fetch(metricsUrl);
  assert.equal(response.status, 200);
  assert.match(response.headers.get('content-type') ?? '', /^text\/plain/);
  return parsePrometheusText(await response.text());
}

function inputs(row: number, rows = 1): { name: string; datatype: string; shape: number[]; data: number[] }[] {
  const data = Array.from({ length: 4 * rows }, (_, i) => row * 10 + i);
  return [
    { name: 'INPUT0', datatype: 'FP32', shape: [rows, 4], data },
    { name: 'INPUT1', datatype: 'FP32', shape: [rows, 4], data },
  ];
}

const v = (model: string, version = '1'): Record<string, string> => ({ model, version });

describe('Prometheus metrics after known traffic', () => {
  test('10 concurrent requests under dynamic batching: 10 inferences in fewer executions, as the statistics API says', async () => {
    const results = await Promise.all(Array.from({ length: 10 }, (_, i) => infer(server.url, 'batched', inputs(i))));
    for (const r of results) assert.equal(r.status, 200);
    const stats = (await (await fetch(`${server.url}/v2/models/batched/stats`)).json()) as { model_stats: { inference_count: number; execution_count: number }[] };
    const executions = stats.model_stats[0]!.execution_count;
    assert.ok(executions < 10, `expected batching, got ${executions} executions`);

    const m = await scrape();
    assert.equal(sampleValue(m, 'cranberries_inference_request_success_total', v('batched')), 10);
    assert.equal(sampleValue(m, 'cranberries_inference_count_total', v('batched')), 10);
    assert.equal(sampleValue(m, 'cranberries_inference_executions_total', v('batched')), executions);
    assert.equal(sampleValue(m, 'cranberries_batch_size_count', v('batched')), executions);
    assert.equal(sampleValue(m, 'cranberries_batch_size_sum', v('batched')), 10);
    for (const histogram of ['request_duration', 'queue_duration', 'compute_input_duration', 'compute_infer_duration', 'compute_output_duration']) {
      const name = `cranberries_${histogram}_seconds`;
      assert.equal(sampleValue(m, `${name}_count`, v('batched')), 10, name);
      assert.equal(sampleValue(m, `${name}_bucket`, { ...v('batched'), le: '+Inf' }), 10, name);
    }
    // The queue delay holds the first requests up to 200 ms: their queue time shows in the histogram.
    assert.ok(sampleValue(m, 'cranberries_queue_duration_seconds_sum', v('batched'))! > 0.05);
    assert.ok(sampleValue(m, 'cranberries_request_duration_seconds_sum', v('batched'))! >= sampleValue(m, 'cranberries_queue_duration_seconds_sum', v('batched'))!);
    assert.equal(sampleValue(m, 'cranberries_inference_request_failure_total', { ...v('batched'), reason: 'invalid_argument' }), 0);
  });

  test('a request of several rows counts once as a request and by rows as inferences', async () => {
    const before = await scrape();
    const result = await infer(server.url, 'plain', inputs(1, 3), { version: '1' });
    assert.equal(result.status, 200);
    const m = await scrape();
    const delta = (name: string): number => sampleValue(m, name, v('plain'))! - (sampleValue(before, name, v('plain')) ?? 0);
    assert.equal(delta('cranberries_inference_request_success_total'), 1);
    assert.equal(delta('cranberries_inference_count_total'), 3);
    assert.equal(delta('cranberries_inference_executions_total'), 1);
    assert.equal(sampleValue(m, 'cranberries_batch_size_bucket', { ...v('plain'), le: '2' }), sampleValue(before, 'cranberries_batch_size_bucket', { ...v('plain'), le: '2' }) ?? 0);
  });

  test('every failed request to a known model counts with its reason, including ones that never reach the core', async () => {
    const before = await scrape();
    const post = (path: string, body: string | Uint8Array, headers: Record<string, string> = {}): Promise<Response> => fetch(server.url + path, { method: 'POST', body, headers });
    // Decoded fine, refused by the core (wrong datatype for the model).
    assert.equal((await infer(server.url, 'plain', [{ ...inputs(1)[0]!, datatype: 'INT32' }, inputs(1)[1]!])).status, 400);
    // Undecodable: malformed JSON, and a binary input whose size does not match its shape.
    assert.equal((await post('/v2/models/plain/infer', '{"inputs": [')).status, 400);
    const json = Buffer.from(JSON.stringify({ inputs: [{ name: 'INPUT0', datatype: 'FP32', shape: [1, 4], parameters: { binary_data_size: 12 } }] }));
    assert.equal((await post('/v2/models/plain/infer', Buffer.concat([json, Buffer.alloc(12)]), { 'Inference-Header-Content-Length': String(json.length) })).status, 400);
    // A version the model does not have, and a version in the URL that is not a number.
    assert.equal((await infer(server.url, 'plain', inputs(1), { version: '7' })).status, 404);
    assert.equal((await post('/v2/models/plain/versions/x/infer', JSON.stringify({ inputs: inputs(1) }))).status, 400);
    // An unknown model is not counted anywhere (no series for arbitrary names).
    assert.equal((await infer(server.url, 'no_such_model', inputs(1))).status, 404);

    const m = await scrape();
    const failures = (labels: Record<string, string>): number =>
      (sampleValue(m, 'cranberries_inference_request_failure_total', labels) ?? 0) - (sampleValue(before, 'cranberries_inference_request_failure_total', labels) ?? 0);
    // Requests without a version count against the version that serves by default (2, the highest).
    assert.equal(failures({ ...v('plain', '2'), reason: 'invalid_argument' }), 4);
    assert.equal(failures({ ...v('plain', '7'), reason: 'not_found' }), 1);
    assert.equal(failures({ ...v('plain', '1'), reason: 'invalid_argument' }), 0);
    assert.ok(!m.samples.some((s) => s.labels['model'] === 'no_such_model'));
  });

  test('gRPC failures count too, decode errors included', async () => {
    const before = await scrape();
    const grpcClient = oipClient();
    try {
      const status = await grpcFailure(grpcClient, { model_name: 'plain', model_version: '1', inputs: [{ name: 'INPUT0', datatype: 'FP32', shape: [1, 4] }], raw_input_contents: [Buffer.alloc(4)] });
      assert.equal(status.code, grpc.status.INVALID_ARGUMENT);
    } finally {
      grpcClient.close();
    }
    const m = await scrape();
    const label = { ...v('plain', '1'), reason: 'invalid_argument' };
    assert.equal(sampleValue(m, 'cranberries_inference_request_failure_total', label)! - (sampleValue(before, 'cranberries_inference_request_failure_total', label) ?? 0), 1);
  });

  test('TF Serving predict failures before the model runs count too (signature, inputs, label), once each', async () => {
    const before = await scrape();
    const predict = (path: string, body: object): Promise<Response> => fetch(`${server.url}/v1/models/plain${path}:predict`, { method: 'POST', body: JSON.stringify(body) });
    const row = { INPUT0: [1, 2, 3, 4], INPUT1: [1, 2, 3, 4] };
    assert.equal((await predict('/versions/1', { instances: [row] })).status, 200);
    assert.equal((await predict('/versions/1', { signature_name: 'nope', instances: [row] })).status, 400);
    assert.equal((await predict('/versions/1', { instances: [{ WRONG: [1, 2, 3, 4] }] })).status, 400);
    assert.equal((await predict('', { instances: [{ INPUT0: [1, 2, 3, 4] }] })).status, 400);
    assert.equal((await predict('/labels/nope', { instances: [row] })).status, 400);
    const m = await scrape();
    const delta = (name: string, labels: Record<string, string>): number => (sampleValue(m, name, labels) ?? 0) - (sampleValue(before, name, labels) ?? 0);
    assert.equal(delta('cranberries_inference_request_failure_total', { ...v('plain', '1'), reason: 'invalid_argument' }), 2);
    // No version named (or an unknown label): counted against the default version.
    assert.equal(delta('cranberries_inference_request_failure_total', { ...v('plain', '2'), reason: 'invalid_argument' }), 2);
    assert.equal(delta('cranberries_inference_request_success_total', v('plain', '1')), 1);
  });

  test('response cache hits and misses', async () => {
    assert.equal((await infer(server.url, 'cached', inputs(5))).status, 200);
    assert.equal((await infer(server.url, 'cached', inputs(5))).status, 200);
    const m = await scrape();
    assert.equal(sampleValue(m, 'cranberries_cache_misses_total', v('cached')), 1);
    assert.equal(sampleValue(m, 'cranberries_cache_hits_total', v('cached')), 1);
    assert.equal(sampleValue(m, 'cranberries_inference_request_success_total', v('cached')), 2);
    assert.equal(sampleValue(m, 'cranberries_inference_count_total', v('cached')), 1, 'a cache hit is no inference');
    assert.equal(sampleValue(m, 'cranberries_request_duration_seconds_count', v('cached')), 2);
    assert.equal(sampleValue(m, 'cranberries_compute_infer_duration_seconds_count', v('cached')), 1, 'a cache hit has no compute time');
    assert.equal(sampleValue(m, 'cranberries_queue_duration_seconds_count', v('cached')), 1, 'a cache hit has no queue time');
    // Scraping again adds nothing: the counters follow the statistics, they do not re-add them.
    const again = await scrape();
    assert.equal(sampleValue(again, 'cranberries_cache_hits_total', v('cached')), 1);
  });

  test('state, load time, queue depth and process metrics', async () => {
    const m = await scrape();
    for (const [model, version] of [
      ['batched', '1'],
      ['plain', '1'],
      ['plain', '2'],
      ['cached', '1'],
    ] as const) {
      assert.equal(sampleValue(m, 'cranberries_model_state', { model, version, state: 'READY' }), 1);
      assert.equal(sampleValue(m, 'cranberries_model_state', { model, version, state: 'LOADING' }), 0);
      assert.ok(sampleValue(m, 'cranberries_model_load_duration_seconds', { model, version })! > 0);
      assert.equal(sampleValue(m, 'cranberries_queue_depth', { model, version }), 0);
    }
    for (const name of ['nodejs_eventloop_lag_p99_seconds', 'nodejs_eventloop_lag_seconds', 'process_resident_memory_bytes', 'nodejs_heap_size_used_bytes', 'process_cpu_seconds_total']) {
      assert.ok(sampleValue(m, name) !== undefined, `${name} is exported`);
    }
    assert.equal(m.types.get('cranberries_request_duration_seconds'), 'histogram');
    assert.equal(m.types.get('cranberries_inference_request_success_total'), 'counter');
    assert.equal(m.types.get('cranberries_queue_depth'), 'gauge');
  });

  test('queue depth counts requests waiting in the scheduler at scrape time', async () => {
    // The 200 ms queue delay holds a lone request in the queue long enough to be seen.
    const pending = infer(server.url, 'batched', inputs(1));
    let seen = 0;
    for (let i = 0; i < 20 && seen === 0; i++) {
      seen = sampleValue(await scrape(), 'cranberries_queue_depth', v('batched')) ?? 0;
      if (seen === 0) await new Promise((r) => setTimeout(r, 5));
    }
    assert.equal((await pending).status, 200);
    assert.equal(seen, 1);
  });

  test('only GET /metrics is served', async () => {
    assert.equal((await fetch(`http://127.0.0.1:${server.ports.metrics}/other`)).status, 404);
    assert.equal((await fetch(metricsUrl, { method: 'POST' })).status, 405);
  });
});

describe('request ids', () => {
  test('REST: the x-request-id header is echoed and added to error bodies after "error"', async () => {
    const ok = await fetch(`${server.url}/v2/models/plain/infer`, { method: 'POST', headers: { 'x-request-id': 'abc-123' }, body: JSON.stringify({ inputs: inputs(1) }) });
    assert.equal(ok.status, 200);
    assert.equal(ok.headers.get('x-request-id'), 'abc-123');
    const bad = await fetch(`${server.url}/v2/models/plain/infer`, { method: 'POST', headers: { 'x-request-id': 'bad-1' }, body: '{"inputs": [' });
    assert.equal(bad.status, 400);
    assert.equal(bad.headers.get('x-request-id'), 'bad-1');
    const text = await bad.text();
    assert.match(text, /^\{"error":"[^"]+","request_id":"bad-1"\}$/);
  });

  test('REST: without a header the OIP id is used, else one is generated', async () => {
    const withId = await infer(server.url, 'plain', inputs(1), { id: 'oip-7' });
    assert.equal(withId.headers.get('x-request-id'), 'oip-7');
    assert.equal(withId.json['id'], 'oip-7');
    const failing = await infer(server.url, 'plain', [inputs(1)[0]!], { id: 'oip-8' });
    assert.equal(failing.status, 400);
    assert.equal(failing.json['request_id'], 'oip-8');
    const anonymous = await infer(server.url, 'plain', inputs(1));
    assert.match(anonymous.headers.get('x-request-id') ?? '', /^[0-9a-f]{12}-[0-9a-f]+$/);
    const notFound = await fetch(`${server.url}/v2/models/nope/infer`, { method: 'POST', body: '{}' });
    const body = (await notFound.json()) as { error: string; request_id: string };
    assert.equal(body.request_id, notFound.headers.get('x-request-id'));
  });

  test('gRPC: metadata x-request-id is echoed and named in the error message', async () => {
    const client = oipClient();
    try {
      const metadata = new grpc.Metadata();
      metadata.set('x-request-id', 'grpc-42');
      let echoed: grpc.MetadataValue | undefined;
      const status = await grpcFailure(
        client,
        { model_name: 'plain', model_version: '', inputs: [{ name: 'INPUT0', datatype: 'FP32', shape: [1, 4] }], raw_input_contents: [Buffer.alloc(4)] },
        metadata,
        (m) => (echoed = m.get('x-request-id')[0]),
      );
      assert.equal(status.code, grpc.status.INVALID_ARGUMENT);
      assert.match(status.details, / \(request id: grpc-42\)$/);
      assert.equal(echoed, 'grpc-42');
    } finally {
      client.close();
    }
  });
});

function oipClient(): grpc.Client {
  return new grpc.Client(`127.0.0.1:${server.ports.grpc}`, grpc.credentials.createInsecure());
}

async function grpcFailure(client: grpc.Client, request: object, metadata = new grpc.Metadata(), onMetadata?: (m: grpc.Metadata) => void): Promise<{ code: number; details: string }> {
  const method = serviceDefinition(oipPackageDefinition(), OIP_SERVICE_NAME)['ModelInfer'] as grpc.MethodDefinition<object, unknown>;
  return new Promise((resolve, reject) => {
    const call = client.makeUnaryRequest(method.path, method.requestSerialize, method.responseDeserialize, request, metadata, {}, (error) => {
      if (error) resolve({ code: error.code, details: error.details });
      else reject(new Error('the call succeeded, a failure was expected'));
    });
    if (onMetadata) call.on('metadata', onMetadata);
  });
}
