import { test } from 'node:test';
import assert from 'node:assert/strict';
import { CranberriesError } from '../../core/errors.js';
import { decodeInferRequest, parseJsonLengthHeader } from './infer-request.js';
import { decodeRawInferRequest } from './raw-request.js';

/** A JSON + binary body as tritonclient builds it, and its JSON length. */
function body(json: unknown, ...tails: Uint8Array[]): { body: Buffer; jsonLength: number } {
  const head = Buffer.from(JSON.stringify(json));
  return { body: Buffer.concat([head, ...tails]), jsonLength: head.byteLength };
}

function rejects(fn: () => unknown, message: RegExp, code = 'INVALID_ARGUMENT'): void {
  assert.throws(fn, (error: unknown) => {
    assert.ok(error instanceof CranberriesError, `expected a CranberriesError, got ${String(error)}`);
    assert.equal(error.code, code);
    assert.match(error.message, message);
    return true;
  });
}

const jsonOnly = (json: unknown) => decodeInferRequest('m', undefined, Buffer.from(JSON.stringify(json)), undefined);

test('a JSON request becomes an InferenceRequest', () => {
  const { request, binaryOutputDefault, binaryOutputs } = decodeInferRequest(
    'm',
    3,
    Buffer.from(
      JSON.stringify({
        id: 'req-1',
        parameters: { priority: 2, sequence_id: 'abc', custom: true },
        inputs: [{ name: 'x', shape: [1, 2], datatype: 'FP32', data: [[1, 2]] }],
        outputs: [{ name: 'y', parameters: { classification: 3 } }, { name: 'z' }],
      }),
    ),
    undefined,
  );
  assert.equal(request.model, 'm');
  assert.equal(request.version, 3);
  assert.equal(request.id, 'req-1');
  assert.deepEqual(request.parameters, { priority: 2, sequence_id: 'abc', custom: true });
  assert.equal(request.inputs.length, 1);
  assert.deepEqual(request.inputs[0]?.shape, [1, 2]);
  assert.deepEqual(request.inputs[0]?.data, new Float32Array([1, 2]));
  assert.deepEqual(request.outputs, [{ name: 'y', classification: 3 }, { name: 'z' }]);
  assert.equal(binaryOutputDefault, false);
  assert.equal(binaryOutputs, undefined);
});

test("the binary example of Triton's binary tensor data extension decodes (UINT32 [2,2] + BOOL [3])", () => {
  const a = new Uint32Array([1, 2, 3, 0xffffffff]);
  const { body: b, jsonLength } = body(
    {
      inputs: [
        { name: 'a', shape: [2, 2], datatype: 'UINT32', parameters: { binary_data_size: 16 } },
        { name: 'b', shape: [3], datatype: 'BOOL', parameters: { binary_data_size: 3 } },
      ],
      outputs: [{ name: 'y', parameters: { binary_data: true } }],
    },
    new Uint8Array(a.buffer),
    new Uint8Array([1, 0, 1]),
  );
  assert.equal(b.byteLength, jsonLength + 19);
  const decoded = decodeInferRequest('m', undefined, b, jsonLength);
  assert.deepEqual(decoded.request.inputs[0]?.data, a);
  assert.deepEqual(Array.from(decoded.request.inputs[1]?.data as Uint8Array), [1, 0, 1]);
  assert.deepEqual([...(decoded.binaryOutputs ?? [])], [['y', true]]);
});

test('JSON and binary inputs mix; BYTES binary data is length-prefixed', () => {
  const bytes = Buffer.from([3, 0, 0, 0, 0x61, 0x62, 0x63, 0, 0, 0, 0]);
  const { body: b, jsonLength } = body(
    {
      inputs: [
        { name: 'j', shape: [2], datatype: 'INT64', data: [5, -6] },
        { name: 's', shape: [2], datatype: 'BYTES', parameters: { binary_data_size: bytes.byteLength } },
        { name: 'e', shape: [0], datatype: 'FP32', parameters: { binary_data_size: 0 } },
      ],
    },
    bytes,
  );
  const { request } = decodeInferRequest('m', undefined, b, jsonLength);
  assert.deepEqual(request.inputs[0]?.data, new BigInt64Array([5n, -6n]));
  const strings = request.inputs[1]?.data as Uint8Array[];
  assert.deepEqual(
    strings.map((s) => Buffer.from(s).toString()),
    ['abc', ''],
  );
  assert.equal((request.inputs[2]?.data as Float32Array).length, 0);
});

test('binary sizes must add up exactly to the bytes after the JSON', () => {
  const input = (size: number) => ({ inputs: [{ name: 'a', shape: [2], datatype: 'FP32', parameters: { binary_data_size: size } }] });
  const short = body(input(8), new Uint8Array(4));
  rejects(() => decodeInferRequest('m', undefined, short.body, short.jsonLength), /binary_data_size 8 runs past the end of the body: only 4 bytes/);
  const long = body(input(8), new Uint8Array(12));
  rejects(() => decodeInferRequest('m', undefined, long.body, long.jsonLength), /carries 12 bytes after the JSON header but .* add up to 8/);
  const wrong = body(input(4), new Uint8Array(4));
  rejects(() => decodeInferRequest('m', undefined, wrong.body, wrong.jsonLength), /input 'a': shape \[2\] of FP32 needs 8 bytes, got 4/);
  const noHeader = body(input(8), new Uint8Array(8));
  rejects(() => decodeInferRequest('m', undefined, noHeader.body.subarray(0, noHeader.jsonLength), undefined), /no Inference-Header-Content-Length/);
});

test('the JSON length header is checked', () => {
  assert.equal(parseJsonLengthHeader(undefined, 10), undefined);
  assert.equal(parseJsonLengthHeader('7', 10), 7);
  assert.equal(parseJsonLengthHeader('0', 0), 0);
  rejects(() => parseJsonLengthHeader('11', 10), /is 11 but the request body has only 10 bytes/);
  rejects(() => parseJsonLengthHeader('-1', 10), /must be a non-negative integer/);
  rejects(() => parseJsonLengthHeader('abc', 10), /must be a non-negative integer/);
});

test('structural mistakes get clear messages', () => {
  rejects(() => jsonOnly({}), /^missing "inputs"$/);
  rejects(() => jsonOnly([]), /must be a JSON object/);
  rejects(() => decodeInferRequest('m', undefined, Buffer.from('{"inputs": ['), undefined), /^malformed JSON/);
  rejects(() => decodeInferRequest('m', undefined, Buffer.alloc(0), undefined), /body is empty/);
  rejects(() => jsonOnly({ inputs: {} }), /"inputs" must be an array/);
  rejects(() => jsonOnly({ inputs: [{ shape: [1], datatype: 'FP32', data: [1] }] }), /^input 0: "name" must be a non-empty string$/);
  rejects(() => jsonOnly({ inputs: [{ name: 'x', shape: [1], datatype: 'FLOAT', data: [1] }] }), /^input 'x': "datatype" must be one of BOOL, UINT8, .*BF16, got "FLOAT"$/);
  rejects(() => jsonOnly({ inputs: [{ name: 'x', shape: [-1], datatype: 'FP32', data: [1] }] }), /"shape" must be an array of non-negative integers, got \[-1\]/);
  rejects(() => jsonOnly({ inputs: [{ name: 'x', shape: [1.5], datatype: 'FP32', data: [1] }] }), /non-negative integers/);
  rejects(() => jsonOnly({ inputs: [{ name: 'x', datatype: 'FP32', data: [1] }] }), /"shape" must be an array/);
  rejects(() => jsonOnly({ inputs: [{ name: 'x', shape: [1], datatype: 'FP32' }] }), /needs "data" or "parameters": \{"binary_data_size": N\}/);
  rejects(() => jsonOnly({ inputs: [{ name: 'x', shape: [1], datatype: 'FP32', data: [1], parameters: { binary_data_size: 4 } }] }), /has both "data" and "binary_data_size"/);
  rejects(() => jsonOnly({ id: 5, inputs: [] }), /"id" must be a string/);
  rejects(() => jsonOnly({ inputs: [], outputs: [{ name: 'y' }, { name: 'y' }] }), /output 'y' is requested more than once/);
  rejects(() => jsonOnly({ inputs: [], outputs: [{ name: 'y', parameters: { classification: 0 } }] }), /'classification' must be at least 1/);
  rejects(() => jsonOnly({ inputs: [], outputs: [{ name: 'y', parameters: { binary_data: 'yes' } }] }), /'binary_data' must be a boolean/);
  rejects(() => jsonOnly({ inputs: [], parameters: { nested: { a: 1 } } }), /parameter 'nested' must be a string, number or boolean/);
  rejects(
    () => jsonOnly({ inputs: [{ name: 'x', shape: [1], datatype: 'FP32', parameters: { shared_memory_region: 'r', shared_memory_byte_size: 4 } }] }),
    /input 'x': shared memory is not supported/,
  );
  rejects(() => jsonOnly({ inputs: [{ name: 'x', shape: [2], datatype: 'FP32', data: [1, 'a'] }] }), /input 'x': element 1 is "a"/);
});

test('request parameters: triton_ keys are rejected, binary_data_output is HTTP-only', () => {
  rejects(() => jsonOnly({ inputs: [], parameters: { triton_enable_empty_final_response: true } }), /'triton_enable_empty_final_response' is reserved/);
  const both = jsonOnly({ inputs: [], parameters: { binary_data_output: true, timeout: 100 } });
  assert.equal(both.binaryOutputDefault, true);
  assert.deepEqual(both.request.parameters, { timeout: 100 });
  const only = jsonOnly({ inputs: [], parameters: { binary_data_output: false } });
  assert.equal(only.binaryOutputDefault, false);
  assert.equal(only.request.parameters, undefined);
  assert.equal(jsonOnly({ inputs: [], parameters: {} }).request.parameters, undefined);
  rejects(() => jsonOnly({ inputs: [], parameters: { binary_data_output: 1 } }), /'binary_data_output' must be a boolean/);
  assert.equal(jsonOnly({ id: '', inputs: [] }).request.id, undefined, 'an empty id is no id');
});

test('raw binary requests: shape from metadata, batch of 1, variable dim from the byte count', () => {
  const floats = new Float32Array([1, 2, 3, 4, 5, 6]);
  const bytes = Buffer.from(floats.buffer);
  const batching = decodeRawInferRequest('m', undefined, bytes, [{ name: 'in', datatype: 'FP32', shape: [-1, 2, -1] }], 8);
  assert.deepEqual(batching.request.inputs[0]?.shape, [1, 2, 3]);
  assert.deepEqual(batching.request.inputs[0]?.data, floats);
  assert.equal(batching.binaryOutputDefault, true);
  const fixed = decodeRawInferRequest('m', 2, bytes, [{ name: 'in', datatype: 'FP32', shape: [6] }], 0);
  assert.deepEqual(fixed.request.inputs[0]?.shape, [6]);
  assert.equal(fixed.request.version, 2);
  const text = decodeRawInferRequest('m', undefined, Buffer.from('hello'), [{ name: 's', datatype: 'BYTES', shape: [-1, 1] }], 4);
  assert.deepEqual(text.request.inputs[0]?.shape, [1, 1]);
  assert.deepEqual(
    (text.request.inputs[0]?.data as Uint8Array[]).map((e) => Buffer.from(e).toString()),
    ['hello'],
  );

  rejects(
    () =>
      decodeRawInferRequest(
        'm',
        undefined,
        bytes,
        [
          { name: 'a', datatype: 'FP32', shape: [6] },
          { name: 'b', datatype: 'FP32', shape: [6] },
        ],
        0,
      ),
    /exactly one input; model 'm' has 2/,
  );
  rejects(() => decodeRawInferRequest('m', undefined, bytes, [{ name: 'in', datatype: 'FP32', shape: [-1, -1] }], 0), /more than one variable-size dimension/);
  rejects(() => decodeRawInferRequest('m', undefined, bytes, [{ name: 'in', datatype: 'FP32', shape: [4] }], 0), /needs 16 bytes, got 24/);
  rejects(() => decodeRawInferRequest('m', undefined, bytes.subarray(0, 10), [{ name: 'in', datatype: 'FP32', shape: [-1] }], 0), /needs 8 bytes, got 10/);
  rejects(() => decodeRawInferRequest('m', undefined, bytes, [{ name: 's', datatype: 'BYTES', shape: [2] }], 0), /BYTES input 's' needs the model input shape to be \[1\]/);
});
