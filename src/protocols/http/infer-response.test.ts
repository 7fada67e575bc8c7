import { test } from 'node:test';
import assert from 'node:assert/strict';
import { CranberriesError } from '../../core/errors.js';
import type { Tensor } from '../../tensors/tensor.js';
import type { InferenceResponse } from '../../serving/inference.js';
import type { HttpInferRequest } from './infer-request.js';
import { encodeInferResponse } from './infer-response.js';

const y: Tensor = { name: 'y', datatype: 'FP32', shape: [3, 2], data: new Float32Array([1, 2, 3, 4, 5, 6]) };
const s: Tensor = { name: 's', datatype: 'BYTES', shape: [2], data: [Buffer.from('ab'), Buffer.from('')] };
const b: Tensor = { name: 'b', datatype: 'BOOL', shape: [2], data: new Uint8Array([1, 0]) };

function http(options: Partial<HttpInferRequest> & { outputs?: string[] } = {}): HttpInferRequest {
  return {
    request: { model: 'm', inputs: [], outputs: options.outputs?.map((name) => ({ name })) },
    binaryOutputDefault: options.binaryOutputDefault ?? false,
    binaryOutputs: options.binaryOutputs,
  };
}

const response = (outputs: Tensor[], extra: Partial<InferenceResponse> = {}): InferenceResponse => ({ model: 'm', version: 7, outputs, ...extra });

test('a JSON answer is one JSON text with model_version as a string', () => {
  const encoded = encodeInferResponse(response([y, b], { id: 'abc' }), http());
  assert.equal(encoded.contentType, 'application/json');
  assert.equal(encoded.jsonLength, undefined);
  assert.equal(typeof encoded.body, 'string');
  assert.deepEqual(JSON.parse(encoded.body as string), {
    model_name: 'm',
    model_version: '7',
    id: 'abc',
    outputs: [
      { name: 'y', datatype: 'FP32', shape: [3, 2], data: [1, 2, 3, 4, 5, 6] },
      { name: 'b', datatype: 'BOOL', shape: [2], data: [true, false] },
    ],
  });
});

test('binary outputs follow the JSON in output order, with binary_data_size (§1.9 example)', () => {
  const encoded = encodeInferResponse(response([y, s]), http({ binaryOutputDefault: true }));
  assert.equal(encoded.contentType, 'application/octet-stream');
  const body = encoded.body as Buffer;
  const jsonLength = encoded.jsonLength ?? -1;
  const head = JSON.parse(body.subarray(0, jsonLength).toString()) as { outputs: { name: string; parameters: unknown; data?: unknown }[] };
  assert.deepEqual(head.outputs[0], { name: 'y', datatype: 'FP32', shape: [3, 2], parameters: { binary_data_size: 24 } });
  assert.deepEqual(head.outputs[1], { name: 's', datatype: 'BYTES', shape: [2], parameters: { binary_data_size: 10 } });
  assert.equal(body.byteLength, jsonLength + 24 + 10);
  assert.deepEqual(new Float32Array(new Uint8Array(body.subarray(jsonLength, jsonLength + 24)).buffer), y.data);
  assert.deepEqual([...body.subarray(jsonLength + 24)], [2, 0, 0, 0, 0x61, 0x62, 0, 0, 0, 0]);
});

test('per-output binary_data wins over binary_data_output', () => {
  const encoded = encodeInferResponse(response([y, b]), http({ binaryOutputDefault: true, binaryOutputs: new Map([['y', false]]) }));
  const body = encoded.body as Buffer;
  const jsonLength = encoded.jsonLength ?? -1;
  const head = JSON.parse(body.subarray(0, jsonLength).toString()) as { outputs: Record<string, unknown>[] };
  assert.deepEqual(head.outputs[0]?.data, [1, 2, 3, 4, 5, 6]);
  assert.deepEqual(head.outputs[1]?.parameters, { binary_data_size: 2 });
  assert.deepEqual([...body.subarray(jsonLength)], [1, 0]);

  const jsonOnly = encodeInferResponse(response([y]), http({ binaryOutputs: new Map([['y', false]]), binaryOutputDefault: true }));
  assert.equal(jsonOnly.contentType, 'application/json');
});

test('requested outputs come back in the requested order; parameters print BigInt exactly', () => {
  const encoded = encodeInferResponse(response([y, s, b], { parameters: { big: 2n ** 63n, text: 'x' } }), http({ outputs: ['b', 'y', 's'] }));
  const text = encoded.body as string;
  assert.match(text, /"parameters":\{"big":9223372036854775808,"text":"x"\}/);
  const parsed = JSON.parse(text) as { outputs: { name: string }[]; id?: string };
  assert.deepEqual(
    parsed.outputs.map((o) => o.name),
    ['b', 'y', 's'],
  );
  assert.equal(parsed.id, undefined);
});

test('FP16 outputs must be asked for as binary', () => {
  const half: Tensor = { name: 'h', datatype: 'FP16', shape: [1], data: new Uint16Array([0x3c00]) };
  assert.throws(
    () => encodeInferResponse(response([half]), http()),
    (e: unknown) => e instanceof CranberriesError && e.code === 'INVALID_ARGUMENT' && /output 'h'/.test(e.message),
  );
  const binary = encodeInferResponse(response([half]), http({ binaryOutputDefault: true }));
  const body = binary.body as Buffer;
  assert.deepEqual([...body.subarray(binary.jsonLength)], [0x00, 0x3c]);
});
