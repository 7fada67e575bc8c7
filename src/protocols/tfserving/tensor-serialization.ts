/**
 * Which form a TF Serving Predict answer carries its numbers in, per call: the server's setting
 * (`--enable-serialization-as-tensor-content`, default typed lists as TF Serving), unless the call's
 * metadata names one in `cranberries-tensor-serialization` (`proto_field` or `tensor_content`).
 *
 * The header is how a gateway started with `--enable-serialization-as-tensor-content` gets that
 * form from its workers: it relays answers byte for byte and never re-encodes tensors, so it asks
 * the worker for the form instead. A client may send it too; both forms are valid TensorProtos.
 */
import { invalidArgument } from '../../core/index.js';
import type { TensorSerialization } from './tensor-proto-codec.js';

export const TENSOR_SERIALIZATION_HEADER = 'cranberries-tensor-serialization';

const FORMS: readonly TensorSerialization[] = ['proto_field', 'tensor_content'];

/** The form a call asks for (its header's values as grpc-js hands them), else `fallback`. */
export function requestedSerialization(values: readonly (string | Buffer)[], fallback: TensorSerialization): TensorSerialization {
  if (values.length === 0) return fallback;
  const value = String(values[values.length - 1]);
  const form = FORMS.find((candidate) => candidate === value);
  if (form === undefined) throw invalidArgument(`metadata ${TENSOR_SERIALIZATION_HEADER} must be ${FORMS.join(' or ')}`);
  return form;
}
