import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type * as grpc from '@grpc/grpc-js';
import { CranberriesError } from '../../core/errors.js';
import { OIP_SERVICE_NAME, oipPackageDefinition, serviceDefinition, tfServingPackageDefinition } from '../../protocols/grpc/index.js';
import { isTrueBoolParameter, lengthDelimited, readInferRoute, readTfModelSpec, stringField, trueBoolParameterEntry, withoutMapEntry } from './wire-fields.js';

type Method = grpc.MethodDefinition<object, object>;
const oip = serviceDefinition(oipPackageDefinition(), OIP_SERVICE_NAME);
const modelInfer = oip['ModelInfer'] as Method;
const predict = serviceDefinition(tfServingPackageDefinition(), 'tensorflow.serving.PredictionService')['Predict'] as Method;
const multi = serviceDefinition(tfServingPackageDefinition(), 'tensorflow.serving.PredictionService')['MultiInference'] as Method;

function inferRequest(fields: Record<string, unknown>): Buffer {
  return modelInfer.requestSerialize({
    inputs: [{ name: 'x', datatype: 'FP32', shape: [2, 3] }],
    raw_input_contents: [Buffer.alloc(24, 7)],
    outputs: [{ name: 'y' }],
    ...fields,
  });
}

function throwsInvalid(fn: () => unknown): void {
  assert.throws(fn, (error: unknown) => error instanceof CranberriesError && error.code === 'INVALID_ARGUMENT');
}

describe('readInferRoute', () => {
  it('reads model_name, model_version and id of a real ModelInferRequest, tensors and all', () => {
    const message = inferRequest({ model_name: 'résumé-model', model_version: '12', id: 'req-1', parameters: { priority: { uint64_param: 3 } } });
    assert.deepEqual(readInferRoute(message), { model: 'résumé-model', version: '12', id: 'req-1' });
  });

  it('reads absent fields as empty strings (proto3 defaults)', () => {
    assert.deepEqual(readInferRoute(inferRequest({ model_name: 'm' })), { model: 'm', version: '', id: '' });
    assert.deepEqual(readInferRoute(Buffer.alloc(0)), { model: '', version: '', id: '' });
  });

  it('finds the fields wherever they are on the wire, as protobuf requires', () => {
    // Tensors first, routing fields last: a valid encoding some clients produce.
    const message = Buffer.concat([lengthDelimited(7, Buffer.alloc(1000, 1)), stringField(3, 'late-id'), stringField(1, 'm'), stringField(2, '4')]);
    assert.deepEqual(readInferRoute(message), { model: 'm', version: '4', id: 'late-id' });
  });

  it('skips varint and fixed-width fields it does not know', () => {
    const unknownFields = Buffer.from([0x48, 0x96, 0x01, 0x51, 1, 2, 3, 4, 5, 6, 7, 8, 0x5d, 1, 2, 3, 4]); // field 9 varint, 10 fixed64, 11 fixed32
    assert.deepEqual(readInferRoute(Buffer.concat([unknownFields, stringField(1, 'm')])), { model: 'm', version: '', id: '' });
  });

  it('rejects truncated and malformed messages with INVALID_ARGUMENT', () => {
    const message = inferRequest({ model_name: 'm' });
    throwsInvalid(() => readInferRoute(message.subarray(0, message.length - 5)));
    throwsInvalid(() => readInferRoute(Buffer.from([0x0b]))); // wire type 3 (group start)
    throwsInvalid(() => readInferRoute(Buffer.from([0x00, 0x01]))); // field 0
    throwsInvalid(() => readInferRoute(Buffer.from([0x08, 0xff, 0xff]))); // unterminated varint
  });
});

describe('readTfModelSpec', () => {
  it('reads name and the Int64Value version of a PredictRequest', () => {
    const message = predict.requestSerialize({ model_spec: { name: 'half_plus_two', version: { value: '123' }, signature_name: 'serving_default' }, output_filter: ['y'] });
    assert.deepEqual(readTfModelSpec(message), { model: 'half_plus_two', version: 123, label: undefined });
  });

  it('reads a version label, and no version when the spec has neither', () => {
    const labelled = predict.requestSerialize({ model_spec: { name: 'm', version_label: 'stable' } });
    assert.deepEqual(readTfModelSpec(labelled), { model: 'm', version: undefined, label: 'stable' });
    assert.deepEqual(readTfModelSpec(predict.requestSerialize({ model_spec: { name: 'm' } })), { model: 'm', version: undefined, label: undefined });
  });

  it('reads an explicit version 0 (an empty Int64Value wrapper)', () => {
    const message = Buffer.concat([lengthDelimited(1, Buffer.concat([stringField(1, 'm'), lengthDelimited(2, Buffer.alloc(0))]))]);
    assert.equal(readTfModelSpec(message).version, 0);
  });

  it('reads the first task of a MultiInferenceRequest when nested', () => {
    const message = multi.requestSerialize({ tasks: [{ model_spec: { name: 'first', version: { value: '2' } }, method_name: 'tensorflow/serving/classify' }, { model_spec: { name: 'second' } }] });
    assert.deepEqual(readTfModelSpec(message, true), { model: 'first', version: 2, label: undefined });
  });

  it('reads an absent spec as model ""', () => {
    assert.equal(readTfModelSpec(predict.requestSerialize({})).model, '');
  });
});

describe('map entries (the stream final-response flag)', () => {
  it('removes one request parameter and leaves every other field intact', () => {
    const original = {
      model_name: 'm',
      id: 'r',
      parameters: { keep: { string_param: 'yes' }, triton_enable_empty_final_response: { bool_param: true }, other: { int64_param: '5' } },
    };
    const { message, removed } = withoutMapEntry(inferRequest(original), 4, 'triton_enable_empty_final_response');
    assert.ok(removed);
    assert.equal(isTrueBoolParameter(removed), true);
    const decoded = modelInfer.requestDeserialize(message) as { model_name: string; id: string; parameters: Record<string, unknown>; raw_input_contents: Buffer[] };
    assert.equal(decoded.model_name, 'm');
    assert.equal(decoded.id, 'r');
    assert.deepEqual(Object.keys(decoded.parameters).sort(), ['keep', 'other']);
    assert.deepEqual(decoded.raw_input_contents[0], Buffer.alloc(24, 7));
  });

  it('returns the very same buffer when the entry is absent (no copy)', () => {
    const message = inferRequest({ model_name: 'm', parameters: { keep: { bool_param: true } } });
    const result = withoutMapEntry(message, 4, 'triton_enable_empty_final_response');
    assert.equal(result.message, message);
    assert.equal(result.removed, undefined);
  });

  it('tells a false flag from a true one', () => {
    const { removed } = withoutMapEntry(inferRequest({ parameters: { flag: { bool_param: false } } }), 4, 'flag');
    assert.ok(removed);
    assert.equal(isTrueBoolParameter(removed), false);
  });

  it('appends a bool parameter to an encoded response that decodes as a map entry', () => {
    const response = (oip['ModelInfer'] as Method).responseSerialize({ model_name: 'm', model_version: '1', parameters: { a: { int64_param: 1 } } });
    const extended = Buffer.concat([response, trueBoolParameterEntry(4, 'triton_final_response')]);
    const decoded = modelInfer.responseDeserialize(extended) as { model_name: string; parameters: Record<string, { bool_param: boolean; parameter_choice: string }> };
    assert.equal(decoded.model_name, 'm');
    assert.equal(decoded.parameters['triton_final_response']?.bool_param, true);
    assert.equal(decoded.parameters['triton_final_response']?.parameter_choice, 'bool_param');
    assert.ok(decoded.parameters['a']);
  });

  it('frames a ModelStreamInferResponse around encoded bytes', () => {
    const inner = modelInfer.responseSerialize({ model_name: 'm', id: 'x' });
    const stream = oip['ModelStreamInfer'] as Method;
    const decoded = stream.responseDeserialize(Buffer.concat([stringField(1, 'oops'), lengthDelimited(2, inner)])) as { error_message: string; infer_response: { model_name: string; id: string } };
    assert.equal(decoded.error_message, 'oops');
    assert.equal(decoded.infer_response.model_name, 'm');
    assert.equal(decoded.infer_response.id, 'x');
    // Lengths past one varint byte.
    const big = modelInfer.responseSerialize({ model_name: 'm', raw_output_contents: [Buffer.alloc(70_000, 3)] });
    const framed = stream.responseDeserialize(lengthDelimited(2, big)) as { infer_response: { raw_output_contents: Buffer[] } };
    assert.equal(framed.infer_response.raw_output_contents[0]?.length, 70_000);
  });
});
