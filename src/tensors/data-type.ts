/**
 * The datatypes of the Open Inference Protocol and how each is stored, named by ONNX Runtime and
 * named in a Triton `config.pbtxt`. One table, so no layer keeps its own copy of these facts.
 */
/** The TypedArray that holds a numeric tensor's elements (`tensor.ts`). */
export type NumericArray = Uint8Array | Int8Array | Uint16Array | Int16Array | Uint32Array | Int32Array | BigUint64Array | BigInt64Array | Float32Array | Float64Array;

export const DATA_TYPES = ['BOOL', 'UINT8', 'UINT16', 'UINT32', 'UINT64', 'INT8', 'INT16', 'INT32', 'INT64', 'FP16', 'FP32', 'FP64', 'BYTES', 'BF16'] as const;

export type DataType = (typeof DATA_TYPES)[number];

export type NumericArrayConstructor = {
  new (length: number): NumericArray;
  new (buffer: ArrayBufferLike, byteOffset?: number, length?: number): NumericArray;
  readonly BYTES_PER_ELEMENT: number;
};

interface DataTypeInfo {
  /** Bytes per element on the wire; 0 for BYTES (variable). */
  readonly byteSize: number;
  /** TypedArray that holds this datatype; undefined for BYTES. */
  readonly array: NumericArrayConstructor | undefined;
  /** ONNX Runtime's tensor type name, or undefined when ONNX Runtime cannot take it. */
  readonly ort: string | undefined;
}

const INFO: Readonly<Record<DataType, DataTypeInfo>> = {
  BOOL: { byteSize: 1, array: Uint8Array, ort: 'bool' },
  UINT8: { byteSize: 1, array: Uint8Array, ort: 'uint8' },
  UINT16: { byteSize: 2, array: Uint16Array, ort: 'uint16' },
  UINT32: { byteSize: 4, array: Uint32Array, ort: 'uint32' },
  UINT64: { byteSize: 8, array: BigUint64Array, ort: 'uint64' },
  INT8: { byteSize: 1, array: Int8Array, ort: 'int8' },
  INT16: { byteSize: 2, array: Int16Array, ort: 'int16' },
  INT32: { byteSize: 4, array: Int32Array, ort: 'int32' },
  INT64: { byteSize: 8, array: BigInt64Array, ort: 'int64' },
  FP16: { byteSize: 2, array: Uint16Array, ort: 'float16' },
  FP32: { byteSize: 4, array: Float32Array, ort: 'float32' },
  FP64: { byteSize: 8, array: Float64Array, ort: 'float64' },
  BYTES: { byteSize: 0, array: undefined, ort: 'string' },
  BF16: { byteSize: 2, array: Uint16Array, ort: undefined },
};

export function isDataType(value: string): value is DataType {
  return Object.hasOwn(INFO, value);
}

/** Bytes per element, 0 for BYTES. */
export function byteSizeOf(datatype: DataType): number {
  return INFO[datatype].byteSize;
}

/** The TypedArray constructor for a numeric datatype; throws for BYTES. */
export function arrayTypeOf(datatype: DataType): NumericArrayConstructor {
  const array = INFO[datatype].array;
  if (!array) throw new TypeError(`${datatype} has no fixed-size element type`);
  return array;
}

export function ortTypeOf(datatype: DataType): string | undefined {
  return INFO[datatype].ort;
}

const FROM_ORT = new Map<string, DataType>();
for (const datatype of DATA_TYPES) {
  const ort = INFO[datatype].ort;
  if (ort !== undefined) FROM_ORT.set(ort, datatype);
}

export function dataTypeFromOrt(ortType: string): DataType | undefined {
  return FROM_ORT.get(ortType);
}

/** Triton config enum (`TYPE_FP32`) → protocol datatype (`FP32`); `TYPE_STRING` is BYTES. */
export function dataTypeFromConfig(configType: string): DataType | undefined {
  if (configType === 'TYPE_STRING') return 'BYTES';
  const name = configType.startsWith('TYPE_') ? configType.slice(5) : '';
  return isDataType(name) && name !== 'BYTES' ? name : undefined;
}

/** Protocol datatype → Triton config enum name. */
export function configTypeOf(datatype: DataType): string {
  return datatype === 'BYTES' ? 'TYPE_STRING' : `TYPE_${datatype}`;
}

/** Inclusive value ranges of the integer datatypes of 8 to 32 bits (a JS number holds every value exactly). */
export const INTEGER_RANGES: Partial<Record<DataType, readonly [number, number]>> = {
  INT8: [-128, 127],
  UINT8: [0, 255],
  INT16: [-32768, 32767],
  UINT16: [0, 65535],
  INT32: [-2147483648, 2147483647],
  UINT32: [0, 4294967295],
};

/** `INTEGER_RANGES` plus the 64-bit types, limited to the integers a JS number holds exactly (±(2^53 - 1)). */
export const SAFE_INTEGER_RANGES: Partial<Record<DataType, readonly [number, number]>> = {
  ...INTEGER_RANGES,
  INT64: [-Number.MAX_SAFE_INTEGER, Number.MAX_SAFE_INTEGER],
  UINT64: [0, Number.MAX_SAFE_INTEGER],
};
