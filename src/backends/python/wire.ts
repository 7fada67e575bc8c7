/**
 * The framing between the server and a Python stub (python/cranberries_backend/wire.py is the
 * other side): `u32 headerLength | u32 bodyLength | header | body`, little-endian. The header is a
 * small JSON object (operation; per tensor: name, datatype, shape, byte offset, byte length); the
 * body holds raw tensor bytes, each tensor at a multiple of 8 so the reader can view it in place.
 * Tensor data is never JSON. A body of `fileThreshold` bytes or more goes through a file in the
 * server's shared-memory folder instead of the pipe (the header names it; the reader deletes it).
 * BYTES tensors use Triton's layout: per element a 4-byte little-endian length, then the bytes.
 */
import { arrayTypeOf, isDataType, type DataType, elementCount, isBytesData, type Tensor, type TensorData } from '../../tensors/index.js';

export interface TensorDescriptor {
  readonly name: string;
  readonly datatype: DataType;
  readonly shape: readonly number[];
  readonly offset: number;
  readonly nbytes: number;
}

/** Raw bytes of tensors, gathered without copying numeric data. */
export class BodyBuilder {
  readonly parts: Buffer[] = [];
  length = 0;

  add(tensor: Tensor): TensorDescriptor {
    const data = tensorBytes(tensor.data);
    const pad = (8 - (this.length % 8)) % 8;
    if (pad > 0) {
      this.parts.push(Buffer.alloc(pad));
      this.length += pad;
    }
    const descriptor = { name: tensor.name, datatype: tensor.datatype, shape: tensor.shape, offset: this.length, nbytes: data.byteLength };
    this.parts.push(...(Array.isArray(data) ? data : [data]));
    this.length += data.byteLength;
    return descriptor;
  }
}

/** A numeric tensor's bytes as a view, or a BYTES tensor's length-prefixed parts. */
function tensorBytes(data: TensorData): Buffer | (Buffer[] & { byteLength: number }) {
  if (!isBytesData(data)) return Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  const parts: Buffer[] = [];
  let byteLength = 0;
  for (const element of data) {
    const prefix = Buffer.allocUnsafe(4);
    prefix.writeUInt32LE(element.byteLength, 0);
    parts.push(prefix, Buffer.from(element.buffer, element.byteOffset, element.byteLength));
    byteLength += 4 + element.byteLength;
  }
  return Object.assign(parts, { byteLength });
}

export function encodeFrame(header: object, bodyLength: number): Buffer {
  const json = Buffer.from(JSON.stringify(header), 'utf8');
  const frame = Buffer.allocUnsafe(8 + json.byteLength);
  frame.writeUInt32LE(json.byteLength, 0);
  frame.writeUInt32LE(bodyLength, 4);
  json.copy(frame, 8);
  return frame;
}

/** Largest header a stub may send (headers hold names and shapes only). */
const MAX_HEADER_BYTES = 16 * 1024 * 1024;

/** Splits a byte stream into frames; bodies land in their own buffer (offset 0, so 8-aligned). */
export class FrameReader {
  private pending: Buffer[] = [];
  private pendingBytes = 0;
  private header: { json: unknown; body: Buffer; filled: number } | undefined;

  constructor(private readonly onFrame: (header: unknown, body: Buffer) => void) {}

  push(chunk: Buffer): void {
    this.pending.push(chunk);
    this.pendingBytes += chunk.byteLength;
    for (;;) {
      if (this.header) {
        const { body } = this.header;
        while (this.header.filled < body.byteLength && this.pending.length > 0) {
          const next = this.pending[0]!;
          const take = Math.min(next.byteLength, body.byteLength - this.header.filled);
          next.copy(body, this.header.filled, 0, take);
          this.header.filled += take;
          this.consume(take);
        }
        if (this.header.filled < body.byteLength) return;
        const done = this.header;
        this.header = undefined;
        this.onFrame(done.json, done.body);
        continue;
      }
      if (this.pendingBytes < 8) return;
      const prefix = this.peek(8);
      const headerLength = prefix.readUInt32LE(0);
      const bodyLength = prefix.readUInt32LE(4);
      if (headerLength > MAX_HEADER_BYTES) throw new Error(`the stub sent a ${headerLength}-byte header`);
      if (this.pendingBytes < 8 + headerLength) return;
      const headerBytes = this.peek(8 + headerLength).subarray(8);
      const json: unknown = JSON.parse(headerBytes.toString('utf8'));
      this.consume(8 + headerLength);
      this.header = { json, body: Buffer.allocUnsafeSlow(bodyLength), filled: 0 };
    }
  }

  private peek(bytes: number): Buffer {
    if (this.pending[0]!.byteLength < bytes) {
      const joined = Buffer.concat(this.pending);
      this.pending = [joined];
    }
    return this.pending[0]!.subarray(0, bytes);
  }

  private consume(bytes: number): void {
    this.pendingBytes -= bytes;
    while (bytes > 0) {
      const head = this.pending[0]!;
      if (head.byteLength <= bytes) {
        this.pending.shift();
        bytes -= head.byteLength;
      } else {
        this.pending[0] = head.subarray(bytes);
        bytes = 0;
      }
    }
  }
}

/** A tensor read from a body; numeric data is a view of `body` when aligned, else a copy. */
export function decodeTensor(raw: unknown, body: Buffer, context: string): Tensor {
  const d = raw as Partial<TensorDescriptor>;
  if (typeof d.name !== 'string' || typeof d.datatype !== 'string' || !isDataType(d.datatype) || !Array.isArray(d.shape) || typeof d.offset !== 'number' || typeof d.nbytes !== 'number') {
    throw new Error(`${context}: malformed tensor descriptor`);
  }
  const shape = d.shape.map(Number);
  if (shape.some((n) => !Number.isSafeInteger(n) || n < 0)) throw new Error(`${context}: output '${d.name}' has an invalid shape`);
  if (d.offset < 0 || d.offset + d.nbytes > body.byteLength) throw new Error(`${context}: output '${d.name}' lies outside the message`);
  const bytes = body.subarray(d.offset, d.offset + d.nbytes);
  const count = elementCount(shape);
  if (d.datatype === 'BYTES') {
    const elements: Uint8Array[] = [];
    let at = 0;
    for (let i = 0; i < count; i++) {
      if (at + 4 > bytes.byteLength) throw new Error(`${context}: output '${d.name}' holds fewer than ${count} elements`);
      const length = bytes.readUInt32LE(at);
      at += 4;
      if (at + length > bytes.byteLength) throw new Error(`${context}: output '${d.name}' element ${i} overruns its data`);
      elements.push(bytes.subarray(at, at + length));
      at += length;
    }
    return { name: d.name, datatype: 'BYTES', shape, data: elements };
  }
  const type = arrayTypeOf(d.datatype);
  if (count * type.BYTES_PER_ELEMENT !== bytes.byteLength) throw new Error(`${context}: output '${d.name}' has ${bytes.byteLength} bytes for shape [${shape.join(',')}] of ${d.datatype}`);
  const aligned = bytes.byteOffset % type.BYTES_PER_ELEMENT === 0;
  const data = aligned ? new type(bytes.buffer, bytes.byteOffset, count) : new type(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength));
  return { name: d.name, datatype: d.datatype, shape, data };
}
