/**
 * Property-based fuzzing of every request decoder against a real server (real sockets, real ONNX
 * Runtime): OIP REST JSON, OIP REST binary extension, OIP gRPC typed and raw contents, TF Serving
 * REST (row, columnar, b64) and TF Serving gRPC TensorProto (tensor_content, *_val), each with
 * generated requests and with byte-level mutations of valid ones.
 *
 * Every answer must be a success or the client's error: no HTTP 5xx, no gRPC INTERNAL or UNKNOWN.
 * After each property the process's RSS must stay under a bound and a valid request must still get
 * the right answer. Counts are small and fixed so the file runs in well under a minute; the seed is
 * fixed (override with FUZZ_SEED) and logged, so a failure reproduces.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import * as grpc from '@grpc/grpc-js';
import fc from 'fast-check';
import { createTempModelRepository, identityModel, type TempModelRepository } from '../fixtures/onnx-models.js';
import { infer } from '../helpers/oip-client.js';
import { startTestServer, type TestServer } from '../helpers/test-server.js';
import { DecoderTestClient, OIP_SERVICE, TFS_PREDICTION_SERVICE } from '../helpers/grpc-raw-client.js';
import { oipPackageDefinition, serviceDefinition, tfServingPackageDefinition } from '../../src/protocols/grpc/proto-loader.js';

const SEED = Number(process.env['FUZZ_SEED'] ?? 20261205);
const RUNS = Number(process.env['FUZZ_RUNS'] ?? 40);
/** The server shares this process; decoding must never balloon it. */
const MAX_RSS_BYTES = 1.5 * 1024 ** 3;
const BAD_GRPC = new Set([grpc.status.INTERNAL, grpc.status.UNKNOWN]);

const identityConfig = (type: string, dims: string): string =>
  `max_batch_size: 0\ninput [ { name: "INPUT0" data_type: ${type} dims: ${dims} } ]\noutput [ { name: "OUTPUT0" data_type: ${type} dims: ${dims} } ]\n`;

let repo: TempModelRepository;
let server: TestServer;
let client: DecoderTestClient;

before(async () => {
  console.log(`fuzz-decoders: seed ${SEED}, ${RUNS} runs per property (FUZZ_SEED / FUZZ_RUNS to change)`);
  repo = await createTempModelRepository({
    f32: { versions: { 1: identityModel({ datatype: 'FP32', dims: [-1, -1] }) }, config: identityConfig('TYPE_FP32', '[ -1, -1 ]') },
    i32: { versions: { 1: identityModel({ datatype: 'INT32', dims: [-1] }) }, config: identityConfig('TYPE_INT32', '[ -1 ]') },
    str: { versions: { 1: identityModel({ datatype: 'BYTES', dims: [-1] }) }, config: identityConfig('TYPE_STRING', '[ -1 ]') },
  });
  server = await startTestServer({ modelRepository: repo.root, httpMaxBodyBytes: 4 * 1024 * 1024, grpcMaxMessageBytes: 4 * 1024 * 1024 });
  client = new DecoderTestClient(`127.0.0.1:${server.ports.grpc}`);
});

after(async () => {
  client?.close();
  await server?.stop();
  await repo?.remove();
});

/** The server is alive, small, and answers a valid request of every protocol correctly. */
async function assertServerHealthy(): Promise<void> {
  const rss = process.memoryUsage().rss;
  assert.ok(rss < MAX_RSS_BYTES, `RSS ${rss} bytes`);
  const rest = await infer(server.url, 'f32', [{ name: 'INPUT0', datatype: 'FP32', shape: [1, 3], data: [1.5, -2, 3] }]);
  assert.equal(rest.status, 200);
  assert.deepEqual((rest.json['outputs'] as { data: number[] }[])[0]!.data, [1.5, -2, 3]);
  const oip = await client.call<{ raw_output_contents: Buffer[] }>(OIP_SERVICE, 'ModelInfer', {
    model_name: 'i32',
    inputs: [{ name: 'INPUT0', datatype: 'INT32', shape: [3], contents: { int_contents: [7, -8, 9] } }],
  });
  assert.equal(oip.code, grpc.status.OK, oip.details);
  assert.deepEqual([...new Int32Array(new Uint8Array(oip.value!.raw_output_contents[0]!).buffer)], [7, -8, 9]);
  const tfs = await fetch(`${server.url}/v1/models/str:predict`, { method: 'POST', body: '{"instances":["a",{"b64":"Yg=="}]}' });
  assert.equal(tfs.status, 200);
  assert.deepEqual(await tfs.json(), { predictions: ['a', 'b'] });
  const tfGrpc = await client.call<{ outputs: Record<string, { float_val: number[] }> }>(TFS_PREDICTION_SERVICE, 'Predict', {
    model_spec: { name: 'f32' },
    inputs: { INPUT0: { dtype: 'DT_FLOAT', tensor_shape: { dim: [{ size: '1' }, { size: '2' }] }, float_val: [4] } },
  });
  assert.equal(tfGrpc.code, grpc.status.OK, tfGrpc.details);
  assert.deepEqual(tfGrpc.value!.outputs['OUTPUT0']!.float_val, [4, 4]);
}

async function postStatus(path: string, body: Uint8Array | string, headers: Record<string, string> = {}): Promise<number> {
  const response = await fetch(server.url + path, { method: 'POST', body, headers });
  const text = await response.text();
  if (response.status >= 500) throw new Error(`HTTP ${response.status} for ${path}: ${text.slice(0, 300)}`);
  assert.ok(text.length < 64 * 1024 || response.status === 200, `error body of ${text.length} bytes`);
  return response.status;
}

function assertGrpcOk(outcome: { code: grpc.status; details: string }, what: string): void {
  if (BAD_GRPC.has(outcome.code)) throw new Error(`${what}: gRPC ${grpc.status[outcome.code]}: ${outcome.details.slice(0, 300)}`);
  assert.ok(outcome.details.length <= 1100, `${what}: status message of ${outcome.details.length} chars`);
}

async function runProperty<T>(arbitrary: fc.Arbitrary<T>, check: (value: T) => Promise<void>, runs = RUNS): Promise<void> {
  await fc.assert(fc.asyncProperty(arbitrary, check), { seed: SEED, numRuns: runs, interruptAfterTimeLimit: 20_000 });
  await assertServerHealthy();
}

// ---- generators -------------------------------------------------------------------------------

const DATATYPES = ['BOOL', 'UINT8', 'UINT16', 'UINT32', 'UINT64', 'INT8', 'INT16', 'INT32', 'INT64', 'FP16', 'FP32', 'FP64', 'BYTES', 'BF16'];
/** Mostly small dims, sometimes the sizes that broke decoders (huge, overflowing, negative, not integers). */
const dim = fc.oneof({ weight: 6, arbitrary: fc.nat({ max: 6 }) }, { weight: 1, arbitrary: fc.constantFrom(1_000_000, 100_000_000, 2 ** 31, 2 ** 53, 1e300, -1, 0.5) });
const shape = fc.oneof({ weight: 8, arbitrary: fc.array(dim, { maxLength: 4 }) }, { weight: 1, arbitrary: fc.array(fc.constant(1), { minLength: 60, maxLength: 300 }) });
const scalar = fc.oneof(fc.double(), fc.integer(), fc.boolean(), fc.string({ maxLength: 8 }), fc.constant(null), fc.record({ b64: fc.string({ maxLength: 8 }) }));
/**
 * A list nested `depth` levels deep. Kept as a marker until `bodyText` writes it: JSON.stringify
 * (and fast-check's reporting) would overflow the stack on the value itself.
 */
class DeepList {
  constructor(readonly depth: number) {}
  toString(): string {
    return `DeepList(${this.depth})`;
  }
}

/** JSON text of a generated body, with every DeepList written as its nested text. */
function bodyText(value: unknown): string {
  const deep: DeepList[] = [];
  const text = JSON.stringify(value, (_key, item: unknown) => (item instanceof DeepList ? `@@deep${deep.push(item) - 1}@@` : item));
  return text.replace(/"@@deep(\d+)@@"/g, (_match, index: string) => {
    const { depth } = deep[Number(index)]!;
    return '['.repeat(depth) + '1' + ']'.repeat(depth);
  });
}

/** Nested JSON lists: rectangular or not, sometimes very deep. */
const nested: fc.Arbitrary<unknown> = fc.oneof(
  { weight: 4, arbitrary: fc.array(scalar, { maxLength: 12 }) },
  { weight: 3, arbitrary: fc.array(fc.array(scalar, { maxLength: 5 }), { maxLength: 5 }) },
  { weight: 2, arbitrary: fc.jsonValue({ maxDepth: 4 }) },
  { weight: 1, arbitrary: fc.integer({ min: 1, max: 30_000 }).map((depth) => new DeepList(depth)) },
);

function mutate(bytes: Uint8Array, edits: readonly (readonly [number, number])[]): Uint8Array {
  const out = Uint8Array.from(bytes);
  for (const [at, value] of edits) if (out.length > 0) out[at % out.length] = value;
  return out;
}
const edits = fc.array(fc.tuple(fc.nat(), fc.nat({ max: 255 })), { minLength: 1, maxLength: 6 });
const truncation = fc.nat();

// ---- properties ---------------------------------------------------------------------------------

describe(`decoder fuzzing against a real server (seed ${SEED})`, { timeout: 120_000 }, () => {
  test('OIP REST JSON', async () => {
    const tensor = fc.record({
      name: fc.oneof(fc.constant('INPUT0'), fc.string({ maxLength: 6 })),
      datatype: fc.oneof({ weight: 4, arbitrary: fc.constantFrom(...DATATYPES) }, { weight: 1, arbitrary: fc.jsonValue({ maxDepth: 2 }) }, { weight: 1, arbitrary: nested }),
      shape: fc.oneof({ weight: 6, arbitrary: shape }, { weight: 1, arbitrary: fc.jsonValue({ maxDepth: 2 }) }, { weight: 1, arbitrary: nested }),
      data: nested,
    });
    await runProperty(fc.tuple(fc.constantFrom('f32', 'i32', 'str'), fc.array(tensor, { maxLength: 2 })), async ([model, inputs]) => {
      await postStatus(`/v2/models/${model}/infer`, bodyText({ inputs }));
    });
    const valid = Buffer.from(
      JSON.stringify({
        inputs: [
          {
            name: 'INPUT0',
            datatype: 'FP32',
            shape: [2, 2],
            data: [
              [1, 2],
              [3, 4],
            ],
          },
        ],
        outputs: [{ name: 'OUTPUT0' }],
      }),
    );
    await runProperty(fc.tuple(edits, truncation), async ([changes, cut]) => {
      const body = mutate(valid, changes);
      await postStatus('/v2/models/f32/infer', body.subarray(0, Math.max(1, body.length - (cut % 8))));
    });
  });

  test('OIP REST binary extension', async () => {
    const request = fc.record({
      datatype: fc.constantFrom(...DATATYPES),
      shape,
      size: fc.oneof(fc.nat({ max: 64 }), fc.constantFrom(2 ** 31, 2 ** 53, -1)),
      tail: fc.uint8Array({ maxLength: 64 }),
      headerDelta: fc.integer({ min: -4, max: 4 }),
    });
    await runProperty(request, async ({ datatype, shape: dims, size, tail, headerDelta }) => {
      const json = Buffer.from(JSON.stringify({ inputs: [{ name: 'INPUT0', datatype, shape: dims, parameters: { binary_data_size: size } }], parameters: { binary_data_output: true } }));
      const header = String(Math.max(0, json.length + headerDelta));
      await postStatus('/v2/models/f32/infer', Buffer.concat([json, tail]), { 'Inference-Header-Content-Length': header });
    });
    // Raw binary requests (Inference-Header-Content-Length: 0): the whole body is the input.
    await runProperty(fc.tuple(fc.constantFrom('i32', 'str'), fc.uint8Array({ maxLength: 64 })), async ([model, body]) => {
      await postStatus(`/v2/models/${model}/infer`, body, { 'Inference-Header-Content-Length': '0' });
    });
  });

  test('OIP gRPC typed and raw contents', async () => {
    const contents = fc.record(
      {
        bool_contents: fc.array(fc.boolean(), { maxLength: 8 }),
        int_contents: fc.array(fc.integer(), { maxLength: 8 }),
        int64_contents: fc.array(fc.bigInt({ min: -(2n ** 63n), max: 2n ** 63n - 1n }).map(String), { maxLength: 8 }),
        fp32_contents: fc.array(fc.float(), { maxLength: 8 }),
        bytes_contents: fc.array(
          fc.uint8Array({ maxLength: 8 }).map((b) => Buffer.from(b)),
          { maxLength: 8 },
        ),
      },
      { requiredKeys: [] },
    );
    const wireShape = fc.array(fc.oneof(fc.nat({ max: 6 }).map(String), fc.constantFrom('1000000000', '9223372036854775807', '-1', '4294967296')), { maxLength: 4 });
    const request = fc.record({
      model: fc.constantFrom('f32', 'i32', 'str'),
      datatype: fc.oneof(fc.constantFrom(...DATATYPES), fc.string({ maxLength: 6 })),
      shape: wireShape,
      contents,
      raw: fc.option(
        fc.array(
          fc.uint8Array({ maxLength: 40 }).map((b) => Buffer.from(b)),
          { maxLength: 2 },
        ),
      ),
    });
    await runProperty(request, async ({ model, datatype, shape: dims, contents: typed, raw }) => {
      const outcome = await client.call(OIP_SERVICE, 'ModelInfer', {
        model_name: model,
        inputs: [{ name: 'INPUT0', datatype, shape: dims, contents: raw ? undefined : typed }],
        raw_input_contents: raw ?? [],
      });
      assertGrpcOk(outcome, 'ModelInfer');
    });
    const method = serviceDefinition(oipPackageDefinition(), OIP_SERVICE)['ModelInfer']!;
    const valid = method.requestSerialize({
      model_name: 'f32',
      inputs: [{ name: 'INPUT0', datatype: 'FP32', shape: ['2', '2'] }],
      raw_input_contents: [Buffer.from(new Float32Array([1, 2, 3, 4]).buffer)],
    });
    await runProperty(fc.tuple(edits, truncation), async ([changes, cut]) => {
      const bytes = mutate(valid, changes);
      assertGrpcOk(await client.callRaw(OIP_SERVICE, 'ModelInfer', bytes.subarray(0, bytes.length - (cut % 6))), 'ModelInfer (mutated bytes)');
    });
  });

  test('TF Serving REST: row and columnar formats, b64', async () => {
    const deepList = fc.integer({ min: 1000, max: 30_000 }).map((depth) => new DeepList(depth));
    const body = fc.oneof(
      fc.record({ instances: nested }),
      fc.oneof(fc.record({ instances: deepList }), fc.record({ inputs: deepList })),
      fc.record({ inputs: nested }),
      fc.record({ inputs: fc.dictionary(fc.constantFrom('INPUT0', 'x'), nested, { maxKeys: 2 }) }),
      fc.record({ instances: fc.array(fc.dictionary(fc.constantFrom('INPUT0', 'x'), nested, { maxKeys: 2 }), { maxLength: 3 }), signature_name: fc.string({ maxLength: 4 }) }),
      fc.jsonValue({ maxDepth: 3 }),
    );
    await runProperty(fc.tuple(fc.constantFrom('f32', 'i32', 'str'), body), async ([model, value]) => {
      await postStatus(`/v1/models/${model}:predict`, bodyText(value));
    });
    const valid = Buffer.from('{"instances":[[1.5,2],[NaN,-Infinity]]}');
    await runProperty(fc.tuple(edits, truncation), async ([changes, cut]) => {
      const bytes = mutate(valid, changes);
      await postStatus('/v1/models/f32:predict', bytes.subarray(0, Math.max(1, bytes.length - (cut % 6))));
    });
  });

  test('TF Serving gRPC TensorProto: tensor_content and *_val', async () => {
    const tensor = fc.record(
      {
        dtype: fc.constantFrom('DT_FLOAT', 'DT_DOUBLE', 'DT_INT32', 'DT_INT64', 'DT_STRING', 'DT_BOOL', 'DT_HALF', 'DT_UINT8', 'DT_INVALID'),
        tensor_shape: fc.record({
          dim: fc.array(fc.record({ size: fc.oneof(fc.nat({ max: 6 }).map(String), fc.constantFrom('100000000', '1000000', '9223372036854775807', '-1')) }), { maxLength: 4 }),
          unknown_rank: fc.boolean(),
        }),
        tensor_content: fc.uint8Array({ maxLength: 48 }).map((b) => Buffer.from(b)),
        float_val: fc.array(fc.float(), { maxLength: 4 }),
        double_val: fc.array(fc.double(), { maxLength: 4 }),
        int_val: fc.array(fc.integer(), { maxLength: 4 }),
        int64_val: fc.array(fc.bigInt({ min: -(2n ** 63n), max: 2n ** 63n - 1n }).map(String), { maxLength: 4 }),
        string_val: fc.array(
          fc.uint8Array({ maxLength: 6 }).map((b) => Buffer.from(b)),
          { maxLength: 4 },
        ),
        bool_val: fc.array(fc.boolean(), { maxLength: 4 }),
      },
      { requiredKeys: ['dtype'] },
    );
    await runProperty(fc.tuple(fc.constantFrom('f32', 'i32', 'str'), fc.dictionary(fc.constantFrom('INPUT0', 'other'), tensor, { minKeys: 1, maxKeys: 2 })), async ([model, inputs]) => {
      assertGrpcOk(await client.call(TFS_PREDICTION_SERVICE, 'Predict', { model_spec: { name: model }, inputs }), 'Predict');
    });
    const method = serviceDefinition(tfServingPackageDefinition(), TFS_PREDICTION_SERVICE)['Predict']!;
    const valid = method.requestSerialize({
      model_spec: { name: 'f32' },
      inputs: { INPUT0: { dtype: 'DT_FLOAT', tensor_shape: { dim: [{ size: '2' }, { size: '2' }] }, float_val: [1, 2, 3, 4] } },
    });
    await runProperty(fc.tuple(edits, truncation), async ([changes, cut]) => {
      const bytes = mutate(valid, changes);
      assertGrpcOk(await client.callRaw(TFS_PREDICTION_SERVICE, 'Predict', bytes.subarray(0, bytes.length - (cut % 6))), 'Predict (mutated bytes)');
    });
  });
});
