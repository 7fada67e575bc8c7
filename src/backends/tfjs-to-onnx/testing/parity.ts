/**
 * Test support for the converter's parity tests: TF.js models saved to in-memory artifacts, seeded
 * weights, and a run of the converted ONNX bytes on ONNX Runtime next to TF.js's own predict.
 */
import * as tf from '@tensorflow/tfjs';
import ort from 'onnxruntime-node';
import { convertTfjsToOnnx } from '../index.js';
import type { OnnxConversion, TfjsArtifacts } from '../index.js';
import { seededRandom } from '../../../core/index.js';

/** Largest |tfjs − onnx| accepted for float32 models of this size (summation-order noise only). */
export const TOLERANCE = 1e-4;

/** Replaces every weight with seeded values in [-1, 1) (moving variances in [0.5, 1.5)). */
export function randomizeWeights(model: tf.LayersModel, seed: number): void {
  const random = seededRandom(seed);
  model.setWeights(
    model.weights.map((w) => {
      const size = w.shape.reduce((n: number, d) => n * (d ?? 1), 1);
      const positive = w.originalName.includes('variance');
      const values = Float32Array.from({ length: size }, () => (positive ? 0.5 + random() : random() * 2 - 1));
      return tf.tensor(values, w.shape as number[]);
    }),
  );
}

/** The artifacts `model.save` hands an IOHandler: what a loader reads from model.json and shards. */
export async function artifactsOf(model: tf.LayersModel): Promise<TfjsArtifacts> {
  let saved: tf.io.ModelArtifacts | undefined;
  await model.save(
    tf.io.withSaveHandler((artifacts) => {
      saved = artifacts;
      return Promise.resolve({ modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: 'JSON' } });
    }),
  );
  if (saved === undefined) throw new Error('model.save gave no artifacts');
  const weightData = saved.weightData;
  if (!(weightData instanceof ArrayBuffer)) throw new Error('expected one weight buffer');
  return { modelTopology: saved.modelTopology, format: 'layers-model', weightSpecs: saved.weightSpecs ?? [], weightData };
}

export function seededInput(shape: readonly number[], seed: number): Float32Array {
  const random = seededRandom(seed);
  return Float32Array.from({ length: shape.reduce((n, d) => n * d, 1) }, () => random() * 2 - 1);
}

export function converted(conversion: OnnxConversion): Extract<OnnxConversion, { kind: 'converted' }> {
  if (conversion.kind !== 'converted') throw new Error(`conversion failed: ${conversion.reason}`);
  return conversion;
}

/** Runs the ONNX bytes on one float32 input per graph input; returns the outputs in `outputNames` order. */
export async function runOnnx(onnx: Uint8Array, inputs: Readonly<Record<string, { data: Float32Array; shape: readonly number[] }>>, outputNames: readonly string[]): Promise<Float32Array[]> {
  const session = await ort.InferenceSession.create(onnx);
  try {
    const feeds: Record<string, ort.Tensor> = {};
    for (const [name, { data, shape }] of Object.entries(inputs)) feeds[name] = new ort.Tensor('float32', data, [...shape]);
    const results = await session.run(feeds);
    return outputNames.map((name) => {
      const out = results[name];
      if (out === undefined) throw new Error(`ONNX output ${name} missing`);
      return out.data as Float32Array;
    });
  } finally {
    await session.release();
  }
}

export function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) throw new Error(`length ${a.length} vs ${b.length}`);
  let max = 0;
  for (let i = 0; i < a.length; i++) max = Math.max(max, Math.abs((a[i] as number) - (b[i] as number)));
  return Number.isNaN(max) ? Infinity : max;
}

/**
 * Converts `model`, runs tfjs predict and ONNX Runtime on the same seeded batch, and returns the
 * largest difference over all outputs (the caller asserts it against TOLERANCE).
 */
export async function parityOf(model: tf.LayersModel, batch: number, seed = 7): Promise<{ diff: number; conversion: Extract<OnnxConversion, { kind: 'converted' }> }> {
  const conversion = converted(convertTfjsToOnnx(await artifactsOf(model)));
  const feeds: Record<string, { data: Float32Array; shape: number[] }> = {};
  const tfInputs = model.inputs.map((input, i) => {
    const shape = [batch, ...(input.shape.slice(1) as number[])];
    const data = seededInput(shape, seed + i);
    feeds[conversion.inputNames[i] as string] = { data, shape };
    return tf.tensor(data, shape);
  });
  const predicted = model.predict(tfInputs.length === 1 ? (tfInputs[0] as tf.Tensor) : tfInputs);
  const expected = (Array.isArray(predicted) ? predicted : [predicted]).map((t) => t.dataSync());
  const actual = await runOnnx(conversion.onnx, feeds, conversion.outputNames);
  let diff = 0;
  expected.forEach((e, i) => (diff = Math.max(diff, maxAbsDiff(e, actual[i] as Float32Array))));
  return { diff, conversion };
}
