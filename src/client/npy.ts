/**
 * NumPy `.npy` files (format versions 1, 2 and 3) for numeric and boolean arrays, so `cranberries
 * infer` and client code can send arrays saved with `numpy.save`. Supported: little-endian (or
 * byte-order-free) bool, int8..int64, uint8..uint64, float16/32/64, C order. Anything else (big-endian,
 * Fortran order, strings, objects, structured dtypes) is refused with a message saying how to re-save.
 */
import type { DataType } from '../tensors/index.js';
import { arrayTypeOf, elementCount, type NumericArray } from '../tensors/index.js';

export interface NpyArray {
  readonly datatype: DataType;
  readonly shape: number[];
  readonly data: NumericArray;
}

const MAGIC = [0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59]; // \x93NUMPY

/** NumPy type code (kind + bytes, without byte order) ↔ protocol datatype. */
const FROM_NUMPY: Readonly<Record<string, DataType>> = {
  b1: 'BOOL',
  u1: 'UINT8',
  u2: 'UINT16',
  u4: 'UINT32',
  u8: 'UINT64',
  i1: 'INT8',
  i2: 'INT16',
  i4: 'INT32',
  i8: 'INT64',
  f2: 'FP16',
  f4: 'FP32',
  f8: 'FP64',
};

const TO_NUMPY = Object.fromEntries(Object.entries(FROM_NUMPY).map(([code, datatype]) => [datatype, code])) as Partial<Record<DataType, string>>;

function fail(where: string, message: string): Error {
  return new Error(`${where}: ${message}`);
}

/** Parses a `.npy` file's bytes; `where` (e.g. the file name) prefixes error messages. */
export function parseNpy(bytes: Uint8Array, where = 'npy'): NpyArray {
  if (bytes.byteLength < 10 || !MAGIC.every((b, i) => bytes[i] === b)) throw fail(where, 'not a .npy file (no \\x93NUMPY magic)');
  const major = bytes[6];
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let headerStart: number;
  let headerLength: number;
  if (major === 1) {
    headerStart = 10;
    headerLength = view.getUint16(8, true);
  } else if (major === 2 || major === 3) {
    if (bytes.byteLength < 12) throw fail(where, 'truncated header');
    headerStart = 12;
    headerLength = view.getUint32(8, true);
  } else {
    throw fail(where, `unsupported .npy format version ${String(major)}`);
  }
  const dataStart = headerStart + headerLength;
  if (dataStart > bytes.byteLength) throw fail(where, 'truncated header');
  const header = new TextDecoder(major === 3 ? 'utf-8' : 'latin1').decode(bytes.subarray(headerStart, dataStart));

  const descr = /'descr'\s*:\s*'([^']*)'/.exec(header)?.[1];
  if (descr === undefined) throw fail(where, `header has no simple 'descr' (structured arrays are not supported): ${header.trim()}`);
  const order = descr[0];
  const code = order === '<' || order === '>' || order === '|' || order === '=' ? descr.slice(1) : descr;
  const datatype = FROM_NUMPY[code];
  if (datatype === undefined) throw fail(where, `dtype '${descr}' is not supported; use bool, (u)int8..64 or float16/32/64`);
  if (order === '>' && code !== 'b1' && code !== 'u1' && code !== 'i1') {
    throw fail(where, `dtype '${descr}' is big-endian; save it little-endian, e.g. numpy.save(f, a.astype('<${code}'))`);
  }
  if (/'fortran_order'\s*:\s*True/.test(header)) throw fail(where, 'Fortran-order arrays are not supported; save numpy.ascontiguousarray(a)');
  const shapeText = /'shape'\s*:\s*\(([^)]*)\)/.exec(header)?.[1];
  if (shapeText === undefined) throw fail(where, `header has no 'shape': ${header.trim()}`);
  const shape = shapeText
    .split(',')
    .map((dim) => dim.trim())
    .filter((dim) => dim !== '')
    .map((dim) => {
      const n = Number(dim.replace(/L$/, ''));
      if (!Number.isSafeInteger(n) || n < 0) throw fail(where, `bad shape dimension '${dim}'`);
      return n;
    });

  const ArrayType = arrayTypeOf(datatype);
  const count = elementCount(shape);
  const byteLength = count * ArrayType.BYTES_PER_ELEMENT;
  if (bytes.byteLength - dataStart !== byteLength) {
    throw fail(where, `shape (${shape.join(', ')}) of ${descr} needs ${byteLength} data bytes, the file has ${bytes.byteLength - dataStart}`);
  }
  const absolute = bytes.byteOffset + dataStart;
  // A view when aligned (NumPy pads headers to 64 bytes), a copy otherwise.
  const source = absolute % ArrayType.BYTES_PER_ELEMENT === 0 ? bytes : bytes.slice();
  const offset = source === bytes ? absolute : dataStart;
  return { datatype, shape, data: new ArrayType(source.buffer, offset, count) };
}

/** A version 1.0 `.npy` file of `data` (the TypedArray of `datatype`), readable by `numpy.load`. */
export function encodeNpy(datatype: DataType, shape: readonly number[], data: NumericArray): Uint8Array {
  const code = TO_NUMPY[datatype];
  if (code === undefined) throw new TypeError(`${datatype} has no .npy dtype`);
  const order = code === 'b1' || code === 'u1' || code === 'i1' ? '|' : '<';
  const dims = shape.length === 1 ? `${shape[0]},` : shape.join(', ');
  let header = `{'descr': '${order}${code}', 'fortran_order': False, 'shape': (${dims}), }`;
  // Pad with spaces so that magic + version + length + header + '\n' is a multiple of 64.
  const unpadded = 10 + header.length + 1;
  header += ' '.repeat((64 - (unpadded % 64)) % 64) + '\n';
  const out = new Uint8Array(10 + header.length + data.byteLength);
  out.set(MAGIC, 0);
  out[6] = 1;
  out[7] = 0;
  new DataView(out.buffer).setUint16(8, header.length, true);
  for (let i = 0; i < header.length; i++) out[10 + i] = header.charCodeAt(i);
  out.set(new Uint8Array(data.buffer, data.byteOffset, data.byteLength), 10 + header.length);
  return out;
}
