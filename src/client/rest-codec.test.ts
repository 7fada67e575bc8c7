import { test } from 'node:test';
import assert from 'node:assert/strict';
import { InferenceServerError } from './inference-server-error.js';
import { decodeRestInferResponse, encodeRestInferRequest, jsonWithBigInts } from './rest-codec.js';

const text = (bytes: Uint8Array): string => Buffer.from(bytes).toString('utf8');
const body = (chunks: readonly Uint8Array[]): Buffer => Buffer.concat(chunks);

test('binary request: JSON header with binary_data_size, then the tensors in input order (the example of the binary tensor data extension docs of Triton)', () => {
  const a = Uint32Array.of(1, 2, 3, 4);
  const request = encodeRestInferRequest(
    [
      { name: 'a', datatype: 'UINT32', shape: [2, 2], data: a },
      { name: 'b', datatype: 'BOOL', shape: [3], data: [true, false, true] },
    ],
    { outputs: ['y'] },
  );
  const json = JSON.parse(text(request.chunks[0]!)) as unknown;
  assert.deepEqual(json, {
    inputs: [
      { name: 'a', shape: [2, 2], datatype: 'UINT32', parameters: { binary_data_size: 16 } },
      { name: 'b', shape: [3], datatype: 'BOOL', parameters: { binary_data_size: 3 } },
    ],
    outputs: [{ name: 'y', parameters: { binary_data: true } }],
  });
  assert.equal(request.jsonLength, request.chunks[0]!.byteLength);
  assert.equal(request.byteLength, request.jsonLength + 19);
  const tail = body(request.chunks).subarray(request.jsonLength);
  assert.deepEqual([...tail], [1, 0, 0, 0, 2, 0, 0, 0, 3, 0, 0, 0, 4, 0, 0, 0, 1, 0, 1]);
  assert.equal(request.chunks[1]!.buffer, a.buffer, 'numeric inputs are sent as views, not copies');
});

test('binary request without outputs asks for every output in binary; BYTES are length-prefixed', () => {
  const request = encodeRestInferRequest([{ name: 's', datatype: 'BYTES', shape: [2], data: ['ab', ''] }], { id: 'r1', parameters: { priority: 2, big: 2n ** 60n } });
  const jsonText = text(request.chunks[0]!);
  assert.match(jsonText, /"big":1152921504606846976/, 'bigints are written as exact integers');
  const json = JSON.parse(jsonText) as Record<string, unknown>;
  assert.equal(json['id'], 'r1');
  assert.deepEqual(json['parameters'], { priority: 2, big: 2 ** 60, binary_data_output: true });
  assert.equal(json['outputs'], undefined);
  assert.deepEqual([...body(request.chunks).subarray(request.jsonLength)], [2, 0, 0, 0, 97, 98, 0, 0, 0, 0]);
});

test('JSON request: data inline (int64 exact), no binary header, outputs as JSON with classification', () => {
  const request = encodeRestInferRequest([{ name: 'x', datatype: 'INT64', shape: [2], data: BigInt64Array.of(-(2n ** 62n), 5n) }], {
    binary: false,
    outputs: [{ name: 'p', classification: 3 }, 'q'],
  });
  assert.equal(request.jsonLength, undefined);
  assert.equal(request.chunks.length, 1);
  assert.equal(
    text(request.chunks[0]!),
    '{"inputs":[{"name":"x","shape":[2],"datatype":"INT64","data":[-4611686018427387904,5]}],"outputs":[{"name":"p","parameters":{"binary_data":false,"classification":3}},{"name":"q","parameters":{"binary_data":false}}]}',
  );
  assert.throws(
    () => encodeRestInferRequest([{ name: 'h', datatype: 'FP16', shape: [1], data: Uint16Array.of(0x3c00) }], { binary: false }),
    (e: unknown) => e instanceof InferenceServerError && /input 'h': FP16 data cannot be sent as JSON/.test(e.message),
  );
  assert.throws(() => encodeRestInferRequest([], { outputs: [{ name: 'p', classification: 0 }] }), /classification must be an integer >= 1/);
});

function responseBody(json: object, tail: Uint8Array[]): { bytes: Uint8Array; jsonLength: number } {
  const head = Buffer.from(JSON.stringify(json));
  return { bytes: Buffer.concat([head, ...tail]), jsonLength: head.length };
}

test('response: binary outputs decoded from the tail (aligned or not), JSON outputs from data', () => {
  const probabilities = Float32Array.of(0.25, 0.75);
  const { bytes, jsonLength } = responseBody(
    {
      model_name: 'm',
      model_version: '3',
      id: 'r',
      outputs: [
        { name: 'p', datatype: 'FP32', shape: [1, 2], parameters: { binary_data_size: 8 } },
        { name: 'label', datatype: 'INT64', shape: [1, 1], data: [[1]] },
        { name: 's', datatype: 'BYTES', shape: [1], parameters: { binary_data_size: 7 } },
        { name: 'nan', datatype: 'FP64', shape: [2], data: [null, 1.5] },
        { name: 'b', datatype: 'BOOL', shape: [2], data: [true, false] },
      ],
    },
    [new Uint8Array(probabilities.buffer), Uint8Array.of(3, 0, 0, 0, 0x31, 0x3a, 0x37)],
  );
  const result = decodeRestInferResponse(bytes, jsonLength);
  assert.equal(result.model, 'm');
  assert.equal(result.version, '3');
  assert.equal(result.id, 'r');
  assert.deepEqual(Array.from(result.output('p').data as Float32Array), [0.25, 0.75]);
  assert.deepEqual(result.output('label').data, BigInt64Array.of(1n));
  assert.deepEqual(result.strings('s'), ['1:7']);
  const nan = result.output('nan').data as Float64Array;
  assert.ok(Number.isNaN(nan[0]));
  assert.equal(nan[1], 1.5);
  assert.deepEqual(result.output('b').data, Uint8Array.of(1, 0));
  assert.throws(() => result.output('nope'), /no output 'nope' \(it has 'p', 'label', 's', 'nan', 'b'\)/);
});

test('response: without the header the whole body is JSON', () => {
  const json = { model_name: 'm', model_version: '1', outputs: [{ name: 'y', datatype: 'INT32', shape: [2], data: [7, -7] }] };
  const result = decodeRestInferResponse(Buffer.from(JSON.stringify(json)), undefined);
  assert.deepEqual(result.output('y').data, Int32Array.of(7, -7));
});

test('response: inconsistent sizes are reported as a malformed response', () => {
  const malformed = (pattern: RegExp) => (e: unknown) => e instanceof InferenceServerError && e.code === 'INTERNAL' && pattern.test(e.message);
  const output = { name: 'p', datatype: 'FP32', shape: [2], parameters: { binary_data_size: 8 } };
  const short = responseBody({ outputs: [output] }, [new Uint8Array(4)]);
  assert.throws(() => decodeRestInferResponse(short.bytes, short.jsonLength), malformed(/binary_data_size 8 does not fit the 4 bytes left/));
  const long = responseBody({ outputs: [output] }, [new Uint8Array(12)]);
  assert.throws(() => decodeRestInferResponse(long.bytes, long.jsonLength), malformed(/4 bytes of binary data belong to no output/));
  const wrongShape = responseBody({ outputs: [{ ...output, shape: [3] }] }, [new Uint8Array(8)]);
  assert.throws(() => decodeRestInferResponse(wrongShape.bytes, wrongShape.jsonLength), malformed(/output 'p': shape \[3\] of FP32 needs 12 bytes, got 8/));
  assert.throws(() => decodeRestInferResponse(Buffer.from('nope'), undefined), malformed(/not JSON/));
  assert.throws(() => decodeRestInferResponse(Buffer.from('{}'), 5), malformed(/Inference-Header-Content-Length is 5 but the body has 2 bytes/));
});

test('jsonWithBigInts writes bigints exactly and leaves strings that look alike alone', () => {
  assert.equal(jsonWithBigInts({ a: 2n ** 64n, b: '123', c: [-1n] }), '{"a":18446744073709551616,"b":"123","c":[-1]}');
});
