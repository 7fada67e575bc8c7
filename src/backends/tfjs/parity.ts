/**
 * The parity check a model converted from TF.js to ONNX must pass before ONNX Runtime serves it:
 * both runtimes run the same deterministic input and every output must agree within
 * `PARITY_TOLERANCE` relative to the output's scale.
 */
import type { DataType } from '../../tensors/index.js';
import type { Tensor } from '../../tensors/index.js';
import type { TensorSignature } from '../backend.js';

/**
 * Allowed max |tfjs − onnx| per output, relative to the output's scale max(1, max |tfjs|): 1e-3.
 * Float32 kernels differ in summation order and fused ops (a 2048-wide dot product, a softmax);
 * measured differences between tfjs-wasm and ORT on the same float graph are around 1e-6..1e-5,
 * while a wrong conversion (a transposed kernel, a missing bias) differs by far more than 1e-3.
 */
export const PARITY_TOLERANCE = 1e-3;

/** A deterministic input per model input (unknown dimensions = 1): floats in [0, 1), ints 0..9. */
export function parityInputs(inputs: readonly TensorSignature[]): Tensor[] | string {
  let seed = 0x2545f491;
  const next = (): number => {
    // xorshift32: the same numbers on every run and platform.
    seed ^= seed << 13;
    seed ^= seed >>> 17;
    seed ^= seed << 5;
    return (seed >>> 0) / 2 ** 32;
  };
  const tensors: Tensor[] = [];
  for (const input of inputs) {
    const shape = input.shape.map((d) => (d < 0 ? 1 : d));
    const size = shape.reduce((a, b) => a * b, 1);
    const data = arrayFor(input.datatype, size);
    if (!data) return `input '${input.name}' is ${input.datatype}, which the parity check cannot generate`;
    for (let i = 0; i < size; i++) data[i] = input.datatype === 'FP32' ? next() : input.datatype === 'BOOL' ? (next() < 0.5 ? 0 : 1) : Math.floor(next() * 10);
    tensors.push({ name: input.name, datatype: input.datatype, shape, data });
  }
  return tensors;
}

function arrayFor(datatype: DataType, size: number): Float32Array | Int32Array | Uint8Array | undefined {
  if (datatype === 'FP32') return new Float32Array(size);
  if (datatype === 'INT32') return new Int32Array(size);
  if (datatype === 'BOOL') return new Uint8Array(size);
  return undefined;
}

/** Undefined when `actual` matches `expected` output by output, else why not. */
export function parityFailure(expected: readonly Tensor[], actual: readonly Tensor[]): string | undefined {
  for (const want of expected) {
    const got = actual.find((t) => t.name === want.name);
    if (!got) return `the converted model gave no output '${want.name}'`;
    if (got.shape.join(',') !== want.shape.join(',')) return `output '${want.name}' has shape [${got.shape.join(',')}] on ONNX Runtime but [${want.shape.join(',')}] on TensorFlow.js`;
    const a = want.data as ArrayLike<number>;
    const b = got.data as ArrayLike<number>;
    let scale = 1;
    let worst = 0;
    for (let i = 0; i < a.length; i++) {
      scale = Math.max(scale, Math.abs(Number(a[i])));
      const d = Math.abs(Number(a[i]) - Number(b[i]));
      worst = Number.isNaN(d) ? Infinity : Math.max(worst, d);
    }
    if (worst > PARITY_TOLERANCE * scale) {
      return `output '${want.name}' differs from TensorFlow.js by up to ${worst.toPrecision(3)} (allowed ${(PARITY_TOLERANCE * scale).toPrecision(3)}) on the parity input`;
    }
  }
  return undefined;
}
