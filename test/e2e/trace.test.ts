/**
 * Request tracing end to end (Triton's trace extension): real servers on loopback sockets with
 * ONNX Runtime workers, traced over REST and gRPC. Triton mode is checked through the trace files
 * the server writes; OpenTelemetry mode through a real OTLP/HTTP receiver that decodes the
 * protobuf export. Settings are driven over REST and gRPC, errors checked in each protocol's format.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { oipPackageDefinition, serviceDefinition } from '../../src/protocols/grpc/proto-loader.js';
import { tracerOptionsFromFlags } from '../../src/tracing/index.js';
import { createTempModelRepository, mlpModel, type MlpOptions, type TempModelRepository } from '../fixtures/onnx-models.js';
import { OtlpReceiver } from '../helpers/otlp-receiver.js';
import { startTestServer, waitFor, type TestServer } from '../helpers/test-server.js';

const MLP: MlpOptions = { inputSize: 4, hidden: [8], outputSize: 2, seed: 3 };
const REST_ORDER = [
  'HTTP_RECV_START',
  'HTTP_RECV_END',
  'REQUEST_START',
  'QUEUE_START',
  'COMPUTE_START',
  'COMPUTE_INPUT_END',
  'COMPUTE_OUTPUT_START',
  'COMPUTE_END',
  'REQUEST_END',
  'INFER_RESPONSE_COMPLETE',
  'HTTP_SEND_START',
  'HTTP_SEND_END',
];
const GRPC_ORDER = ['GRPC_WAITREAD_END', ...REST_ORDER.slice(2, -2), 'GRPC_SEND_START', 'GRPC_SEND_END'];

interface TraceRecord {
  id: number;
  model_name?: string;
  model_version?: number;
  request_id?: string;
  timestamps?: { name: string; ns: number }[];
}

interface Trace {
  id: number;
  model: string;
  version: number;
  requestId: string | undefined;
  stamps: { name: string; ns: bigint }[];
}

/** Groups a Triton trace file's objects by trace id; timestamps keep their exact integer value. */
function tracesOf(text: string): Trace[] {
  // ns values exceed 2^53: read them as BigInt by quoting them before JSON.parse.
  const records = JSON.parse(text.replace(/"ns":(\d+)/g, '"ns":"$1"')) as TraceRecord[];
  const traces = new Map<number, Trace>();
  for (const record of records) {
    let trace = traces.get(record.id);
    if (!trace) traces.set(record.id, (trace = { id: record.id, model: '', version: 0, requestId: undefined, stamps: [] }));
    if (record.model_name !== undefined) {
      trace.model = record.model_name;
      trace.version = record.model_version!;
      trace.requestId = record.request_id;
    }
    for (const stamp of record.timestamps ?? []) trace.stamps.push({ name: stamp.name, ns: BigInt(stamp.ns) });
  }
  return [...traces.values()];
}

/** The trace's timestamps carry exactly `order`'s names, and their times follow that order. */
function assertTimeline(trace: Trace, order: readonly string[]): void {
  const byName = new Map(trace.stamps.map((s) => [s.name, s.ns]));
  assert.deepEqual([...byName.keys()].sort(), [...order].sort(), `trace ${trace.id} timestamps`);
  for (let i = 1; i < order.length; i++) {
    if (order[i] === 'INFER_RESPONSE_COMPLETE' || order[i - 1] === 'INFER_RESPONSE_COMPLETE') continue;
    assert.ok(byName.get(order[i - 1]!)! <= byName.get(order[i]!)!, `trace ${trace.id}: ${order[i - 1]} ≤ ${order[i]}`);
  }
}

async function restInfer(url: string, model: string, id: string, headers: Record<string, string> = {}): Promise<void> {
  const body = { id, inputs: [{ name: 'input', shape: [1, 4], datatype: 'FP32', data: [0.1, 0.2, 0.3, 0.4] }] };
  const response = await fetch(`${url}/v2/models/${model}/infer`, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify(body) });
  assert.equal(response.status, 200, await response.clone().text());
  await response.arrayBuffer();
}

async function restSetting(url: string, path: string, body?: unknown): Promise<{ status: number; json: Record<string, unknown> }> {
  const response = await fetch(url + path, body === undefined ? {} : { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  assert.match(response.headers.get('content-type') ?? '', /application\/json/);
  return { status: response.status, json: (await response.json()) as Record<string, unknown> };
}

type SettingsMap = Record<string, { value: string[] }>;

interface OipClient {
  traceSetting(request: { settings?: SettingsMap; model_name?: string }): Promise<SettingsMap>;
  infer(model: string, id: string, metadata?: Record<string, string>): Promise<void>;
  close(): void;
}

function connectGrpc(port: number): OipClient {
  const Client = grpc.makeGenericClientConstructor(serviceDefinition(oipPackageDefinition(), 'inference.GRPCInferenceService'), 'GRPCInferenceService');
  const client = new Client(`127.0.0.1:${port}`, grpc.credentials.createInsecure());
  type Callback<T> = (error: grpc.ServiceError | null, value: T) => void;
  const calls = client as unknown as {
    TraceSetting(request: unknown, callback: Callback<{ settings: SettingsMap }>): void;
    ModelInfer(request: unknown, metadata: grpc.Metadata, callback: Callback<unknown>): void;
  };
  return {
    traceSetting: (request) => new Promise((resolve, reject) => calls.TraceSetting({ settings: {}, model_name: '', ...request }, (error, value) => (error ? reject(error) : resolve(value.settings)))),
    infer: (model, id, metadata = {}) =>
      new Promise((resolve, reject) => {
        const wire = new grpc.Metadata();
        for (const [key, value] of Object.entries(metadata)) wire.set(key, value);
        const contents = Buffer.from(new Float32Array([0.1, 0.2, 0.3, 0.4]).buffer);
        const request = { model_name: model, id, inputs: [{ name: 'input', datatype: 'FP32', shape: ['1', '4'] }], raw_input_contents: [contents] };
        calls.ModelInfer(request, wire, (error) => (error ? reject(error) : resolve()));
      }),
    close: () => client.close(),
  };
}

const asStrings = (settings: SettingsMap): Record<string, string[]> => Object.fromEntries(Object.entries(settings).map(([k, v]) => [k, v.value]));

describe('trace extension, Triton mode (trace files)', () => {
  let repo: TempModelRepository;
  let dir: string;
  let server: TestServer | undefined;

  before(async () => {
    repo = await createTempModelRepository({
      mlp: { versions: { 1: mlpModel(MLP) }, config: 'max_batch_size: 8\n' },
      batched: { versions: { 1: mlpModel(MLP) }, config: 'max_batch_size: 8\ndynamic_batching { max_queue_delay_microseconds: 2000000 preferred_batch_size: [ 4 ] }\n' },
    });
    dir = await mkdtemp(join(tmpdir(), 'cranberries-trace-'));
  });
  after(async () => {
    await server?.stop();
    await repo.remove();
    await rm(dir, { recursive: true, force: true });
  });

  test('rate and count pick the requests; log_frequency rotates the files; timestamps follow the request path', async () => {
    const file = join(dir, 'rest.json');
    server = await startTestServer({
      modelRepository: repo.root,
      trace: tracerOptionsFromFlags(['level=TIMESTAMPS', 'rate=2', 'count=3', `triton,file=${file}`, 'triton,log-frequency=2']),
    });
    for (let i = 1; i <= 10; i++) await restInfer(server.url, 'mlp', `req-${i}`);
    // Every 2nd request until 3 are traced: 2 go to rest.json.0 (log_frequency), the last to
    // rest.json.1 once the count has run out.
    await waitFor(async () => (await readdir(dir)).includes('rest.json.1'), 5000, 'the second trace file');
    const first = tracesOf(await readFile(`${file}.0`, 'utf8'));
    const second = tracesOf(await readFile(`${file}.1`, 'utf8'));
    assert.deepEqual(
      [...first, ...second].map((t) => [t.id, t.model, t.version, t.requestId]),
      [
        [1, 'mlp', 1, 'req-2'],
        [2, 'mlp', 1, 'req-4'],
        [3, 'mlp', 1, 'req-6'],
      ],
    );
    for (const trace of [...first, ...second]) assertTimeline(trace, REST_ORDER);
    const setting = await restSetting(server.url, '/v2/trace/setting');
    assert.deepEqual(setting.json, { trace_level: ['TIMESTAMPS'], trace_rate: '2', trace_count: '0', log_frequency: '2', trace_file: file, trace_mode: 'triton' });
  });

  test('gRPC requests are traced with gRPC timestamps; settings changed over gRPC take effect', async () => {
    assert.ok(server);
    const client = connectGrpc(server.ports.grpc);
    try {
      const updated = await client.traceSetting({ settings: { trace_rate: { value: ['1'] }, trace_count: { value: ['2'] }, log_frequency: { value: ['0'] } } });
      assert.deepEqual(asStrings(updated), {
        trace_level: ['TIMESTAMPS'],
        trace_rate: ['1'],
        trace_count: ['2'],
        log_frequency: ['0'],
        trace_file: [join(dir, 'rest.json')],
        trace_mode: ['triton'],
      });
      for (let i = 1; i <= 3; i++) await client.infer('mlp', `grpc-${i}`);
    } finally {
      client.close();
    }
    const file = join(dir, 'rest.json');
    // Count ran out: the two traces are written to the next indexed file.
    await waitFor(async () => (await readdir(dir)).includes('rest.json.2'), 5000, 'the gRPC trace file');
    const traces = tracesOf(await readFile(`${file}.2`, 'utf8'));
    assert.deepEqual(
      traces.map((t) => t.requestId),
      ['grpc-1', 'grpc-2'],
    );
    for (const trace of traces) assertTimeline(trace, GRPC_ORDER);
  });

  test('requests executed in one batch share the compute timestamps (as in Triton)', async () => {
    assert.ok(server);
    const setting = await restSetting(server.url, '/v2/models/batched/trace/setting', { trace_rate: '1', trace_count: '4', log_frequency: '4' });
    assert.equal(setting.status, 200);
    await Promise.all([1, 2, 3, 4].map((i) => restInfer(server!.url, 'batched', `b-${i}`)));
    const stats = (await (await fetch(`${server.url}/v2/models/batched/stats`)).json()) as { model_stats: { execution_count: number }[] };
    assert.equal(stats.model_stats[0]!.execution_count, 1, 'the four requests ran as one batch');
    await waitFor(async () => (await readdir(dir)).includes('rest.json.3'), 5000, 'the batch trace file');
    const traces = tracesOf(await readFile(join(dir, 'rest.json.3'), 'utf8'));
    assert.equal(traces.length, 4);
    const computeOf = (t: Trace): string[] => t.stamps.filter((s) => s.name.startsWith('COMPUTE_')).map((s) => `${s.name}=${s.ns}`);
    for (const trace of traces) {
      assertTimeline(trace, REST_ORDER);
      assert.deepEqual(computeOf(trace), computeOf(traces[0]!));
    }
  });

  test('level TENSORS records the queued inputs and the backend outputs', async () => {
    assert.ok(server);
    const setting = await restSetting(server.url, '/v2/trace/setting', { trace_level: ['TIMESTAMPS', 'TENSORS'], trace_rate: '1', trace_count: '1', log_frequency: '1' });
    assert.deepEqual(setting.json['trace_level'], ['TIMESTAMPS', 'TENSORS']);
    const body = { id: 'tensors', inputs: [{ name: 'input', shape: [1, 4], datatype: 'FP32', data: [0.5, 1, 1.5, -2] }] };
    const response = await fetch(`${server.url}/v2/models/mlp/infer`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
    assert.equal(response.status, 200);
    const answer = (await response.json()) as { outputs: { name: string; data: number[] }[] };
    await waitFor(async () => (await readdir(dir)).includes('rest.json.4'), 5000, 'the tensor trace file');
    const records = JSON.parse(await readFile(join(dir, 'rest.json.4'), 'utf8')) as { id: number; activity?: string; tensor?: { name: string; data: string; shape: string; dtype: string } }[];
    const tensors = records.filter((r) => r.activity !== undefined);
    assert.deepEqual(
      tensors.map((r) => [r.activity, r.tensor!.name, r.tensor!.shape, r.tensor!.dtype]),
      [
        ['TENSOR_QUEUE_INPUT', 'input', '1,4', 'FP32'],
        ['TENSOR_BACKEND_OUTPUT', 'output', '1,2', 'FP32'],
      ],
    );
    assert.equal(tensors[0]!.tensor!.data, '0.5,1,1.5,-2');
    const traced = tensors[1]!.tensor!.data.split(',').map(Number);
    const returned = answer.outputs.find((o) => o.name === 'output')!.data;
    assert.deepEqual(traced, returned, 'the traced output is what the client got');
    assertTimeline(tracesOf(JSON.stringify(records.filter((r) => r.activity === undefined))).at(0)!, REST_ORDER);
  });

  test('log_frequency 0 writes the file at shutdown', async () => {
    const file = join(dir, 'shutdown.json');
    const own = await startTestServer({ modelRepository: repo.root, trace: tracerOptionsFromFlags(['level=TIMESTAMPS', 'rate=1', `triton,file=${file}`]) });
    try {
      for (let i = 1; i <= 3; i++) await restInfer(own.url, 'mlp', `s-${i}`);
      assert.ok(!(await readdir(dir)).includes('shutdown.json'), 'nothing written before shutdown');
    } finally {
      await own.stop();
    }
    const traces = tracesOf(await readFile(file, 'utf8'));
    assert.deepEqual(
      traces.map((t) => t.requestId),
      ['s-1', 's-2', 's-3'],
    );
  });
});

describe('trace settings: model overrides and validation (REST and gRPC)', () => {
  let repo: TempModelRepository;
  let dir: string;
  let server: TestServer;
  let client: OipClient;

  before(async () => {
    repo = await createTempModelRepository({ mlp: { versions: { 1: mlpModel(MLP) }, config: 'max_batch_size: 8\n' } });
    dir = await mkdtemp(join(tmpdir(), 'cranberries-trace-'));
    server = await startTestServer({ modelRepository: repo.root, trace: tracerOptionsFromFlags([`triton,file=${join(dir, 't.json')}`]) });
    client = connectGrpc(server.ports.grpc);
  });
  after(async () => {
    client.close();
    await server.stop();
    await repo.remove();
    await rm(dir, { recursive: true, force: true });
  });

  test("defaults are Triton's: OFF, rate 1000, count -1, log_frequency 0", async () => {
    const global = await restSetting(server.url, '/v2/trace/setting');
    assert.deepEqual(global.json, { trace_level: ['OFF'], trace_rate: '1000', trace_count: '-1', log_frequency: '0', trace_file: join(dir, 't.json'), trace_mode: 'triton' });
    assert.deepEqual((await restSetting(server.url, '/v2/models/mlp/trace/setting')).json, global.json);
  });

  test('a model setting overrides what it gives, follows the global setting for the rest, and null resets it', async () => {
    const model = await restSetting(server.url, '/v2/models/mlp/trace/setting', { trace_rate: '7' });
    assert.equal(model.json['trace_rate'], '7');
    await restSetting(server.url, '/v2/trace/setting', { trace_rate: '50', trace_count: '9' });
    const after = await restSetting(server.url, '/v2/models/mlp/trace/setting');
    assert.equal(after.json['trace_rate'], '7', 'the model keeps its own rate');
    assert.equal(after.json['trace_count'], '9', 'and follows the global count');
    const reset = await restSetting(server.url, '/v2/models/mlp/trace/setting', { trace_rate: null });
    assert.equal(reset.json['trace_rate'], '50');
    // gRPC: an empty value list clears a setting the same way.
    await client.traceSetting({ model_name: 'mlp', settings: { trace_level: { value: ['TIMESTAMPS'] } } });
    assert.deepEqual((await client.traceSetting({ model_name: 'mlp' }))['trace_level']!.value, ['TIMESTAMPS']);
    assert.deepEqual((await client.traceSetting({}))['trace_level']!.value, ['OFF']);
    await client.traceSetting({ model_name: 'mlp', settings: { trace_level: { value: [] } } });
    assert.deepEqual((await client.traceSetting({ model_name: 'mlp' }))['trace_level']!.value, ['OFF']);
    await restSetting(server.url, '/v2/trace/setting', { trace_rate: null, trace_count: null });
    assert.deepEqual((await restSetting(server.url, '/v2/trace/setting')).json['trace_rate'], '1000', 'null restores the startup value');
  });

  const invalid: [string, unknown, number, RegExp][] = [
    ['rate not a number', { trace_rate: 'fast' }, 400, /^Unable to parse 'trace_rate', got: fast$/],
    ['rate negative', { trace_rate: '-1' }, 400, /^Unable to parse 'trace_rate', value is out of range \[ 0, 4294967295 \], got: -1$/],
    ['count below -1', { trace_count: '-2' }, 400, /^Unable to parse 'trace_count', value is out of range \[ -1, 2147483647 \]/],
    ['log_frequency not a number', { log_frequency: '1.5' }, 400, /^Unable to parse 'log_frequency', got: 1.5$/],
    ['OFF with another level', { trace_level: ['OFF', 'TIMESTAMPS'] }, 400, /^Expect only one trace level 'OFF' is specified$/],
    ['unknown level', { trace_level: ['LOUD'] }, 400, /^unknown trace level 'LOUD'/],
    ['rate 0 with tracing on', { trace_level: ['TIMESTAMPS'], trace_rate: '0' }, 400, /^Attempting to set invalid trace setting :sample rate must be non-zero$/],
    ['trace_file', { trace_file: '/tmp/elsewhere.json' }, 501, /^trace file location can not be updated through network protocol$/],
    ['a rate that is an object', { trace_rate: { n: 1 } }, 400, /^'trace_rate' must be a string or null$/],
  ];
  for (const [what, body, status, message] of invalid) {
    test(`REST refuses ${what} with ${status} and {"error"}`, async () => {
      const answer = await restSetting(server.url, '/v2/trace/setting', body);
      assert.equal(answer.status, status);
      assert.match(String(answer.json['error']), message);
      assert.deepEqual((await restSetting(server.url, '/v2/trace/setting')).json['trace_level'], ['OFF'], 'nothing changed');
    });
  }

  test('REST: unknown model, malformed JSON, wrong method', async () => {
    const unknown = await restSetting(server.url, '/v2/models/nope/trace/setting', { trace_rate: '1' });
    assert.equal(unknown.status, 400);
    assert.equal(unknown.json['error'], 'Request for unknown model : nope');
    const malformed = await fetch(`${server.url}/v2/trace/setting`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"trace_rate": ' });
    assert.equal(malformed.status, 400);
    assert.match(((await malformed.json()) as { error: string }).error, /malformed JSON/);
    const put = await fetch(`${server.url}/v2/trace/setting`, { method: 'PUT', headers: { 'content-type': 'application/json' }, body: '{}' });
    assert.equal(put.status, 405);
  });

  test("gRPC answers INVALID_ARGUMENT / UNIMPLEMENTED with Triton's messages", async () => {
    const failure = async (request: { settings?: SettingsMap; model_name?: string }): Promise<grpc.ServiceError> => {
      const error = await client.traceSetting(request).then(
        () => undefined,
        (e: grpc.ServiceError) => e,
      );
      assert.ok(error, 'the call fails');
      return error;
    };
    const rate = await failure({ settings: { trace_rate: { value: ['1', '2'] } } });
    assert.equal(rate.code, grpc.status.INVALID_ARGUMENT);
    assert.equal(rate.details, "expect only 1 value for 'trace_rate'");
    const count = await failure({ settings: { trace_count: { value: ['x'] } } });
    assert.equal(count.code, grpc.status.INVALID_ARGUMENT);
    assert.equal(count.details, "Unable to parse 'trace_count', got: x");
    const unknown = await failure({ model_name: 'nope', settings: {} });
    assert.equal(unknown.code, grpc.status.INVALID_ARGUMENT);
    assert.equal(unknown.details, 'Request for unknown model : nope');
    const file = await failure({ settings: { trace_file: { value: ['/tmp/x'] } } });
    assert.equal(file.code, grpc.status.UNIMPLEMENTED);
  });
});

describe('trace extension, OpenTelemetry mode (OTLP/HTTP export)', () => {
  let repo: TempModelRepository;
  let receiver: OtlpReceiver;
  let server: TestServer;

  before(async () => {
    repo = await createTempModelRepository({ mlp: { versions: { 1: mlpModel(MLP) }, config: 'max_batch_size: 8\n' } });
    receiver = await OtlpReceiver.start();
    server = await startTestServer({
      modelRepository: repo.root,
      // rate=0: only requests that carry a trace context are traced (Triton's documented way).
      trace: tracerOptionsFromFlags([
        'mode=opentelemetry',
        'level=TIMESTAMPS',
        'rate=0',
        `opentelemetry,url=${receiver.url}`,
        'opentelemetry,bsp_schedule_delay=50',
        'opentelemetry,resource=service.name=trace-test',
      ]),
    });
  });
  after(async () => {
    await server.stop();
    await receiver.close();
    await repo.remove();
  });

  test("a traceparent from the client makes the request traced, under the client's span, over REST and gRPC", async () => {
    const traceId = '0af7651916cd43dd8448eb211c80319c';
    const clientSpan = 'b7ad6b7169203331';
    const grpcTraceId = '4bf92f3577b34da6a3ce929d0e0e4736';
    await restInfer(server.url, 'mlp', 'no-context');
    await restInfer(server.url, 'mlp', 'rest-ctx', { traceparent: `00-${traceId}-${clientSpan}-01` });
    const client = connectGrpc(server.ports.grpc);
    try {
      // Flags 00 (not sampled by the client): Triton traces it anyway.
      await client.infer('mlp', 'grpc-ctx', { traceparent: `00-${grpcTraceId}-${clientSpan}-00` });
    } finally {
      client.close();
    }
    await waitFor(() => receiver.spans.length >= 6, 10_000, 'six spans at the OTLP receiver');
    await new Promise((resolve) => setTimeout(resolve, 200));
    assert.equal(receiver.spans.length, 6, 'three spans per traced request, none for the request without a context');
    assert.ok(
      receiver.contentTypes.every((type) => type === 'application/x-protobuf'),
      receiver.contentTypes.join(),
    );

    for (const [id, protocol] of [
      [traceId, 'HTTP'],
      [grpcTraceId, 'GRPC'],
    ] as const) {
      const spans = receiver.spans.filter((s) => s.traceId === id);
      const root = spans.find((s) => s.name === 'InferRequest');
      const model = spans.find((s) => s.name === 'mlp');
      const compute = spans.find((s) => s.name === 'compute');
      assert.ok(root && model && compute, `${protocol}: spans ${spans.map((s) => s.name).join()}`);
      assert.equal(root.parentSpanId, clientSpan, 'the root span is a child of the client span');
      assert.equal(model.parentSpanId, root.spanId);
      assert.equal(compute.parentSpanId, model.spanId);
      for (const span of spans) {
        assert.equal(span.kind, 2, 'SERVER');
        assert.equal(span.resource['service.name'], 'trace-test');
        assert.ok(span.startNs <= span.endNs);
      }
      assert.equal(model.attributes['triton.model_name'], 'mlp');
      assert.equal(model.attributes['triton.model_version'], 1);
      assert.equal(model.attributes['triton.request_id'], protocol === 'HTTP' ? 'rest-ctx' : 'grpc-ctx');
      assert.equal(typeof model.attributes['triton.trace_id'], 'number');
      assert.deepEqual(
        model.events.map((e) => e.name),
        ['REQUEST_START', 'QUEUE_START', 'REQUEST_END'],
      );
      assert.deepEqual(
        compute.events.map((e) => e.name),
        ['COMPUTE_START', 'COMPUTE_INPUT_END', 'COMPUTE_OUTPUT_START', 'COMPUTE_END'],
      );
      const rootEvents = root.events.map((e) => e.name);
      assert.deepEqual(
        rootEvents,
        protocol === 'HTTP'
          ? ['HTTP_RECV_START', 'HTTP_RECV_END', 'INFER_RESPONSE_COMPLETE', 'HTTP_SEND_START', 'HTTP_SEND_END']
          : ['GRPC_WAITREAD_END', 'INFER_RESPONSE_COMPLETE', 'GRPC_SEND_START', 'GRPC_SEND_END'],
      );
      // Nesting in time: root ⊇ model ⊇ compute, on the wall clock (within the last minute).
      assert.ok(root.startNs <= model.startNs && model.endNs <= root.endNs);
      assert.ok(model.startNs <= compute.startNs && compute.endNs <= model.endNs);
      const nowNs = BigInt(Date.now()) * 1_000_000n;
      assert.ok(nowNs - root.startNs < 60_000_000_000n && root.startNs <= nowNs + 1_000_000_000n, 'wall-clock timestamps');
    }
  });

  test('settings answer the OpenTelemetry options and no file settings', async () => {
    const setting = await restSetting(server.url, '/v2/trace/setting');
    assert.deepEqual(setting.json, {
      trace_level: ['TIMESTAMPS'],
      trace_rate: '0',
      trace_count: '-1',
      trace_mode: 'opentelemetry',
      url: receiver.url,
      bsp_max_queue_size: '2048',
      bsp_schedule_delay: '50',
      bsp_max_export_batch_size: '512',
      resource: 'service.name=trace-test',
    });
  });
});
