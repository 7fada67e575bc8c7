import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { oipMethod } from '../../client/grpc-protos.js';
import { encodeInferRequestMessage } from '../service/decoded-infer.js';
import { grpcSequenceKey } from './grpc-sequence-key.js';

const infer = oipMethod<object, object>('ModelInfer', 'ModelInferRequest', 'ModelInferResponse');

describe('gRPC sequence keys', () => {
  it('reads sequence_id from a ModelInferRequest as tritonclient encodes it (int64, uint64, string)', () => {
    const message = (parameters: object): Buffer =>
      infer.serialize({
        model_name: 'm',
        id: 'r',
        parameters: { other: { bool_param: true }, ...parameters },
        inputs: [{ name: 'INPUT', datatype: 'INT32', shape: [1, 1] }],
        raw_input_contents: [Buffer.alloc(4)],
      });
    assert.equal(grpcSequenceKey(message({ sequence_id: { int64_param: '1000' }, sequence_start: { bool_param: true } })), 'u:1000');
    assert.equal(grpcSequenceKey(message({ sequence_id: { uint64_param: '18446744073709551615' } })), 'u:18446744073709551615');
    assert.equal(grpcSequenceKey(message({ sequence_id: { int64_param: '-1' } })), 'u:18446744073709551615', 'a uint64 written as int64');
    assert.equal(grpcSequenceKey(message({ sequence_id: { string_param: 'abc' } })), 's:abc');
    assert.equal(grpcSequenceKey(message({ sequence_id: { int64_param: '0' } })), undefined);
    assert.equal(grpcSequenceKey(message({})), undefined);
    // The gateway's own encoder (decoded path) gives the same key.
    assert.equal(grpcSequenceKey(encodeInferRequestMessage({ model: 'm', inputs: [], parameters: { sequence_id: 1000 } })), 'u:1000');
  });
});
