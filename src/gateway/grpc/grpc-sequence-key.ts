/**
 * The sequence key of a gRPC `ModelInferRequest` (routing/sequence-affinity.ts explains the
 * affinity): read from the message's `parameters` map with the wire-format reader, without
 * decoding the request.
 */
import { sequenceKeyOf } from '../routing/index.js';
import { forEachField } from './wire-fields.js';

const WIRE_VARINT = 0;
const WIRE_LENGTH_DELIMITED = 2;
const SEQUENCE_ID = Buffer.from('sequence_id');

function varint(bytes: Uint8Array, start: number, end: number): bigint {
  let value = 0n;
  let shift = 0n;
  for (let i = start; i < end; i++) {
    const byte = bytes[i]!;
    value |= BigInt(byte & 0x7f) << shift;
    if ((byte & 0x80) === 0) break;
    shift += 7n;
  }
  return value;
}

/** An `InferParameter` as a key: int64_param (2), string_param (3), uint64_param (5). */
function parameterKey(parameter: Uint8Array): string | undefined {
  let key: string | undefined;
  forEachField(parameter, (field) => {
    if ((field.field === 2 || field.field === 5) && field.wireType === WIRE_VARINT) key = sequenceKeyOf(BigInt.asUintN(64, varint(parameter, field.start, field.end)));
    else if (field.field === 3 && field.wireType === WIRE_LENGTH_DELIMITED) key = sequenceKeyOf(Buffer.from(parameter.subarray(field.start, field.end)).toString('utf8'));
  });
  return key;
}

/** The sequence key of a `ModelInferRequest` message, from its `parameters` map (field 4). */
export function grpcSequenceKey(message: Uint8Array, parametersField = 4): string | undefined {
  let key: string | undefined;
  forEachField(message, (field) => {
    if (field.field !== parametersField || field.wireType !== WIRE_LENGTH_DELIMITED) return;
    const entry = message.subarray(field.start, field.end);
    let isSequenceId = false;
    let value: Uint8Array | undefined;
    forEachField(entry, (inner) => {
      if (inner.field === 1 && inner.wireType === WIRE_LENGTH_DELIMITED) isSequenceId = SEQUENCE_ID.equals(entry.subarray(inner.start, inner.end));
      else if (inner.field === 2 && inner.wireType === WIRE_LENGTH_DELIMITED) value = entry.subarray(inner.start, inner.end);
    });
    if (isSequenceId && value) key = parameterKey(value);
  });
  return key;
}
