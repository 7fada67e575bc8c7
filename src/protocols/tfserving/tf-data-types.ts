/**
 * TensorFlow's `tensorflow.DataType` ↔ the protocol-neutral datatypes (tensorflow/core/framework/types.proto), and
 * which typed `TensorProto` list carries each one (§4.4). One table, used by the gRPC TensorProto
 * codec, the REST JSON codecs and the metadata signatures.
 *
 * Only dtypes with an OIP counterpart are served; the others (complex, quantized, resource,
 * variant) are refused with UNIMPLEMENTED naming the dtype.
 */
import { CranberriesError } from '../../core/index.js';
import type { DataType } from '../../tensors/index.js';

export type TfDataType =
  'DT_FLOAT' | 'DT_DOUBLE' | 'DT_INT32' | 'DT_UINT8' | 'DT_INT16' | 'DT_INT8' | 'DT_STRING' | 'DT_INT64' | 'DT_BOOL' | 'DT_BFLOAT16' | 'DT_UINT16' | 'DT_HALF' | 'DT_UINT32' | 'DT_UINT64';

/** The repeated field of `tensorflow.TensorProto` that holds a dtype's values in typed form. */
export type TypedValField = 'float_val' | 'double_val' | 'int_val' | 'string_val' | 'int64_val' | 'bool_val' | 'half_val' | 'uint32_val' | 'uint64_val';

interface Entry {
  readonly tf: TfDataType;
  /** `tensorflow.DataType` enum number. */
  readonly number: number;
  readonly field: TypedValField;
}

const BY_DATATYPE: Readonly<Record<DataType, Entry>> = {
  FP32: { tf: 'DT_FLOAT', number: 1, field: 'float_val' },
  FP64: { tf: 'DT_DOUBLE', number: 2, field: 'double_val' },
  INT32: { tf: 'DT_INT32', number: 3, field: 'int_val' },
  UINT8: { tf: 'DT_UINT8', number: 4, field: 'int_val' },
  INT16: { tf: 'DT_INT16', number: 5, field: 'int_val' },
  INT8: { tf: 'DT_INT8', number: 6, field: 'int_val' },
  BYTES: { tf: 'DT_STRING', number: 7, field: 'string_val' },
  INT64: { tf: 'DT_INT64', number: 9, field: 'int64_val' },
  BOOL: { tf: 'DT_BOOL', number: 10, field: 'bool_val' },
  BF16: { tf: 'DT_BFLOAT16', number: 14, field: 'half_val' },
  UINT16: { tf: 'DT_UINT16', number: 17, field: 'int_val' },
  FP16: { tf: 'DT_HALF', number: 19, field: 'half_val' },
  UINT32: { tf: 'DT_UINT32', number: 22, field: 'uint32_val' },
  UINT64: { tf: 'DT_UINT64', number: 23, field: 'uint64_val' },
};

const BY_TF = new Map<string, DataType>();
const BY_NUMBER = new Map<number, DataType>();
for (const [datatype, entry] of Object.entries(BY_DATATYPE) as [DataType, Entry][]) {
  BY_TF.set(entry.tf, datatype);
  BY_NUMBER.set(entry.number, datatype);
}

/** Every typed list field, for detecting values sent in a list that does not match the dtype. */
export const TYPED_VAL_FIELDS: readonly TypedValField[] = [...new Set(Object.values(BY_DATATYPE).map((e) => e.field))];

/** `FP32` → `DT_FLOAT`. */
export function tfDataTypeOf(datatype: DataType): TfDataType {
  return BY_DATATYPE[datatype].tf;
}

/** `FP32` → 1 (the enum number). */
export function tfDataTypeNumberOf(datatype: DataType): number {
  return BY_DATATYPE[datatype].number;
}

/** The typed `TensorProto` list of a datatype (`FP32` → `float_val`). */
export function typedValFieldOf(datatype: DataType): TypedValField {
  return BY_DATATYPE[datatype].field;
}

/**
 * `DT_FLOAT` (or its enum number, as some decoders hand it) → `FP32`. UNIMPLEMENTED for a dtype
 * Cranberries does not serve, INVALID_ARGUMENT for DT_INVALID / unknown values; `where` names the tensor.
 */
export function dataTypeFromTf(dtype: string | number, where: string): DataType {
  const found = typeof dtype === 'number' ? BY_NUMBER.get(dtype) : BY_TF.get(dtype);
  if (found) return found;
  if (dtype === 'DT_INVALID' || dtype === 0 || dtype === '') throw new CranberriesError('INVALID_ARGUMENT', `${where}: dtype is not set (DT_INVALID)`);
  throw new CranberriesError('UNIMPLEMENTED', `${where}: dtype ${String(dtype)} is not supported (served: ${[...BY_TF.keys()].join(', ')})`);
}
