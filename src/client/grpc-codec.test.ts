import { test } from 'node:test';
import assert from 'node:assert/strict';
import { decodeGrpcInferResponse, decodeParameters, encodeGrpcInferRequest, encodeParameter, type GrpcInferResponse } from './grpc-codec.js';
import { oipMethod } from './grpc-protos.js';
import { InferenceServerError } from './inference-server-error.js';

test('parameters get the InferParameter kind tritonclient uses', () => {
  assert.deepEqual(encodeParameter('flag', true), { bool_param: true });
  assert.deepEqual(encodeParameter('s', 'x'), { string_param: 'x' });
  assert.deepEqual(encodeParameter('sequence_id', 42), { int64_param: 42 });
  assert.deepEqual(encodeParameter('priority', 1), { uint64_param: 1 });
  assert.deepEqual(encodeParameter('scale', 0.5), { double_param: 0.5 });
  assert.deepEqual(encodeParameter('big', 2n ** 63n), { uint64_param: '9223372036854775808' });
  assert.deepEqual(encodeParameter('neg', -5n), { int64_param: '-5' });
});

test('decoded 64-bit parameters are numbers when exact and bigints beyond 2^53', () => {
  assert.deepEqual(
    decodeParameters({
      a: { parameter_choice: 'int64_param', int64_param: '12' },
      b: { parameter_choice: 'uint64_param', uint64_param: '18446744073709551615' },
      c: { parameter_choice: 'bool_param', bool_param: false },
      d: { parameter_choice: 'string_param', string_param: '' },
    }),
    { a: 12, b: 2n ** 64n - 1n, c: false, d: '' },
  );
  assert.equal(decodeParameters({}), undefined);
});

test('requests carry inputs raw, one raw_input_contents entry per input, and survive protobuf encoding', () => {
  const request = encodeGrpcInferRequest(
    'm',
    '2',
    [
      { name: 'x', datatype: 'FP32', shape: [1, 2], data: Float32Array.of(1, -1) },
      { name: 's', datatype: 'BYTES', shape: [1], data: ['hi'] },
    ],
    { id: 'r', outputs: [{ name: 'y', classification: 2 }], parameters: { priority: 1 } },
  );
  // Encode as ModelInferRequest and decode it back as the server would.
  const roundTrip = oipMethod<object, Record<string, unknown>>('ModelInfer', 'ModelInferRequest', 'ModelInferRequest');
  const decoded = roundTrip.deserialize(roundTrip.serialize(request));
  assert.equal(decoded['model_name'], 'm');
  assert.equal(decoded['model_version'], '2');
  assert.equal(decoded['id'], 'r');
  assert.deepEqual(decoded['inputs'], [
    { name: 'x', datatype: 'FP32', shape: ['1', '2'], parameters: {}, contents: null },
    { name: 's', datatype: 'BYTES', shape: ['1'], parameters: {}, contents: null },
  ]);
  const raw = decoded['raw_input_contents'] as Uint8Array[];
  assert.deepEqual([...raw[0]!], [...new Uint8Array(Float32Array.of(1, -1).buffer)]);
  assert.deepEqual([...raw[1]!], [2, 0, 0, 0, 104, 105]);
  assert.deepEqual(decoded['outputs'], [{ name: 'y', parameters: { classification: { int64_param: '2', parameter_choice: 'int64_param' } } }]);
  assert.deepEqual(decoded['parameters'], { priority: { uint64_param: '1', parameter_choice: 'uint64_param' } });
});

test('responses: raw_output_contents when present, typed contents otherwise', () => {
  const method = oipMethod<object, GrpcInferResponse>('ModelInfer', 'ModelInferResponse', 'ModelInferResponse');
  const bytes = method.serialize({
    model_name: 'm',
    model_version: '1',
    id: 'r',
    outputs: [
      { name: 'p', datatype: 'FP32', shape: [2] },
      { name: 'l', datatype: 'INT64', shape: [1] },
    ],
    raw_output_contents: [new Uint8Array(Float32Array.of(0.5, 2).buffer), new Uint8Array(BigInt64Array.of(-3n).buffer)],
  });
  const raw = decodeGrpcInferResponse(method.deserialize(bytes));
  assert.equal(raw.model, 'm');
  assert.equal(raw.version, '1');
  assert.equal(raw.id, 'r');
  assert.deepEqual(raw.output('p').data, Float32Array.of(0.5, 2));
  assert.deepEqual(raw.output('l').data, BigInt64Array.of(-3n));

  const typed = decodeGrpcInferResponse(
    method.deserialize(
      method.serialize({
        model_name: 'm',
        outputs: [
          { name: 'p', datatype: 'FP32', shape: [2], contents: { fp32_contents: [0.5, 2] } },
          { name: 'l', datatype: 'INT64', shape: [1], contents: { int64_contents: ['-9007199254740993'] } },
          { name: 'b', datatype: 'BOOL', shape: [2], contents: { bool_contents: [true, false] } },
          { name: 's', datatype: 'BYTES', shape: [1], contents: { bytes_contents: [Buffer.from('ok')] } },
          { name: 'u', datatype: 'UINT8', shape: [1], contents: { uint_contents: [255] } },
        ],
      }),
    ),
  );
  assert.equal(typed.id, undefined);
  assert.deepEqual(typed.output('p').data, Float32Array.of(0.5, 2));
  assert.deepEqual(typed.output('l').data, BigInt64Array.of(-9007199254740993n), 'int64 contents are exact');
  assert.deepEqual(typed.output('b').data, Uint8Array.of(1, 0));
  assert.deepEqual(typed.strings('s'), ['ok']);
  assert.deepEqual(typed.output('u').data, Uint8Array.of(255));

  const mismatch = method.serialize({ outputs: [{ name: 'p', datatype: 'FP32', shape: [3], contents: { fp32_contents: [1] } }] });
  assert.throws(
    () => decodeGrpcInferResponse(method.deserialize(mismatch)),
    (e: unknown) => e instanceof InferenceServerError && /output 'p': shape \[3\] needs 3 elements, fp32_contents holds 1/.test(e.message),
  );
});
