/**
 * Raw tensor bytes as the binary protocols carry them (OIP binary extension, gRPC
 * `raw_input_contents` / `raw_output_contents`, TF `tensor_content`): row-major, little-endian,
 * native width, BOOL one byte, BYTES as `<uint32 LE length><bytes>` per element.
 *
 * Decoding views the caller's buffer without copying whenever the alignment allows it; encoding a
 * numeric tensor is always a view of its TypedArray. Callers that reuse the source buffer must copy.
 */
import { formatShape, quoteInput, invalidArgument } from '../core/index.js';
import { arrayTypeOf, byteSizeOf, type DataType } from './data-type.js';
import { isBytesData, type TensorData } from './tensor.js';
import { BYTES_ELEMENT_OVERHEAD, checkedElementCount } from './tensor-limits.js';

/** Little-endian hosts only: every platform Node.js ships on today. */
const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;
if (!LITTLE_ENDIAN) throw new Error('Cranberries needs a little-endian host');

/**
 * Turns raw bytes into tensor data of `datatype` and `shape`. Fails with INVALID_ARGUMENT naming
 * `tensorName` when the byte count does not match the shape.
 */
export function decodeBinaryTensor(datatype: DataType, shape: readonly number[], bytes: Uint8Array, tensorName: string): TensorData {
  const where = `input ${quoteInput(tensorName)}`;
  const count = checkedElementCount(shape, where);
  if (datatype === 'BYTES') {
    // Every element takes at least its 4-byte length prefix: refuse a count the bytes cannot hold
    // before building the element list.
    if (count * BYTES_ELEMENT_OVERHEAD > bytes.byteLength) {
      throw invalidArgument(
        `${where}: shape ${formatShape(shape)} needs ${count} BYTES elements, the data holds at most ${Math.floor(bytes.byteLength / BYTES_ELEMENT_OVERHEAD)} (4-byte length prefix each)`,
      );
    }
    const elements = parseBytesElements(bytes, tensorName);
    if (elements.length !== count) {
      throw invalidArgument(`${where}: shape ${formatShape(shape)} needs ${count} BYTES elements, the data holds ${elements.length}`);
    }
    return elements;
  }
  const size = byteSizeOf(datatype);
  if (bytes.byteLength !== count * size) {
    throw invalidArgument(`${where}: shape ${formatShape(shape)} of ${datatype} needs ${count * size} bytes, got ${bytes.byteLength}`);
  }
  const ArrayType = arrayTypeOf(datatype);
  // A TypedArray view needs an offset that is a multiple of its element size; copy otherwise.
  const source = bytes.byteOffset % size === 0 ? bytes : new Uint8Array(bytes);
  return new ArrayType(source.buffer, source.byteOffset, count);
}

/** The wire bytes of tensor data: a view for numeric tensors, length-prefixed elements for BYTES. */
export function encodeBinaryTensor(data: TensorData): Uint8Array {
  if (isBytesData(data)) return serializeBytesElements(data);
  return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
}

/** Byte length `encodeBinaryTensor` will produce, without producing it. */
export function binaryByteLength(data: TensorData): number {
  if (!isBytesData(data)) return data.byteLength;
  let total = 0;
  for (const element of data) total += 4 + element.byteLength;
  return total;
}

export function serializeBytesElements(elements: readonly Uint8Array[]): Uint8Array {
  let total = 0;
  for (const element of elements) total += 4 + element.byteLength;
  const out = new Uint8Array(total);
  const view = new DataView(out.buffer);
  let offset = 0;
  for (const element of elements) {
    view.setUint32(offset, element.byteLength, true);
    out.set(element, offset + 4);
    offset += 4 + element.byteLength;
  }
  return out;
}

/** Splits length-prefixed BYTES elements; the results are views into `bytes`. */
export function parseBytesElements(bytes: Uint8Array, tensorName: string): Uint8Array[] {
  const where = `input ${quoteInput(tensorName)}`;
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const elements: Uint8Array[] = [];
  let offset = 0;
  while (offset < bytes.byteLength) {
    if (offset + 4 > bytes.byteLength) {
      throw invalidArgument(`${where}: truncated BYTES length prefix at byte ${offset}`);
    }
    const length = view.getUint32(offset, true);
    const start = offset + 4;
    if (start + length > bytes.byteLength) {
      throw invalidArgument(`${where}: BYTES element at byte ${offset} declares ${length} bytes, only ${bytes.byteLength - start} remain`);
    }
    elements.push(bytes.subarray(start, start + length));
    offset = start + length;
  }
  return elements;
}
