/**
 * The weights of a TF.js model as float32 arrays, decoded from `weightData` in `weightSpecs` order
 * the way tfjs-core's `decodeWeights` does: plain float32, and float32 stored quantized as uint8 /
 * uint16 (`value = q * scale + min`) or float16. Any other dtype (int32, string, ...) or quantization
 * is reported as unsupported: the layers this converter knows take float weights only.
 */
import { quoted, unsupported } from './unsupported.js';

export interface WeightSpec {
  name: string;
  shape: number[];
  dtype: string;
  quantization?: unknown;
}

export interface Weight {
  shape: number[];
  dtype: 'float32' | 'int32';
  /** Float32Array for float32 weights; Int32Array for int32 ones (graph-model shapes and axes). */
  values: Float32Array;
  ints?: Int32Array;
}

export function decodeWeights(specs: readonly WeightSpec[], weightData: unknown): Map<string, Weight> {
  const bytes = weightBytes(weightData);
  const weights = new Map<string, Weight>();
  let offset = 0;
  for (const spec of specs) {
    if (typeof spec?.name !== 'string' || !Array.isArray(spec.shape)) unsupported('malformed model: a weight spec without name or shape');
    const size = spec.shape.reduce((n: number, d: unknown) => {
      if (typeof d !== 'number' || !Number.isInteger(d) || d < 0) unsupported(`malformed model: weight ${quoted(spec.name)} has a bad shape`);
      return n * d;
    }, 1);
    if (spec.dtype === 'int32' && (spec.quantization === undefined || spec.quantization === null)) {
      if (offset + size * 4 > bytes.byteLength) unsupported(`malformed model: weightData (${bytes.byteLength} bytes) ends inside weight ${quoted(spec.name)}`);
      const ints = new Int32Array(bytes.slice(offset, offset + size * 4).buffer);
      offset += size * 4;
      weights.set(spec.name, { shape: [...spec.shape], dtype: 'int32', values: Float32Array.from(ints), ints });
      continue;
    }
    if (spec.dtype !== 'float32') unsupported(`weight ${quoted(spec.name)} has dtype ${quoted(spec.dtype)}; only float32 (and unquantized int32) weights convert`);
    const quantization = spec.quantization as { dtype?: unknown; min?: unknown; scale?: unknown } | undefined;
    const storage = quantization === undefined || quantization === null ? 'float32' : quantization.dtype;
    const bytesPerValue = storage === 'float32' ? 4 : storage === 'uint16' || storage === 'float16' ? 2 : storage === 'uint8' ? 1 : 0;
    if (bytesPerValue === 0) unsupported(`weight ${quoted(spec.name)} is quantized as ${quoted(storage)}; only uint8, uint16 and float16 quantization convert`);
    const byteLength = size * bytesPerValue;
    if (offset + byteLength > bytes.byteLength) unsupported(`malformed model: weightData (${bytes.byteLength} bytes) ends inside weight ${quoted(spec.name)}`);
    const chunk = bytes.slice(offset, offset + byteLength);
    offset += byteLength;
    let values: Float32Array;
    if (storage === 'float32') {
      values = new Float32Array(chunk.buffer, 0, size);
    } else if (storage === 'float16') {
      values = Float32Array.from(new Uint16Array(chunk.buffer, 0, size), halfToFloat);
    } else {
      const { min, scale } = quantization ?? {};
      if (typeof min !== 'number' || typeof scale !== 'number') unsupported(`malformed model: quantized weight ${quoted(spec.name)} lacks min and scale`);
      values = storage === 'uint8' ? dequantize(chunk, scale, min) : dequantize(new Uint16Array(chunk.buffer, 0, size), scale, min);
    }
    weights.set(spec.name, { shape: [...spec.shape], dtype: 'float32', values });
  }
  return weights;
}

function dequantize(quantized: Uint8Array | Uint16Array, scale: number, min: number): Float32Array {
  const values = new Float32Array(quantized.length);
  for (let i = 0; i < quantized.length; i++) values[i] = quantized[i]! * scale + min;
  return values;
}

/** The weight bytes: one ArrayBuffer, or (tfjs ≥ 4.10 `WeightData`) a list of them to concatenate. */
function weightBytes(weightData: unknown): Uint8Array {
  if (weightData instanceof ArrayBuffer) return new Uint8Array(weightData);
  if (ArrayBuffer.isView(weightData)) return new Uint8Array(weightData.buffer, weightData.byteOffset, weightData.byteLength);
  if (Array.isArray(weightData) && weightData.every((part) => part instanceof ArrayBuffer)) {
    return new Uint8Array(Buffer.concat(weightData.map((part: ArrayBuffer) => new Uint8Array(part))));
  }
  if (weightData === undefined || weightData === null) return new Uint8Array(0);
  return unsupported('malformed model: weightData is not an ArrayBuffer');
}

/** IEEE 754 half → float (what tfjs-core's float16 decoder computes). */
function halfToFloat(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const exponent = (h >> 10) & 0x1f;
  const fraction = h & 0x3ff;
  if (exponent === 0) return sign * 2 ** -14 * (fraction / 1024);
  if (exponent === 0x1f) return fraction === 0 ? sign * Infinity : NaN;
  return sign * 2 ** (exponent - 15) * (1 + fraction / 1024);
}
