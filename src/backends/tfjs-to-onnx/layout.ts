/**
 * Layout bookkeeping shared by both converters. TF.js (Keras and TF graphs) keeps images NHWC;
 * ONNX Conv and pooling want NCHW. Every rank-4 value that comes out of a convolution or pooling
 * stays NCHW inside the graph, and is transposed back to NHWC only where NHWC order matters
 * (Flatten, Reshape, Dense, graph outputs). Each value remembers its other-layout twin, so one
 * value is transposed at most once each way.
 */
import type { OnnxGraphBuilder } from './onnx-builder.js';

export const TO_NCHW = [0, 3, 1, 2];
export const TO_NHWC = [0, 2, 3, 1];

export class Value {
  private nchwName: string | undefined;
  private nhwcName: string | undefined;

  /** `name` holds the value in NCHW when `nchw` is true (rank 4 only), else in its TF layout. */
  constructor(
    readonly rank: number | undefined,
    nchw: boolean,
    name: string,
  ) {
    if (nchw) this.nchwName = name;
    else this.nhwcName = name;
  }

  get isNchw(): boolean {
    return this.nhwcName === undefined;
  }

  /** The value in NCHW (rank 4): transposed from NHWC on first use. */
  nchw(graph: OnnxGraphBuilder): string {
    this.nchwName ??= graph.op('Transpose', [this.nhwcName as string], { perm: TO_NCHW }, `${this.nhwcName}_nchw`);
    return this.nchwName;
  }

  /** The value in its TF layout (NHWC for rank 4). */
  tf(graph: OnnxGraphBuilder): string {
    this.nhwcName ??= graph.op('Transpose', [this.nchwName as string], { perm: TO_NHWC }, `${this.nchwName}_nhwc`);
    return this.nhwcName;
  }

  /** The name in whichever layout already exists, preferring NCHW. */
  any(): string {
    return (this.nchwName ?? this.nhwcName) as string;
  }
}

/** TF axis (possibly negative) of a rank-`rank` value → the ONNX axis in the value's layout. */
export function onnxAxis(axis: number, rank: number, nchw: boolean): number {
  const positive = axis < 0 ? axis + rank : axis;
  if (!nchw) return positive;
  return [0, 2, 3, 1][positive] as number;
}

/** `values` (row-major, shape `shape`) permuted by `perm`, as numpy's transpose does. */
export function permute(values: Float32Array, shape: readonly number[], perm: readonly number[]): Float32Array {
  if (shape.length !== 4 || perm.length !== 4) throw new RangeError('permute takes rank-4 weights');
  const inStrides = [shape[1]! * shape[2]! * shape[3]!, shape[2]! * shape[3]!, shape[3]!, 1];
  const [d0, d1, d2, d3] = perm.map((p) => shape[p]!) as [number, number, number, number];
  const [s0, s1, s2, s3] = perm.map((p) => inStrides[p]!) as [number, number, number, number];
  const out = new Float32Array(values.length);
  // Plain nested loops: this runs over every weight of the model at load time (≈ 22 M for Inception v3).
  let o = 0;
  for (let a = 0; a < d0; a++) {
    for (let b = 0; b < d1; b++) {
      for (let c = 0; c < d2; c++) {
        let source = a * s0 + b * s1 + c * s2;
        for (let d = 0; d < d3; d++, source += s3) out[o++] = values[source]!;
      }
    }
  }
  return out;
}
