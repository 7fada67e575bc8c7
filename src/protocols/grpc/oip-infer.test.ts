import assert from 'node:assert/strict';
import { after, before, beforeEach, describe, it } from 'node:test';
import { status } from '@grpc/grpc-js';
import { CranberriesError } from '../../core/errors.js';
import type { Tensor } from '../../tensors/tensor.js';
import { startTestServer, statusOf, type TestServer } from './grpc-test-harness.js';
import { addModel, echoInfer, FakeInferenceService } from '../../../test/doubles/fake-inference-service.js';

interface WireOutput {
  name: string;
  datatype: string;
  shape: string[];
  contents: unknown;
}
interface WireResponse {
  model_name: string;
  model_version: string;
  id: string;
  parameters: Record<string, Record<string, unknown>>;
  outputs: WireOutput[];
  raw_output_contents: Buffer[];
}

function le(write: (buffer: Buffer, offset: number, value: never) => unknown, size: number, values: readonly unknown[]): Buffer {
  const buffer = Buffer.alloc(size * values.length);
  values.forEach((value, i) => write(buffer, i * size, value as never));
  return buffer;
}

/** Each datatype with typed wire contents, the data the façade must see, and the raw bytes expected back. */
const TYPED_CASES: { datatype: string; contents: Record<string, unknown[]>; data: Tensor['data']; raw: Buffer }[] = [
  { datatype: 'BOOL', contents: { bool_contents: [true, false] }, data: new Uint8Array([1, 0]), raw: Buffer.from([1, 0]) },
  { datatype: 'UINT8', contents: { uint_contents: [0, 255] }, data: new Uint8Array([0, 255]), raw: Buffer.from([0, 255]) },
  {
    datatype: 'UINT16',
    contents: { uint_contents: [1, 65535] },
    data: new Uint16Array([1, 65535]),
    raw: le((b, o, v: number) => b.writeUInt16LE(v, o), 2, [1, 65535]),
  },
  {
    datatype: 'UINT32',
    contents: { uint_contents: [1, 4294967295] },
    data: new Uint32Array([1, 4294967295]),
    raw: le((b, o, v: number) => b.writeUInt32LE(v, o), 4, [1, 4294967295]),
  },
  {
    datatype: 'UINT64',
    contents: { uint64_contents: ['18446744073709551615', '7'] },
    data: new BigUint64Array([18446744073709551615n, 7n]),
    raw: le((b, o, v: bigint) => b.writeBigUInt64LE(v, o), 8, [18446744073709551615n, 7n]),
  },
  { datatype: 'INT8', contents: { int_contents: [-128, 127] }, data: new Int8Array([-128, 127]), raw: Buffer.from([0x80, 0x7f]) },
  {
    datatype: 'INT16',
    contents: { int_contents: [-32768, 32767] },
    data: new Int16Array([-32768, 32767]),
    raw: le((b, o, v: number) => b.writeInt16LE(v, o), 2, [-32768, 32767]),
  },
  {
    datatype: 'INT32',
    contents: { int_contents: [-2147483648, 5] },
    data: new Int32Array([-2147483648, 5]),
    raw: le((b, o, v: number) => b.writeInt32LE(v, o), 4, [-2147483648, 5]),
  },
  {
    datatype: 'INT64',
    contents: { int64_contents: ['-9223372036854775808', '9223372036854775807'] },
    data: new BigInt64Array([-9223372036854775808n, 9223372036854775807n]),
    raw: le((b, o, v: bigint) => b.writeBigInt64LE(v, o), 8, [-9223372036854775808n, 9223372036854775807n]),
  },
  {
    datatype: 'FP32',
    contents: { fp32_contents: [1.5, -2.25] },
    data: new Float32Array([1.5, -2.25]),
    raw: le((b, o, v: number) => b.writeFloatLE(v, o), 4, [1.5, -2.25]),
  },
  {
    datatype: 'FP64',
    contents: { fp64_contents: [Math.PI, -1e300] },
    data: new Float64Array([Math.PI, -1e300]),
    raw: le((b, o, v: number) => b.writeDoubleLE(v, o), 8, [Math.PI, -1e300]),
  },
  {
    datatype: 'BYTES',
    contents: { bytes_contents: [Buffer.from('ab'), Buffer.alloc(0)] },
    data: [Buffer.from('ab'), Buffer.alloc(0)],
    raw: Buffer.from([2, 0, 0, 0, 0x61, 0x62, 0, 0, 0, 0]),
  },
];

describe('gRPC ModelInfer', () => {
  const fake = new FakeInferenceService();
  let t: TestServer;

  before(async () => {
    addModel(fake, 'm');
    t = await startTestServer(fake, 256 * 1024);
  });
  after(() => t.close());
  beforeEach(() => {
    fake.inferCalls.length = 0;
    fake.inferHandler = echoInfer;
    fake.failure = undefined;
  });

  const infer = (request: object, options = {}): Promise<WireResponse> => t.unary<WireResponse>('ModelInfer', request, options);

  it('decodes typed contents of every datatype and answers with raw outputs only', async () => {
    const inputs = TYPED_CASES.map((c) => ({ name: `in_${c.datatype}`, datatype: c.datatype, shape: [2], contents: c.contents }));
    const response = await infer({ model_name: 'm', model_version: '3', id: 'req-1', inputs });

    const seen = fake.inferCalls[0]?.request;
    assert.ok(seen);
    assert.equal(seen.model, 'm');
    assert.equal(seen.version, 3);
    assert.equal(seen.id, 'req-1');
    assert.equal(seen.outputs, undefined);
    TYPED_CASES.forEach((c, i) => {
      const tensor = seen.inputs[i];
      assert.ok(tensor);
      assert.deepEqual([tensor.name, tensor.datatype, tensor.shape], [`in_${c.datatype}`, c.datatype, [2]]);
      if (Array.isArray(c.data))
        assert.deepEqual(
          (tensor.data as Uint8Array[]).map((e) => Buffer.from(e)),
          c.data,
          c.datatype,
        );
      else assert.deepEqual(tensor.data, c.data, c.datatype);
    });

    assert.equal(response.model_name, 'm');
    assert.equal(response.model_version, '3');
    assert.equal(response.id, 'req-1');
    assert.equal(response.outputs.length, TYPED_CASES.length);
    assert.equal(response.raw_output_contents.length, TYPED_CASES.length);
    TYPED_CASES.forEach((c, i) => {
      const output = response.outputs[i];
      assert.deepEqual(output && [output.name, output.datatype, output.shape], [`in_${c.datatype}`, c.datatype, ['2']]);
      assert.equal(output?.contents, null, `${c.datatype}: typed contents must stay empty`);
      assert.deepEqual(response.raw_output_contents[i], c.raw, `${c.datatype} raw bytes`);
    });
  });

  it('decodes raw inputs, including FP16, BF16 and BYTES, in input order', async () => {
    const fp32 = le((b, o, v: number) => b.writeFloatLE(v, o), 4, [1, 2, 3, 4, 5, 6]);
    const fp16 = le((b, o, v: number) => b.writeUInt16LE(v, o), 2, [0x3c00, 0xc000]);
    const bf16 = le((b, o, v: number) => b.writeUInt16LE(v, o), 2, [0x3f80]);
    const bytes = Buffer.from([3, 0, 0, 0, 0x78, 0x79, 0x7a]);
    const response = await infer({
      model_name: 'm',
      inputs: [
        { name: 'a', datatype: 'FP32', shape: [2, 3] },
        { name: 'h', datatype: 'FP16', shape: [2] },
        { name: 'b', datatype: 'BF16', shape: [1, 1] },
        { name: 's', datatype: 'BYTES', shape: [1] },
      ],
      raw_input_contents: [fp32, fp16, bf16, bytes],
    });
    const [a, h, b, s] = fake.inferCalls[0]?.request.inputs ?? [];
    assert.deepEqual(a?.data, new Float32Array([1, 2, 3, 4, 5, 6]));
    assert.deepEqual(a?.shape, [2, 3]);
    assert.deepEqual(h?.data, new Uint16Array([0x3c00, 0xc000]));
    assert.deepEqual(b?.data, new Uint16Array([0x3f80]));
    assert.deepEqual(
      (s?.data as Uint8Array[]).map((e) => Buffer.from(e).toString()),
      ['xyz'],
    );
    assert.equal(fake.inferCalls[0]?.request.version, undefined, 'empty model_version leaves the choice to the server');
    assert.deepEqual(response.raw_output_contents, [fp32, fp16, bf16, bytes]);
    assert.deepEqual(
      response.outputs.map((o) => o.shape),
      [['2', '3'], ['2'], ['1', '1'], ['1']],
    );
  });

  it('adds a raw entry for zero-byte outputs', async () => {
    fake.inferHandler = (request) =>
      Promise.resolve({
        model: request.model,
        version: 2,
        outputs: [
          { name: 'empty', datatype: 'FP32', shape: [0, 4], data: new Float32Array(0) },
          { name: 'one', datatype: 'INT32', shape: [1], data: new Int32Array([9]) },
        ],
      });
    const response = await infer({ model_name: 'm', id: 'z', inputs: [] });
    assert.equal(response.id, 'z', 'the request id is echoed when the façade gives none');
    assert.equal(response.model_version, '2');
    assert.deepEqual(response.raw_output_contents, [Buffer.alloc(0), Buffer.from([9, 0, 0, 0])]);
  });

  it('decodes all five parameter kinds and the classification output parameter', async () => {
    fake.inferHandler = (request) =>
      Promise.resolve({
        model: request.model,
        version: 1,
        outputs: [],
        parameters: { flag: true, count: 3, ratio: 0.5, text: 'x', huge: 2n ** 63n, negative: -(2n ** 63n) },
      });
    const response = await infer({
      model_name: 'm',
      inputs: [],
      parameters: {
        sequence_start: { bool_param: true },
        sequence_id: { int64_param: '9007199254740993' },
        timeout: { int64_param: 5000 },
        name: { string_param: 'abc' },
        temperature: { double_param: 0.25 },
        priority: { uint64_param: 2 },
      },
      outputs: [{ name: 'y', parameters: { classification: { int64_param: 3 } } }, { name: 'z' }],
    });
    const seen = fake.inferCalls[0]?.request;
    assert.deepEqual(seen?.parameters, {
      sequence_start: true,
      sequence_id: 9007199254740993n,
      timeout: 5000,
      name: 'abc',
      temperature: 0.25,
      priority: 2,
    });
    assert.deepEqual(seen?.outputs, [{ name: 'y', classification: 3 }, { name: 'z' }]);
    assert.deepEqual(response.parameters, {
      flag: { bool_param: true, parameter_choice: 'bool_param' },
      count: { int64_param: '3', parameter_choice: 'int64_param' },
      ratio: { double_param: 0.5, parameter_choice: 'double_param' },
      text: { string_param: 'x', parameter_choice: 'string_param' },
      huge: { uint64_param: '9223372036854775808', parameter_choice: 'uint64_param' },
      negative: { int64_param: '-9223372036854775808', parameter_choice: 'int64_param' },
    });
  });

  it('passes a cancellation signal that fires when the deadline passes', async () => {
    let aborted: unknown;
    fake.inferHandler = (_request, context) =>
      new Promise((_resolve, reject) => {
        const signal = context?.signal;
        assert.ok(signal);
        signal.addEventListener('abort', () => {
          aborted = signal.reason;
          reject(signal.reason as Error);
        });
      });
    const failure = await statusOf(infer({ model_name: 'm', inputs: [] }, { deadline: Date.now() + 150 }));
    assert.equal(failure.code, status.DEADLINE_EXCEEDED);
    for (let i = 0; i < 50 && aborted === undefined; i++) await new Promise((resolve) => setTimeout(resolve, 10));
    assert.ok(aborted instanceof CranberriesError);
    assert.equal(aborted.code, 'DEADLINE_EXCEEDED');
  });

  const invalid: [string, object, RegExp][] = [
    [
      'raw mixed with typed contents',
      {
        inputs: [
          { name: 'a', datatype: 'INT32', shape: [1] },
          { name: 'b', datatype: 'INT32', shape: [1], contents: { int_contents: [1] } },
        ],
        raw_input_contents: [Buffer.alloc(4), Buffer.alloc(4)],
      },
      /input 'b' has int_contents while the request uses raw_input_contents/,
    ],
    [
      'fewer raw entries than inputs',
      {
        inputs: [
          { name: 'a', datatype: 'INT32', shape: [1] },
          { name: 'b', datatype: 'INT32', shape: [1] },
        ],
        raw_input_contents: [Buffer.alloc(4)],
      },
      /raw_input_contents has 1 entries for 2 inputs/,
    ],
    ['typed FP16', { inputs: [{ name: 'h', datatype: 'FP16', shape: [1], contents: { int_contents: [1] } }] }, /FP16 data can only be sent in raw_input_contents/],
    ['typed BF16 without data', { inputs: [{ name: 'h', datatype: 'BF16', shape: [1] }] }, /BF16 data can only be sent in raw_input_contents/],
    ['element count below shape', { inputs: [{ name: 'x', datatype: 'FP32', shape: [2, 2], contents: { fp32_contents: [1, 2, 3] } }] }, /needs 4 elements, fp32_contents holds 3/],
    ['data in the wrong list', { inputs: [{ name: 'x', datatype: 'FP32', shape: [1], contents: { fp64_contents: [1] } }] }, /FP32 data belongs in fp32_contents, got fp64_contents/],
    ['INT8 out of range', { inputs: [{ name: 'x', datatype: 'INT8', shape: [1], contents: { int_contents: [200] } }] }, /element 0 = 200 is out of range for INT8/],
    ['UINT16 out of range', { inputs: [{ name: 'x', datatype: 'UINT16', shape: [1], contents: { uint_contents: [70000] } }] }, /out of range for UINT16/],
    ['raw byte count below shape', { inputs: [{ name: 'x', datatype: 'FP32', shape: [3] }], raw_input_contents: [Buffer.alloc(8)] }, /needs 12 bytes, got 8/],
    ['unknown datatype', { inputs: [{ name: 'x', datatype: 'FLOAT', shape: [1] }] }, /input 'x': unknown datatype 'FLOAT'/],
    ['negative dimension', { inputs: [{ name: 'x', datatype: 'FP32', shape: [-1], contents: { fp32_contents: [] } }] }, /shape dimension 0 is -1/],
    ['non-numeric version', { model_version: 'latest', inputs: [] }, /version 'latest' of model 'm' is not a version number/],
    ['shared memory input', { inputs: [{ name: 'x', datatype: 'FP32', shape: [1], parameters: { shared_memory_region: { string_param: 'r' } } }] }, /shared memory/],
    ['string classification', { inputs: [], outputs: [{ name: 'y', parameters: { classification: { string_param: '2' } } }] }, /'classification' must be an int64_param/],
    ['zero classification', { inputs: [], outputs: [{ name: 'y', parameters: { classification: { int64_param: 0 } } }] }, /must be at least 1/],
    ['empty model name', { model_name: '', inputs: [] }, /model_name is empty/],
  ];
  for (const [label, request, message] of invalid) {
    it(`answers INVALID_ARGUMENT for ${label}`, async () => {
      const failure = await statusOf(infer({ model_name: 'm', ...request }));
      assert.equal(failure.code, status.INVALID_ARGUMENT, failure.details);
      assert.match(failure.details, message);
      assert.equal(fake.inferCalls.length, 0, 'a bad request never reaches the façade');
    });
  }

  it('maps façade errors to their gRPC statuses', async () => {
    const unknown = await statusOf(infer({ model_name: 'nope', inputs: [] }));
    assert.deepEqual(unknown, { code: status.NOT_FOUND, details: "Request for unknown model: 'nope' is not found" });
    fake.failure = new CranberriesError('UNAVAILABLE', "model 'm' version 1 is not at ready state");
    assert.equal((await statusOf(infer({ model_name: 'm', inputs: [] }))).code, status.UNAVAILABLE);
    fake.failure = new CranberriesError('RESOURCE_EXHAUSTED', 'queue full');
    assert.equal((await statusOf(infer({ model_name: 'm', inputs: [] }))).code, status.RESOURCE_EXHAUSTED);
    fake.failure = new TypeError('boom');
    assert.deepEqual(await statusOf(infer({ model_name: 'm', inputs: [] })), { code: status.INTERNAL, details: 'boom' });
  });

  it('refuses a request above maxMessageBytes with RESOURCE_EXHAUSTED', async () => {
    const big = Buffer.alloc(300 * 1024);
    const failure = await statusOf(infer({ model_name: 'm', inputs: [{ name: 'x', datatype: 'UINT8', shape: [big.length] }], raw_input_contents: [big] }));
    assert.equal(failure.code, status.RESOURCE_EXHAUSTED);
    assert.equal(fake.inferCalls.length, 0);
  });

  it('refuses a response above maxMessageBytes with RESOURCE_EXHAUSTED', async () => {
    fake.inferHandler = (request) => Promise.resolve({ model: request.model, version: 1, outputs: [{ name: 'y', datatype: 'UINT8', shape: [300 * 1024], data: new Uint8Array(300 * 1024) }] });
    const failure = await statusOf(infer({ model_name: 'm', inputs: [] }));
    assert.equal(failure.code, status.RESOURCE_EXHAUSTED);
  });
});
